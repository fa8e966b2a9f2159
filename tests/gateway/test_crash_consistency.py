"""Crash consistency: SIGKILL the whole server mid-load, restart, check everything.

Three partner threads send batches (each with its own Idempotency-Key) while a
DPO keeps asking for the signed checkpoint; the server's process group is then
killed with SIGKILL. After a restart: every acknowledged batch is stored once,
no batch is torn, re-sending every batch creates nothing new, the log
verifies, and the last checkpoint seen before the crash is a prefix of it.
"""

import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import BOTH, Database
from tests.factories import customer
from tests.gateway.serving import (
    RECORDS,
    assert_consistent,
    cli,
    dpo,
    grant,
    partner,
    serve,
    server_env,
    stored_records,
    stored_source_ids,
)

pytestmark = pytest.mark.slow

THREADS = 3
BATCHES = 60
BATCH_SIZE = 25
# Acknowledged batches to wait for before the kill: the crash lands mid-load.
ACKED_BEFORE_KILL = 6


@dataclass
class Batch:
    """One request as sent, and what the server answered before the crash."""

    key: str
    body: dict[str, Any]
    sent: bool = False
    status: int | None = None
    receipt: dict[str, Any] | None = None

    @property
    def source_ids(self) -> list[str]:
        return [r["source_id"] for r in self.body["records"]]


@dataclass
class Load:
    """The batches, the threads' shared cursor, and the checkpoints seen."""

    batches: list[Batch]
    lock: threading.Lock = field(default_factory=threading.Lock)
    cursor: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def next_batch(self) -> Batch | None:
        with self.lock:
            if self.stop.is_set() or self.cursor == len(self.batches):
                return None
            batch = self.batches[self.cursor]
            self.cursor += 1
            batch.sent = True
            return batch

    def acknowledged(self) -> list[Batch]:
        return [b for b in self.batches if b.status == 200]


def _send(http: httpx.Client, load: Load) -> None:
    while (batch := load.next_batch()) is not None:
        try:
            response = http.post(
                RECORDS, json=batch.body, headers={"Idempotency-Key": batch.key}
            )
        except httpx.TransportError:
            return  # the server is gone: this batch's fate is unknown
        batch.status = response.status_code
        if response.status_code == 200:
            batch.receipt = response.json()
        else:
            load.failures.append(f"{response.status_code} {response.text[:200]}")


def _watch_checkpoints(http: httpx.Client, load: Load) -> None:
    while not load.stop.is_set():
        try:
            response = http.get("/v1/audit/checkpoint")
        except httpx.TransportError:
            return
        if response.status_code == 200:
            load.checkpoints.append(response.json())
        time.sleep(0.05)


def _load(base: str, partner_auth: dict[str, str]) -> Load:
    batches = [
        Batch(
            str(uuid.uuid4()),
            {
                "purpose": "segmentation",
                "records": [customer() for _ in range(BATCH_SIZE)],
            },
        )
        for _ in range(BATCHES)
    ]
    grant(base, partner_auth, (r for b in batches for r in b.body["records"]))
    return Load(batches)


