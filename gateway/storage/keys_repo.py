"""SQL for key rotation: wrapped data keys, record identifiers, run entity keys.

Every write here is a compare-and-set on what was read, so that a rotation
running beside live traffic never undoes a concurrent change: an erasure
that destroyed a data key, or a new version of a record.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.storage.bulk import insert_rows
from gateway.storage.lookup import key_batches, member_of
from gateway.storage.models import (
    RecordRow,
    RunEntityKeyRow,
    SubjectKeyRow,
    VaultEntryRow,
)


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A subject's data key as stored: wrapped under the master key `master_kid`."""

    subject_id: str
    master_kid: str
    wrapped_key: bytes


@dataclass(frozen=True, slots=True)
class Rewrapped:
    """A data key wrapped again: what was read, and what replaces it."""

    read: WrappedKey
    master_kid: str
    wrapped_key: bytes


def wrapped_not_under(
    session: Session, master_kid: str, after: str, limit: int
) -> list[WrappedKey]:
    """Live data keys wrapped under another master key, by subject id after `after`.

    Destroyed keys (erased subjects) have nothing to rewrap and are skipped.
    """
    stmt = (
        select(
            SubjectKeyRow.subject_id,
            SubjectKeyRow.master_kid,
            SubjectKeyRow.wrapped_key,
        )
        .where(
            SubjectKeyRow.subject_id > after,
            SubjectKeyRow.wrapped_key.is_not(None),
            SubjectKeyRow.master_kid != master_kid,
        )
        .order_by(SubjectKeyRow.subject_id)
        .limit(limit)
    )
    return [
        WrappedKey(subject_id, kid, bytes(wrapped))
        for subject_id, kid, wrapped in session.execute(stmt)
    ]


def rewrap(session: Session, keys: Sequence[Rewrapped]) -> int:
    """Store data keys wrapped again; returns how many rows changed.

    A row changed since it was read (destroyed by an erasure, renewed) is
    left as it is: a destroyed key must never come back.
    """
    changed = 0
    for key in keys:
        result = session.execute(
            update(SubjectKeyRow)
            .where(
                SubjectKeyRow.subject_id == key.read.subject_id,
                SubjectKeyRow.master_kid == key.read.master_kid,
                SubjectKeyRow.wrapped_key == key.read.wrapped_key,
            )
            .values(master_kid=key.master_kid, wrapped_key=key.wrapped_key)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount  # type: ignore[attr-defined]
    return changed


def master_kids_in_use(session: Session) -> set[str]:
    """The master keys live data keys are wrapped under."""
    stmt = (
        select(SubjectKeyRow.master_kid)
        .where(SubjectKeyRow.wrapped_key.is_not(None))
        .distinct()
    )
    return set(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class RecordKeys:
    """A record's identifier pseudonyms, and what they are scoped by."""

    record_id: str
    client_id: str
    dataset: str
    subject_id: str
    version: int
    identifiers: dict[str, Any]


def records_after(session: Session, after: str, limit: int) -> list[RecordKeys]:
    """Up to `limit` records' identifiers, by record id after `after`."""
    stmt = (
        select(
            RecordRow.id,
            RecordRow.client_id,
            RecordRow.dataset,
            RecordRow.subject_id,
            RecordRow.version,
            RecordRow.identifiers,
        )
        .where(RecordRow.id > after)
        .order_by(RecordRow.id)
        .limit(limit)
    )
    return [RecordKeys(*row) for row in session.execute(stmt)]


def vault_blobs(session: Session, record_ids: Sequence[str]) -> dict[str, bytes]:
    """The vault ciphertext of each of these records that has one."""
    found: dict[str, bytes] = {}
    for chunk in key_batches(session, record_ids):
        stmt = select(VaultEntryRow.record_id, VaultEntryRow.ciphertext).where(
            member_of(session, VaultEntryRow.record_id, chunk)
        )
        found.update((rid, bytes(blob)) for rid, blob in session.execute(stmt))
    return found


def set_identifiers(
    session: Session, changes: Sequence[tuple[RecordKeys, dict[str, Any]]]
) -> int:
    """Give records new identifier pseudonyms, unless a new version came meanwhile."""
    changed = 0
    for read, identifiers in changes:
        result = session.execute(
            update(RecordRow)
            .where(RecordRow.id == read.record_id, RecordRow.version == read.version)
            .values(identifiers=identifiers)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount  # type: ignore[attr-defined]
    return changed


def rename_entity_keys(session: Session, renamed: Mapping[str, str]) -> int:
    """Replace identifier pseudonyms in stored runs' entity keys; returns rows moved.

    Pull-time consent checks map new consent events to a run's entities
    through these keys, so they must go by the same pseudonyms as the events.
    """
    if not renamed:
        return 0
    columns = (
        RunEntityKeyRow.run_id,
        RunEntityKeyRow.identifier_key,
        RunEntityKeyRow.entity_id,
        RunEntityKeyRow.subject_id,
    )
    moved: list[dict[str, Any]] = []
    for chunk in key_batches(session, renamed):
        rows = session.execute(
            select(*columns).where(
                member_of(session, RunEntityKeyRow.identifier_key, chunk)
            )
        ).all()
        session.execute(
            delete(RunEntityKeyRow).where(
                member_of(session, RunEntityKeyRow.identifier_key, chunk)
            )
        )
        moved.extend(
            {
                "run_id": run_id,
                "identifier_key": renamed[key],
                "entity_id": entity_id,
                "subject_id": subject_id,
            }
            for run_id, key, entity_id, subject_id in rows
        )
    present: set[tuple[str, str, str]] = set()
    for chunk in key_batches(session, {row["identifier_key"] for row in moved}):
        present.update(
            (run_id, key, entity_id)
            for run_id, key, entity_id in session.execute(
                select(*columns[:3]).where(
                    member_of(session, RunEntityKeyRow.identifier_key, chunk)
                )
            )
        )
    fresh = {
        (row["run_id"], row["identifier_key"], row["entity_id"]): row
        for row in moved
        if (row["run_id"], row["identifier_key"], row["entity_id"]) not in present
    }
    insert_rows(session, RunEntityKeyRow.__table__, list(fresh.values()))
    return len(moved)
