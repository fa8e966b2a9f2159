"""Concurrency: `gateway serve --workers 4` under racing partners and withdrawals.

Two partners, two threads each, send overlapping batches (the same source_ids
in several threads); pairs of threads send the same Idempotency-Key and body
at the same instant; withdrawals for groups of subjects race batches that
carry those subjects. Afterwards: no 5xx, no thread left hanging, one record
(and one record id) per source_id, one audit event per record result and per
consent event, the withdrawal seen whole or not at all by each request and in
step with the audit order, and `gateway audit verify` passes.
"""

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import BOTH, Database
from tests.factories import consent, customer
from tests.gateway.serving import (
    RECORDS,
    audit_events,
    cli,
    grant,
    partner,
    serve,
    server_env,
    stored_records,
)

pytestmark = pytest.mark.slow

WORKERS = 4
THREADS_PER_PARTNER = 2
BATCHES_PER_THREAD = 8
BATCH_SIZE = 20
POOL = 60  # each partner's customers: batches draw from it, so they overlap
# Partner A's subjects whose consent is withdrawn mid-load: one group per
# withdrawal request, sent once A has had this many answers to batches that
# carry them (its twins' answers do not count: on a busy machine they could
# all come first, and no batch would have seen the subjects before).
RACED = 4
WITHDRAW_AFTER = (3, 7)
TWIN_ROUNDS = 3
DEADLINE = 240  # seconds for the whole load: past it, something deadlocked


@dataclass
class Sent:
    """One records request and its answer."""

    partner: str
    key: str
    body: dict[str, Any]
    after: frozenset[int]  # the withdrawals answered before it was sent
    status: int = 0
    replayed: bool = False
    receipt: dict[str, Any] | None = None


@dataclass
class Run:
    """Everything sent, shared by the threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: list[Sent] = field(default_factory=list)
    twins: list[tuple[Sent, Sent]] = field(default_factory=list)
    consent_events: int = 0
    withdrawals: dict[int, dict[str, Any]] = field(default_factory=dict)
    acks_a: int = 0  # answers to A's batches that carry the raced subjects
    errors: list[str] = field(default_factory=list)


def _post(  # noqa: PLR0913 -- one request and whether it counts for A
    http: httpx.Client,
    run: Run,
    who: str,
    body: dict[str, Any],
    key: str,
    raced: bool = False,
) -> Sent:
    item = Sent(who, key, body, after=frozenset(run.withdrawals))
    response = http.post(RECORDS, json=body, headers={"Idempotency-Key": key})
    item.status = response.status_code
    item.replayed = response.headers.get("idempotent-replayed") == "true"
    if response.status_code == 200:
        item.receipt = response.json()
    elif response.status_code != 409:
        run.errors.append(f"{response.status_code} {response.text[:300]}")
    with run.lock:
        run.sent.append(item)
        if raced and response.status_code == 200:
            run.acks_a += 1
    return item


def _load(
    http: httpx.Client,
    run: Run,
    who: str,
    pool: list[dict[str, Any]],
    raced: list[dict[str, Any]],
    seed: int,
) -> None:
    rng = random.Random(seed)  # noqa: S311 -- test data, not a secret
    for _ in range(BATCHES_PER_THREAD):
        records = [*rng.sample(pool, BATCH_SIZE - len(raced)), *raced]
        rng.shuffle(records)
        body = {"purpose": "segmentation", "records": records}
        _post(http, run, who, body, str(uuid.uuid4()), raced=bool(raced))


def _twin(  # noqa: PLR0913 -- one thread's share of a twin pair
    http: httpx.Client,
    run: Run,
    who: str,
    body: dict[str, Any],
    key: str,
    barrier: threading.Barrier,
    pair: list[Sent],
) -> None:
    barrier.wait(timeout=60)
    pair.append(_post(http, run, who, body, key))


def _twins(
    clients: tuple[httpx.Client, httpx.Client],
    run: Run,
    who: str,
    bodies: list[dict[str, Any]],
) -> None:
    """Send each body from two threads at once under one Idempotency-Key."""
    for body in bodies:
        key = str(uuid.uuid4())
        barrier = threading.Barrier(2)
        pair: list[Sent] = []

        threads = [
            threading.Thread(target=_twin, args=(h, run, who, body, key, barrier, pair))
            for h in clients
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE)
        with run.lock:
            run.twins.append((pair[0], pair[1]))


def _withdraw(http: httpx.Client, run: Run, groups: list[list[dict[str, Any]]]) -> None:
    """Withdraw each group's consent once partner A has had enough answers."""
    for number, (raced, after) in enumerate(zip(groups, WITHDRAW_AFTER, strict=True)):
        deadline = time.monotonic() + DEADLINE
        while run.acks_a < after and time.monotonic() < deadline:
            time.sleep(0.005)
        _withdraw_group(http, run, number, raced)