@BOTH
def test_sigkill_mid_load_keeps_every_acknowledged_batch_once(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = server_env(fresh_database, tmp_path / "home")
    cli(env, "init")
    partner_auth = partner(env, "shop")
    dpo_auth = dpo(env)
    with serve(env, workers=2) as server:
        load = _load(server.base, partner_auth)
        clients = [
            httpx.Client(base_url=server.base, headers=partner_auth, timeout=60)
            for _ in range(THREADS)
        ]
        watcher = httpx.Client(base_url=server.base, headers=dpo_auth, timeout=60)
        # The DPO's watcher first: it has a checkpoint before the load takes
        # the write lock, and keeps asking for newer ones until the crash.
        threads = [threading.Thread(target=_watch_checkpoints, args=(watcher, load))]
        threads += [
            threading.Thread(target=_send, args=(http, load)) for http in clients
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        # Killed once a few batches were acknowledged and the DPO saw a
        # checkpoint of the log under load.
        while len(load.acknowledged()) < ACKED_BEFORE_KILL or not load.checkpoints:
            assert time.monotonic() < deadline, "the load did not get going"
            time.sleep(0.005)
        server.kill(signal.SIGKILL)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client hung after the crash"
        for http in [*clients, watcher]:
            http.close()
    assert not load.failures, load.failures
    acknowledged = load.acknowledged()
    sent = [b for b in load.batches if b.sent]
    assert len(sent) < len(load.batches), "the kill came after the load ended"
    assert load.checkpoints, "no checkpoint was seen before the crash"
    before_crash = load.checkpoints[-1]

    # After the crash, before any restart: what the database holds.
    stored = stored_source_ids(fresh_database)
    assert all(count == 1 for count in stored.values()), "a source_id stored twice"
    for batch in acknowledged:
        assert all(stored[s] == 1 for s in batch.source_ids), "an acked batch lost"
    for batch in sent:
        held = sum(stored[s] for s in batch.source_ids)
        assert held in (0, BATCH_SIZE), f"a torn batch: {held} of {BATCH_SIZE}"
    never_sent = [b for b in load.batches if not b.sent]
    assert not any(stored[s] for b in never_sent for s in b.source_ids)
    assert cli(env, "audit", "verify", "--json")["ok"] is True

    # One process is enough to answer the re-sends.
    with serve(env, workers=1) as server:
        _resend_everything(server.base, partner_auth, load.batches)
        ids = {
            source: rid for (_, source), rid in stored_records(fresh_database).items()
        }
        _resend_twice_more(server.base, partner_auth, load.batches, ids)
        assert_consistent(server.base, dpo_auth, before_crash)
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(before_crash["checkpoint"], encoding="utf-8")
    report = cli(env, "audit", "verify", "--checkpoint", str(saved), "--json")
    assert report["ok"] is True
    assert report["size"] >= before_crash["tree_size"]

    everything = {s for b in load.batches for s in b.source_ids}
    final = stored_source_ids(fresh_database)
    assert set(final) == everything
    assert all(count == 1 for count in final.values()), "a duplicate after re-sending"


def _resend_everything(
    base: str, headers: dict[str, str], batches: list[Batch]
) -> None:
    """Re-send every batch (same key and body): every record ends up stored."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for batch in batches:
            response = http.post(
                RECORDS, json=batch.body, headers={"Idempotency-Key": batch.key}
            )
            assert response.status_code == 200, response.text
            receipt = response.json()
            if batch.receipt is not None:
                # Acknowledged before the crash: the very same answer, replayed.
                assert response.headers.get("idempotent-replayed") == "true"
                assert receipt == batch.receipt
            assert receipt["accepted"] == BATCH_SIZE
            for result in receipt["results"]:
                assert result["status"] == "accepted"


def _resend_twice_more(
    base: str, headers: dict[str, str], batches: list[Batch], ids: dict[str, str]
) -> None:
    """Same key and body: replays; same body, new key: duplicates; same ids."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for batch in batches:
            response = http.post(
                RECORDS, json=batch.body, headers={"Idempotency-Key": batch.key}
            )
            assert response.status_code == 200, response.text
            assert response.headers.get("idempotent-replayed") == "true"
            for result in response.json()["results"]:
                assert result["record_id"] == ids[result["source_id"]]
        # The same bodies under new keys: processed again, all duplicates.
        for batch in batches[:10]:
            response = http.post(
                RECORDS, json=batch.body, headers={"Idempotency-Key": str(uuid.uuid4())}
            )
            assert response.status_code == 200, response.text
            for result in response.json()["results"]:
                assert result["status"] == "duplicate"
                assert result["record_id"] == ids[result["source_id"]]
