"""SQL for data-subject requests: find everything held about a subject, or delete it.

A subject is found by pseudonyms only: the identifier pseudonyms the request
maps to, and the subject ids (pseudonyms of a dataset's subject key) of the
records that carry them.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gateway.storage.lookup import key_batches, member_of
from gateway.storage.models import (
    AuditEventRow,
    ClientRow,
    ConsentEventRow,
    ExportDeliveryRow,
    ExportLedgerRow,
    PipelineRunRow,
    RecordRow,
    RunEntityKeyRow,
    SegmentMemberRow,
    SegmentRow,
    SubjectKeyRow,
    VaultEntryRow,
)
from gateway.storage.subject_numbers import of_subjects


def _in_batches(session: Session, stmt_for: Any, values: Iterable[str]) -> list[Any]:
    found: list[Any] = []
    for chunk in key_batches(session, values):
        found.extend(session.execute(stmt_for(chunk)))
    return found


def partners(session: Session) -> list[ClientRow]:
    """Every partner, revoked or not: partner-scoped pseudonyms are made per partner."""
    return list(session.scalars(select(ClientRow).where(ClientRow.role == "partner")))


def client_names(session: Session) -> dict[str, str]:
    """Client names by id (clients are not personal data: they are businesses)."""
    rows = session.execute(select(ClientRow.id, ClientRow.name))
    return {row.id: row.name for row in rows}


def subjects_with_identifier(
    session: Session, field: str, pseudonyms: Iterable[str]
) -> set[str]:
    """Subject ids of records whose identifier `field` is one of these pseudonyms.

    The identifiers are a JSON column: this scans, which a rare DPO request
    can afford, rather than indexing every identifier of every record.
    """
    column = RecordRow.identifiers[field].as_string()
    rows = _in_batches(
        session,
        lambda chunk: select(RecordRow.subject_id).where(
            member_of(session, column, chunk)
        ),
        pseudonyms,
    )
    return {subject for (subject,) in rows}


def records_of(session: Session, subjects: Iterable[str]) -> list[RecordRow]:
    """Every record of these subjects, oldest first."""
    found: list[RecordRow] = []
    for chunk in key_batches(session, subjects):
        stmt = select(RecordRow).where(
            of_subjects(session, RecordRow.subject_no, chunk)
        )
        found.extend(session.scalars(stmt))
    return sorted(found, key=lambda row: (row.created_at, row.id))


def vault_of(session: Session, record_ids: Iterable[str]) -> dict[str, VaultEntryRow]:
    """Vault rows by record id."""
    found: dict[str, VaultEntryRow] = {}
    for chunk in key_batches(session, record_ids):
        stmt = select(VaultEntryRow).where(
            member_of(session, VaultEntryRow.record_id, chunk)
        )
        found.update((row.record_id, row) for row in session.scalars(stmt))
    return found


def subject_key_rows(
    session: Session, subjects: Iterable[str]
) -> dict[str, SubjectKeyRow]:
    """Subject key rows (wrapped data keys) by subject id.

    Only subjects that hold or held a data key: a subject registered without
    personal data (`master_kid` null) has none to report.
    """
    found: dict[str, SubjectKeyRow] = {}
    for chunk in key_batches(session, subjects):
        stmt = select(SubjectKeyRow).where(
            member_of(session, SubjectKeyRow.subject_id, chunk),
            SubjectKeyRow.master_kid.is_not(None),
        )
        found.update((row.subject_id, row) for row in session.scalars(stmt))
    return found


def consent_events_of(session: Session, keys: Iterable[str]) -> list[ConsentEventRow]:
    """Every consent event recorded under these identifier pseudonyms, in order."""
    found: list[ConsentEventRow] = []
    for chunk in key_batches(session, keys):
        stmt = select(ConsentEventRow).where(
            member_of(session, ConsentEventRow.identifier_key, chunk)
        )
        found.extend(session.scalars(stmt))
    return sorted(found, key=lambda row: (row.event_time, row.id))


def audit_events_of(session: Session, pseudonyms: Iterable[str]) -> list[AuditEventRow]:
    """Audit events about these subject ids or identifier pseudonyms, in log order."""
    found: list[AuditEventRow] = []
    for chunk in key_batches(session, pseudonyms):
        stmt = select(AuditEventRow).where(
            of_subjects(session, AuditEventRow.subject_no, chunk)
        )
        found.extend(session.scalars(stmt))
    return sorted(found, key=lambda row: row.seq)


def entities_of(
    session: Session, subjects: Iterable[str], keys: Iterable[str]
) -> set[str]:
    """Entities, in any run, built from these subjects or identifier pseudonyms."""
    found: set[str] = set()
    for column, values in (
        (RunEntityKeyRow.subject_id, subjects),
        (RunEntityKeyRow.identifier_key, keys),
    ):
        for chunk in key_batches(session, values):
            stmt = select(RunEntityKeyRow.entity_id).where(
                member_of(session, column, chunk)
            )
            found.update(session.scalars(stmt))
    return found


@dataclass(frozen=True, slots=True)
class Membership:
    """A segment an entity of the subject is in."""

    audience: str
    run_id: str
    run_finished_at: datetime | None
    segment_id: str
    label: str
    level: int
    description: str


def memberships_of(session: Session, entities: Iterable[str]) -> list[Membership]:
    """The segments these entities are members of, in every stored run."""
    rows = _in_batches(
        session,
        lambda chunk: (
            select(
                PipelineRunRow.audience,
                PipelineRunRow.id,
                PipelineRunRow.finished_at,
                SegmentRow.id,
                SegmentRow.label,
                SegmentRow.level,
                SegmentRow.description,
            )
            .join(SegmentRow, SegmentRow.run_id == PipelineRunRow.id)
            .join(SegmentMemberRow, SegmentMemberRow.segment_id == SegmentRow.id)
            .where(member_of(session, SegmentMemberRow.entity_id, chunk))
            .distinct()
        ),
        entities,
    )
    found = {Membership(*row) for row in rows}
    return sorted(found, key=lambda m: (m.audience, m.run_id, m.level, m.label))


def recipients_of(
    session: Session, entities: Iterable[str]
) -> list[tuple[str, str, datetime]]:
    """(destination id, audience, first sent) for every destination sent these."""
    rows = _in_batches(
        session,
        lambda chunk: select(
            ExportLedgerRow.destination_id,
            ExportLedgerRow.audience,
            ExportLedgerRow.first_pulled_at,
        ).where(member_of(session, ExportLedgerRow.entity_id, chunk)),
        entities,
    )
    earliest: dict[tuple[str, str], datetime] = {}
    for destination, audience, at in rows:
        key = (destination, audience)
        if key not in earliest or at < earliest[key]:
            earliest[key] = at
    return sorted((d, a, at) for (d, a), at in earliest.items())


@dataclass(frozen=True, slots=True)
class Deleted:
    """How many rows an erasure removed, by kind (counts only)."""

    records: int
    vault_entries: int
    consent_events: int
    memberships: int
    entity_keys: int
    keys_destroyed: int
    # Rows of the destinations' last deliveries (difference protection).
    deliveries: int = 0


def _delete_in(session: Session, table: Any, column: Any, values: Iterable[str]) -> int:
    count = 0
    for chunk in key_batches(session, values):
        result = session.execute(delete(table).where(member_of(session, column, chunk)))
        count += result.rowcount or 0  # type: ignore[attr-defined]
    return count


def _shrink_segments(session: Session, entities: Iterable[str]) -> int:
    """Delete these entities' memberships, and count them out of segment sizes.

    A segment's stored size is what the k-anonymity floor is checked
    against at pull time: it must never count members that are gone.
    """
    removed: dict[str, int] = {}
    for chunk in key_batches(session, entities):
        stmt = (
            select(SegmentMemberRow.segment_id, func.count())
            .where(member_of(session, SegmentMemberRow.entity_id, chunk))
            .group_by(SegmentMemberRow.segment_id)
        )
        for segment_id, count in session.execute(stmt):
            removed[segment_id] = removed.get(segment_id, 0) + count
    for segment_id, count in sorted(removed.items()):
        session.execute(
            update(SegmentRow)
            .where(SegmentRow.id == segment_id)
            .values(size=SegmentRow.size - count)
        )
    return _delete_in(
        session, SegmentMemberRow.__table__, SegmentMemberRow.entity_id, entities
    )


def erase(
    session: Session,
    subjects: Sequence[str],
    keys: Sequence[str],
    record_ids: Sequence[str],
    entities: Sequence[str],
    now: datetime,
) -> Deleted:
    """Delete a subject's rows and destroy its data keys, in the caller's transaction.

    The vault rows go explicitly (not by cascade, which SQLite only applies
    with foreign keys on), then the records with their linkage encodings,
    the consent events of its identifiers, the memberships of its entities
    in every run and in what destinations were last delivered, and the
    identifier pseudonyms runs kept for it. Audit events stay: they hold
    pseudonyms, never values; so does the Art. 19 export ledger, which the
    revocations feed needs to tell destinations to delete the entity.
    """
    vault = _delete_in(
        session, VaultEntryRow.__table__, VaultEntryRow.record_id, record_ids
    )
    records = _delete_in(session, RecordRow.__table__, RecordRow.id, record_ids)
    consents = _delete_in(
        session, ConsentEventRow.__table__, ConsentEventRow.identifier_key, keys
    )
    memberships = _shrink_segments(session, entities)
    deliveries = _delete_in(
        session, ExportDeliveryRow.__table__, ExportDeliveryRow.entity_id, entities
    )
    entity_keys = _delete_in(
        session, RunEntityKeyRow.__table__, RunEntityKeyRow.subject_id, subjects
    ) + _delete_in(
        session, RunEntityKeyRow.__table__, RunEntityKeyRow.identifier_key, keys
    )
    destroyed = 0
    for chunk in key_batches(session, subjects):
        result = session.execute(
            update(SubjectKeyRow)
            .where(
                member_of(session, SubjectKeyRow.subject_id, chunk),
                SubjectKeyRow.wrapped_key.is_not(None),
            )
            .values(wrapped_key=None, destroyed_at=now)
        )
        destroyed += result.rowcount or 0  # type: ignore[attr-defined]
    return Deleted(
        records, vault, consents, memberships, entity_keys, destroyed, deliveries
    )
