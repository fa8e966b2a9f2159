"""Rate limits: per client, per source address without valid credentials,
shared by every worker through Redis, per process without it.

Redis tests use GATEWAY_TEST_REDIS_URL (in CI: redis://127.0.0.1:6379/0, set by
.ci/run); they fail, never skip, in CI when it is unset or Redis does not
answer. Each test uses keys under a prefix of its own, removed afterwards.
"""

import copy
import json
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.api.ratelimit import FailOpenWindows, RedisWindows, address_bucket
from gateway.context import GatewayContext
from gateway.main import create_app
from gateway.settings import Settings
from tests.databases import in_ci
from tests.factories import ApiClient, make_client

ATTACKER = ("203.0.113.66", 41000)
NEIGHBOUR = ("198.51.100.23", 42000)
# A cheap call that writes nothing (not even an audit event), for the DPO.
READ = "/v1/audit/consistency?first=1&second=1"
BAD_KEY = {"Authorization": "Bearer cgw_000000000000_not-a-real-key"}


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis; fails under CI when unset or unreachable."""
    url = os.environ.get("GATEWAY_TEST_REDIS_URL")
    if not url:
        if in_ci():
            pytest.fail("GATEWAY_TEST_REDIS_URL is required in CI")
        pytest.skip("GATEWAY_TEST_REDIS_URL unset")
    probe = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        probe.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at GATEWAY_TEST_REDIS_URL does not answer: {exc!r}")
    finally:
        probe.close()
    return url


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its Redis keys are removed afterwards."""
    name = f"test-rl-{uuid.uuid4().hex[:12]}"
    yield name
    url = os.environ.get("GATEWAY_TEST_REDIS_URL")
    if url:
        conn = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            keys = list(conn.scan_iter(match=f"{name}:*"))
            if keys:
                conn.delete(*keys)
        except redis.RedisError:
            pass
        finally:
            conn.close()


