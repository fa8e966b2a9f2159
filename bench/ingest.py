"""Ingest throughput of the gateway's HTTP API against raw FastAPI baselines.

    .venv/bin/python bench/ingest.py            # full: 5 runs per figure, ~5 min
    .venv/bin/python bench/ingest.py --quick    # 3 smaller runs, ~1 min
    .venv/bin/python bench/ingest.py --only sqlite   # one configuration (sqlite|pg|pg4)

For each configuration (SQLite 1 client 1 worker; PostgreSQL 1 client 1 worker;
PostgreSQL `--workers 2` with 4 concurrent clients) it:

1. makes a fresh data directory (GATEWAY_HOME in a temp dir) and database (an
   SQLite file there, or a PostgreSQL database it CREATEs and finally DROPs);
2. runs `gateway init` and `gateway clients add bench --role partner --dataset
   customers --purpose segmentation --json`;
3. starts `gateway serve --workers N` and the baseline (bench/raw_app.py under
   uvicorn, same worker count, same database) on free 127.0.0.1 ports; the
   baseline app also serves the normalizing baseline (same validation, then the
   gateway's normalizers: e-mail, phone to E.164, date, postal code, strings);
4. grants segmentation consent for every record beforehand through
   POST /v1/consents (batches of 500), untimed;
5. warms every route up (one batch per client), then alternates timed runs:
   gateway run i, baseline run i, normalized run i. A run sends distinct
   records (the same bodies to all three; unique people,
   fixed seed) in batches of 500, bodies pre-encoded with orjson, one
   keep-alive httpx client per thread; rec/s = records / wall time of the run.
   Each gateway batch must come back with every record accepted.

It prints median and min-max over the runs, the gateway/baseline ratio (median
of per-run ratios, the official one), the gateway/normalized ratio, server CPU
per record, and the targets. Every server
process group and every database is torn down in `finally` blocks.

Targets (issue 14, item 9): the rows an accepted record needs (record, vault
entry, subject key, audit event, their indexes) cost about 65-70 us in bare
sqlite3 with synchronous=FULL, against 20-25 us for the raw baseline's whole
request, so the foundation's 0.5x is out of reach by construction; the
targets are >= 0.15x raw on SQLite (1 worker, 1 client) and >= 0.30x on
PostgreSQL with 2 workers and 4 clients, from the same run.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from sqlalchemy import create_engine, text

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/ is not a package: its modules import once the path has it.
sys.path[:0] = [str(BENCH), str(ROOT)]
from benchdata import batches, consent_event, people  # noqa: E402
from raw_app import create_table  # noqa: E402

from tests.databases import scratch_postgres  # noqa: E402
from tests.factories import partner_add_args  # noqa: E402

PY = ROOT / ".venv" / "bin" / "python"
GATEWAY = ROOT / ".venv" / "bin" / "gateway"
POLICIES = ROOT / "policies"
PG_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SEED = 424242
BATCH = 500
TARGET_SQLITE = 3000.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    backend: str  # sqlite | postgres
    workers: int
    clients: int
    target_ratio: float | None  # gateway/baseline, median of per-run ratios


CONFIGS = [
    Config("sqlite", "SQLite, 1 worker, 1 client", "sqlite", 1, 1, 0.15),
    Config("pg", "PostgreSQL, 1 worker, 1 client", "postgres", 1, 1, None),
    Config("pg4", "PostgreSQL, 2 workers, 4 clients", "postgres", 2, 4, 0.30),
]


@dataclass
class Result:
    config: Config
    gateway: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    normalized: list[float] = field(default_factory=list)  # normalizing baseline
    gateway_cpu_us: list[float] = field(default_factory=list)  # server CPU per record
    baseline_cpu_us: list[float] = field(default_factory=list)
    normalized_cpu_us: list[float] = field(default_factory=list)
    gateway_busy: list[float] = field(default_factory=list)  # machine CPU busy, %
    records_per_run: int = 0


# --------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (Linux /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # field 5: pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with Path("/proc/stat").open() as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@contextmanager
def throwaway_database(backend: str, home: Path) -> Iterator[str]:
    """A fresh database URL; PostgreSQL databases are dropped (WITH FORCE) after."""
    if backend == "sqlite":
        yield f"sqlite:///{home / 'gateway.db'}"
        return
    with scratch_postgres(PG_ADMIN, "gateway_bench") as url:
        yield url


@contextmanager
def server(
    name: str, argv: list[str], env: dict[str, str], port: int, log: Path
) -> Iterator[int]:
    """Start a server in its own process group; yield its pgid; kill the group after."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=out, start_new_session=True, cwd=ROOT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {tail(log)}")
            with suppress(httpx.HTTPError):
                if (
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                    == 200
                ):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} did not answer /healthz in 60 s: {tail(log)}"
                )
            time.sleep(0.2)
        yield proc.pid
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        # uvicorn's worker children are in the same group: make sure none survive.
        for _ in range(50):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def tail(path: Path, lines: int = 15) -> str:
    with suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        [str(GATEWAY), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"gateway {' '.join(args[:2])} failed: {done.stderr.strip()}"
        )
    return done.stdout


