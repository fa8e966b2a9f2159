"""SQL for records, their vault entries and the subjects' data keys."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.orm import Session

from gateway.errors import ConcurrentChangeError
from gateway.storage.bulk import insert_rows
from gateway.storage.lookup import (
    key_batches,
    member_of,
    member_of_param,
    sqlite_reader,
    sqlite_rows,
)
from gateway.storage.models import RecordRow, SubjectKeyRow, VaultEntryRow

_RECORDS = RecordRow.__table__


def _by_source_statement(dialect_name: str) -> Select[tuple[str, str, str, int]]:
    return select(
        _RECORDS.c.source_id,
        _RECORDS.c.id,
        _RECORDS.c.content_hash,
        _RECORDS.c.version,
    ).where(
        _RECORDS.c.client_id == bindparam("client_id"),
        _RECORDS.c.dataset == bindparam("dataset"),
        member_of_param(dialect_name, _RECORDS.c.source_id, "source_ids"),
    )


# Built once: every ingested batch runs it on PostgreSQL (`member_of_param`).
_BY_SOURCE = _by_source_statement("postgresql")


# SQLite: the same lookups written with one `?` per key and run by the driver
# (`sqlite_rows`): 0.5 ms for a 500-key lookup through SQLAlchemy's expanding
# IN, 0.15 ms by the driver alone (two lookups per ingested batch).
_SQLITE_BY_SOURCE = (
    "SELECT source_id, id, content_hash, version FROM records"
    " WHERE client_id = ? AND dataset = ? AND source_id IN ({marks})"
)
_SQLITE_KEYS = (
    "SELECT subject_id, number, master_kid, wrapped_key, destroyed_at"
    " FROM subject_keys"
    " WHERE subject_id IN ({marks})"
)


def existing_by_source(
    session: Session, client_id: str, dataset: str, source_ids: Iterable[str]
) -> dict[str, tuple[str, str, int]]:
    """Map source_id to (record id, content hash, version) for stored records."""
    found: dict[str, tuple[str, str, int]] = {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    for chunk in key_batches(session, source_ids):
        if sqlite:
            rows = sqlite_rows(session, _SQLITE_BY_SOURCE, (client_id, dataset), chunk)
        else:
            params = {"client_id": client_id, "dataset": dataset, "source_ids": chunk}
            rows = session.execute(_BY_SOURCE, params)
        for source_id, record_id, content_hash, version in rows:
            found[source_id] = (record_id, content_hash, version)
    return found


class StoredKey(NamedTuple):
    """A subject's registry row: its number, and its data key if it has one.

    A NamedTuple (immutable, built in C): one is read per ingested subject.

    The key is wrapped by a master key, destroyed (`destroyed_at` set), or
    was never made (the subject was registered without personal data).
    """

    subject_id: str
    number: int
    master_kid: str | None
    wrapped_key: bytes | None
    destroyed_at: datetime | None


_KEYS = SubjectKeyRow.__table__


def _keys_statement(
    dialect_name: str,
) -> Select[tuple[str, int, str | None, bytes | None, datetime | None]]:
    return select(
        _KEYS.c.subject_id,
        _KEYS.c.number,
        _KEYS.c.master_kid,
        _KEYS.c.wrapped_key,
        _KEYS.c.destroyed_at,
    ).where(member_of_param(dialect_name, _KEYS.c.subject_id, "subject_ids"))


# Built once: every ingested batch looks its subjects' keys up (PostgreSQL).
_SUBJECT_KEYS = _keys_statement("postgresql")


def subject_keys(session: Session, subject_ids: Iterable[str]) -> dict[str, StoredKey]:
    """The registry rows (numbers, stored data keys) of these subjects."""
    found: dict[str, StoredKey] = {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    moment = sqlite_reader(session, _KEYS.c.destroyed_at) if sqlite else None
    for chunk in key_batches(session, subject_ids):
        rows = (
            sqlite_rows(session, _SQLITE_KEYS, (), chunk)
            if sqlite
            else session.execute(_SUBJECT_KEYS, {"subject_ids": chunk})
        )
        for subject_id, number, kid, wrapped, destroyed in rows:
            wrapped_key = None if wrapped is None else bytes(wrapped)
            when = destroyed if moment is None else moment(destroyed)
            found[subject_id] = StoredKey(subject_id, number, kid, wrapped_key, when)
    return found


def insert_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new records.

    Binary COPY on PostgreSQL: the sealed linkage encodings (about 430 bytes
    a record) travel as they are, not as hex text the server decodes again;
    the JSON columns go through their bind processors (`insert_rows`).
    """
    insert_rows(session, RecordRow.__table__, rows, binary=True)


