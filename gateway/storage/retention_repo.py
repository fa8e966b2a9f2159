"""SQL for retention: count what is past its cut-off, and delete it batch by batch.

Tables are walked along their primary key in slices of a fixed number of
rows (`slice_end`), one slice per transaction of the caller's: a million
old rows are a thousand short transactions, never one held for minutes,
never a list in memory, and each slice reads its own rows only, however
few or many of them are past retention (a `LIMIT` over the matches instead
would rescan the kept rows again on every batch). The rows of a slice are
locked (FOR UPDATE on PostgreSQL; SQLite's writer already holds the
database) and deletes repeat the age condition, so a record refreshed
meanwhile by its partner is not deleted.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, aliased

from gateway.storage.lookup import SQLITE_CHUNK, key_batches, member_of
from gateway.storage.models import (
    ConsentEventRow,
    ExportDeliveryRow,
    IdempotencyRow,
    PipelineRunRow,
    RecordRow,
    RunEntityKeyRow,
    SegmentMemberRow,
    SegmentRow,
    SubjectKeyRow,
    VaultEntryRow,
)

Cutoffs = Mapping[str, datetime]


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _expired(cutoffs: Cutoffs) -> ColumnElement[bool]:
    """A record whose purpose's retention has run out since its last update."""
    terms = [
        and_(RecordRow.purpose == purpose, RecordRow.updated_at < cut)
        for purpose, cut in sorted(cutoffs.items())
    ]
    return or_(*terms) if terms else false()


def _superseded(cutoffs: Cutoffs) -> ColumnElement[bool]:
    """An old consent event that a later one made before the cut-off superseded.

    Later means a later event time on the same identifier and purpose; the
    later event and this one were both recorded before the purpose's cut-off.
    """
    later = aliased(ConsentEventRow)
    terms = [
        and_(
            ConsentEventRow.purpose == purpose,
            ConsentEventRow.recorded_at < cut,
            exists().where(
                later.identifier_key == ConsentEventRow.identifier_key,
                later.purpose == purpose,
                later.event_time > ConsentEventRow.event_time,
                later.recorded_at < cut,
            ),
        )
        for purpose, cut in sorted(cutoffs.items())
    ]
    return or_(*terms) if terms else false()


def _unprotecting(kept: ColumnElement[bool]) -> ColumnElement[bool]:
    """A live data key none of whose subject's records passes `kept`."""
    return and_(
        SubjectKeyRow.wrapped_key.is_not(None),
        ~exists().where(RecordRow.subject_no == SubjectKeyRow.number, kept),
    )


# Counts (dry runs) ----------------------------------------------------------


def count_records(session: Session, cutoffs: Cutoffs) -> dict[str, int]:
    """Records past their purpose's retention, per purpose."""
    stmt = (
        select(RecordRow.purpose, func.count())
        .where(_expired(cutoffs))
        .group_by(RecordRow.purpose)
    )
    return dict(session.execute(stmt).all())


def count_vault_entries(session: Session, cutoffs: Cutoffs) -> int:
    """Vault entries of the records past their retention."""
    stmt = (
        select(func.count())
        .select_from(VaultEntryRow)
        .join(RecordRow, RecordRow.id == VaultEntryRow.record_id)
        .where(_expired(cutoffs))
    )
    return int(session.scalar(stmt) or 0)


def count_without_policy(session: Session, purposes: Iterable[str]) -> int:
    """Records under a purpose the policies no longer define (kept, not guessed)."""
    stmt = select(func.count()).where(RecordRow.purpose.not_in(sorted(purposes)))
    return int(session.scalar(stmt) or 0)


def count_shreddable(session: Session, cutoffs: Cutoffs) -> int:
    """Live data keys that would protect no record once the expired ones are gone."""
    stmt = select(func.count()).where(_unprotecting(~_expired(cutoffs)))
    return int(session.scalar(stmt) or 0)


def count_consent_events(session: Session, cutoffs: Cutoffs) -> dict[str, int]:
    """Superseded consent events past their purpose's cut-off, per purpose."""
    stmt = (
        select(ConsentEventRow.purpose, func.count())
        .where(_superseded(cutoffs))
        .group_by(ConsentEventRow.purpose)
    )
    return dict(session.execute(stmt).all())


def count_idempotency(session: Session, cutoff: datetime) -> int:
    """Stored idempotent responses made before the cut-off."""
    stmt = select(func.count()).where(IdempotencyRow.created_at < cutoff)
    return int(session.scalar(stmt) or 0)


