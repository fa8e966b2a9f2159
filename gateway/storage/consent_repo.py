"""SQL for the consent ledger (append-only)."""

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, bindparam, insert, select, text
from sqlalchemy.orm import Session

from gateway.storage.lookup import (
    key_batches,
    member_of,
    member_of_param,
    sqlite_reader,
    sqlite_rows,
)
from gateway.storage.models import ConsentEventRow


class ConsentFact(NamedTuple):
    """One stored consent event, as the decision rules need it.

    A NamedTuple (immutable, built in C): each ingested record reads one or more.
    """

    identifier_key: str
    granted: bool
    explicit: bool
    event_time: datetime


@dataclass(frozen=True, slots=True)
class ConsentHistoryEntry:
    """One stored consent event with its proof, for a data-subject access export.

    `tcf_*` are set when the event came as a TC string: the SHA-256 (hex) of
    the string as received, the CMP that made it and its LastUpdated time.
    """

    identifier_key: str
    identifier_type: str
    purpose: str
    granted: bool
    explicit: bool
    event_time: datetime
    recorded_at: datetime
    source: str
    client_id: str
    tcf_sha256: str | None
    tcf_cmp_id: int | None
    tcf_last_updated: datetime | None


_HISTORY_FIELDS = tuple(ConsentHistoryEntry.__dataclass_fields__)
# Every event row names these columns, so one executemany inserts a batch
# that mixes events with and without a TC string.
_PROOF_COLUMNS = {"tcf_sha256": None, "tcf_cmp_id": None, "tcf_last_updated": None}


# PostgreSQL advisory locks that order consent writes with the decisions that
# read consent. Under READ COMMITTED, an ingest that read a grant could
# otherwise store its records and log them after a withdrawal committed in
# between (the audit log would show records kept after the withdrawal). A
# writer holds its identifiers' locks exclusively until commit, a decision
# holds them shared until commit: each decision sees a consent request whole
# or not at all, and the log orders them as they happened. Identifiers are
# hashed onto a few stripes, taken in ascending order in one statement (no
# deadlock between two holders; at most _STRIPES locks per transaction, far
# below the lock table's size). SQLite needs none: BEGIN IMMEDIATE already
# serializes every writing transaction.
_LOCK_CLASS = 0x636F6E73  # "cons": the first key of the two-key advisory lock
_STRIPES = 64
_HOLD = {
    True: text(
        "SELECT count(pg_advisory_xact_lock(:lock_class, stripe)) "
        "FROM unnest(CAST(:stripes AS integer[])) AS stripe"
    ),
    False: text(
        "SELECT count(pg_advisory_xact_lock_shared(:lock_class, stripe)) "
        "FROM unnest(CAST(:stripes AS integer[])) AS stripe"
    ),
}


def _stripe(identifier_key: str) -> int:
    # Spreading only, no secret: keys that share a stripe merely wait longer.
    return zlib.crc32(identifier_key.encode()) % _STRIPES


def hold_identifiers(
    session: Session, identifier_keys: Iterable[str], *, exclusive: bool
) -> None:
    """Lock these identifiers' consent until the transaction ends (PostgreSQL).

    `exclusive` for a transaction that appends consent events, shared for one
    that decides on consent and acts on the decision.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    stripes = sorted({_stripe(key) for key in identifier_keys})
    if stripes:
        params = {"lock_class": _LOCK_CLASS, "stripes": stripes}
        session.execute(_HOLD[exclusive], params)


def add_many(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Append consent events (the `tcf_*` proof columns default to null)."""
    if rows:
        session.execute(
            insert(ConsentEventRow.__table__), [_PROOF_COLUMNS | row for row in rows]
        )


def history_for(
    session: Session, identifier_keys: Iterable[str]
) -> list[ConsentHistoryEntry]:
    """Every consent event under these identifiers, oldest first, with its proof."""
    columns = [getattr(ConsentEventRow, name) for name in _HISTORY_FIELDS]
    found: list[tuple[int, ConsentHistoryEntry]] = []
    for chunk in key_batches(session, identifier_keys):
        stmt = select(ConsentEventRow.id, *columns).where(
            member_of(session, ConsentEventRow.identifier_key, chunk)
        )
        found.extend(
            (row_id, ConsentHistoryEntry(*values))
            for row_id, *values in session.execute(stmt)
        )
    # Ordered here, not in SQL: the chunks are queried apart.
    found.sort(key=lambda pair: (pair[1].event_time, pair[0]))
    return [entry for _, entry in found]


_EVENTS = ConsentEventRow.__table__


def _facts_statement(dialect_name: str) -> Select[tuple[str, bool, bool, datetime]]:
    return select(
        _EVENTS.c.identifier_key,
        _EVENTS.c.granted,
        _EVENTS.c.explicit,
        _EVENTS.c.event_time,
    ).where(
        member_of_param(dialect_name, _EVENTS.c.identifier_key, "keys"),
        _EVENTS.c.purpose == bindparam("purpose"),
    )


# PostgreSQL: built once, the keys bound at execution as one array.
_FACTS = _facts_statement("postgresql")
# SQLite: one `?` per key, run by the driver (`sqlite_rows`). Through
# SQLAlchemy, a 500-record batch's lookup (1,500 identifiers) took 5.4 ms,
# most of it binding the keys and reading rows in Python.
_SQLITE_FACTS = (
    "SELECT identifier_key, granted, explicit, event_time FROM consent_events"
    " WHERE purpose = ? AND identifier_key IN ({marks})"
)


def facts_for(
    session: Session, identifier_keys: Iterable[str], purpose: str
) -> dict[str, list[ConsentFact]]:
    """Every event for these identifiers and this purpose, grouped by identifier.

    Every ingested batch asks for a few identifiers per record.
    """
    found: dict[str, list[ConsentFact]] = {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    moment = sqlite_reader(session, _EVENTS.c.event_time) if sqlite else None
    for chunk in key_batches(session, identifier_keys):
        rows = (
            sqlite_rows(session, _SQLITE_FACTS, (purpose,), chunk)
            if sqlite
            else session.execute(_FACTS, {"keys": chunk, "purpose": purpose})
        )
        for key, granted, explicit, event_time in rows:
            when = event_time if moment is None else moment(event_time)
            found.setdefault(key, []).append(
                ConsentFact(key, bool(granted), bool(explicit), when)
            )
    return found
