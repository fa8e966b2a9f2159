"""The audit log at a million events: append cost, verify, proofs.

    .venv/bin/python bench/audit.py                     # 1,000,000 events, SQLite
    .venv/bin/python bench/audit.py --events 100000     # quicker
    .venv/bin/python bench/audit.py --backend pg        # GATEWAY_TEST_POSTGRES_URL

In one process, over throwaway databases migrated to head:

1. **Append cost, tree against chain.** Two fresh logs take batches of
   `--batch` events in turn (`--rounds` each, interleaved): one through
   `append_events` as the gateway calls it (hash chain, Merkle tree: frontier,
   completed subtrees stored, and the batch's signed checkpoint), the other
   through the append as it was before the tree, frozen in
   `bench/audit_before.py` (seal, insert the events, move the head), on a
   database at the schema of that time.
   Median milliseconds per batch and the ratio tree / chain.
2. **Fill** the tree log to `--events` events in batches of `--batch`
   (events/s).
3. **Verify** the whole log (`gateway.audit.verify`: every event's canonical
   bytes recomputed from its columns, leaf and chain hashes, the Merkle root
   against the head): seconds, median of `--verify-runs`.
4. **Proofs** at that size: an inclusion proof of `--proofs` random events
   against the whole tree, and a consistency proof from a random earlier size,
   each built from the stored subtrees; median and 95th percentile in
   milliseconds, each proof checked with the RFC 9162 verifier.

Events look like ingestion's (a pseudonym, purpose, dataset, record id, a
small details object). Targets (issue 12): verify <= 10 s and an inclusion
proof <= 5 ms at 1,000,000 events; a batch of 500 costs no more than the
chain alone.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from audit_before import BEFORE_REVISION, append_before  # noqa: E402
from benchctx import bench_context  # noqa: E402

from gateway.audit import (  # noqa: E402
    AuditEvent,
    append_events,
    consistency_proof,
    inclusion_proof,
    root_at,
    verify,
)
from gateway.audit.merkle import verify_consistency, verify_inclusion  # noqa: E402
from gateway.context import GatewayContext  # noqa: E402
from gateway.storage import audit_repo, migrate  # noqa: E402
from gateway.storage.db import (  # noqa: E402
    make_engine,
    make_session_factory,
    transaction,
)
from tests.databases import postgres_admin_url, scratch_postgres  # noqa: E402


def events(count: int, rng: random.Random) -> list[AuditEvent]:
    """Ingestion-like events: opaque references only."""
    return [
        AuditEvent(
            actor="partner:bench",
            action="record.accepted",
            subject_id=f"k1.{rng.getrandbits(256):064x}",
            purpose="segmentation",
            dataset="customers",
            record_id=str(uuid.UUID(int=rng.getrandbits(128))),
            policy_version="2026-12-02T00:00:00Z/" + "0" * 16,
            details={"fields": 7, "redacted": ["PERSON"]},
        )
        for _ in range(count)
    ]


@contextmanager
def database_url(backend: str, home: Path, name: str) -> Iterator[str]:
    """A throwaway database: an SQLite file in `home`, or a PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{home / f'{name}.db'}"
    else:
        with scratch_postgres(
            postgres_admin_url(), prefix=f"bench_audit_{name}"
        ) as url:
            yield url


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def append_batch(ctx: GatewayContext, batch: list[AuditEvent]) -> None:
    with transaction(ctx.sessions) as session:
        append_events(session, batch, datetime.now(UTC), ctx.checkpoint_signer)


def append_batch_before(
    sessions: sessionmaker[Session], batch: list[AuditEvent]
) -> None:
    with transaction(sessions) as session:
        append_before(session, batch, datetime.now(UTC))


