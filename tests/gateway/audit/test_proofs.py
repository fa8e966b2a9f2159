"""The stored Merkle tree: proofs from O(log n) stored subtrees, on both databases.

Every proof is checked with the RFC 9162 verifier against a root recomputed
independently from the exported canonical bytes, never from what the gateway
stored.
"""

import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.audit import (
    AuditEvent,
    append_events,
    consistency_proof,
    export_canonical,
    inclusion_proof,
    verify,
)
from gateway.audit.event import seal
from gateway.audit.merkle import (
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from gateway.context import GatewayContext
from gateway.errors import InvalidRequestError
from gateway.storage import migrate
from gateway.storage.db import make_engine, transaction
from tests.databases import BOTH, Database

# Batches that cross powers of two mid-batch and end on one (1+2+5+8+... = 37).
BATCHES = (1, 2, 5, 8, 13, 8)


def _append(ctx: GatewayContext, count: int) -> None:
    events = [
        AuditEvent("test", "record.accepted", details={"i": i}) for i in range(count)
    ]
    with transaction(ctx.sessions) as session:
        append_events(session, events, ctx.clock())


def _exported_leaves(ctx: GatewayContext) -> list[bytes]:
    sink = io.BytesIO()
    with transaction(ctx.read_sessions) as session:
        export_canonical(session, sink)
    return [leaf_hash(line) for line in sink.getvalue().splitlines()]


@BOTH
def test_every_inclusion_and_consistency_proof_verifies(
    fresh_ctx: GatewayContext,
) -> None:
    for count in BATCHES:
        _append(fresh_ctx, count)
    leaves = _exported_leaves(fresh_ctx)
    n = len(leaves)
    roots = [root_from_leaf_hashes(leaves[:size]) for size in range(n + 1)]
    with transaction(fresh_ctx.read_sessions) as session:
        report = verify(session)
        assert report.ok
        assert report.root_hash == roots[n].hex()
        for size in (1, 2, 3, 7, 8, 16, 17, 31, n):
            for seq in range(size):
                proof = inclusion_proof(session, seq, size)
                assert proof.leaf_hash == leaves[seq]
                assert verify_inclusion(
                    seq, size, leaves[seq], proof.audit_path, roots[size]
                )
        for first in range(1, n + 1):
            for second in (first, first + 1, n):
                if second > n:
                    continue
                proof = consistency_proof(session, first, second)
                assert verify_consistency(
                    first, second, roots[first], roots[second], proof.proof
                )


@BOTH
def test_a_proof_of_the_whole_log_is_the_default(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 5)
    with transaction(fresh_ctx.read_sessions) as session:
        proof = inclusion_proof(session, 2)
    assert proof.tree_size == 5
    assert proof.document()["leaf_index"] == 2


@BOTH
@pytest.mark.parametrize(
    ("seq", "tree_size"), [(5, None), (-1, None), (2, 2), (0, 6), (0, -1)]
)
def test_proofs_outside_the_log_are_refused(
    fresh_ctx: GatewayContext, seq: int, tree_size: int | None
) -> None:
    _append(fresh_ctx, 5)
    with (
        transaction(fresh_ctx.read_sessions) as session,
        pytest.raises(InvalidRequestError),
    ):
        inclusion_proof(session, seq, tree_size)


@BOTH
@pytest.mark.parametrize(("first", "second"), [(3, 2), (0, 6), (-1, 2)])
def test_consistency_outside_the_log_is_refused(
    fresh_ctx: GatewayContext, first: int, second: int
) -> None:
    _append(fresh_ctx, 5)
    with (
        transaction(fresh_ctx.read_sessions) as session,
        pytest.raises(InvalidRequestError),
    ):
        consistency_proof(session, first, second)


@BOTH
def test_tree_nodes_are_append_only(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 16)  # one stored subtree
    for statement in ("UPDATE audit_nodes SET idx = 9", "DELETE FROM audit_nodes"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            transaction(fresh_ctx.sessions) as session,
        ):
            session.execute(text(statement))


@BOTH
def test_a_rewritten_root_in_the_head_is_caught(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 6)
    with transaction(fresh_ctx.sessions) as session:
        session.execute(text("UPDATE audit_head SET root_hash = :r"), {"r": bytes(32)})
    with transaction(fresh_ctx.read_sessions) as session:
        report = verify(session)
    assert not report.ok
    assert report.problem == "head's Merkle root does not match"


@BOTH
def test_the_migration_folds_an_existing_log_into_the_tree(
    fresh_database: Database,
) -> None:
    """A log written before the tree existed gets its nodes, root and frontier."""
    engine = make_engine(fresh_database.url)
    try:
        migrate.downgrade(engine, "0004")
        previous, leaves = bytes(32), []
        with engine.begin() as conn:
            for seq in range(37):
                event = AuditEvent("test", "record.accepted", details={"i": seq})
                item = seal(
                    seq, f"e{seq:035d}", "2026-12-02T00:00:00.000000Z", event, previous
                )
                conn.execute(
                    text(
                        "INSERT INTO audit_events (seq, event_id, occurred_at, actor,"
                        " action, details, canonical, leaf_hash, chain_hash) VALUES"
                        " (:seq, :event_id, :at, 'test', 'record.accepted', :details,"
                        " :canonical, :leaf, :chain)"
                    ),
                    {
                        "seq": seq,
                        "event_id": item.event_id,
                        "at": item.occurred_at,
                        "details": f'{{"i":{seq}}}',
                        "canonical": item.canonical,
                        "leaf": item.leaf_hash,
                        "chain": item.chain_hash,
                    },
                )
                previous = item.chain_hash
                leaves.append(item.leaf_hash)
            conn.execute(
                text("UPDATE audit_head SET size = 37, chain_hash = :chain"),
                {"chain": previous},
            )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            root = conn.execute(text("SELECT root_hash FROM audit_head")).scalar_one()
            nodes = conn.execute(text("SELECT count(*) FROM audit_nodes")).scalar_one()
        assert bytes(root) == root_from_leaf_hashes(leaves)
        assert nodes == 2 + 1  # complete subtrees of 16 and 32 leaves in 37
        # Later revisions rebuild the events table (0009, on SQLite): the rows
        # and the append-only guards survive it.
        with engine.connect() as conn:
            kept = conn.execute(
                text("SELECT leaf_hash FROM audit_events ORDER BY seq")
            ).scalars()
            assert [bytes(leaf) for leaf in kept] == leaves
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = 3"))
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq = 36"))
    finally:
        engine.dispose()
