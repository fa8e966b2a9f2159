"""Sustained mixed load on `gateway serve --workers 2` over PostgreSQL.

    .venv/bin/python bench/load.py                 # 5 minutes after a warm-up
    .venv/bin/python bench/load.py --seconds 60    # a shorter run

It creates a scratch PostgreSQL database (`BENCH_POSTGRES_URL`, dropped WITH
FORCE at the end) and a data directory, runs `gateway init`, adds partners, a
destination (audience retail_default) and a DPO with the CLI, and starts
`gateway serve --workers N` in its own process group (killed in a `finally`
block) with the rate limits raised through GATEWAY_RATE_LIMIT_PER_MINUTE and
GATEWAY_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE. Warm-up, not measured: the
demo's synthetic population (customers, events, consent) through the HTTP
API, one `gateway pipeline run retail_default` so that destinations have
segments to pull, then `--warmup` seconds of the mixed load below.

The measured phase runs, for `--seconds`, one thread per client:

- partners (`--partners`, 3): new people in batches of 100-500: their consent
  (with a few withdrawals of earlier people), their customers records (with
  an Idempotency-Key), their events (0-4 per customer, batches of <= 500);
  every 10th round the customers batch again with the same key (replay);
- destinations (`--destinations`, 2): the audience's segments, a random
  segment's members page by page (limit 100-1000), now and then revocations;
- the DPO (1): a checkpoint every 5 s, audit events every 20 s, a full
  verify every 30 s, and deliberate refusals every 10 s (a bad bearer: 401;
  malformed JSON: 422; text/plain: 415) that must come back as such.

It prints per request kind: requests and records (records, consent events or
member ids) per second, p50/p95/p99/max latency, errors (any status but the
expected, failed content checks, transport errors); the RSS (from /proc) of
every server process (master, workers, their helpers) after the warm-up and
at the end (the sum over the processes alive at both ends: a helper starts
with its worker's first customers batch); then the targets: 0 unexpected
errors, RSS growth < 20 %, every
acknowledged record stored once, `gateway audit verify` intact at the end.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/ is not a package: its modules import once the path has it.
sys.path[:0] = [str(BENCH), str(ROOT)]
from benchdata import batches, consent_event, people  # noqa: E402
from ingest import (  # noqa: E402
    POLICIES,
    free_port,
    group_cpu_seconds,
    machine_cpu,
    run_cli,
    server,
    throwaway_database,
)

from gateway.demo.population import CATEGORIES, population  # noqa: E402

SEED = 515151
AUDIENCE = "retail_default"
GROWTH_TARGET = 0.20
HIGH_LIMIT = "100000000"
EXPECTED_ERRORS = {401, 415, 422}
KINDS = (
    "consents",
    "customers",
    "events",
    "replay",
    "segments",
    "members",
    "revocations",
    "checkpoint",
    "audit events",
    "verify",
    "deliberate",
)


# ---------------------------------------------------------------- statistics


@dataclass
class KindStats:
    latencies: list[float] = field(default_factory=list)  # seconds
    records: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # unexpected outcomes


class Stats:
    """Per-kind latencies, records, statuses and errors; shared by the threads."""

    def __init__(self) -> None:
        self.kinds: dict[str, KindStats] = {k: KindStats() for k in KINDS}
        self.stored = 0  # records acknowledged as newly accepted
        self._lock = threading.Lock()

    def add(
        self,
        kind: str,
        seconds: float,
        status: str,
        records: int = 0,
        error: str | None = None,
        stored: int = 0,
    ) -> None:
        with self._lock:
            entry = self.kinds[kind]
            entry.latencies.append(seconds)
            entry.statuses[status] += 1
            entry.records += records
            self.stored += stored
            if error is not None:
                entry.errors[error] += 1

    def error_total(self) -> int:
        return sum(sum(k.errors.values()) for k in self.kinds.values())


def problem_title(response: httpx.Response) -> str:
    """A problem document's title (never an echo of personal data), or ''."""
    try:
        return str(response.json().get("title", ""))[:80]
    except ValueError:
        return ""