def replace_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Replace stored records by their new version; their vault entries go first."""
    if not rows:
        return
    keep_created = [{k: v for k, v in row.items() if k != "created_at"} for row in rows]
    # ORM bulk UPDATE by primary key: one executemany for the whole batch.
    session.execute(update(RecordRow), keep_created)
    for chunk in key_batches(session, (row["id"] for row in rows)):
        session.execute(
            delete(VaultEntryRow).where(
                member_of(session, VaultEntryRow.record_id, chunk)
            )
        )


def insert_vault_entries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert encrypted fields (text ids, ciphertext bytes)."""
    insert_rows(session, VaultEntryRow.__table__, rows, binary=True)


# By number, and only while the row still has no live key: of two requests
# keying the same subject at once, the second changes nothing (and retries)
# instead of replacing the key the first one's vault rows are sealed under.
# One statement for the batch on each database: SQLite's driver runs it per
# row (a fifth of what SQLAlchemy's executemany took), PostgreSQL joins the
# keys as arrays.
_SQLITE_RENEW = (
    "UPDATE subject_keys SET master_kid = ?, wrapped_key = ?, destroyed_at = NULL"
    " WHERE number = ? AND wrapped_key IS NULL"
)
_POSTGRES_RENEW = (
    "UPDATE subject_keys AS k SET master_kid = v.kid, wrapped_key = v.wrapped,"
    " destroyed_at = NULL"
    " FROM unnest(%s::bigint[], %s::varchar[], %s::bytea[])"
    " AS v(number, kid, wrapped)"
    " WHERE k.number = v.number AND k.wrapped_key IS NULL"
)


def renew_subject_keys(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Give registered subjects without a live key (erased, or never keyed) one.

    `rows` hold each subject's `number`, `master_kid` and `wrapped_key`.

    Raises:
        ConcurrentChangeError: A concurrent request keyed one of them first.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        params = (
            [row["number"] for row in rows],
            [row["master_kid"] for row in rows],
            [row["wrapped_key"] for row in rows],
        )
        # Binary, so the keys go as bytes rather than hex text.
        with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
            changed = cursor.execute(_POSTGRES_RENEW, params).rowcount
    else:
        changed = connection.exec_driver_sql(
            _SQLITE_RENEW,
            [(row["master_kid"], row["wrapped_key"], row["number"]) for row in rows],
        ).rowcount
    if changed != len(rows):
        raise ConcurrentChangeError("a subject was given a data key concurrently")


def lacking_linkage(
    session: Session, dataset: str, kid: str, limit: int
) -> list[tuple[str, str, bytes | None]]:
    """Records of a dataset not yet encoded under the linkage key `kid`.

    Returns (record id, subject id, vault ciphertext or None), by record id.
    """
    stmt = (
        select(RecordRow.id, RecordRow.subject_id, VaultEntryRow.ciphertext)
        .outerjoin(VaultEntryRow, VaultEntryRow.record_id == RecordRow.id)
        .where(
            RecordRow.dataset == dataset,
            (RecordRow.linkage_kid.is_(None)) | (RecordRow.linkage_kid != kid),
        )
        .order_by(RecordRow.id)
        .limit(limit)
    )
    return [(rid, subject, blob) for rid, subject, blob in session.execute(stmt)]


def set_linkage(session: Session, rows: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Store linkage columns (link_fields, linkage_kid) on records, by id."""
    if rows:
        session.execute(
            update(RecordRow),
            [{"id": record_id, **columns} for record_id, columns in rows],
        )
