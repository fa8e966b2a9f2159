"""Profile gateway.ingest.service.ingest in-process on one 500-record batch.

    .venv/bin/python bench/profile_ingest.py [--postgres URL] [--top 25]
        [--batch 500] [--timed 4] [--sort cumulative] [--stages]

The context is built as tests/databases.py `gateway_context` does (throwaway
database migrated to head, fresh keyring, the project's policies), a partner is
made through the service, consents are granted beforehand, one warm-up batch
is ingested (imports, phone metadata, statement caches), then a few batches are
timed without the profiler (with --stages, each stage's wall time as well:
bench/stage_clock.py) and one batch is run under cProfile. Prints the
wall time per batch, the top functions by cumulative time and a breakdown by
stage. Everything it creates (temp dir, PostgreSQL database) is removed.
"""

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event

from gateway.context import GatewayContext
from gateway.ingest import service
from gateway.ingest.batch import SubmitRecords
from gateway.storage import bulk

# bench/ is not a package: its modules import once the path has it.
sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parents[1]),
]
from benchctx import bench_context, bench_partner, consented_batches  # noqa: E402
from stage_clock import StageClock  # noqa: E402

from tests.databases import scratch_postgres  # noqa: E402

SEED = 20260101

# Stage name -> (file fragment, function name); cumulative time of that function.
STAGES = [
    ("whole ingest()", "ingest/service.py", "ingest"),
    ("validate_record (all fields)", "ingest/validate.py", "validate_record"),
    ("  normalize_phone", "fields/normalize.py", "normalize_phone"),
    ("  normalize_email", "fields/normalize.py", "normalize_email"),
    (
        "  PII confirmation of typed fields (check_structured)",
        "pii/analyzer.py",
        "check_structured",
    ),
    ("PII scan (free text and attributes)", "ingest/transform.py", "redact_texts"),
    ("transform (pseudonyms, generalize)", "ingest/transform.py", "transform"),
    ("  HMAC pseudonyms (Pseudonymizer.__call__)", "crypto/pseudonym.py", "__call__"),
    ("  content_hash (orjson + HMAC)", "ingest/transform.py", "content_hash"),
    ("decide_many (consent lookup + rules)", "consent/service.py", "decide_many"),
    ("  facts_for (consent SELECT)", "storage/consent_repo.py", "facts_for"),
    ("store (vault + inserts)", "ingest/rows.py", "store"),
    ("  existing_by_source (SELECT)", "storage/records_repo.py", "existing_by_source"),
    (
        "  VaultWriter.load (key lookup, new DEKs, wrap, INSERT)",
        "vault/entries.py",
        "load",
    ),
    ("  VaultWriter.entry (one AES-GCM per record)", "vault/entries.py", "entry"),
    ("    FieldCipher.encrypt", "crypto/envelope.py", "encrypt"),
    ("  _write (Core executemany INSERTs)", "ingest/rows.py", "_write"),
    ("    insert_records (records)", "storage/records_repo.py", "insert_records"),
    (
        "    insert_vault_entries (vault, one row per record)",
        "storage/records_repo.py",
        "insert_vault_entries",
    ),
    ("append_events (audit seal + INSERT)", "audit/log.py", "append_events"),
    ("  seal (canonical JSON + SHA-256)", "audit/event.py", "seal"),
    ("  audit_repo.append (INSERT audit)", "storage/audit_repo.py", "append"),
    ("COPY FROM STDIN (PostgreSQL inserts)", "storage/bulk.py", "_copy_in"),
    ("uuid7 (record and audit ids)", "gateway/ids.py", "uuid7"),
    ("receipt (response body)", "ingest/receipt.py", "receipt"),
    ("commit", "orm/session.py", "commit"),
]