def call(
    stats: Stats,
    kind: str,
    send: Callable[[], httpx.Response],
    expect: int = 200,
    check: Callable[[httpx.Response], tuple[int, int, str | None]] | None = None,
) -> httpx.Response | None:
    """Time one request; `check` returns (records, stored, error or None)."""
    start = time.perf_counter()
    try:
        response = send()
    except httpx.HTTPError as exc:
        stats.add(kind, time.perf_counter() - start, "exc", error=type(exc).__name__)
        return None
    seconds = time.perf_counter() - start
    status = str(response.status_code)
    if response.status_code != expect:
        detail = f"{status} {problem_title(response)}".strip()
        stats.add(kind, seconds, status, error=detail)
        return None
    records, stored, error = check(response) if check else (0, 0, None)
    stats.add(kind, seconds, status, records, error, stored)
    return response


# ------------------------------------------------------------------- clients


def event_rows(rng: random.Random, customers: list[dict[str, Any]]) -> list[dict]:
    """0-4 behavioural events per customer, as partners send them."""
    rows = []
    for customer in customers:
        for i in range(rng.randint(0, 4)):
            kind = rng.choice(("purchase", "purchase", "view", "refund", "visit"))
            rows.append(
                {
                    "source_id": f"{customer['source_id']}-e{i}",
                    "customer_id": customer["customer_id"],
                    "event_type": kind,
                    "amount": round(rng.uniform(5, 300), 2),
                    "currency": "EUR",
                    "occurred_at": f"2026-{rng.randint(1, 10):02d}-"
                    f"{rng.randint(1, 28):02d}T{rng.randint(8, 21):02d}:"
                    f"{rng.randint(0, 59):02d}:00Z",
                    "channel": rng.choice(("web", "app", "store", "email", "social")),
                    "device": rng.choice(("desktop", "mobile", "tablet", "other")),
                    "category": rng.choice(CATEGORIES),
                }
            )
    return rows


def records_check(
    count: int,
) -> Callable[[httpx.Response], tuple[int, int, str | None]]:
    def check(response: httpx.Response) -> tuple[int, int, str | None]:
        body = response.json()
        new = sum(1 for r in body["results"] if r["status"] == "accepted")
        if body["accepted"] != count:
            reasons = Counter(
                r.get("reason") for r in body["results"] if r["status"] == "rejected"
            )
            return count, new, f"accepted {body['accepted']}/{count} {dict(reasons)}"
        return count, new, None

    return check


def accepted_check(
    count: int,
) -> Callable[[httpx.Response], tuple[int, int, str | None]]:
    """For the demo population, whose ~3 % without consent are refused."""

    def check(response: httpx.Response) -> tuple[int, int, str | None]:
        results = response.json()["results"]
        return count, sum(1 for r in results if r["status"] == "accepted"), None

    return check


def consents_check(
    count: int,
) -> Callable[[httpx.Response], tuple[int, int, str | None]]:
    def check(response: httpx.Response) -> tuple[int, int, str | None]:
        recorded = response.json()["recorded"]
        error = None if recorded == count else f"recorded {recorded}/{count}"
        return count, 0, error

    return check


@dataclass
class Partner:
    name: str
    index: int
    key: str
    next_person: int = 0
    rounds: int = 0
    granted: list[str] = field(default_factory=list)  # customer_ids with consent


