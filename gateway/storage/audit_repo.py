"""SQL for the audit log: lock the head, append events and tree nodes, read them."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from gateway.storage.bulk import insert_tuples
from gateway.storage.models import (
    AuditCheckpointRow,
    AuditEventRow,
    AuditHeadRow,
    AuditNodeRow,
    SubjectKeyRow,
)
from gateway.storage.subject_numbers import of_subjects

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


# Columns, not the ORM entity: every append reads the head, and a Core row is
# several times cheaper to build than a mapped object.
_HEAD = select(
    AuditHeadRow.size,
    AuditHeadRow.chain_hash,
    AuditHeadRow.root_hash,
    AuditHeadRow.frontier,
).where(AuditHeadRow.id == HEAD_ID)
_LOCKED_HEAD = _HEAD.with_for_update()


def _head(row: Row[Any]) -> Head:
    size, chain, root, frontier = row
    return Head(size, bytes(chain), bytes(root), bytes(frontier))


def lock_head(session: Session) -> Head:
    """Read the head under a lock held until the transaction ends.

    PostgreSQL: a row lock (FOR UPDATE). SQLite: the transaction already holds
    the database write lock, taken by BEGIN IMMEDIATE.
    """
    return _head(session.execute(_LOCKED_HEAD).one())


def read_head(session: Session) -> Head:
    """Read the head without locking it."""
    return _head(session.execute(_HEAD).one())


EVENT_COLUMNS = (
    "seq",
    "event_id",
    "occurred_at",
    "actor",
    "action",
    "subject_id",
    "subject_no",
    "purpose",
    "dataset",
    "record_id",
    "reason",
    "policy_version",
    "details",
    "canonical",
    "leaf_hash",
    "chain_hash",
)


def append(
    session: Session,
    rows: Sequence[tuple[Any, ...]],
    nodes: Sequence[Node],
    head: Head,
) -> None:
    """Insert sealed events and the subtrees they complete; move the head to `head`.

    `rows` hold each event's values in `EVENT_COLUMNS` order (text, integers,
    bytes or None). The caller holds the head lock.
    """
    if not rows:
        return
    # Binary COPY on PostgreSQL: every value is text, an integer, bytes or
    # None, and the canonical bytes and hashes go as they are, not as hex.
    insert_tuples(session, AuditEventRow.__table__, EVENT_COLUMNS, rows, binary=True)
    if nodes:
        insert_tuples(
            session,
            AuditNodeRow.__table__,
            ("level", "idx", "hash"),
            [(n.level, n.idx, n.hash) for n in nodes],
            binary=True,
        )
    session.execute(
        _MOVE_HEAD,
        {
            "new_size": head.size,
            "new_chain": head.chain_hash,
            "new_root": head.root_hash,
            "new_frontier": head.frontier,
        },
    )


_MOVE_HEAD = (
    update(AuditHeadRow)
    .where(AuditHeadRow.id == HEAD_ID)
    .values(
        size=bindparam("new_size"),
        chain_hash=bindparam("new_chain"),
        root_hash=bindparam("new_root"),
        frontier=bindparam("new_frontier"),
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
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # Plain SQL: a proof's lookups differ only in how many there are, and
    # building them as SQLAlchemy expressions (an OR of a score of
    # comparisons) cost more than the database spent answering them.
    if leaves:
        sql = (
            "SELECT seq, leaf_hash FROM audit_events"  # noqa: S608 - placeholders only
            f" WHERE seq IN ({', '.join([mark] * len(leaves))})"
        )
        for seq, digest in connection.exec_driver_sql(sql, tuple(leaves)):
            found[0, seq] = bytes(digest)
    if nodes:
        match = f"(level = {mark} AND idx = {mark})"
        sql = (
            "SELECT level, idx, hash FROM audit_nodes"  # noqa: S608 - placeholders only
            f" WHERE {' OR '.join([match] * len(nodes))}"
        )
        params = tuple(value for node in nodes for value in node)
        for level, idx, digest in connection.exec_driver_sql(sql, params):
            found[level, idx] = bytes(digest)
    return found


# Rows per fetch when the whole log is read (verify, export). A fetch's rows
# and the driver's buffers are freed after it, but the C allocator keeps the
# high-water mark of each thread's arena, and requests run on many threads:
# with 20,000 rows a fetch (some 30 MB), five minutes of `bench/load.py`
# (a whole-log verify every 30 s) left each worker a third larger while the
# Python heap stayed flat (tracemalloc); with 2,000, under 4 % larger. A
# million-event verify takes 5.98 s instead of 5.59 on PostgreSQL, the same
# on SQLite.
STREAM_BATCH = 2000


def canonical_bytes(session: Session, batch: int = STREAM_BATCH) -> Iterator[bytes]:
    """Every event's canonical bytes in log order."""
    stmt = select(AuditEventRow.canonical).order_by(AuditEventRow.seq)
    for data in session.execute(stmt.execution_options(yield_per=batch)).scalars():
        yield bytes(data)


# Every column of an event is in its canonical bytes: where a column and the
# bytes disagree, a query on the column would read what was never hashed.
# The database writes each row's canonical JSON again from its columns (sorted
# keys, no spaces, as `gateway.audit.event.canonical_bytes` does) and names
# the rows whose bytes differ: one pass in C, no JSON parsing. Its string
# escaping may differ from ours on rare characters, so a row it names is only
# a candidate, confirmed in Python by the caller.
_CANONICAL_KEYS = (
    "action",
    "actor",
    "dataset",
    "details",
    "event_id",
    "occurred_at",
    "policy_version",
    "purpose",
    "reason",
    "record_id",
    "seq",
    "subject_id",
)


