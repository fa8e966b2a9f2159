"""Append to the audit log and verify it end to end."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.audit.event import (
    GENESIS_CHAIN,
    AuditEvent,
    SealedEvent,
    canonical_bytes,
    chain_hash,
    leaf_hash,
    seal,
)
from gateway.ids import uuid7
from gateway.storage import audit_repo
from gateway.storage.models import AuditEventRow


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with microseconds, the one format audit times use."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append_events(
    session: Session, events: Sequence[AuditEvent], now: datetime
) -> list[SealedEvent]:
    """Seal and append events in the caller's transaction, under the head lock.

    Call it last in a unit of work: the lock is held until commit, so every
    writer is serialized only for the short tail of its transaction.
    """
    if not events:
        return []
    head = audit_repo.lock_head(session)
    occurred_at = format_time(now)
    previous = head.chain_hash
    sealed: list[SealedEvent] = []
    for offset, event in enumerate(events):
        item = seal(head.size + offset, uuid7(now), occurred_at, event, previous)
        sealed.append(item)
        previous = item.chain_hash
    audit_repo.append(session, sealed)
    return sealed


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of recomputing the log."""

    ok: bool
    size: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def _event_of(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        actor=row.actor,
        action=row.action,
        subject_id=row.subject_id,
        purpose=row.purpose,
        dataset=row.dataset,
        record_id=row.record_id,
        reason=row.reason,
        policy_version=row.policy_version,
        details=json.loads(row.details),
    )


def _row_problem(row: AuditEventRow, expected_seq: int, previous: bytes) -> str | None:
    if row.seq != expected_seq:
        return f"sequence gap: expected {expected_seq}"
    try:
        event = _event_of(row)
    except ValueError:
        return "details are not valid JSON"
    if canonical_bytes(row.seq, row.event_id, row.occurred_at, event) != row.canonical:
        return "columns do not match the canonical bytes"
    leaf = leaf_hash(row.canonical)
    if leaf != row.leaf_hash:
        return "leaf hash does not match the canonical bytes"
    if chain_hash(previous, leaf) != row.chain_hash:
        return "chain hash does not link to the previous event"
    return None


def verify(session: Session) -> VerifyReport:
    """Recompute every event's bytes, leaf and chain hash, and the head."""
    previous = GENESIS_CHAIN
    count = 0
    for row in audit_repo.stream(session):
        problem = _row_problem(row, count, previous)
        if problem is not None:
            return VerifyReport(False, count, previous.hex(), count, problem)
        previous = row.chain_hash
        count += 1
    head = audit_repo.read_head(session)
    if head.size != count or head.chain_hash != previous:
        return VerifyReport(
            False,
            count,
            previous.hex(),
            count,
            "head does not match the log (truncated?)",
        )
    return VerifyReport(True, count, previous.hex())