def partner_round(
    http: httpx.Client, base: str, partner: Partner, rng: random.Random, stats: Stats
) -> None:
    """One round: consent, customers, events for 100-500 new people."""
    count = rng.randint(100, 500)
    customers = people(SEED, partner.next_person, count, tag=f"l{partner.index}")
    partner.next_person += count
    partner.rounds += 1
    events = [consent_event(c) for c in customers]
    for identifier in rng.sample(partner.granted, min(len(partner.granted), 3)):
        events.append(
            {
                "identifier_type": "customer_id",
                "identifier": identifier,
                "purpose": "segmentation",
                "status": "withdrawn",
                "timestamp": "2026-06-01T10:00:00Z",
                "source": "cmp:bench",
            }
        )
        partner.granted.remove(identifier)
    body = orjson.dumps({"events": events})
    call(
        stats,
        "consents",
        lambda: http.post(f"{base}/v1/consents", content=body),
        check=consents_check(len(events)),
    )
    partner.granted.extend(c["customer_id"] for c in customers)

    key = str(uuid.uuid4())
    body = orjson.dumps({"purpose": "segmentation", "records": customers})
    url = f"{base}/v1/datasets/customers/records"
    first = call(
        stats,
        "customers",
        lambda: http.post(url, content=body, headers={"Idempotency-Key": key}),
        check=records_check(count),
    )
    if first is not None and partner.rounds % 10 == 0:
        expected = [r["record_id"] for r in first.json()["results"]]

        def same(response: httpx.Response) -> tuple[int, int, str | None]:
            got = [r["record_id"] for r in response.json()["results"]]
            return count, 0, None if got == expected else "replay differs"

        call(
            stats,
            "replay",
            lambda: http.post(url, content=body, headers={"Idempotency-Key": key}),
            check=same,
        )
    rows = event_rows(rng, customers)
    for group in batches(rows, 500):
        body = orjson.dumps({"purpose": "segmentation", "records": group})
        call(
            stats,
            "events",
            lambda body=body: http.post(
                f"{base}/v1/datasets/events/records", content=body
            ),
            check=records_check(len(group)),
        )


def destination_round(
    http: httpx.Client, base: str, rng: random.Random, stats: Stats, n: int
) -> None:
    """The segments, then one segment's members page by page; revocations at times."""

    def listed(response: httpx.Response) -> tuple[int, int, str | None]:
        return len(response.json()), 0, None

    response = call(
        stats,
        "segments",
        lambda: http.get(f"{base}/v1/audiences/{AUDIENCE}/segments"),
        check=listed,
    )
    segments = response.json() if response is not None else []
    if segments:
        segment = rng.choice(segments)["segment_id"]
        limit = rng.choice((100, 500, 1000))
        cursor: str | None = None
        for _ in range(20):
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor

            def members(response: httpx.Response) -> tuple[int, int, str | None]:
                return len(response.json()["members"]), 0, None

            page = call(
                stats,
                "members",
                lambda params=params: http.get(
                    f"{base}/v1/segments/{segment}/members", params=params
                ),
                check=members,
            )
            cursor = page.json()["next_cursor"] if page is not None else None
            if not cursor:
                break
    if n % 5 == 0:

        def revoked(response: httpx.Response) -> tuple[int, int, str | None]:
            return len(response.json()["revoked"]), 0, None

        call(
            stats,
            "revocations",
            lambda: http.get(
                f"{base}/v1/audiences/{AUDIENCE}/revocations", params={"limit": 1000}
            ),
            check=revoked,
        )