def encode(records: list[dict]) -> bytes:
    return orjson.dumps({"purpose": "segmentation", "records": records})


RECORDS_PATH = "/v1/datasets/customers/records"
NORMALIZED_PATH = "/v1/normalized/datasets/customers/records"


def send_all(
    port: int,
    path: str,
    headers: dict[str, str],
    per_client: list[list[bytes]],
    check: Callable[[httpx.Response, int], None],
    sizes: list[list[int]],
) -> float:
    """Send each client's bodies in order, clients in parallel; return wall seconds."""
    url = f"http://127.0.0.1:{port}{path}"
    barrier = threading.Barrier(len(per_client) + 1)
    errors: list[BaseException] = []

    def client(bodies: list[bytes], counts: list[int]) -> None:
        try:
            with httpx.Client(headers=headers, timeout=300) as http:
                http.get(f"http://127.0.0.1:{port}/healthz")  # open the connection
                barrier.wait()
                for body, count in zip(bodies, counts, strict=True):
                    check(http.post(url, content=body), count)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            with suppress(threading.BrokenBarrierError):
                barrier.abort()

    threads = [
        threading.Thread(target=client, args=(b, c), daemon=True)
        for b, c in zip(per_client, sizes, strict=True)
    ]
    for t in threads:
        t.start()
    with suppress(threading.BrokenBarrierError):  # a client failed; joined below
        barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def check_gateway(response: httpx.Response, count: int) -> None:
    if response.status_code != 200:
        raise RuntimeError(
            f"gateway answered {response.status_code}: {response.text[:300]}"
        )
    body = response.json()
    if body["accepted"] != count:
        first = next(r for r in body["results"] if r["status"] != "accepted")
        raise RuntimeError(f"gateway accepted {body['accepted']}/{count}: {first}")


def check_baseline(response: httpx.Response, count: int) -> None:
    if response.status_code != 200 or response.json().get("accepted") != count:
        raise RuntimeError(
            f"baseline answered {response.status_code}: {response.text[:300]}"
        )


# ------------------------------------------------------------------ one config


