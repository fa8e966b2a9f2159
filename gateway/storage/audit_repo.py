"""SQL for the audit log: lock the head, append events and tree nodes, read them."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway.audit.event import SealedEvent, canonical_json
from gateway.storage.bulk import insert_rows
from gateway.storage.models import AuditEventRow, AuditHeadRow, AuditNodeRow

HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class Head:
    """The log's size, last chain hash, Merkle root and serialized frontier."""

    size: int
    chain_hash: bytes
    root_hash: bytes
    frontier: bytes


@dataclass(frozen=True, slots=True)
class Node:
    """A complete subtree's hash: level h, index i covers [i * 2^h, (i+1) * 2^h)."""

    level: int
    idx: int
    hash: bytes


def _head(row: AuditHeadRow) -> Head:
    return Head(row.size, row.chain_hash, row.root_hash, row.frontier)


def lock_head(session: Session) -> Head:
    """Read the head under a lock held until the transaction ends.

    PostgreSQL: a row lock (FOR UPDATE). SQLite: the transaction already holds
    the database write lock, taken by BEGIN IMMEDIATE.
    """
    stmt = select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update()
    return _head(session.execute(stmt).scalar_one())


def read_head(session: Session) -> Head:
    """Read the head without locking it."""
    return _head(session.get_one(AuditHeadRow, HEAD_ID))


def append(
    session: Session,
    sealed: Sequence[SealedEvent],
    nodes: Sequence[Node],
    root_hash: bytes,
    frontier: bytes,
) -> None:
    """Insert sealed events and the subtrees they complete; move the head.

    The caller holds the head lock.
    """
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
    if nodes:
        insert_rows(
            session,
            AuditNodeRow.__table__,
            [{"level": n.level, "idx": n.idx, "hash": n.hash} for n in nodes],
        )
    last = sealed[-1]
    session.execute(
        update(AuditHeadRow)
        .where(AuditHeadRow.id == HEAD_ID)
        .values(
            size=last.seq + 1,
            chain_hash=last.chain_hash,
            root_hash=root_hash,
            frontier=frontier,
        )
    )


def node_hashes(
    session: Session, wanted: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of complete subtrees, by (level, index).

    Level 0 is a leaf, read from the events; the rest from the tree's nodes.
    Two queries at most, each a primary-key lookup per subtree: a proof asks
    for O(log n) of them.
    """
    found: dict[tuple[int, int], bytes] = {}
    leaves = [idx for level, idx in wanted if level == 0]
    nodes = [(level, idx) for level, idx in wanted if level > 0]
    if leaves:
        stmt = select(AuditEventRow.seq, AuditEventRow.leaf_hash).where(
            AuditEventRow.seq.in_(leaves)
        )
        for seq, digest in session.execute(stmt):
            found[0, seq] = bytes(digest)
    if nodes:
        stmt = select(AuditNodeRow.level, AuditNodeRow.idx, AuditNodeRow.hash).where(
            or_(
                *(
                    and_(AuditNodeRow.level == level, AuditNodeRow.idx == idx)
                    for level, idx in nodes
                )
            )
        )
        for level, idx, digest in session.execute(stmt):
            found[level, idx] = bytes(digest)
    return found


def canonical_bytes(session: Session, batch: int = 20000) -> Iterator[bytes]:
    """Every event's canonical bytes in log order."""
    stmt = select(AuditEventRow.canonical).order_by(AuditEventRow.seq)
    for data in session.execute(stmt.execution_options(yield_per=batch)).scalars():
        yield bytes(data)


def leaf_hashes(session: Session, batch: int = 20000) -> Iterator[bytes]:
    """Every stored leaf hash in log order (the cheap column, not the events)."""
    stmt = select(AuditEventRow.leaf_hash).order_by(AuditEventRow.seq)
    for digest in session.execute(stmt.execution_options(yield_per=batch)).scalars():
        yield bytes(digest)


# Every column of an event is in its canonical bytes: where a column and the
# bytes disagree, a query on the column would read what was never hashed.
# Checked by the database itself, one pass in C, so that verifying a million
# events leaves Python only the hashes to recompute.
_TEXT_COLUMNS = (
    "event_id",
    "occurred_at",
    "actor",
    "action",
    "subject_id",
    "purpose",
    "dataset",
    "record_id",
    "reason",
    "policy_version",
)
_SQLITE_MISMATCH = " OR ".join(
    [
        "json_extract(c, '$.v') IS NOT 1",
        "json_extract(c, '$.seq') IS NOT seq",
        "json(details) IS NOT json_extract(c, '$.details')",
        *(f"json_extract(c, '$.{name}') IS NOT {name}" for name in _TEXT_COLUMNS),
    ]
)
_POSTGRES_MISMATCH = " OR ".join(
    [
        "(c ->> 'v') IS DISTINCT FROM '1'",
        "(c ->> 'seq') IS DISTINCT FROM seq::text",
        "(c -> 'details') IS DISTINCT FROM details::jsonb",
        *(f"(c ->> '{name}') IS DISTINCT FROM {name}" for name in _TEXT_COLUMNS),
    ]
)


UNREADABLE = -1  # some event's canonical bytes are not JSON the database reads


def first_column_mismatch(session: Session) -> int | None:
    """The first event whose columns do not say what its canonical bytes say.

    Returns:
        Its seq; None when every event agrees; `UNREADABLE` when the database
        cannot read some event's canonical bytes as JSON (the caller then
        looks for it row by row).
    """
    if session.get_bind().dialect.name == "postgresql":
        as_json = "convert_from(canonical, 'UTF8')::jsonb"
        where = _POSTGRES_MISMATCH
    else:
        as_json = "CAST(canonical AS TEXT)"
        where = f"json_valid(c) = 0 OR {_SQLITE_MISMATCH}"
    query = f"SELECT *, {as_json} AS c FROM audit_events"  # noqa: S608 - constants
    stmt = text(f"SELECT min(seq) FROM ({query}) AS e WHERE {where}")  # noqa: S608 - constants
    try:
        with session.begin_nested():  # a failed statement must not end the caller's
            return session.execute(stmt).scalar_one()
    except DBAPIError:
        return UNREADABLE


def stream_hashes(
    session: Session, batch: int = 50000
) -> Iterator[tuple[int, bytes, bytes, bytes]]:
    """(seq, canonical, leaf hash, chain hash) of every event, in log order."""
    table = AuditEventRow.__table__
    stmt = select(
        table.c.seq, table.c.canonical, table.c.leaf_hash, table.c.chain_hash
    ).order_by(table.c.seq)
    yield from session.execute(stmt.execution_options(yield_per=batch))


def stream_rows(session: Session, batch: int = 20000) -> Iterator[Row[Any]]:
    """Every event in log order as plain rows: no ORM objects for millions."""
    stmt = select(AuditEventRow.__table__).order_by(AuditEventRow.seq)
    yield from session.execute(stmt.execution_options(yield_per=batch))


def stream(session: Session, batch: int = 5000) -> Iterator[AuditEventRow]:
    """Every event in log order, fetched in batches."""
    stmt = select(AuditEventRow).order_by(AuditEventRow.seq)
    yield from session.execute(stmt.execution_options(yield_per=batch)).scalars()