def count_run_contents(
    session: Session, run_ids: Sequence[str]
) -> tuple[int, int, int]:
    """(segments, segment members, run entity keys) of these runs."""
    segments = members = entity_keys = 0
    for chunk in key_batches(session, run_ids):
        in_runs = member_of(session, SegmentRow.run_id, chunk)
        segments += int(session.scalar(select(func.count()).where(in_runs)) or 0)
        members += int(
            session.scalar(
                select(func.count())
                .select_from(SegmentMemberRow)
                .join(SegmentRow, SegmentRow.id == SegmentMemberRow.segment_id)
                .where(in_runs)
            )
            or 0
        )
        entity_keys += int(
            session.scalar(
                select(func.count()).where(
                    member_of(session, RunEntityKeyRow.run_id, chunk)
                )
            )
            or 0
        )
    return segments, members, entity_keys


# Batches (real runs) --------------------------------------------------------


# The primary keys the walks follow.
RECORDS: Any = RecordRow.id
SUBJECT_KEYS: Any = SubjectKeyRow.subject_id
CONSENT_EVENTS: Any = ConsentEventRow.id


def slice_end(session: Session, key: Any, after: Any, size: int) -> Any | None:
    """The key `size` rows after `after` in `key` order; None when fewer are left."""
    stmt = select(key).where(key > after).order_by(key).offset(size - 1).limit(1)
    return session.scalar(stmt)


def _in_slice(key: Any, after: Any, upto: Any | None) -> ColumnElement[bool]:
    """Keys in (after, upto], or above `after` for the last, open slice."""
    return and_(key > after, key <= upto) if upto is not None else key > after


def expired_records(
    session: Session, cutoffs: Cutoffs, after: str, upto: str | None
) -> list[tuple[str, str]]:
    """(record id, purpose) of the slice's records past their retention."""
    stmt = (
        select(RecordRow.id, RecordRow.purpose)
        .where(_in_slice(RecordRow.id, after, upto), _expired(cutoffs))
        .with_for_update()
    )
    return [(record_id, purpose) for record_id, purpose in session.execute(stmt)]


def delete_records(
    session: Session, cutoffs: Cutoffs, record_ids: Sequence[str]
) -> tuple[dict[str, int], int]:
    """Delete these records if still past retention, with their vault entries.

    Vault entries go explicitly (the cascade only acts on SQLite with foreign
    keys on); linkage encodings are columns of the record and go with it.

    Returns:
        (records deleted per purpose, vault entries deleted).
    """
    per_purpose: dict[str, int] = {}
    vault = 0
    for chunk in key_batches(session, record_ids):
        doomed = select(RecordRow.id).where(
            member_of(session, RecordRow.id, chunk), _expired(cutoffs)
        )
        vault += _rowcount(
            session.execute(
                delete(VaultEntryRow).where(VaultEntryRow.record_id.in_(doomed))
            )
        )
        stmt = (
            delete(RecordRow)
            .where(member_of(session, RecordRow.id, chunk), _expired(cutoffs))
            .returning(RecordRow.purpose)
        )
        for purpose in session.scalars(stmt):
            per_purpose[purpose] = per_purpose.get(purpose, 0) + 1
    return per_purpose, vault


def unprotecting_keys(session: Session, after: str, upto: str | None) -> list[str]:
    """Subjects of the slice with a live data key and no record at all."""
    stmt = (
        select(SubjectKeyRow.subject_id)
        .where(
            _in_slice(SubjectKeyRow.subject_id, after, upto),
            _unprotecting(RecordRow.id.is_not(None)),
        )
        .with_for_update()
    )
    return list(session.scalars(stmt))


def shred_keys(session: Session, subject_ids: Sequence[str], now: datetime) -> int:
    """Destroy these subjects' data keys if they still protect no record."""
    shredded = 0
    for chunk in key_batches(session, subject_ids):
        stmt = (
            update(SubjectKeyRow)
            .where(
                member_of(session, SubjectKeyRow.subject_id, chunk),
                _unprotecting(RecordRow.id.is_not(None)),
            )
            .values(wrapped_key=None, destroyed_at=now)
        )
        shredded += _rowcount(session.execute(stmt))
    return shredded


def superseded_consents(
    session: Session, cutoffs: Cutoffs, after: int, upto: int | None
) -> list[tuple[int, str]]:
    """(event id, purpose) of the slice's superseded old consent events."""
    stmt = (
        select(ConsentEventRow.id, ConsentEventRow.purpose)
        .where(_in_slice(ConsentEventRow.id, after, upto), _superseded(cutoffs))
        .with_for_update(of=ConsentEventRow)
    )
    return [(event_id, purpose) for event_id, purpose in session.execute(stmt)]