def measure(
    config: Config, runs: int, per_client_batches: int, workdir: Path
) -> Result:
    home = workdir / config.key
    home.mkdir()
    result = Result(config)
    per_run = config.clients * per_client_batches * BATCH
    result.records_per_run = per_run
    with throwaway_database(config.backend, home) as url:
        env = os.environ | {
            "GATEWAY_HOME": str(home),
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_POLICIES": str(POLICIES),
            "GATEWAY_RATE_LIMIT_PER_MINUTE": "10000000",
            "BENCH_RAW_DATABASE_URL": url,
        }
        env.pop("GATEWAY_KEYRING", None)
        env.pop("GATEWAY_KEYRING_JSON", None)
        run_cli(["init", "--json"], env)
        made = json.loads(run_cli(partner_add_args("bench"), env))
        headers = {
            "Authorization": f"Bearer {made['api_key']}",
            "Content-Type": "application/json",
        }
        create_table(url)

        # Data: warm-up (one batch per client) + `runs` timed runs, all distinct people.
        total = config.clients * BATCH * (1 + runs * per_client_batches)
        tag = config.key
        records = people(SEED, 0, total, tag=tag)
        chunks = batches(records, BATCH)
        warm = chunks[: config.clients]
        timed = chunks[config.clients :]

        gw_port, raw_port = free_port(), free_port()
        gw_argv = [
            str(GATEWAY),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(gw_port),
            "--workers",
            str(config.workers),
        ]
        raw_argv = [
            str(PY),
            "-m",
            "uvicorn",
            "--app-dir",
            str(BENCH),
            "raw_app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(raw_port),
            "--workers",
            str(config.workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with (
            server(
                "gateway", gw_argv, env, gw_port, home / "gateway-server.log"
            ) as gw_pg,
            server(
                "baseline", raw_argv, env, raw_port, home / "raw-server.log"
            ) as raw_pg,
        ):
            # Consent first, untimed, in batches of 500.
            with httpx.Client(headers=headers, timeout=300) as http:
                for group in batches([consent_event(r) for r in records], BATCH):
                    response = http.post(
                        f"http://127.0.0.1:{gw_port}/v1/consents",
                        content=orjson.dumps({"events": group}),
                    )
                    if response.status_code != 200 or response.json()[
                        "recorded"
                    ] != len(group):
                        raise RuntimeError(
                            f"consents: {response.status_code} {response.text[:300]}"
                        )

            def plan(
                groups: list[list[dict]],
            ) -> tuple[list[list[bytes]], list[list[int]]]:
                per = [groups[i :: config.clients] for i in range(config.clients)]
                return [[encode(g) for g in p] for p in per], [
                    [len(g) for g in p] for p in per
                ]

            bodies, sizes = plan(warm)
            send_all(gw_port, RECORDS_PATH, headers, bodies, check_gateway, sizes)
            for path in (RECORDS_PATH, NORMALIZED_PATH):
                send_all(raw_port, path, headers, bodies, check_baseline, sizes)

            step = config.clients * per_client_batches
            for i in range(runs):
                bodies, sizes = plan(timed[i * step : (i + 1) * step])
                for name, port, path, pgid, check, rates, cpus in (
                    (
                        "gateway",
                        gw_port,
                        RECORDS_PATH,
                        gw_pg,
                        check_gateway,
                        result.gateway,
                        result.gateway_cpu_us,
                    ),
                    (
                        "baseline",
                        raw_port,
                        RECORDS_PATH,
                        raw_pg,
                        check_baseline,
                        result.baseline,
                        result.baseline_cpu_us,
                    ),
                    (
                        "normalized",
                        raw_port,
                        NORMALIZED_PATH,
                        raw_pg,
                        check_baseline,
                        result.normalized,
                        result.normalized_cpu_us,
                    ),
                ):
                    cpu0, machine0 = group_cpu_seconds(pgid), machine_cpu()
                    seconds = send_all(port, path, headers, bodies, check, sizes)
                    cpu = group_cpu_seconds(pgid) - cpu0
                    machine1 = machine_cpu()
                    busy_jiffies = machine1[0] - machine0[0]
                    busy = 100 * busy_jiffies / max(1, machine1[1] - machine0[1])
                    if name == "gateway":
                        result.gateway_busy.append(busy)
                    rates.append(per_run / seconds)
                    cpus.append(cpu / per_run * 1e6)
                    print(
                        f"  {config.key:7} run {i + 1}/{runs} {name:10} "
                        f"{per_run / seconds:8,.0f} rec/s ({seconds:.2f} s, "
                        f"server CPU {cpu / per_run * 1e6:.0f} us/rec, "
                        f"machine {busy:.0f}% busy)",
                        file=sys.stderr,
                        flush=True,
                    )
        # Sanity: every route stored every record it acknowledged.
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                stored = {
                    table: conn.execute(
                        text(f"SELECT count(*) FROM {table}")
                    ).scalar_one()
                    for table in (
                        "records",
                        "bench_raw_records",
                        "bench_normalized_records",
                    )
                }
        finally:
            engine.dispose()
        if set(stored.values()) != {total}:
            raise RuntimeError(f"expected {total} rows in each table, found {stored}")
    return result


# ---------------------------------------------------------------------- report


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):>7,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def report(results: list[Result], quick: bool, elapsed: float) -> None:
    print()
    print(
        f"Ingest throughput, customers records, batches of {BATCH}, no free text "
        f"({'quick' if quick else 'full'} mode, {elapsed:.0f} s total)"
    )
    print(
        "rec/s: median (min-max) over runs; ratio: median of per-run gateway/baseline"
    )
    print(
        "normalized: baseline + the gateway's normalizers; "
        "gw/norm: median of per-run gateway/normalized"
    )
    head = (
        f"{'configuration':<33} {'rec/run':>7} {'gateway rec/s':>21} "
        f"{'baseline rec/s':>21} {'ratio':>16} {'normalized rec/s':>21} "
        f"{'gw/norm':>7} {'CPU us/rec gw/base/norm':>23} {'busy':>4}  targets"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        ratios = [g / b for g, b in zip(r.gateway, r.baseline, strict=True)]
        ratio = statistics.median(ratios)
        target = r.config.target_ratio
        checks = (
            [f"ratio>={target} {'OK' if ratio >= target else 'MISS'}"]
            if target is not None
            else []
        )
        if r.config.backend == "sqlite" and r.config.clients == 1:
            med = statistics.median(r.gateway)
            checks.append(
                f">={TARGET_SQLITE:,.0f}/s {'OK' if med >= TARGET_SQLITE else 'MISS'}"
            )
        cpu = "/".join(
            f"{statistics.median(us):,.0f}"
            for us in (r.gateway_cpu_us, r.baseline_cpu_us, r.normalized_cpu_us)
        )
        ratio_cell = f"{ratio:5.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        gw_norm = statistics.median(
            g / n for g, n in zip(r.gateway, r.normalized, strict=True)
        )
        busy = statistics.median(r.gateway_busy)
        print(
            f"{r.config.label:<33} {r.records_per_run:>7} {spread(r.gateway):>21} "
            f"{spread(r.baseline):>21} {ratio_cell:>16} {spread(r.normalized):>21} "
            f"{gw_norm:7.2f} {cpu:>23} {busy:3.0f}%  {', '.join(checks)}"
        )
    print(
        "targets: gateway/baseline ratio >= 0.15 on SQLite (1 worker, 1 client) "
        "and >= 0.30 on PostgreSQL (2 workers, 4 clients); "
        f">= {TARGET_SQLITE:,.0f} rec/s on SQLite with one client. "
        "Client and servers share the machine's "
        f"{os.cpu_count()} cores."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs")
    parser.add_argument(
        "--only",
        choices=[c.key for c in CONFIGS],
        action="append",
        help="run only this configuration (repeatable)",
    )
    parser.add_argument("--runs", type=int, help="timed runs per figure")
    parser.add_argument("--batches", type=int, help="batches of 500 per client per run")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    # A run of 8 batches (4,000 records) lasted about 0.1 s on the raw
    # baseline, whose rate then swung between 19k and 55k rec/s from one run
    # to the next: the ratio moved by +-0.03 on its own. 40 batches (20,000
    # records) keep every baseline run near half a second.
    per_client = args.batches or (2 if args.quick else 40)
    configs = [c for c in CONFIGS if not args.only or c.key in args.only]
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="gw-bench-"))
    results: list[Result] = []
    try:
        for config in configs:
            # 4 clients share the run: each sends a quarter of the batches of
            # 1-client runs.
            batches_here = (
                max(1, per_client // config.clients * 2)
                if config.clients > 1
                else per_client
            )
            print(f"[{config.key}] {config.label} ...", file=sys.stderr, flush=True)
            results.append(measure(config, runs, batches_here, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, args.quick, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
