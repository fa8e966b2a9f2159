"""SQL for the audit log: lock the head, append sealed events, stream them back."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.audit.event import SealedEvent, canonical_json
from gateway.storage.bulk import insert_rows
from gateway.storage.models import AuditEventRow, AuditHeadRow

HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class Head:
    """The log's size and last chain hash."""

    size: int
    chain_hash: bytes


def lock_head(session: Session) -> Head:
    """Read the head under a lock held until the transaction ends.

    PostgreSQL: a row lock (FOR UPDATE). SQLite: the transaction already holds
    the database write lock, taken by BEGIN IMMEDIATE.
    """
    stmt = select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update()
    row = session.execute(stmt).scalar_one()
    return Head(row.size, row.chain_hash)


def read_head(session: Session) -> Head:
    """Read the head without locking it."""
    row = session.get_one(AuditHeadRow, HEAD_ID)
    return Head(row.size, row.chain_hash)


def append(session: Session, sealed: Sequence[SealedEvent]) -> None:
    """Insert sealed events and move the head past them (caller holds the lock)."""
    if not sealed:
        return
    rows = [
        {
            "seq": s.seq,
            "event_id": s.event_id,
            "occurred_at": s.occurred_at,
            "actor": s.event.actor,
            "action": s.event.action,
            "subject_id": s.event.subject_id,
            "purpose": s.event.purpose,
            "dataset": s.event.dataset,
            "record_id": s.event.record_id,
            "reason": s.event.reason,
            "policy_version": s.event.policy_version,
            "details": canonical_json(s.event.details).decode(),
            "canonical": s.canonical,
            "leaf_hash": s.leaf_hash,
            "chain_hash": s.chain_hash,
        }
        for s in sealed
    ]
    insert_rows(session, AuditEventRow.__table__, rows)
    last = sealed[-1]
    session.execute(
        update(AuditHeadRow)
        .where(AuditHeadRow.id == HEAD_ID)
        .values(size=last.seq + 1, chain_hash=last.chain_hash)
    )


def stream(session: Session, batch: int = 5000) -> Iterator[AuditEventRow]:
    """Every event in log order, fetched in batches."""
    stmt = select(AuditEventRow).order_by(AuditEventRow.seq)
    yield from session.execute(stmt.execution_options(yield_per=batch)).scalars()
