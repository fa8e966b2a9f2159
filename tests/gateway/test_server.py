"""The single-process server (`gateway serve`, one worker) killed mid-load.

Several workers under concurrent clients, and a SIGKILL of the whole
process group, are `tests/gateway/test_concurrency.py` and
`tests/gateway/test_crash_consistency.py`; here the default, one process
serving the port, dies alone.
"""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from gateway.storage.db import make_engine, make_session_factory
from gateway.storage.models import RecordRow
from tests.databases import BOTH, Database
from tests.factories import consent, customer
from tests.gateway.serving import cli, partner, serve, server_env


def _setup(database: Database, home: Path) -> tuple[dict[str, str], dict[str, str]]:
    env = server_env(database, home)
    cli(env, "init")
    return env, partner(env, "shop")


def _consented_batches(
    base: str, headers: dict[str, str], batches: int, size: int
) -> list[list[dict[str, Any]]]:
    out = [[customer() for _ in range(size)] for _ in range(batches)]
    events = [consent("customer_id", r["customer_id"]) for batch in out for r in batch]
    for start in range(0, len(events), 1000):
        response = httpx.post(
            f"{base}/v1/consents",
            json={"events": events[start : start + 1000]},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 200
    return out


def _stored(database: Database, source_ids: list[str]) -> int:
    engine = make_engine(database.url)
    try:
        with make_session_factory(engine)() as session:
            stmt = select(func.count()).where(RecordRow.source_id.in_(source_ids))
            return session.scalar(stmt) or 0
    finally:
        engine.dispose()


@BOTH
def test_sigkill_mid_load_loses_no_acknowledged_record(
    fresh_database: Database, tmp_path: Path
) -> None:
    env, headers = _setup(fresh_database, tmp_path / "home")
    acknowledged: list[list[str]] = []
    sent: list[list[str]] = []
    with serve(env, workers=1) as server:
        base = server.base
        batches = _consented_batches(base, headers, batches=30, size=100)
        stop = threading.Event()

        def load() -> None:
            for batch in batches:
                if stop.is_set():
                    return
                ids = [r["source_id"] for r in batch]
                sent.append(ids)
                try:
                    response = httpx.post(
                        f"{base}/v1/datasets/customers/records",
                        json={"purpose": "segmentation", "records": batch},
                        headers=headers,
                        timeout=60,
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    acknowledged.append(ids)

        loader = threading.Thread(target=load)
        loader.start()
        while len(acknowledged) < 3:
            time.sleep(0.01)
        port = int(base.rsplit(":", 1)[1])
        pid = _pid_listening(port)
        os.kill(pid, signal.SIGKILL)
        stop.set()
        loader.join(timeout=60)
    assert acknowledged, "no request was acknowledged before the kill"
    assert len(acknowledged) < len(batches), "the kill came after the load ended"
    for ids in acknowledged:
        assert _stored(fresh_database, ids) == len(ids)
    for ids in sent:
        assert _stored(fresh_database, ids) in (0, len(ids)), (
            "a request was half stored"
        )
    assert cli(env, "audit", "verify", "--json")["ok"] is True


def _pid_listening(port: int) -> int:
    """The pid of the process serving `port` (the uvicorn process itself)."""
    out = subprocess.run(  # noqa: S603
        ["ss", "-Hltnp", f"sport = :{port}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    marker = "pid="
    return int(out[out.index(marker) + len(marker) :].split(",", 1)[0])