@contextmanager
def before_log(url: str) -> Iterator[sessionmaker[Session]]:
    """A database at the schema of the chain-only log, for its frozen append."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, BEFORE_REVISION)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


Row = tuple[str, str, str]


def measure_append(
    tree: GatewayContext,
    chain: sessionmaker[Session],
    args: argparse.Namespace,
    rng: random.Random,
) -> list[Row]:
    """Interleaved batches into both logs, a warm-up batch each first."""
    tree_ms, chain_ms = [], []
    for round_ in range(args.rounds + 1):
        batch = events(args.batch, rng)
        t = timed(lambda b=batch: append_batch(tree, b))
        c = timed(lambda b=batch: append_batch_before(chain, b))
        if round_:
            tree_ms.append(t * 1000)
            chain_ms.append(c * 1000)
    ratios = [t / c for t, c in zip(tree_ms, chain_ms, strict=True)]
    return [
        (
            f"append a batch of {args.batch}, chain only (before), ms",
            f"{statistics.median(chain_ms):.1f}",
            "",
        ),
        (
            f"append a batch of {args.batch}, chain + tree, ms",
            f"{statistics.median(tree_ms):.1f}",
            f"{statistics.median(ratios):.2f}× the chain (target ≤ 1.00×)",
        ),
    ]


def fill(tree: GatewayContext, args: argparse.Namespace, rng: random.Random) -> Row:
    """Append batches until the log holds `--events` events."""
    with transaction(tree.read_sessions) as session:
        size = audit_repo.read_head(session).size
    start = time.perf_counter()
    while size < args.events:
        count = min(args.batch, args.events - size)
        append_batch(tree, events(count, rng))
        size += count
        if size % 100_000 < args.batch:
            print(f"  {size:,} events", file=sys.stderr)
    seconds = time.perf_counter() - start
    return ("fill, events/s", f"{args.events / seconds:,.0f}", "")


def measure_verify(tree: GatewayContext, runs: int) -> tuple[Row, int, bytes]:
    """Verify the whole log `runs` times; the row, the size and the root."""
    seconds = []
    for _ in range(runs):
        with transaction(tree.read_sessions) as session:
            began = time.perf_counter()
            report = verify(session, tree.read_sessions)
            seconds.append(time.perf_counter() - began)
        if not report.ok:
            raise SystemExit(f"verify failed: {report.problem}")
    row = (
        f"verify {report.size:,} events, s (median of {runs})",
        f"{statistics.median(seconds):.2f}",
        "target ≤ 10 s",
    )
    return row, report.size, bytes.fromhex(report.root_hash or "")


def measure_proofs(
    tree: GatewayContext, size: int, root: bytes, count: int, rng: random.Random
) -> list[Row]:
    """Inclusion and consistency proofs at `size`, each checked by the verifier."""
    inclusion, consistency = [], []
    with transaction(tree.read_sessions) as session:
        for _ in range(count):
            seq = rng.randrange(size)
            began = time.perf_counter()
            proof = inclusion_proof(session, seq)
            inclusion.append((time.perf_counter() - began) * 1000)
            if not verify_inclusion(seq, size, proof.leaf_hash, proof.audit_path, root):
                raise SystemExit(f"inclusion proof of {seq} does not verify")
        for _ in range(count):
            first = rng.randrange(1, size)
            began = time.perf_counter()
            proof = consistency_proof(session, first, size)
            consistency.append((time.perf_counter() - began) * 1000)
            old_root = root_at(session, first)
            if not verify_consistency(first, size, old_root, root, proof.proof):
                raise SystemExit(f"consistency {first} -> {size} fails")
    return [
        (
            f"inclusion proof at {size:,}, ms (median / p95)",
            f"{statistics.median(inclusion):.2f} / {percentile(inclusion, 0.95):.2f}",
            "target ≤ 5 ms",
        ),
        (
            f"consistency proof to {size:,}, ms (median / p95)",
            f"{statistics.median(consistency):.2f} / "
            f"{percentile(consistency, 0.95):.2f}",
            "",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--verify-runs", type=int, default=3)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "pg"], default="sqlite")
    args = parser.parse_args(argv)
    rng = random.Random(20261202)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        with (
            database_url(args.backend, home, "tree") as tree_url,
            database_url(args.backend, home, "chain") as chain_url,
            bench_context(home / "tree", tree_url) as tree,
            before_log(chain_url) as chain,
        ):
            rows = measure_append(tree, chain, args, rng)
            rows.append(fill(tree, args, rng))
            verified, size, root = measure_verify(tree, args.verify_runs)
            rows.append(verified)
            rows += measure_proofs(tree, size, root, args.proofs, rng)
    print(f"# Audit log: `python bench/audit.py` ({args.backend})\n")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print("| measure | figure | against |")
    print("|---|---:|---|")
    for name, figure, against in rows:
        print(f"| {name} | {figure} | {against} |")


if __name__ == "__main__":
    main()