def _withdraw_group(
    http: httpx.Client, run: Run, number: int, raced: list[dict[str, Any]]
) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    events = [
        consent("customer_id", r["customer_id"], "withdrawn", timestamp=now)
        for r in raced
    ]
    response = http.post("/v1/consents", json={"events": events})
    if response.status_code != 200:
        run.errors.append(f"withdrawal: {response.status_code} {response.text[:300]}")
        return
    with run.lock:
        run.consent_events += len(events)
        run.withdrawals[number] = response.json()


def _people(count: int) -> list[dict[str, Any]]:
    return [customer() for _ in range(count)]


@BOTH
def test_workers_race_without_duplicates_lost_events_or_torn_withdrawals(
    fresh_database: Database, tmp_path: Path
) -> None:
    # Linkage encodings made in the request's thread: four helper processes
    # fewer to start on two cores, and the races under test are the database's.
    env = server_env(fresh_database, tmp_path / "home") | {
        "GATEWAY_LINKAGE_WORKERS": "0"
    }
    cli(env, "init")
    auth = {"a": partner(env, "shop_a"), "b": partner(env, "shop_b")}
    pools = {who: _people(POOL) for who in auth}
    groups = [_people(RACED) for _ in WITHDRAW_AFTER]
    raced = [person for group in groups for person in group]
    twin_bodies = {
        who: [
            {"purpose": "segmentation", "records": _people(BATCH_SIZE)}
            for _ in range(TWIN_ROUNDS)
        ]
        for who in auth
    }
    run = Run()
    with serve(env, workers=WORKERS) as server:
        for who, headers in auth.items():
            people = pools[who] + [r for b in twin_bodies[who] for r in b["records"]]
            if who == "a":
                people += raced
            grant(server.base, headers, people)
            run.consent_events += len(people)
        clients = {
            who: [
                httpx.Client(base_url=server.base, headers=h, timeout=DEADLINE)
                for _ in range(THREADS_PER_PARTNER + 2)
            ]
            for who, h in auth.items()
        }
        threads = [
            threading.Thread(
                target=_load,
                args=(
                    clients[who][n],
                    run,
                    who,
                    pools[who],
                    raced if who == "a" else [],
                    10 * n + ord(who),
                ),
            )
            for who in auth
            for n in range(THREADS_PER_PARTNER)
        ]
        threads += [
            threading.Thread(
                target=_twins,
                args=(tuple(clients[who][-2:]), run, who, twin_bodies[who]),
            )
            for who in auth
        ]
        withdrawer = httpx.Client(
            base_url=server.base, headers=auth["a"], timeout=DEADLINE
        )
        threads.append(
            threading.Thread(target=_withdraw, args=(withdrawer, run, groups))
        )
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, DEADLINE - (time.monotonic() - started)))
        assert not any(t.is_alive() for t in threads), "deadlock: a request hung"
        # One batch more once every withdrawal has answered: whether the load
        # still ran after them depends on the machine's timing, and "nothing
        # accepted after a withdrawal" must be checked every run.
        tail = [*pools["a"][: BATCH_SIZE - len(raced)], *raced]
        body = {"purpose": "segmentation", "records": tail}
        _post(clients["a"][0], run, "a", body, str(uuid.uuid4()))
        for http in [withdrawer, *(c for group in clients.values() for c in group)]:
            http.close()
    assert not run.errors, run.errors  # no 5xx, no unexpected 4xx
    assert len(run.withdrawals) == len(WITHDRAW_AFTER)
    _assert_twins(run)
    _assert_one_record_per_source_id(fresh_database, run)
    _assert_every_event_logged(fresh_database, run)
    for number, group in enumerate(groups):
        _assert_withdrawal_whole_and_in_order(fresh_database, run, number, group)
    assert cli(env, "audit", "verify", "--json")["ok"] is True