def _rebuilt_canonical(quote: str) -> str:
    parts = []
    for key in _CANONICAL_KEYS:
        if key == "details":
            value = "details"  # stored as canonical JSON text already
        elif key == "seq":
            value = "CAST(seq AS TEXT)"
        else:
            value = quote.format(key)
        parts.append(f"'\"{key}\":' || {value}")
    # "1}" apart: ":1" inside one literal would read as a bind parameter.
    return "'{' || " + " || ',' || ".join(parts) + " || ',\"v\":' || '1}'"


_SQLITE_REBUILT = f"CAST({_rebuilt_canonical('json_quote({})')} AS BLOB)"
_POSTGRES_REBUILT = (
    "convert_to("
    + _rebuilt_canonical("coalesce(to_json({})::text, 'null')")
    + ", 'UTF8')"
)


# The subject id registered under an event's number (null without one): an
# event whose number is not its subject's would escape searches by subject.
_REGISTERED = (
    "(SELECT k.subject_id FROM subject_keys k WHERE k.number = audit_events.subject_no)"
)


def column_candidates(
    session: Session, after: int, size: int, limit: int = 100
) -> list[int]:
    """Events in (after, size) whose bytes the database rebuilds otherwise.

    Or whose subject number is not registered to their subject.
    """
    rebuilt = (
        _POSTGRES_REBUILT
        if session.get_bind().dialect.name == "postgresql"
        else _SQLITE_REBUILT
    )
    stmt = text(
        "SELECT seq FROM audit_events WHERE seq > :after AND seq < :size"  # noqa: S608 - constants
        f" AND (canonical <> {rebuilt} OR {_REGISTERED} IS DISTINCT FROM subject_id)"
        " ORDER BY seq LIMIT :limit"
    )
    params = {"after": after, "size": size, "limit": limit}
    return list(session.execute(stmt, params).scalars())


def subject_numbered(session: Session, number: int) -> str | None:
    """The subject id registered under `number`, if any."""
    stmt = select(SubjectKeyRow.subject_id).where(SubjectKeyRow.number == number)
    found: str | None = session.execute(stmt).scalar_one_or_none()
    return found


def event_row(session: Session, seq: int) -> Row[Any]:
    """One event as a plain row."""
    table = AuditEventRow.__table__
    return session.execute(select(table).where(table.c.seq == seq)).one()


def stream_hashes(
    session: Session, batch: int = STREAM_BATCH
) -> Iterator[tuple[int, bytes, bytes, bytes]]:
    """(seq, canonical, leaf hash, chain hash) of every event, in log order.

    Straight from the driver's cursor: a million rows through SQLAlchemy's
    result objects would cost verify a second more. On PostgreSQL a
    server-side cursor in binary format: rows stream in bounded memory, and
    the hashes arrive as bytes instead of hex text to decode (a million
    events: 3.5 s instead of 12.7 s).
    """
    raw = session.connection().connection
    if session.get_bind().dialect.name == "postgresql":
        driver = raw.driver_connection
        cursor = driver.cursor(name="audit_stream_hashes", binary=True)  # type: ignore[union-attr]
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(
            "SELECT seq, canonical, leaf_hash, chain_hash FROM audit_events"
            " ORDER BY seq"
        )
        while rows := cursor.fetchmany(batch):
            for seq, canonical, leaf, chain in rows:
                yield seq, bytes(canonical), bytes(leaf), bytes(chain)
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint as signed: size, root and the note's text."""

    tree_size: int
    root_hash: bytes
    note: str


_LAST_CHECKPOINT = (
    select(
        AuditCheckpointRow.tree_size,
        AuditCheckpointRow.root_hash,
        AuditCheckpointRow.note,
    )
    .order_by(AuditCheckpointRow.tree_size.desc())
    .limit(1)
)
_ADD_CHECKPOINT = insert(AuditCheckpointRow.__table__)


def last_checkpoint(session: Session) -> StoredCheckpoint | None:
    """The checkpoint of the largest tree the gateway signed, if any."""
    row = session.execute(_LAST_CHECKPOINT).one_or_none()
    if row is None:
        return None
    size, root, note = row
    return StoredCheckpoint(size, bytes(root), note)


def add_checkpoint(
    session: Session, checkpoint: StoredCheckpoint, signed_at: datetime
) -> None:
    """Keep a checkpoint the gateway just signed."""
    session.execute(
        _ADD_CHECKPOINT,
        {
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash,
            "note": checkpoint.note,
            "signed_at": signed_at,
        },
    )


def find_events(
    session: Session,
    subject_ids: Sequence[str] | None,
    action: str | None,
    since: str | None,
    after_seq: int,
    limit: int,
) -> list[AuditEventRow]:
    """Events in log order after `after_seq`, filtered; at most `limit`.

    `since` compares with `occurred_at` as text: both are written in the one
    fixed-width UTC format of `gateway.audit.log.format_time`.
    """
    stmt = select(AuditEventRow).where(AuditEventRow.seq > after_seq)
    if subject_ids is not None:
        stmt = stmt.where(
            of_subjects(session, AuditEventRow.subject_no, list(subject_ids))
        )
    if action is not None:
        stmt = stmt.where(AuditEventRow.action == action)
    if since is not None:
        stmt = stmt.where(AuditEventRow.occurred_at >= since)
    return list(session.scalars(stmt.order_by(AuditEventRow.seq).limit(limit)))