def dpo_tick(
    http: httpx.Client, base: str, partner_key: str, stats: Stats, tick: int
) -> None:
    """Called once a second: checkpoint, events, verify and refusals on their beats."""
    if tick % 5 == 0:
        call(stats, "checkpoint", lambda: http.get(f"{base}/v1/audit/checkpoint"))
    if tick % 20 == 10:

        def listed(response: httpx.Response) -> tuple[int, int, str | None]:
            return len(response.json()["events"]), 0, None

        call(
            stats,
            "audit events",
            lambda: http.get(
                f"{base}/v1/audit/events", params={"action": "consent", "limit": 100}
            ),
            check=listed,
        )
    if tick % 30 == 15:

        def intact(response: httpx.Response) -> tuple[int, int, str | None]:
            body = response.json()
            if body["ok"]:
                return 0, 0, None
            # The problem is a fixed phrase about the log, never personal data.
            return 0, 0, f"log not intact: {body['problem']}"

        call(stats, "verify", lambda: http.get(f"{base}/v1/audit/verify"), check=intact)
    if tick % 10 == 3:
        url = f"{base}/v1/datasets/customers/records"
        partner = {"Authorization": f"Bearer {partner_key}"}
        for expect, send in (
            (
                401,
                lambda: http.get(
                    f"{base}/v1/audit/checkpoint",
                    headers={"Authorization": "Bearer not-a-key"},
                ),
            ),
            (
                422,
                lambda: http.post(
                    url,
                    content=b'{"purpose": "segmentation", "records": [',
                    headers=partner | {"Content-Type": "application/json"},
                ),
            ),
            (
                415,
                lambda: http.post(
                    url,
                    content=b"purpose=segmentation",
                    headers=partner | {"Content-Type": "text/plain"},
                ),
            ),
        ):
            call(stats, "deliberate", send, expect=expect)


def auth_client(key: str) -> httpx.Client:
    # uvicorn closes a connection idle for 5 s: a client reusing it at that
    # moment reads a closed socket (ReadError). Drop idle connections first.
    return httpx.Client(
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=300,
        limits=httpx.Limits(keepalive_expiry=2.0),
    )


@dataclass
class Clients:
    """The API keys of the load's clients, and where the gateway listens."""

    base: str
    partners: list[Partner]
    destination_keys: list[str]
    dpo_key: str


def partner_loop(clients: Clients, partner: Partner, stop: float, stats: Stats) -> None:
    rng = random.Random(f"{SEED}-{partner.name}-{partner.next_person}")
    with auth_client(partner.key) as http:
        while time.monotonic() < stop:
            partner_round(http, clients.base, partner, rng, stats)


def destination_loop(clients: Clients, number: int, stop: float, stats: Stats) -> None:
    rng = random.Random(f"{SEED}-dest-{number}-{stop}")
    with auth_client(clients.destination_keys[number]) as http:
        n = 0
        while time.monotonic() < stop:
            destination_round(http, clients.base, rng, stats, n)
            n += 1
            time.sleep(0.05)


def dpo_loop(clients: Clients, stop: float, stats: Stats) -> None:
    with auth_client(clients.dpo_key) as http:
        tick = 0
        begin = time.monotonic()
        while time.monotonic() < stop:
            dpo_tick(http, clients.base, clients.partners[0].key, stats, tick)
            tick += 1
            time.sleep(max(0.0, begin + tick - time.monotonic()))


def run_phase(clients: Clients, seconds: float, stats: Stats) -> float:
    """Every client in its own thread for `seconds`; returns the wall time."""
    stop = time.monotonic() + seconds
    failures: list[BaseException] = []

    def guarded(target: Callable[..., None], *args: Any) -> threading.Thread:
        def run() -> None:
            try:
                target(clients, *args, stop, stats)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)

        return threading.Thread(target=run, daemon=True)

    threads = [guarded(partner_loop, p) for p in clients.partners]
    threads += [
        guarded(destination_loop, i) for i in range(len(clients.destination_keys))
    ]
    threads.append(guarded(dpo_loop))
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - start


# ------------------------------------------------------------------- servers


@dataclass(frozen=True)
class Proc:
    pid: int
    role: str
    rss_kib: int


