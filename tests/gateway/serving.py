"""Real `gateway serve` processes for end-to-end tests (crash, concurrency).

A server runs in its own process group with a temporary GATEWAY_HOME, over a
throwaway database; the helpers here start it, kill the whole group, and read
the database and the CLI the way an operator would after the fact.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from gateway.audit import merkle
from gateway.storage.db import make_engine, make_session_factory
from gateway.storage.models import AuditEventRow, RecordRow
from tests.databases import POLICIES, Database
from tests.factories import consent, partner_add_args

BIN = Path(sys.executable).parent
RECORDS = "/v1/datasets/customers/records"


def server_env(database: Database, home: Path) -> dict[str, str]:
    """The environment of a server and CLI over `database`, limits out of reach."""
    return os.environ | {
        "GATEWAY_HOME": str(home),
        "GATEWAY_DATABASE_URL": database.url,
        "GATEWAY_POLICIES": str(POLICIES),
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "10000000",
        "GATEWAY_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE": "10000000",
    }


def cli(env: dict[str, str], *args: str, expect: int = 0) -> Any:
    """Run `gateway ARGS`; assert its exit code; the JSON document with --json."""
    done = subprocess.run(  # noqa: S603 -- our own command, fixed arguments
        [str(BIN / "gateway"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == expect, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def bearer(env: dict[str, str], *add_args: str) -> dict[str, str]:
    """Add a client with `gateway clients add ARGS --json`; its auth header."""
    made = cli(env, *add_args)
    return {"Authorization": f"Bearer {made['api_key']}"}


def partner(env: dict[str, str], name: str) -> dict[str, str]:
    """A customers/segmentation partner's auth header."""
    return bearer(env, *partner_add_args(name))


def dpo(env: dict[str, str]) -> dict[str, str]:
    """A DPO's auth header."""
    return bearer(env, "clients", "add", "dpo", "--role", "dpo", "--json")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `gateway serve` process group and its base URL."""

    process: subprocess.Popen[bytes]
    base: str

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to the whole process group (server and workers); reap."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
        if sig == signal.SIGKILL:
            # Workers are in the group too: wait until none is left.
            deadline = time.monotonic() + 30
            while _group_alive(self.process.pid):
                assert time.monotonic() < deadline, "workers outlived SIGKILL"
                time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def serve(env: dict[str, str], workers: int) -> Iterator[Server]:
    """Start `gateway serve --workers N`; wait for /healthz; SIGTERM at the end."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "gateway"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        # Each worker loads the NLP pipelines: slow on a busy two-core machine.
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield server
    finally:
        server.kill(signal.SIGTERM)


def grant(
    base: str, headers: dict[str, str], records: Iterable[dict[str, Any]]
) -> None:
    """Record consent (segmentation) for every record's customer_id."""
    events = [consent("customer_id", r["customer_id"]) for r in records]
    for start in range(0, len(events), 1000):
        response = httpx.post(
            f"{base}/v1/consents",
            json={"events": events[start : start + 1000]},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text


def stored_source_ids(database: Database) -> Counter[str]:
    """How many stored records each source_id has (every partner)."""
    engine = make_engine(database.url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(RecordRow.source_id, func.count()).group_by(RecordRow.source_id)
            )
            return Counter({str(source): int(count) for source, count in rows})
    finally:
        engine.dispose()


def stored_records(database: Database) -> dict[tuple[str, str], str]:
    """(client id, source_id) -> record id of every stored record."""
    engine = make_engine(database.url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(RecordRow.client_id, RecordRow.source_id, RecordRow.id)
            )
            return {(client, source): rid for client, source, rid in rows}
    finally:
        engine.dispose()


@dataclass(frozen=True)
class LoggedEvent:
    """One audit event as the tests read it back."""

    seq: int
    action: str
    actor: str
    subject_id: str | None
    purpose: str | None
    record_id: str | None


def audit_events(database: Database) -> list[LoggedEvent]:
    """Every audit event, in log order."""
    engine = make_engine(database.url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(
                    AuditEventRow.seq,
                    AuditEventRow.action,
                    AuditEventRow.actor,
                    AuditEventRow.subject_id,
                    AuditEventRow.purpose,
                    AuditEventRow.record_id,
                ).order_by(AuditEventRow.seq)
            )
            return [LoggedEvent(*row) for row in rows]
    finally:
        engine.dispose()


def assert_consistent(
    base: str, headers: dict[str, str], saved: dict[str, Any]
) -> dict[str, Any]:
    """Prove, through the API, that today's log extends a checkpoint saved earlier.

    Returns today's checkpoint document.
    """
    now = httpx.get(f"{base}/v1/audit/checkpoint", headers=headers, timeout=60)
    assert now.status_code == 200, now.text
    current = now.json()
    first, second = saved["tree_size"], current["tree_size"]
    assert second >= first
    proved = httpx.get(
        f"{base}/v1/audit/consistency",
        params={"first": first, "second": second},
        headers=headers,
        timeout=60,
    )
    assert proved.status_code == 200, proved.text
    proof = [bytes.fromhex(h) for h in proved.json()["proof"]]
    assert merkle.verify_consistency(
        first,
        second,
        bytes.fromhex(saved["root_hash"]),
        bytes.fromhex(current["root_hash"]),
        proof,
    ), "the log after restart does not extend the checkpoint"
    return current
