"""What PostgreSQL's wire formats cost an ingested batch: arrays and the records COPY.

    .venv/bin/python bench/pg_wire.py --postgres URL [--batches 40]

1. psycopg dumping one list parameter, text against binary form, for the
   kinds of list an ingested batch sends (keys, wrapped data keys, numbers).
2. In one process over a throwaway database, `ingest()` on 500-record
   batches, alternating batch by batch between the text forms (lists as
   text arrays, the records COPY in text) and the binary ones the gateway
   uses: the gateway process's CPU per batch (median), and the records
   COPY's own CPU and wall time. Alternating in one process keeps the
   machine's drift out of the comparison.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.array import ListBinaryDumper, ListDumper
from sqlalchemy import event
from sqlalchemy.engine import make_url

from gateway.ingest import service
from gateway.ingest.batch import SubmitRecords
from gateway.storage import bulk, records_repo
from gateway.storage.models import RecordRow

# bench/ is not a package: its modules import once the path has it.
sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parents[1]),
]
from benchctx import bench_context, bench_partner, consented_batches  # noqa: E402
from profile_ingest import database  # noqa: E402

SEED = 20261206


def _median_ms(action: Callable[[], Any], times: int = 30) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent) * 1000


def dump_costs(url: str) -> None:
    """Dump one list parameter in text and in binary form, by kind of list."""
    keys = [os.urandom(32).hex()[:43] for _ in range(500)]
    kinds = {
        "500 keys (43 characters)": keys,
        "1,500 keys": keys * 3,
        "500 wrapped data keys (60 bytes)": [os.urandom(60) for _ in range(500)],
        "500 numbers": list(range(10**6, 10**6 + 500)),
    }
    with psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    ) as conn:
        transformer = Transformer(conn)
        print("| list | text form, ms | binary form, ms |")
        print("|---|---|---|")
        for label, values in kinds.items():
            text = transformer.get_dumper(values, PyFormat.TEXT)
            binary = transformer.get_dumper(values, PyFormat.BINARY)
            print(
                f"| {label} | {_median_ms(lambda d=text, v=values: d.dump(v)):.2f} "
                f"| {_median_ms(lambda d=binary, v=values: d.dump(v)):.2f} |"
            )


def alternate(url: str, n_batches: int) -> None:
    """Ingest batches alternating text and binary wire forms; print the medians."""
    wire = {"binary": True}
    copy_times: list[tuple[float, float]] = []
    copy_in = bulk._copy_in

    def timed_copy(connection: Any, table: Any, *args: Any, **kwargs: Any) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        copy_in(connection, table, *args, **kwargs)
        if table.name == "records":
            copy_times.append((time.process_time() - cpu, time.perf_counter() - wall))

    def insert_records(session: Any, rows: Any) -> None:
        bulk.insert_rows(session, RecordRow.__table__, rows, binary=wire["binary"])

    # A bench's probes, in this process only.
    bulk._copy_in = timed_copy
    records_repo.insert_records = insert_records
    with tempfile.TemporaryDirectory(prefix="gw-pgwire-") as tmp:
        home = Path(tmp)
        with (
            database(url, home) as db_url,
            bench_context(home, db_url, rate_limit_per_minute=10**9) as ctx,
        ):
            connections: list[Any] = []
            event.listen(ctx.engine, "connect", lambda c, _r: connections.append(c))
            ctx.engine.dispose()
            client = bench_partner(ctx, "bench-partner", ["customers"])
            groups = consented_batches(ctx, client, SEED, n_batches + 1, 500, "w")
            service.ingest(
                ctx, client, SubmitRecords("customers", "segmentation", groups[0])
            )
            cpu: dict[str, list[float]] = {"text": [], "binary": []}
            copies: dict[str, list[tuple[float, float]]] = {"text": [], "binary": []}
            for index, group in enumerate(groups[1:]):
                mode = "binary" if index % 2 else "text"
                wire["binary"] = mode == "binary"
                dumper = ListBinaryDumper if wire["binary"] else ListDumper
                for connection in connections:
                    connection.adapters.register_dumper(list, dumper)
                copy_times.clear()
                start = time.process_time()
                service.ingest(
                    ctx, client, SubmitRecords("customers", "segmentation", group)
                )
                cpu[mode].append(time.process_time() - start)
                copies[mode].extend(copy_times)
    text_cpu, binary_cpu = (
        statistics.median(cpu[m]) * 1000 for m in ("text", "binary")
    )
    print(f"\n{n_batches} batches of 500, alternating; medians per batch:\n")
    print("| | text forms | binary forms | ratio |")
    print("|---|---|---|---|")
    print(
        f"| gateway process CPU, ms | {text_cpu:.1f} | {binary_cpu:.1f} "
        f"| {binary_cpu / text_cpu:.3f} |"
    )
    for index, label in ((0, "records COPY, CPU ms"), (1, "records COPY, wall ms")):
        text_ms, binary_ms = (
            statistics.median(c[index] for c in copies[m]) * 1000
            for m in ("text", "binary")
        )
        print(
            f"| {label} | {text_ms:.1f} | {binary_ms:.1f} | {binary_ms / text_ms:.2f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        required=True,
        help="admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    dump_costs(args.postgres)
    alternate(args.postgres, args.batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
