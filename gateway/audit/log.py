"""Append to the audit log, export it, and verify it end to end.

The log is a hash chain (each event linked to the one before) and an RFC 6962
Merkle tree over the same leaves: appending keeps the tree's right frontier
in the head row and stores each complete subtree of 16 leaves or more once
(`audit_nodes`), so that a proof (`gateway.audit.proofs`) reads O(log n)
stored hashes and nothing is ever rebuilt.
"""

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Row
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit import merkle
from gateway.audit.checkpoints import CheckpointSigner, checkpoint_appended
from gateway.audit.event import (
    GENESIS_CHAIN,
    AuditEvent,
    SealedEvent,
    canonical_bytes,
    canonical_json,
    seal,
)
from gateway.audit.note import Checkpoint
from gateway.audit.proofs import STORED_FROM_LEVEL, AuditLogError
from gateway.ids import uuid7_many
from gateway.storage import audit_repo, subject_numbers
from gateway.storage.audit_repo import Node
from gateway.storage.db import transaction


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with microseconds, the one format audit times use."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append_events(
    session: Session,
    events: Sequence[AuditEvent],
    now: datetime,
    signer: CheckpointSigner | None = None,
) -> list[SealedEvent]:
    """Seal and append events in the caller's transaction, under the head lock.

    Call it last in a unit of work: the lock is held until commit, so every
    writer is serialized only for the short tail of its transaction. With a
    `signer`, the grown tree's checkpoint is signed and kept in the same
    transaction: one per committed batch.

    Raises:
        AuditLogError: If the head's frontier does not make its root, or (with
            a signer) the grown tree would not extend the last signed one.
    """
    if not events:
        return []
    # Numbered before the head lock is taken: a request registering a new
    # subject may wait for another that adds the same one, never while
    # holding the lock that other one needs to commit.
    numbers = subject_numbers.register(
        session, {e.subject_id for e in events if e.subject_id is not None}, now
    )
    head = audit_repo.lock_head(session)
    start = merkle.Frontier.from_bytes(head.frontier)
    if start.size != head.size or merkle.frontier_root(start) != head.root_hash:
        raise AuditLogError("the audit head's frontier does not make its root")
    occurred_at = format_time(now)
    previous = head.chain_hash
    sealed: list[SealedEvent] = []
    ids = uuid7_many(now, len(events))
    for offset, event in enumerate(events):
        item = seal(head.size + offset, ids[offset], occurred_at, event, previous)
        sealed.append(item)
        previous = item.chain_hash
    frontier, completed = merkle.extend_with_completed(
        start, [s.leaf_hash for s in sealed]
    )
    smallest = 1 << STORED_FROM_LEVEL
    nodes = [
        _node(first, end, digest)
        for first, end, digest in completed
        if end - first >= smallest
    ]
    root = merkle.frontier_root(frontier)
    grown = audit_repo.Head(
        frontier.size, sealed[-1].chain_hash, root, frontier.to_bytes()
    )
    rows = [_row(s, numbers) for s in sealed]
    audit_repo.append(session, rows, nodes, grown)
    if signer is not None:
        extended, grown = (head.size, head.root_hash), (frontier.size, root)
        if not checkpoint_appended(session, signer, extended, grown, now):
            raise AuditLogError("the log would not extend its last signed checkpoint")
    return sealed


def _row(sealed: SealedEvent, numbers: dict[str, int]) -> tuple[Any, ...]:
    """A sealed event's stored values, in `audit_repo.EVENT_COLUMNS` order."""
    event = sealed.event
    return (
        sealed.seq,
        sealed.event_id,
        sealed.occurred_at,
        event.actor,
        event.action,
        event.subject_id,
        None if event.subject_id is None else numbers[event.subject_id],
        event.purpose,
        event.dataset,
        event.record_id,
        event.reason,
        event.policy_version,
        canonical_json(event.details).decode(),
        sealed.canonical,
        sealed.leaf_hash,
        sealed.chain_hash,
    )