class Clock:
    """The gateway's injectable clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _context(
    ctx: GatewayContext, clock: Clock | None = None, **settings: object
) -> GatewayContext:
    """The session context with other limits: a shallow copy shares its loaded parts."""
    other = copy.copy(ctx)
    other.settings = ctx.settings.model_copy(update=settings)
    if clock is not None:
        other.clock = clock
    return other


def _close(app: FastAPI) -> None:
    store = app.state.rate_limiter.store
    if isinstance(store, FailOpenWindows):
        store.shared.close()
    elif isinstance(store, RedisWindows):
        store.close()


@contextmanager
def _http(
    ctx: GatewayContext, address: tuple[str, int] = ("192.0.2.10", 40000)
) -> Iterator[TestClient]:
    app = create_app(ctx)
    try:
        with TestClient(app, client=address) as http:
            yield http
    finally:
        _close(app)


def _shared(redis_url: str, prefix: str, **limits: int) -> dict[str, object]:
    return {"redis_url": redis_url, "rate_limit_key_prefix": prefix} | limits


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, prefix: str) -> dict[str, object]:
    """Settings for one store: per process, or shared through Redis."""
    if request.param == "memory":
        return {"redis_url": None, "rate_limit_key_prefix": prefix}
    url = request.getfixturevalue("redis_url")
    return {"redis_url": url, "rate_limit_key_prefix": prefix}


def _dpo(ctx: GatewayContext) -> ApiClient:
    # Made through the session's own context (its real clock), not a copy.
    return make_client(ctx, "dpo")


def _get(http: TestClient, who: ApiClient | None = None) -> Any:
    headers = who.headers if who else BAD_KEY
    return http.get(READ, headers=headers)


def _token(http: TestClient, who: ApiClient, secret: str | None = None) -> Any:
    return http.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": who.client_id,
            "client_secret": secret or who.api_key,
        },
    )


def _remaining(response: Any) -> int:
    match = re.fullmatch(
        r'"(client|address)";r=(\d+);t=(\d+)', response.headers["ratelimit"]
    )
    assert match, response.headers["ratelimit"]
    return int(match.group(2))


def _assert_refused(response: Any, policy: str, limit: int, secret: str) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "/problems/rate-limited"
    assert body["status"] == 429
    assert body["title"] == "Too many requests"
    assert secret not in response.text  # nothing submitted is echoed
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert response.headers["ratelimit-policy"] == f'"{policy}";q={limit};w=60'
    assert re.fullmatch(rf'"{policy}";r=0;t=\d+', response.headers["ratelimit"])
    reset = int(response.headers["ratelimit"].rsplit("t=", 1)[1])
    assert reset == retry_after


def test_client_over_its_limit_gets_429_with_headers(
    ctx: GatewayContext, store: dict[str, object]
) -> None:
    clock = Clock()
    limited = _context(ctx, clock, rate_limit_per_minute=3, **store)
    caller, other = _dpo(ctx), _dpo(ctx)
    with _http(limited) as http:
        seen = []
        for _ in range(3):
            response = _get(http, caller)
            assert response.status_code == 200, response.text
            assert response.headers["ratelimit-policy"] == '"client";q=3;w=60'
            assert "retry-after" not in response.headers
            seen.append(_remaining(response))
            clock.advance(1)
        assert seen == [2, 1, 0]
        refused = _get(http, caller)
        _assert_refused(refused, "client", 3, caller.api_key)
        # The oldest request leaves the window 60 s after it came, 3 s ago.
        assert int(refused.headers["retry-after"]) == 57
        # The limit is per client: another client of the same address goes on.
        assert _get(http, other).status_code == 200


def test_window_slides_and_resets(
    ctx: GatewayContext, store: dict[str, object]
) -> None:
    clock = Clock()
    limited = _context(ctx, clock, rate_limit_per_minute=2, **store)
    caller = _dpo(ctx)
    with _http(limited) as http:
        assert _get(http, caller).status_code == 200
        clock.advance(20)
        assert _get(http, caller).status_code == 200
        clock.advance(20)
        refused = _get(http, caller)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "20"
        clock.advance(20)  # the first request has left the window, not the second
        assert _get(http, caller).status_code == 200
        assert _get(http, caller).status_code == 429
        clock.advance(61)  # a whole window later: the full allowance again
        assert [_get(http, caller).status_code for _ in range(3)] == [200, 200, 429]


def test_bad_credentials_are_limited_per_address_and_lock_no_client_out(
    ctx: GatewayContext, store: dict[str, object]
) -> None:
    limited = _context(
        ctx, rate_limit_per_minute=100, rate_limit_unauthenticated_per_minute=5, **store
    )
    caller = _dpo(ctx)
    with _http(limited, ATTACKER) as attacker, _http(limited, NEIGHBOUR) as neighbour:
        statuses = [_get(attacker).status_code for _ in range(5)]
        assert statuses == [401] * 5
        no_header = attacker.get(READ)
        _assert_refused(no_header, "address", 5, "not-a-real-key")
        _assert_refused(_get(attacker), "address", 5, "not-a-real-key")
        # Guessing the caller's secret at the token endpoint: refused too.
        _assert_refused(
            _token(attacker, caller, "cgw_guess"), "address", 5, "cgw_guess"
        )
        # The real client, from the attacker's very address, still gets through.
        response = _get(attacker, caller)
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"client";q=100;w=60'
        assert _token(attacker, caller).status_code == 200
        # Another address is not affected by the attacker's window.
        assert _get(neighbour).status_code == 401


def test_token_endpoint_failures_count_per_address(
    ctx: GatewayContext, store: dict[str, object]
) -> None:
    limited = _context(
        ctx, rate_limit_per_minute=3, rate_limit_unauthenticated_per_minute=2, **store
    )
    caller = _dpo(ctx)
    with _http(limited, ATTACKER) as http:
        assert _token(http, caller, "cgw_wrong").status_code == 401
        wrong_grant = http.post(
            "/v1/token",
            data={
                "grant_type": "password",
                "client_id": caller.client_id,
                "client_secret": caller.api_key,
            },
        )
        assert wrong_grant.status_code == 422
        _assert_refused(_token(http, caller, "cgw_wrong"), "address", 2, "cgw_wrong")
        # Granted exchanges count against the client, like its other calls.
        granted = [_token(http, caller) for _ in range(3)]
        assert [r.status_code for r in granted] == [200] * 3
        assert granted[0].headers["ratelimit-policy"] == '"client";q=3;w=60'
        token = granted[0].json()["access_token"]
        _assert_refused(_token(http, caller), "client", 3, token)
        bearer = {"Authorization": f"Bearer {token}"}
        over = http.get(READ, headers=bearer)
        _assert_refused(over, "client", 3, token)


def test_two_workers_share_one_window_through_redis(
    ctx: GatewayContext, redis_url: str, prefix: str
) -> None:
    limited = _context(ctx, **_shared(redis_url, prefix, rate_limit_per_minute=10))
    caller = _dpo(ctx)
    # Two app objects, each with its own limiter and Redis connections: two workers.
    with _http(limited) as first, _http(limited) as second:
        statuses = [_get(http, caller).status_code for http in [first, second] * 8]
        assert statuses == [200] * 10 + [429] * 6
        # Bad credentials: one address window across both workers too.
        limited.settings = limited.settings.model_copy(
            update={"rate_limit_unauthenticated_per_minute": 3}
        )
    with _http(limited, ATTACKER) as first, _http(limited, ATTACKER) as second:
        statuses = [_get(http).status_code for http in [first, second] * 3]
        assert statuses == [401] * 3 + [429] * 3


def test_concurrent_requests_on_two_workers_allow_exactly_the_limit(
    ctx: GatewayContext, redis_url: str, prefix: str
) -> None:
    limited = _context(ctx, **_shared(redis_url, prefix, rate_limit_per_minute=12))
    caller = _dpo(ctx)
    statuses: list[int] = []
    lock = threading.Lock()
    with _http(limited) as first, _http(limited) as second:

        def send(http: TestClient) -> None:
            for _ in range(10):
                status = _get(http, caller).status_code
                with lock:
                    statuses.append(status)

        threads = [
            threading.Thread(target=send, args=(h,)) for h in [first, second] * 2
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(statuses) == 40
    assert statuses.count(200) == 12
    assert statuses.count(429) == 28


def test_without_redis_each_process_keeps_its_own_window(ctx: GatewayContext) -> None:
    limited = _context(ctx, rate_limit_per_minute=3, redis_url=None)
    caller = _dpo(ctx)
    with _http(limited) as first, _http(limited) as second:
        assert [_get(first, caller).status_code for _ in range(4)] == [200] * 3 + [429]
        # The second process has counted nothing: its own full allowance.
        assert [_get(second, caller).status_code for _ in range(4)] == [200] * 3 + [429]


def test_redis_keys_hold_no_address_and_expire(
    ctx: GatewayContext, redis_url: str, prefix: str
) -> None:
    limited = _context(ctx, **_shared(redis_url, prefix))
    caller = _dpo(ctx)
    with _http(limited, ATTACKER) as http:
        assert _get(http).status_code == 401
        assert _get(http, caller).status_code == 200
    conn = redis.Redis.from_url(redis_url)
    try:
        keys = sorted(k.decode() for k in conn.scan_iter(match=f"{prefix}:*"))
        ttls = [conn.pttl(k) for k in keys]
    finally:
        conn.close()
    assert len(keys) == 2
    address_key = next(k for k in keys if ":addr:" in k)
    assert re.fullmatch(rf"{prefix}:ratelimit:addr:[0-9a-f]{{32}}", address_key)
    assert f"{prefix}:ratelimit:client:{caller.client_id}" in keys
    assert all(ATTACKER[0] not in k and "203-0-113" not in k for k in keys)
    assert all(0 < ttl <= 60_000 for ttl in ttls)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_down_fails_open_to_per_process_limits(
    ctx: GatewayContext, tmp_path: Path, prefix: str
) -> None:
    # Nothing listens on this port: every Redis call fails at connect.
    down = f"redis://:s3cret-redis-pw@127.0.0.1:{_closed_port()}/0"
    limited = _context(
        ctx,
        rate_limit_per_minute=2,
        rate_limit_unauthenticated_per_minute=2,
        redis_url=down,
        rate_limit_key_prefix=prefix,
        home=tmp_path / "home",
    )
    caller = _dpo(ctx)
    with _http(limited, ATTACKER) as http:
        statuses = [_get(http, caller).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert [_get(http).status_code for _ in range(3)] == [401, 401, 429]
    log = (tmp_path / "home" / "logs" / "gateway.log").read_text()
    lines = [json.loads(line) for line in log.splitlines()]
    mine = [e for e in lines if e["logger"] == "gateway.ratelimit"]
    assert [e["store"] for e in mine if e["message"] == "rate limits"] == ["redis"]
    warnings = [json.dumps(e) for e in mine if e["level"] == "WARNING"]
    assert len(warnings) == 1  # once per outage, not once per request
    assert "fail open" in warnings[0]
    assert "ConnectionError" in warnings[0]
    assert "s3cret-redis-pw" not in log
    assert ATTACKER[0] not in log
    assert caller.api_key not in log
    assert caller.client_id not in warnings[0]


def test_limits_come_from_settings_and_env(
    ctx: GatewayContext, monkeypatch: pytest.MonkeyPatch, redis_url: str, prefix: str
) -> None:
    for name in (
        "GATEWAY_RATE_LIMIT_PER_MINUTE",
        "GATEWAY_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE",
        "GATEWAY_REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings()
    assert defaults.rate_limit_per_minute == 6000
    assert defaults.rate_limit_unauthenticated_per_minute == 60
    assert defaults.redis_url is None
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_PER_MINUTE", "4")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE", "2")
    monkeypatch.setenv("GATEWAY_REDIS_URL", redis_url)
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_KEY_PREFIX", prefix)
    from_env = Settings(
        home=ctx.settings.home,
        database_url=ctx.settings.database_url,
        policies=ctx.settings.policies,
        keyring=ctx.settings.keyring,
    )
    assert from_env.rate_limit_per_minute == 4
    assert from_env.rate_limit_unauthenticated_per_minute == 2
    assert from_env.redis_url == redis_url
    assert redis_url not in repr(from_env)  # it may carry a password
    limited = copy.copy(ctx)
    limited.settings = from_env
    caller = _dpo(ctx)
    with _http(limited, ATTACKER) as http:
        assert isinstance(http.app.state.rate_limiter.store, FailOpenWindows)  # type: ignore[attr-defined]
        assert [_get(http, caller).status_code for _ in range(5)] == [200] * 4 + [429]
        assert [_get(http).status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one /64
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("::ffff:192.0.2.1", "192.0.2.1", True),  # IPv4-mapped
        ("192.0.2.1", "192.0.2.2", False),
    ],
)
def test_address_buckets(one: str, other: str, same: bool) -> None:
    assert (address_bucket(one) == address_bucket(other)) is same