def delete_consent_events(session: Session, event_ids: Sequence[int]) -> int:
    """Delete consent events by id (found by `superseded_consents`)."""
    deleted = 0
    for start in range(0, len(event_ids), SQLITE_CHUNK):
        chunk = list(event_ids[start : start + SQLITE_CHUNK])
        deleted += _rowcount(
            session.execute(
                delete(ConsentEventRow).where(ConsentEventRow.id.in_(chunk))
            )
        )
    return deleted


def stale_idempotency(
    session: Session, cutoff: datetime, after: tuple[str, str], limit: int
) -> list[tuple[str, str]]:
    """Up to `limit` (client id, key) of responses made before the cut-off."""
    stmt = (
        select(IdempotencyRow.client_id, IdempotencyRow.key)
        .where(
            tuple_(IdempotencyRow.client_id, IdempotencyRow.key) > tuple_(*after),
            IdempotencyRow.created_at < cutoff,
        )
        .order_by(IdempotencyRow.client_id, IdempotencyRow.key)
        .limit(limit)
        .with_for_update()
    )
    return [(client_id, key) for client_id, key in session.execute(stmt)]


def delete_idempotency(
    session: Session, cutoff: datetime, entries: Sequence[tuple[str, str]]
) -> int:
    """Delete these stored responses if still older than the cut-off."""
    by_client: dict[str, list[str]] = {}
    for client_id, key in entries:
        by_client.setdefault(client_id, []).append(key)
    deleted = 0
    for client_id, keys in sorted(by_client.items()):
        for chunk in key_batches(session, keys):
            stmt = delete(IdempotencyRow).where(
                IdempotencyRow.client_id == client_id,
                member_of(session, IdempotencyRow.key, chunk),
                IdempotencyRow.created_at < cutoff,
            )
            deleted += _rowcount(session.execute(stmt))
    return deleted


def run_heads(
    session: Session,
) -> list[tuple[str, str, datetime, datetime | None]]:
    """(id, audience, started_at, finished_at) of every stored run (a few rows)."""
    stmt = select(
        PipelineRunRow.id,
        PipelineRunRow.audience,
        PipelineRunRow.started_at,
        PipelineRunRow.finished_at,
    )
    return [
        (rid, audience, started, finished)
        for rid, audience, started, finished in session.execute(stmt)
    ]


def segment_ids(session: Session, run_id: str) -> list[str]:
    """The ids of a run's segments."""
    return list(
        session.scalars(select(SegmentRow.id).where(SegmentRow.run_id == run_id))
    )


def delete_members(session: Session, segment_id: str, limit: int) -> int:
    """Delete up to `limit` members of a segment, lowest positions first."""
    first = (
        select(SegmentMemberRow.position)
        .where(SegmentMemberRow.segment_id == segment_id)
        .order_by(SegmentMemberRow.position)
        .limit(limit)
    )
    stmt = delete(SegmentMemberRow).where(
        SegmentMemberRow.segment_id == segment_id,
        SegmentMemberRow.position.in_(first),
    )
    return _rowcount(session.execute(stmt))


def delete_entity_keys(session: Session, run_id: str, limit: int) -> int:
    """Delete the entity keys of about `limit` identifiers of a run."""
    first = (
        select(RunEntityKeyRow.identifier_key)
        .where(RunEntityKeyRow.run_id == run_id)
        .order_by(RunEntityKeyRow.identifier_key)
        .limit(limit)
    )
    stmt = delete(RunEntityKeyRow).where(
        RunEntityKeyRow.run_id == run_id,
        RunEntityKeyRow.identifier_key.in_(first),
    )
    return _rowcount(session.execute(stmt))


def delete_run(session: Session, run_id: str) -> int:
    """Delete an emptied run and its segments; returns the segments deleted.

    A destination's last delivery of a segment whose public id no stored
    run holds any more can never be pulled or compared again: its entities
    go with the run.
    """
    publics = list(
        session.scalars(select(SegmentRow.public_id).where(SegmentRow.run_id == run_id))
    )
    segments = _rowcount(
        session.execute(delete(SegmentRow).where(SegmentRow.run_id == run_id))
    )
    session.execute(delete(PipelineRunRow).where(PipelineRunRow.id == run_id))
    for chunk in key_batches(session, publics):
        session.execute(
            delete(ExportDeliveryRow).where(
                member_of(session, ExportDeliveryRow.segment_id, chunk),
                ~exists().where(SegmentRow.public_id == ExportDeliveryRow.segment_id),
            )
        )
    return segments