def _node(start: int, end: int, digest: bytes) -> Node:
    level = (end - start).bit_length() - 1
    return Node(level, start >> level, digest)


def export_canonical(session: Session, sink: BinaryIO) -> int:
    """Write every event's canonical bytes, one line each; return the count.

    Canonical JSON holds no raw newline (orjson escapes them inside strings),
    so a line is exactly one leaf's bytes.
    """
    count = 0
    for canonical in audit_repo.canonical_bytes(session):
        sink.write(canonical + b"\n")
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of recomputing the log."""

    ok: bool
    size: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    root_hash: str | None = None


def _event_of(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        actor=row.actor,
        action=row.action,
        subject_id=row.subject_id,
        purpose=row.purpose,
        dataset=row.dataset,
        record_id=row.record_id,
        reason=row.reason,
        policy_version=row.policy_version,
        details=orjson.loads(row.details),
    )


COLUMNS_MISMATCH = "columns do not match the canonical bytes"
NUMBER_MISMATCH = "subject number does not match the subject registry"


def _columns_problem(session: Session, row: Row[Any]) -> str | None:
    try:
        event = _event_of(row)
    except ValueError:
        return "details are not valid JSON"
    if canonical_bytes(row.seq, row.event_id, row.occurred_at, event) != row.canonical:
        return COLUMNS_MISMATCH
    # The number a search by subject goes by: moved to another subject's,
    # the event would be hidden from its own subject's access request.
    if row.subject_no is None:
        registered = None
    else:
        registered = audit_repo.subject_numbered(session, row.subject_no)
    if registered != row.subject_id:
        return NUMBER_MISMATCH
    return None


def _first_bad_columns(session: Session, size: int) -> tuple[int, str] | None:
    """The first of the first `size` events whose columns and bytes disagree.

    Or whose subject number is not its subject's in the registry. The
    database names candidates in one pass; each is confirmed here by
    rebuilding its bytes exactly (the database may escape a rare character
    otherwise than orjson, which is no tampering).
    """
    after = -1
    while candidates := audit_repo.column_candidates(session, after, size):
        for seq in candidates:
            problem = _columns_problem(session, audit_repo.event_row(session, seq))
            if problem is not None:
                return seq, problem
        after = candidates[-1]
    return None


def _first_bad_columns_apart(
    sessions: sessionmaker[Session], size: int
) -> tuple[int, str] | None:
    with transaction(sessions) as session:
        return _first_bad_columns(session, size)


@dataclass(frozen=True, slots=True)
class _HashPass:
    """What recomputing every leaf, link and the tree found."""

    count: int
    chain_hash: bytes
    frontier: merkle.Frontier
    bad_seq: int | None = None
    problem: str | None = None
    root_at_size: bytes | None = None  # the root when the log held `at_size`


def _hash_pass(session: Session, at_size: int | None = None) -> _HashPass:
    previous = GENESIS_CHAIN
    count = 0
    # The right frontier, folded in place: merkle.append without a new
    # Frontier per leaf (a million of them).
    stack: list[bytes] = []
    root_at_size = merkle.EMPTY_ROOT if at_size == 0 else None
    # leaf_hash and chain_hash written out: two calls fewer per event.
    sha256 = hashlib.sha256
    for seq, canonical, stored_leaf, stored_chain in audit_repo.stream_hashes(session):
        problem = None
        if seq != count:
            problem = f"sequence gap: expected {count}"
        elif (leaf := sha256(b"\x00" + canonical).digest()) != stored_leaf:
            problem = "leaf hash does not match the canonical bytes"
        elif sha256(previous + leaf).digest() != stored_chain:
            problem = "chain hash does not link to the previous event"
        if problem is not None:
            frontier = merkle.Frontier()
            return _HashPass(count, previous, frontier, count, problem)
        previous = stored_chain
        node, bits = leaf, count
        while bits & 1:
            node, bits = merkle.node_hash(stack.pop(), node), bits >> 1
        stack.append(node)
        count += 1
        if count == at_size:
            root_at_size = merkle.range_hash(stack)
    frontier = merkle.Frontier(count, tuple(stack))
    return _HashPass(count, previous, frontier, root_at_size=root_at_size)


def verify(
    session: Session,
    columns_sessions: sessionmaker[Session] | None = None,
    checkpoint: Checkpoint | None = None,
) -> VerifyReport:
    """Recompute every event's bytes, leaf and chain hash, the tree and the head.

    Args:
        session: Where the log is read.
        columns_sessions: Read-only sessions over the same database: given,
            the database compares columns with canonical bytes on a second
            connection while this one recomputes hashes (half the time on two
            cores). Rows are append-only, so both see the same first events.
        checkpoint: A checkpoint saved earlier (its signature already
            checked): the log, recomputed from its events, must still hold
            the tree it committed to. A truncated, rolled-back or rewritten
            log fails, whatever the head row or the stored subtrees say.
    """
    if session.get_bind().dialect.name == "postgresql":
        # One snapshot for the head and the events: under READ COMMITTED each
        # statement sees what committed before it, and events appended while
        # the log was read made an intact log fail ("head does not match").
        # A session of its own, so that it starts at REPEATABLE READ whatever
        # the caller's session already read. SQLite's read transaction is one
        # snapshot already.
        with Session(session.get_bind()) as own, own.begin():
            own.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            return _verify(own, columns_sessions, checkpoint)
    return _verify(session, columns_sessions, checkpoint)


def _verify(
    session: Session,
    columns_sessions: sessionmaker[Session] | None,
    checkpoint: Checkpoint | None,
) -> VerifyReport:
    size = audit_repo.read_head(session).size
    at_size = None if checkpoint is None else checkpoint.tree_size
    if columns_sessions is None:
        bad_columns = _first_bad_columns(session, size)
        hashed = _hash_pass(session, at_size)
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(_first_bad_columns_apart, columns_sessions, size)
            hashed = _hash_pass(session, at_size)
            bad_columns = pending.result()
    count, previous = hashed.count, hashed.chain_hash
    if bad_columns is not None and (
        hashed.bad_seq is None or bad_columns[0] < hashed.bad_seq
    ):
        bad_seq, problem = bad_columns
        # The events before it passed the hash pass: their chain stands.
        linked = (
            audit_repo.event_row(session, bad_seq - 1).chain_hash
            if bad_seq
            else GENESIS_CHAIN
        )
        return VerifyReport(False, bad_seq, linked.hex(), bad_seq, problem)
    if hashed.problem is not None:
        return VerifyReport(False, count, previous.hex(), count, hashed.problem)
    if checkpoint is not None and hashed.root_at_size is None:
        return VerifyReport(
            False,
            count,
            previous.hex(),
            count,
            f"the log holds {count} events, fewer than the checkpoint's "
            f"{checkpoint.tree_size} (truncated or rolled back)",
        )
    if checkpoint is not None and hashed.root_at_size != checkpoint.root_hash:
        return VerifyReport(
            False,
            count,
            previous.hex(),
            None,
            f"the log's first {checkpoint.tree_size} events are not the tree "
            "the checkpoint committed to (rewritten)",
        )
    frontier = hashed.frontier
    head = audit_repo.read_head(session)
    root = merkle.frontier_root(frontier)
    if head.size != count or head.chain_hash != previous:
        return VerifyReport(
            False,
            count,
            previous.hex(),
            count,
            "head does not match the log (truncated?)",
        )
    if head.root_hash != root or head.frontier != frontier.to_bytes():
        return VerifyReport(
            False, count, previous.hex(), count, "head's Merkle root does not match"
        )
    return VerifyReport(True, count, previous.hex(), root_hash=root.hex())