def server_processes(pgid: int) -> list[Proc]:
    """Every live process of the server's group with its RSS (VmRSS, /proc)."""
    found: dict[int, tuple[int, str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) != pgid:
            continue
        rss = next(
            (
                int(line.split()[1])
                for line in status.splitlines()
                if line[:6] == "VmRSS:"
            ),
            0,
        )
        found[int(entry.name)] = (int(fields[1]), cmdline, rss)
    workers = sorted(
        pid
        for pid, (ppid, cmdline, _) in found.items()
        if ppid == pgid and "resource_tracker" not in cmdline
    )
    procs = []
    for pid, (ppid, cmdline, rss) in sorted(found.items()):
        if pid == pgid:
            role = "master"
        elif "resource_tracker" in cmdline:
            role = "resource tracker"
        elif ppid == pgid:
            role = f"worker {workers.index(pid) + 1}"
        elif ppid in workers:
            role = f"helper of worker {workers.index(ppid) + 1}"
        else:
            role = "other"
        procs.append(Proc(pid, role, rss))
    return procs


def database_bytes(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT pg_database_size(current_database())")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def stored_records(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM records")).scalar_one())
    finally:
        engine.dispose()


# ------------------------------------------------------------------- warm-up


def load_population(
    base: str, partners: list[Partner], size: int, stats: Stats
) -> None:
    """The demo's population (customers with behaviour) through the HTTP API."""
    world = population(size, tuple(p.name for p in partners), seed=SEED % 1000)

    def send(partner: Partner) -> None:
        with auth_client(partner.key) as http:
            for group in batches(world.consents[partner.name], 500):
                body = orjson.dumps({"events": group})
                call(
                    stats,
                    "consents",
                    lambda body=body: http.post(f"{base}/v1/consents", content=body),
                    check=consents_check(len(group)),
                )
            for dataset in ("customers", "events"):
                rows = getattr(world, dataset)[partner.name]
                for group in batches(rows, 500):
                    body = orjson.dumps({"purpose": "segmentation", "records": group})
                    # ~3 % of people never consented: their records are refused.
                    call(
                        stats,
                        dataset,
                        lambda body=body, dataset=dataset: http.post(
                            f"{base}/v1/datasets/{dataset}/records", content=body
                        ),
                        check=accepted_check(len(group)),
                    )

    threads = [threading.Thread(target=send, args=(p,)) for p in partners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# -------------------------------------------------------------------- report


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def mib(kib: int) -> str:
    return f"{kib / 1024:,.1f}"


def print_throughput(stats: Stats, seconds: float) -> None:
    head = (
        f"{'kind':<13} {'requests':>8} {'req/s':>7} {'records':>9} {'rec/s':>8} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses / errors"
    )
    print(head)
    print("-" * len(head))
    every: list[float] = []
    total_records = 0
    for kind, entry in stats.kinds.items():
        if not entry.latencies:
            continue
        every += entry.latencies
        if kind not in ("segments", "members", "revocations", "audit events", "verify"):
            total_records += entry.records if kind != "replay" else 0
        lat = [v * 1000 for v in entry.latencies]
        statuses = " ".join(f"{s}:{n}" for s, n in sorted(entry.statuses.items()))
        errors = sum(entry.errors.values())
        print(
            f"{kind:<13} {len(lat):>8} {len(lat) / seconds:>7.1f} "
            f"{entry.records:>9,} {entry.records / seconds:>8,.0f} "
            f"{pct(lat, 50):>8.1f} {pct(lat, 95):>8.1f} {pct(lat, 99):>8.1f} "
            f"{max(lat):>8.1f}  {statuses}; errors {errors}"
        )
    lat = [v * 1000 for v in every]
    print(
        f"{'all':<13} {len(lat):>8} {len(lat) / seconds:>7.1f} "
        f"{total_records:>9,} {total_records / seconds:>8,.0f} "
        f"{pct(lat, 50):>8.1f} {pct(lat, 95):>8.1f} {pct(lat, 99):>8.1f} "
        f"{max(lat):>8.1f}  errors {stats.error_total()}"
    )
    print(
        "records: records sent (customers, events; replay: records re-sent), "
        "consent events, segments listed, member ids pulled, revoked ids, audit "
        "events listed; 'all' records = customers + events + "
        "consent events. Expected statuses: 200, and 401/415/422 for 'deliberate'."
    )


def print_rss(start: list[Proc], end: list[Proc]) -> tuple[float, str, float]:
    before = {p.pid: p for p in start}
    after = {p.pid: p for p in end}
    head = f"{'process':<22} {'pid':>8} {'start MiB':>10} {'end MiB':>10} {'growth':>8}"
    print(head)
    print("-" * len(head))
    for pid in sorted(before.keys() | after.keys()):
        a, b = before.get(pid), after.get(pid)
        role = (a or b).role  # type: ignore[union-attr]
        s = mib(a.rss_kib) if a else "-"
        e = mib(b.rss_kib) if b else "gone"
        g = f"{(b.rss_kib / a.rss_kib - 1) * 100:+.1f} %" if a and b else "-"
        print(f"{role:<22} {pid:>8} {s:>10} {e:>10} {g:>8}")
    worst = max(
        ((after[pid].rss_kib / a.rss_kib - 1, f"{a.role} ({pid})")
         for pid, a in before.items() if pid in after),
        default=(0.0, "-"),
    )  # fmt: skip
    # Over the processes alive at both ends: a helper that starts mid-run
    # (each starts with its worker's first customers batch) is not growth.
    both = before.keys() & after.keys()
    total0 = sum(before[pid].rss_kib for pid in both)
    total1 = sum(after[pid].rss_kib for pid in both)
    growth = total1 / total0 - 1
    print(
        f"{'sum (alive at both)':<22} {'':>8} {mib(total0):>10} {mib(total1):>10} "
        f"{growth * 100:>+6.1f} %"
    )
    started = sum(p.rss_kib for pid, p in after.items() if pid not in before)
    if started:
        print(f"{'started during the run':<22} {'':>8} {'-':>10} {mib(started):>10}")
    return growth, worst[1], worst[0]


# ---------------------------------------------------------------------- main


def add_clients(env: dict[str, str], args: argparse.Namespace, base: str) -> Clients:
    """Partners, destinations and a DPO, made with `gateway clients add`."""
    partners = []
    for i in range(args.partners):
        made = json.loads(
            run_cli(
                ["clients", "add", f"load_partner_{i}", "--role", "partner",
                 "--dataset", "customers", "--dataset", "events",
                 "--purpose", "segmentation", "--json"],
                env,
            )
        )  # fmt: skip
        partners.append(Partner(f"load_partner_{i}", i, made["api_key"]))
    destination_keys = [
        json.loads(
            run_cli(
                [
                    "clients",
                    "add",
                    f"load_destination_{i}",
                    "--role",
                    "destination",
                    "--audience",
                    AUDIENCE,
                    "--json",
                ],
                env,
            )
        )["api_key"]  # fmt: skip
        for i in range(args.destinations)
    ]
    dpo_key = json.loads(
        run_cli(["clients", "add", "load_dpo", "--role", "dpo", "--json"], env)
    )["api_key"]
    return Clients(base, partners, destination_keys, dpo_key)


@dataclass
class Outcome:
    """Everything the report prints."""

    stats: Stats = field(default_factory=Stats)
    warm: Stats = field(default_factory=Stats)
    elapsed: float = 0.0
    population_s: float = 0.0
    pipeline_s: float = 0.0
    segments: object = None
    busy: float = 0.0
    server_cpu: float = 0.0
    loadavg: tuple[str, str] = ("", "")
    rss_start: list[Proc] = field(default_factory=list)
    rss_end: list[Proc] = field(default_factory=list)
    rss_samples: list[int] = field(default_factory=list)
    db_bytes: tuple[int, int] = (0, 0)
    tracebacks: int = 0
    server_log: str = ""
    stored: int = 0
    verified: bool = False
    log_size: object = None


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(args: argparse.Namespace, clients: Clients, pgid: int, url: str,
            env: dict[str, str], home: Path) -> Outcome:  # fmt: skip
    """Warm up, then the measured phase; the server is up throughout."""
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    out = Outcome()
    t0 = time.monotonic()
    load_population(clients.base, clients.partners, args.people, out.warm)
    out.population_s = time.monotonic() - t0
    say(f"warm-up population sent in {out.population_s:.0f} s")
    t0 = time.monotonic()
    run = ["pipeline", "run", AUDIENCE, "--out", str(home / "run"), "--json"]
    out.segments = json.loads(run_cli(run, env, timeout=1800)).get("segments")
    out.pipeline_s = time.monotonic() - t0
    say(f"pipeline run in {out.pipeline_s:.0f} s: {out.segments} segments")
    if args.warmup > 0:
        run_phase(clients, args.warmup, out.warm)
    say(f"warm-up done; warm-up errors: {out.warm.error_total()}")
    out.rss_start = server_processes(pgid)
    db_start = database_bytes(url)
    load0 = loadavg()
    done = threading.Event()

    def sample_rss() -> None:
        while not done.wait(10):
            out.rss_samples.append(sum(p.rss_kib for p in server_processes(pgid)))

    sampler = threading.Thread(target=sample_rss, daemon=True)
    cpu0, machine0 = group_cpu_seconds(pgid), machine_cpu()
    sampler.start()
    say(f"measuring for {args.seconds:.0f} s ...")
    out.elapsed = run_phase(clients, args.seconds, out.stats)
    done.set()
    sampler.join()
    out.server_cpu = group_cpu_seconds(pgid) - cpu0
    machine1 = machine_cpu()
    out.busy = 100 * (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1])
    out.rss_end = server_processes(pgid)
    out.db_bytes = (db_start, database_bytes(url))
    out.loadavg = (load0, loadavg())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="measured phase")
    parser.add_argument("--warmup", type=float, default=30, help="mixed-load warm-up")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partners", type=int, default=3)
    parser.add_argument("--destinations", type=int, default=2)
    parser.add_argument(
        "--people", type=int, default=2500, help="warm-up population (pipeline input)"
    )
    parser.add_argument(
        "--redis", help="GATEWAY_REDIS_URL for the rate limiter (default: per process)"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server, e.g. MALLOC_ARENA_MAX=2",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gw-load-"))
    home = workdir / "home"
    home.mkdir()
    try:
        with throwaway_database("postgres", home) as url:
            env = os.environ | {
                "GATEWAY_HOME": str(home),
                "GATEWAY_DATABASE_URL": url,
                "GATEWAY_POLICIES": str(POLICIES),
                "GATEWAY_RATE_LIMIT_PER_MINUTE": HIGH_LIMIT,
                "GATEWAY_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE": HIGH_LIMIT,
            }
            for name in (
                "GATEWAY_KEYRING",
                "GATEWAY_KEYRING_JSON",
                "GATEWAY_REDIS_URL",
            ):
                env.pop(name, None)
            if args.redis:
                env["GATEWAY_REDIS_URL"] = args.redis
                env["GATEWAY_RATE_LIMIT_KEY_PREFIX"] = f"load-{uuid.uuid4().hex[:8]}"
            run_cli(["init", "--json"], env)
            extra = dict(item.split("=", 1) for item in args.server_env)
            port = free_port()
            clients = add_clients(env, args, f"http://127.0.0.1:{port}")
            argv = [
                str(ROOT / ".venv" / "bin" / "gateway"), "serve", "--host",
                "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
            ]  # fmt: skip
            log = home / "gateway-server.log"
            with server("gateway", argv, env | extra, port, log) as pgid:
                out = measure(args, clients, pgid, url, env, home)
                text_log = log.read_text(errors="replace")
                out.tracebacks = text_log.count("Traceback")
                out.server_log = "\n".join(text_log.splitlines()[-10:])
            # Server stopped: everything acknowledged must be stored once and
            # the log intact.
            out.stored = stored_records(url)
            try:
                verdict = json.loads(run_cli(["audit", "verify", "--json"], env, 1800))
                out.verified, out.log_size = (
                    bool(verdict.get("ok")),
                    verdict.get("size"),
                )
            except RuntimeError as exc:
                out.verified, out.log_size = False, str(exc)[:200]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(args, out)