def _assert_twins(run: Run) -> None:
    """One of two simultaneous requests with one key is processed, once."""
    for first, second in run.twins:
        processed = [s for s in (first, second) if s.status == 200 and not s.replayed]
        assert len(processed) == 1, [(s.status, s.replayed) for s in (first, second)]
        other = second if processed[0] is first else first
        # The twin is a replay of the very same answer, or a 409 conflict.
        assert other.status in (200, 409)
        if other.status == 200:
            assert other.replayed
            assert other.receipt == processed[0].receipt
        receipt = processed[0].receipt
        assert receipt is not None
        assert receipt["accepted"] == BATCH_SIZE


def _assert_one_record_per_source_id(database: Database, run: Run) -> None:
    """Every answer names one record id per source_id, and it is the stored one."""
    stored = stored_records(database)
    by_partner: dict[str, dict[str, set[str]]] = {}
    for item in run.sent:
        for result in (item.receipt or {}).get("results", []):
            if result["record_id"] is not None:
                ids = by_partner.setdefault(item.partner, {})
                ids.setdefault(result["source_id"], set()).add(result["record_id"])
    stored_by_source: dict[str, set[str]] = {}
    for (_, source_id), record_id in stored.items():
        stored_by_source.setdefault(source_id, set()).add(record_id)
    assert all(len(ids) == 1 for ids in stored_by_source.values()), "a duplicate"
    for ids in by_partner.values():
        for source_id, record_ids in ids.items():
            assert len(record_ids) == 1, "one source_id answered with two record ids"
            assert record_ids == stored_by_source[source_id]
    answered = {s for ids in by_partner.values() for s in ids}
    assert answered == set(stored_by_source), "a stored record nobody was told of"


def _assert_every_event_logged(database: Database, run: Run) -> None:
    """One audit event per record result processed and per consent event."""
    processed = [s for s in run.sent if s.receipt is not None and not s.replayed]
    results = Counter(
        r["status"] for s in processed for r in (s.receipt or {})["results"]
    )
    logged = Counter(e.action for e in audit_events(database))
    for status in ("accepted", "duplicate", "updated", "rejected"):
        assert logged[f"record.{status}"] == results[status], status
    consents = sum(n for a, n in logged.items() if a.startswith("consent."))
    assert consents == run.consent_events


def _assert_withdrawal_whole_and_in_order(
    database: Database, run: Run, number: int, raced: list[dict[str, Any]]
) -> None:
    """Each request saw a withdrawal whole or not at all, as the log orders it."""
    keys = {r["identifier_key"] for r in run.withdrawals[number]["results"]}
    assert len(keys) == RACED
    raced_ids = {r["source_id"] for r in raced}
    seen_before = seen_after = 0
    for item in run.sent:
        if item.partner != "a" or item.receipt is None or item.replayed:
            continue
        mine = [r for r in item.receipt["results"] if r["source_id"] in raced_ids]
        if not mine:
            continue  # a twin's batch: none of the raced subjects
        assert {r["subject_id"] for r in mine} <= keys
        refused = {r["reason"] == "consent_missing" for r in mine}
        assert len(refused) == 1, "a request saw part of one withdrawal"
        if refused == {True}:
            seen_after += 1
        else:
            assert number not in item.after, "accepted after the withdrawal"
            seen_before += 1
    assert seen_before, "no batch ran before the withdrawal"
    assert seen_after, "no batch ran after the withdrawal"
    events = audit_events(database)
    withdrawn = [
        e.seq
        for e in events
        if e.action == "consent.withdrawn" and e.subject_id in keys
    ]
    assert len(withdrawn) == RACED
    assert max(withdrawn) - min(withdrawn) == RACED - 1, "the withdrawal is split"
    for event in events:
        if event.subject_id not in keys or not event.action.startswith("record."):
            continue
        if event.action == "record.rejected":
            assert event.seq > max(withdrawn), "refused before the withdrawal"
        else:
            assert event.seq < min(withdrawn), "a record kept after the withdrawal"