class DriverClock:
    """Wall time spent inside the DBAPI driver: statements and commits.

    Measured at the cursor (SQLAlchemy's before/after_cursor_execute events),
    around the connection's commit, and around PostgreSQL's COPY (which goes
    to the driver's cursor directly, past those events): what the database
    itself costs for the rows the gateway writes, apart from the Python that
    builds them.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.seconds = 0.0
        self._started = 0.0
        self._copy_in = bulk._copy_in

    def _timed_copy(self, *args: Any, **kwargs: Any) -> None:
        start = time.perf_counter()
        try:
            self._copy_in(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def _before(self, *_args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self.seconds += time.perf_counter() - self._started

    def _commit(self, conn: Any) -> None:
        # The commit event fires before the driver's commit: time it by hand.
        raw = conn.connection.driver_connection
        start = time.perf_counter()
        raw.commit()
        self.seconds += time.perf_counter() - start

    def __enter__(self) -> "DriverClock":
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        event.listen(self.engine, "commit", self._commit)
        bulk._copy_in = self._timed_copy  # a bench's probe, restored on exit
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        event.remove(self.engine, "commit", self._commit)
        bulk._copy_in = self._copy_in


@contextmanager
def database(postgres: str | None, directory: Path) -> Iterator[str]:
    """A fresh database URL: an SQLite file, or a PostgreSQL database dropped after."""
    if not postgres:
        yield f"sqlite:///{directory / 'gateway.db'}"
        return
    with scratch_postgres(postgres, "gateway_bench") as url:
        yield url


def stage_table(stats: pstats.Stats, total: float) -> list[str]:
    """Cumulative time of the named stages (summed over same-named matches)."""
    raw = stats.stats  # type: ignore[attr-defined]
    lines = []
    for label, fragment, func in STAGES:
        cum = sum(
            v[3]
            for (file, _line, name), v in raw.items()
            if name == func and fragment in file.replace("\\", "/")
        )
        calls = sum(
            v[1]
            for (file, _line, name), v in raw.items()
            if name == func and fragment in file.replace("\\", "/")
        )
        share = 100 * cum / total if total else 0
        lines.append(
            f"  {label:<58} {cum * 1000:8.1f} ms {share:5.1f}%  ({calls} calls)"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        help="admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--timed", type=int, default=4, help="unprofiled batches timed")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument(
        "--stages",
        action="store_true",
        help="time the stages of the timed batches too (bench/stage_clock.py)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gw-prof-") as tmp:
        home = Path(tmp)
        with (
            database(args.postgres, home) as url,
            bench_context(home, url, rate_limit_per_minute=10_000_000) as ctx,
        ):
            return run(ctx, args)


def run(ctx: GatewayContext, args: argparse.Namespace) -> int:
    """Ingest warm-up, timed and profiled batches; print the figures."""
    client = bench_partner(ctx, "bench-partner", ["customers"])
    groups = consented_batches(ctx, client, SEED, 2 + args.timed, args.batch, "p")

    def one(group: list[dict[str, Any]]) -> None:
        submitted = SubmitRecords("customers", "segmentation", group)
        out = service.ingest(ctx, client, submitted)
        if out.accepted != len(group):
            raise SystemExit(
                f"only {out.accepted}/{len(group)} accepted: {out.results[0]}"
            )

    one(groups[0])  # warm-up
    times, in_driver = [], []
    stages = StageClock()
    with DriverClock(ctx.engine) as clock, stages if args.stages else nullcontext():
        for group in groups[1:-1]:
            clock.seconds = 0.0
            start = time.perf_counter()
            one(group)
            times.append(time.perf_counter() - start)
            in_driver.append(clock.seconds)
            if args.stages:
                stages.mark()
    order = sorted(range(len(times)), key=times.__getitem__)
    middle = order[len(order) // 2]
    med, med_driver = times[middle], in_driver[middle]
    backend = ctx.engine.url.get_backend_name()
    print(
        f"[{backend}] unprofiled: {len(times)} batches of {args.batch}: median "
        f"{med * 1000:.1f} ms/batch = {args.batch / med:,.0f} rec/s "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f} ms)"
    )
    print(
        f"  of which in the database driver (statements + commit): "
        f"{med_driver * 1000:.1f} ms = {med_driver / args.batch * 1e6:.0f} us/rec; "
        f"Python: {(med - med_driver) / args.batch * 1e6:.0f} us/rec"
    )
    if args.stages:
        print("stages, unprofiled (median per batch; share of ingest()):")
        print("\n".join(stages.table()))

    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    one(groups[-1])
    profiler.disable()
    wall = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(
        f"profiled batch: {wall * 1000:.1f} ms wall under cProfile "
        "(profiler overhead inflates Python-heavy code)\n"
    )
    print("stages (cumulative time, % of profiled total):")
    print("\n".join(stage_table(stats, total)))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort).print_stats(
        args.top
    )
    print(f"\ntop {args.top} by {args.sort}:")
    text_out = out.getvalue()
    start_at = text_out.find("   ncalls")
    print(text_out[start_at:] if start_at >= 0 else text_out)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(
        15
    )
    text_out = out.getvalue()
    start_at = text_out.find("   ncalls")
    print("top 15 by tottime (self time):")
    print(text_out[start_at:] if start_at >= 0 else text_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