def report(args: argparse.Namespace, out: Outcome) -> int:
    """Print the tables; 0 when every target is met."""
    stats = out.stats
    print()
    print(
        f"Load: gateway serve --workers {args.workers} on PostgreSQL; "
        f"{args.partners} partner, {args.destinations} destination and 1 DPO threads; "
        f"{out.elapsed:.0f} s measured after a warm-up ({args.people} people through "
        f"the API in {out.population_s:.0f} s, pipeline run in {out.pipeline_s:.0f} s "
        f"with {out.segments} segments, {args.warmup:.0f} s of mixed load)"
        + (
            f"; server environment {' '.join(args.server_env)}"
            if args.server_env
            else ""
        )
    )
    print(
        f"Shared machine ({os.cpu_count()} cores; other sessions run on it): busy "
        f"{out.busy:.0f} % during the run, server processes "
        f"{out.server_cpu / out.elapsed * 100:.0f} % of one core; load average "
        f"{out.loadavg[0]} -> {out.loadavg[1]}"
    )
    print()
    print_throughput(stats, out.elapsed)
    for phase, seen in (("errors", stats), ("warm-up errors", out.warm)):
        if seen.error_total():
            print(
                f"{phase}: "
                + "; ".join(
                    f"{kind} {error!r} x{n}"
                    for kind, entry in seen.kinds.items()
                    for error, n in entry.errors.items()
                )
            )
    print()
    growth, worst_name, worst = print_rss(out.rss_start, out.rss_end)
    print(
        "RSS sum every 10 s (MiB): "
        + " ".join(f"{total / 1024:.0f}" for total in out.rss_samples)
    )
    print(
        f"PostgreSQL database: {out.db_bytes[0] / 2**20:,.0f} MiB after warm-up, "
        f"{out.db_bytes[1] / 2**20:,.0f} MiB at the end"
    )
    print()
    errors = stats.error_total() + out.warm.error_total()
    deliberate = stats.kinds["deliberate"]
    sent = sum(deliberate.statuses.values())
    expected = out.warm.stored + stats.stored
    rows = [
        ("unexpected errors, warm-up + measured", f"{errors}", "0", errors == 0),
        (
            "deliberate refusals answered as expected",
            f"{sent - sum(deliberate.errors.values())}/{sent}",
            "all",
            not deliberate.errors,
        ),
        (
            "server RSS growth (sum over processes alive at both ends)",
            f"{growth * 100:+.1f} %",
            f"< {GROWTH_TARGET * 100:.0f} %",
            growth < GROWTH_TARGET,
        ),
        (
            "largest RSS growth of one process",
            f"{worst * 100:+.1f} % ({worst_name})",
            f"< {GROWTH_TARGET * 100:.0f} %",
            worst < GROWTH_TARGET,
        ),
        (
            "acknowledged records stored exactly once",
            f"{out.stored:,} stored / {expected:,} acknowledged",
            "equal",
            out.stored == expected,
        ),
        (
            "gateway audit verify after the run",
            f"ok={out.verified}, size {out.log_size}",
            "ok",
            out.verified,
        ),
        ("server tracebacks in its log", f"{out.tracebacks}", "0", out.tracebacks == 0),
    ]
    head = f"{'check':<42} {'value':<40} {'target':<8} result"
    print(head)
    print("-" * len(head))
    for name, value, target, ok in rows:
        print(f"{name:<42} {value:<40} {target:<8} {'OK' if ok else 'MISS'}")
    if out.tracebacks:
        print(f"server log tail:\n{out.server_log}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
