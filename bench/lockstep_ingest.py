"""In-process ingest() cost of this tree against another, batch by batch in lockstep.

    .venv/bin/python bench/lockstep_ingest.py --base /path/to/other/tree
        [--rounds 3] [--batches 60] [--batch 500] [--postgres URL]

Server runs on this shared two-core machine drift by more than a few per cent
from minute to minute, so a small change cannot be seen by comparing two runs
of `bench/ingest.py`. Here each round starts two processes, one importing the
gateway from this tree and one from `--base` (a worktree of an earlier
commit, e.g. `git worktree add /tmp/base HEAD~3`), each with its own
throwaway database and context built as `bench/profile_ingest.py` builds it
(consent granted beforehand, one warm-up batch, then `gc.freeze()` as
`gateway serve` does after start-up). They then take turns: one batch of
`ingest()` in the base process, one in this one, and so on, so both see the
same moments of the machine. Each batch's wall time and main-thread CPU time
(`time.thread_time`: Python, the database driver and everything else the
request does in its thread; not the linkage helper process) are recorded.

Prints, per round, the median per batch of each tree and the ratio this/base,
then the median ratio over the rounds. The bench modules (context, data)
come from this tree for both processes: the base tree must be recent enough
to run them.
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
SEED = 20260101


def child(args: argparse.Namespace) -> int:
    """Run batches when told to on stdin; report each on stdout, then the totals."""
    # The tree under test first, then this bench directory (its helpers only):
    # never this tree's root, which would shadow the base tree's gateway.
    sys.path[:0] = [str(Path(args.tree).resolve()), str(HERE.parent)]
    from benchctx import bench_context, bench_partner, consented_batches
    from profile_ingest import database

    from gateway.ingest import service
    from gateway.ingest.batch import SubmitRecords

    with (
        tempfile.TemporaryDirectory(prefix="gw-lockstep-") as tmp,
        database(args.postgres, Path(tmp)) as url,
        bench_context(Path(tmp), url, rate_limit_per_minute=10_000_000) as ctx,
    ):
        client = bench_partner(ctx, "bench-partner", ["customers"])
        groups = consented_batches(ctx, client, SEED, args.batches + 1, args.batch, "p")

        def one(group: list[dict[str, Any]]) -> None:
            out = service.ingest(
                ctx, client, SubmitRecords("customers", "segmentation", group)
            )
            if out.accepted != len(group):
                raise SystemExit(f"only {out.accepted}/{len(group)} accepted")

        one(groups[0])  # warm-up: imports, caches, the linkage helper
        gc.freeze()
        walls, cpus = [], []
        import gateway

        print("ready", Path(gateway.__file__).resolve().parents[1], flush=True)
        for group in groups[1:]:
            if not sys.stdin.readline():
                return 1
            wall, cpu = time.perf_counter(), time.thread_time()
            one(group)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.thread_time() - cpu)
            print("done", flush=True)
    print(json.dumps({"wall": walls, "cpu": cpus}), flush=True)
    return 0


def _start(tree: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    argv = [sys.executable, str(HERE), "--child", "--tree", str(tree)]
    argv += ["--batches", str(args.batches), "--batch", str(args.batch)]
    if args.postgres:
        argv += ["--postgres", args.postgres]
    env = os.environ | {"PYTHONPATH": str(tree)}
    return subprocess.Popen(
        argv,
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _expect(stream: IO[str] | None, word: str) -> None:
    assert stream is not None
    line = stream.readline().strip()
    if line != word:
        raise SystemExit(f"a child said {line!r}, not {word!r}")


def one_round(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Both trees, batch by batch in turn; their per-batch times."""
    trees = {"base": Path(args.base).resolve(), "this": ROOT}
    procs = {name: _start(tree, args) for name, tree in trees.items()}
    try:
        for name, proc in procs.items():
            _expect(proc.stdout, f"ready {trees[name]}")
        for _ in range(args.batches):
            for proc in procs.values():
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
                _expect(proc.stdout, "done")
        results = {}
        for name, proc in procs.items():
            assert proc.stdout is not None
            results[name] = json.loads(proc.stdout.readline())
            proc.wait(timeout=120)
        return results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="the other tree (e.g. a git worktree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--postgres", help="admin URL; SQLite when absent")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    if not args.base:
        parser.error("--base is required")
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{backend}, {args.rounds} rounds of {args.batches} batches of "
        f"{args.batch}, base {args.base}: medians per batch, ms"
    )
    print(
        f"{'round':>5} {'base wall':>9} {'this wall':>9} {'ratio':>6} "
        f"{'base CPU':>9} {'this CPU':>9} {'ratio':>6}"
    )
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    for n in range(1, args.rounds + 1):
        got = one_round(args)
        row = [f"{n:>5}"]
        for kind in ("wall", "cpu"):
            base = statistics.median(got["base"][kind]) * 1000
            this = statistics.median(got["this"][kind]) * 1000
            ratios[kind].append(this / base)
            row.append(f"{base:9.1f} {this:9.1f} {this / base:6.3f}")
        print(" ".join(row), flush=True)
    print(
        f"median ratio this/base over {args.rounds} rounds: wall "
        f"{statistics.median(ratios['wall']):.3f}, main-thread CPU "
        f"{statistics.median(ratios['cpu']):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
