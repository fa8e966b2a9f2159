"""SQL for segmentation runs, their segments, members and entity identifiers."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gateway.storage.bulk import insert_rows
from gateway.storage.lookup import key_batches, member_of
from gateway.storage.models import (
    ConsentEventRow,
    PipelineRunRow,
    RunEntityKeyRow,
    RunLinkageRow,
    SegmentMemberRow,
    SegmentRow,
    SubjectKeyRow,
)

# Rows per executemany when a run is stored: bounded memory for the driver.
WRITE_CHUNK = 20_000


def insert_chunked(
    session: Session, table: Any, rows: Sequence[dict[str, Any]]
) -> None:
    """Bulk insert in chunks of `WRITE_CHUNK` rows."""
    for start in range(0, len(rows), WRITE_CHUNK):
        insert_rows(session, table, rows[start : start + WRITE_CHUNK])


def start_run(session: Session, row: dict[str, Any]) -> None:
    """Record a run as started (not visible to destinations until finished)."""
    insert_rows(session, PipelineRunRow.__table__, [row])


def finish_run(
    session: Session, run_id: str, finished_at: datetime, summary: dict[str, Any]
) -> None:
    """Mark a run finished, with its summary: from now on destinations see it."""
    session.execute(
        update(PipelineRunRow)
        .where(PipelineRunRow.id == run_id)
        .values(finished_at=finished_at, summary=summary)
    )


def replace_run_linkage(session: Session, row: dict[str, Any]) -> None:
    """Keep a run's linkage state as its audience's only one."""
    session.execute(
        delete(RunLinkageRow).where(RunLinkageRow.audience == row["audience"])
    )
    insert_rows(session, RunLinkageRow.__table__, [row])


def run_linkage(session: Session, run_id: str) -> RunLinkageRow | None:
    """The linkage state a run left, if it is its audience's latest."""
    return session.get(RunLinkageRow, run_id)


def latest_run(session: Session, audience: str) -> PipelineRunRow | None:
    """The audience's most recently finished run."""
    stmt = (
        select(PipelineRunRow)
        .where(
            PipelineRunRow.audience == audience,
            PipelineRunRow.finished_at.is_not(None),
        )
        .order_by(PipelineRunRow.finished_at.desc(), PipelineRunRow.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


@dataclass(frozen=True)
class SegmentMembers:
    """One segment of a run as the next run compares with it: no ORM row."""

    public_id: str
    level: int
    entity_ids: list[str]


def latest_memberships(
    session: Session, audience: str
) -> tuple[str, list[SegmentMembers]] | None:
    """The audience's latest finished run id and its segments' members.

    One query per segment on the members' primary key, entity ids only: at a
    million members per level, a join repeating each segment's public id and
    level on every row would hold millions more strings.
    """
    last = latest_run(session, audience)
    if last is None:
        return None
    segments = session.execute(
        select(SegmentRow.id, SegmentRow.public_id, SegmentRow.level).where(
            SegmentRow.run_id == last.id
        )
    ).all()
    found = []
    for segment_id, public_id, level in segments:
        stmt = select(SegmentMemberRow.entity_id).where(
            SegmentMemberRow.segment_id == segment_id
        )
        found.append(SegmentMembers(public_id, level, list(session.scalars(stmt))))
    return last.id, found


def run_identifier_entities(session: Session, run_id: str) -> list[tuple[str, str]]:
    """(identifier pseudonym, entity id) of every member entity of a run."""
    stmt = (
        select(RunEntityKeyRow.identifier_key, RunEntityKeyRow.entity_id)
        .where(RunEntityKeyRow.run_id == run_id)
        .distinct()
    )
    return [(key, entity) for key, entity in session.execute(stmt)]


def segments_of(session: Session, run_id: str) -> list[SegmentRow]:
    """A run's segments, by level then label."""
    stmt = (
        select(SegmentRow)
        .where(SegmentRow.run_id == run_id)
        .order_by(SegmentRow.level, SegmentRow.label)
    )
    return list(session.scalars(stmt))


def lapsed_counts(
    session: Session, run_id: str, entities: Iterable[str]
) -> dict[str, int]:
    """How many of these entities each segment of the run holds."""
    counts: dict[str, int] = {}
    for chunk in key_batches(session, entities):
        stmt = (
            select(SegmentMemberRow.segment_id, func.count())
            .join(SegmentRow, SegmentRow.id == SegmentMemberRow.segment_id)
            .where(
                SegmentRow.run_id == run_id,
                member_of(session, SegmentMemberRow.entity_id, chunk),
            )
            .group_by(SegmentMemberRow.segment_id)
        )
        for segment_id, count in session.execute(stmt):
            counts[segment_id] = counts.get(segment_id, 0) + count
    return counts


def entities_with_consent_since(
    session: Session, run_id: str, purpose: str, since: datetime
) -> set[str]:
    """Entities of the run with a consent event for `purpose` at or after `since`.

    A join in the database: most events since a run are about people the run
    never saw (new customers' grants), and fetching every such identifier to
    look its entity up here cost each pull memory and time in proportion to
    everything ingested since the run (bench/load.py: workers grew by a
    quarter in three minutes, and did not give it back).
    """
    stmt = (
        select(RunEntityKeyRow.entity_id)
        .join(
            ConsentEventRow,
            ConsentEventRow.identifier_key == RunEntityKeyRow.identifier_key,
        )
        .where(
            RunEntityKeyRow.run_id == run_id,
            ConsentEventRow.purpose == purpose,
            ConsentEventRow.recorded_at >= since,
        )
        .distinct()
    )
    return set(session.scalars(stmt))


def subjects_erased_since(session: Session, since: datetime) -> set[str]:
    """Subjects whose data key was destroyed at or after `since`."""
    stmt = select(SubjectKeyRow.subject_id).where(SubjectKeyRow.destroyed_at >= since)
    return set(session.scalars(stmt))


def _entities_where(
    session: Session, run_id: str, column: Any, values: Iterable[str]
) -> set[str]:
    found: set[str] = set()
    for chunk in key_batches(session, values):
        stmt = select(RunEntityKeyRow.entity_id).where(
            RunEntityKeyRow.run_id == run_id, member_of(session, column, chunk)
        )
        found.update(session.scalars(stmt))
    return found


def entities_in_run(session: Session, run_id: str, entities: Iterable[str]) -> set[str]:
    """Those of these entities the run holds."""
    return _entities_where(session, run_id, RunEntityKeyRow.entity_id, entities)


def entities_by_subjects(
    session: Session, run_id: str, subjects: Iterable[str]
) -> set[str]:
    """Entities of the run built from any of these subjects' records."""
    return _entities_where(session, run_id, RunEntityKeyRow.subject_id, subjects)


def subject_keys_of(
    session: Session, run_id: str, entities: Iterable[str]
) -> dict[str, dict[str, list[str]]]:
    """Map each of these entities to its subjects and their identifier pseudonyms."""
    found: dict[str, dict[str, list[str]]] = {}
    for chunk in key_batches(session, entities):
        stmt = select(
            RunEntityKeyRow.entity_id,
            RunEntityKeyRow.subject_id,
            RunEntityKeyRow.identifier_key,
        ).where(
            RunEntityKeyRow.run_id == run_id,
            member_of(session, RunEntityKeyRow.entity_id, chunk),
        )
        for entity, subject, key in session.execute(stmt):
            found.setdefault(entity, {}).setdefault(subject, []).append(key)
    return found
