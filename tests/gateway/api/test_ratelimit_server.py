"""The real server: `gateway serve --workers 2` shares one limit through Redis."""

import re
import subprocess
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from tests.databases import Database
from tests.gateway.api.test_ratelimit import redis_url  # noqa: F401 -- the fixture
from tests.gateway.serving import cli, serve, server_env

READ = "/v1/audit/consistency?first=1&second=1"
pytestmark = pytest.mark.slow


def _serving_pid(port: int, client_port: int) -> int:
    """The pid of the worker holding the server side of one connection."""
    out = subprocess.run(  # noqa: S603
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if f":{client_port} " in line or line.rstrip().endswith(f":{client_port}"):
            match = re.search(r"pid=(\d+)", line)
            assert match, line
            return int(match.group(1))
    raise AssertionError(f"no server socket for client port {client_port}")


def _client_on_each_worker(
    stack: ExitStack, port: int, headers: dict[str, str]
) -> list[httpx.Client]:
    """Kept-alive connections until two are served by different workers."""
    by_pid: dict[int, httpx.Client] = {}
    for _ in range(60):
        http = stack.enter_context(
            httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers)
        )
        response = http.get("/healthz")
        assert response.status_code == 200
        local = response.extensions["network_stream"].get_extra_info("client_addr")
        by_pid.setdefault(_serving_pid(port, int(local[1])), http)
        if len(by_pid) == 2:
            return list(by_pid.values())
    raise AssertionError("60 connections, all accepted by one worker")


def test_two_workers_share_the_limit_through_redis(
    fresh_database: Database,
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    prefix = f"test-rl-{uuid.uuid4().hex[:12]}"
    env = server_env(fresh_database, tmp_path / "home") | {
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_RATE_LIMIT_KEY_PREFIX": prefix,
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "10",
        "GATEWAY_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE": "4",
    }
    cli(env, "init")
    made = cli(env, "clients", "add", "dpo", "--role", "dpo", "--json")
    bearer = {"Authorization": f"Bearer {made['api_key']}"}
    try:
        with serve(env, workers=2) as server, ExitStack() as stack:
            port = int(server.base.rsplit(":", 1)[1])
            first, second = _client_on_each_worker(stack, port, bearer)
            # Alternating between the two workers: 10 in all, not 10 each.
            statuses = [http.get(READ).status_code for http in [first, second] * 8]
            assert statuses == [200] * 10 + [429] * 6
            refused = second.get(READ)
            assert refused.headers["ratelimit-policy"] == '"client";q=10;w=60'
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            # Bad credentials: 4 per address across both workers, then 429;
            # the real client is refused only for its own (spent) allowance.
            bad = {"Authorization": "Bearer cgw_000000000000_wrong"}
            statuses = [
                http.get(READ, headers=bad).status_code for http in [first, second] * 3
            ]
            assert statuses == [401] * 4 + [429] * 2
    finally:
        conn = redis.Redis.from_url(redis_url)
        try:
            keys = list(conn.scan_iter(match=f"{prefix}:*"))
            if keys:
                conn.delete(*keys)
        finally:
            conn.close()
