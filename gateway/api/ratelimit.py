"""Request limits over a sliding minute: per client, and per source address.

An authenticated request counts against its client's window
(`rate_limit_per_minute`). A call without valid credentials (a failed
`POST /v1/token`, a missing or bad bearer) counts against its source address
(`rate_limit_unauthenticated_per_minute`), never against the client it names:
whoever floods bad credentials exhausts their own address's window and cannot
lock a real client out.

The windows live in Redis when `GATEWAY_REDIS_URL` is set, so that every
worker (and every host) shares them; one Lua script trims, counts and adds
atomically. Without Redis each process keeps its own windows in memory, and N
workers allow N times the rate.

If Redis stops answering, the limiter fails open to the per-process windows
(a degraded limit, never an outage of the API: consent withdrawals and
erasures must keep flowing), logs the switch without any address or client
id, and tries Redis again after a short pause.

Responses carry the IETF RateLimit fields in the form of
draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy: "client";q=…;w=60`
and `RateLimit: "client";r=…;t=…`; a 429 adds `Retry-After`.
"""

import ipaddress
import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.context import GatewayContext
from gateway.errors import RateLimitedError

WINDOW_SECONDS = 60
_WINDOW_US = WINDOW_SECONDS * 1_000_000
# After Redis fails, use the per-process windows this long before trying again
# (a dead Redis must not add a connect timeout to every request).
REDIS_RETRY_SECONDS = 5.0
_REDIS_TIMEOUT_SECONDS = 0.5
_STATE_KEY = "rate_limit"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

logger = logging.getLogger("gateway.ratelimit")


@dataclass(frozen=True, slots=True)
class Decision:
    """One request counted against one policy's window."""

    policy: str  # "client" or "address"
    allowed: bool
    limit: int
    remaining: int
    # Seconds until the oldest request in the window leaves it (a slot frees).
    reset_seconds: float

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before a refused request may succeed."""
        return max(1, math.ceil(self.reset_seconds))

    def headers(self) -> dict[str, str]:
        """The RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10)."""
        reset = max(0, math.ceil(self.reset_seconds))
        out = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={reset}',
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class WindowStore(Protocol):
    """Counts one request in a key's sliding window, if it has room."""

    def hit(self, key: str, limit: int, now_us: int) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until a slot frees)."""
        ...


class MemoryWindows:
    """Sliding windows in this process's memory (one deque of times per key)."""

    # Every this many hits, forget keys whose window has emptied (addresses
    # seen once must not pile up for the life of the process).
    _SWEEP_EVERY = 10_000

    def __init__(self) -> None:
        self._seen: dict[str, deque[int]] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, key: str, limit: int, now_us: int) -> tuple[bool, int, float]:
        """Count one request for `key` at `now_us` unless its window is full."""
        with self._lock:
            self._hits += 1
            if self._hits % self._SWEEP_EVERY == 0:
                self._sweep(now_us)
            window = self._seen.setdefault(key, deque())
            while window and window[0] <= now_us - _WINDOW_US:
                window.popleft()
            allowed = len(window) < limit
            if allowed:
                window.append(now_us)
            reset = (window[0] + _WINDOW_US - now_us) / 1e6 if window else 0.0
            return allowed, max(0, limit - len(window)), reset

    def _sweep(self, now_us: int) -> None:
        stale = [
            k for k, w in self._seen.items() if not w or w[-1] <= now_us - _WINDOW_US
        ]
        for key in stale:
            del self._seen[key]


# KEYS[1]: the window (a sorted set of request times, in microseconds).
# ARGV: now, window length, limit, a member unique to this request.
# Trims what left the window, counts, adds this request when there is room,
# and keeps the key no longer than one window after its last request.
_SLIDING_WINDOW_LUA = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  count = count + 1
  allowed = 1
end
local reset = 0
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
if oldest[2] then
  reset = tonumber(oldest[2]) + window - now
end
redis.call('PEXPIRE', key, math.ceil(window / 1000))
return {allowed, limit - count, math.floor(reset)}
"""


class RedisWindows:
    """Sliding windows in Redis, shared by every worker that names the same URL."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            socket_timeout=_REDIS_TIMEOUT_SECONDS,
        )
        self._script = self._client.register_script(_SLIDING_WINDOW_LUA)

    def hit(self, key: str, limit: int, now_us: int) -> tuple[bool, int, float]:
        """Count one request for `key` at `now_us` unless its window is full."""
        member = f"{now_us}:{secrets.token_hex(6)}"
        allowed, remaining, reset = self._script(
            keys=[key], args=[now_us, _WINDOW_US, limit, member]
        )
        return bool(allowed), max(0, int(remaining)), float(reset) / 1e6

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


class FailOpenWindows:
    """Redis windows, falling back to per-process windows while Redis is down."""

    def __init__(self, shared: RedisWindows, local: MemoryWindows) -> None:
        self.shared = shared
        self.local = local
        self._lock = threading.Lock()
        self._down_until = 0.0  # time.monotonic() before which Redis is skipped
        self._down = False

    def hit(self, key: str, limit: int, now_us: int) -> tuple[bool, int, float]:
        """Count in Redis; in this process's memory while Redis is unreachable."""
        if time.monotonic() >= self._down_until:
            try:
                result = self.shared.hit(key, limit, now_us)
            except redis.RedisError as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return self.local.hit(key, limit, now_us)

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
            first = not self._down
            self._down = True
        if first:
            # The exception's text may carry the URL (and its password): type only.
            logger.warning(
                "rate limit store unreachable: limiting per process (fail open)",
                extra={"error": type(exc).__name__},
            )

    def _recovered(self) -> None:
        if not self._down:
            return
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            logger.warning("rate limit store reachable again: limits shared")


def address_bucket(host: str | None) -> str:
    """The part of a source address that is limited as one.

    An IPv6 client usually holds a whole /64 and can rotate within it, so its
    /64 is one bucket; an IPv4 (or IPv4-mapped) address is its own.
    """
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """Applies the client and address limits; records each decision on the request."""

    def __init__(
        self,
        store: WindowStore,
        client_limit: int,
        address_limit: int,
        prefix: str,
        clock: Callable[[], datetime],
        hash_address: Callable[[str], str],
    ) -> None:
        self.store = store
        self.client_limit = client_limit
        self.address_limit = address_limit
        self.prefix = prefix
        self.clock = clock
        self.hash_address = hash_address

    def check_client(self, request: Request, client_id: str) -> None:
        """Count an authenticated request; 429 when its client is over the limit."""
        self._check(request, "client", f"client:{client_id}", self.client_limit)

    def check_unauthenticated(self, request: Request) -> None:
        """Count a call without valid credentials against its source address."""
        host = request.client.host if request.client else None
        key = f"addr:{self.hash_address(address_bucket(host))}"
        self._check(request, "address", key, self.address_limit)

    def _check(self, request: Request, policy: str, key: str, limit: int) -> None:
        # Integer arithmetic: a float timestamp would be off by a microsecond.
        now_us = (self.clock() - _EPOCH) // _MICROSECOND
        allowed, remaining, reset = self.store.hit(
            f"{self.prefix}:ratelimit:{key}", limit, now_us
        )
        decision = Decision(policy, allowed, limit, remaining, reset)
        setattr(request.state, _STATE_KEY, decision)
        if not allowed:
            raise RateLimitedError("over the request limit: retry after Retry-After")


class RateLimitHeaders:
    """ASGI middleware: the request's rate-limit decision, as response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the RateLimit fields (and Retry-After on a 429) when one was decided."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = scope.get("state", {}).get(_STATE_KEY)
                if isinstance(decision, Decision):
                    headers = list(message.get("headers", []))
                    headers.extend(
                        (name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in decision.headers().items()
                    )
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_rate_limiter(ctx: GatewayContext) -> RateLimiter:
    """The limiter the settings ask for: shared through Redis, or per process."""
    settings = ctx.settings
    store: WindowStore = MemoryWindows()
    if settings.redis_url:
        store = FailOpenWindows(RedisWindows(settings.redis_url), MemoryWindows())
    # The mode only: the URL may carry a password.
    logger.info(
        "rate limits",
        extra={"store": "redis" if settings.redis_url else "process"},
    )

    def hash_address(bucket: str) -> str:
        # A keyed hash (the keyring is shared by every worker): a plain hash
        # of an IPv4 address is undone by trying all 2^32 of them.
        return ctx.pseudonymizer("ratelimit_address", bucket).partition(".")[2][:32]

    return RateLimiter(
        store,
        client_limit=settings.rate_limit_per_minute,
        address_limit=settings.rate_limit_unauthenticated_per_minute,
        prefix=settings.rate_limit_key_prefix,
        clock=lambda: ctx.clock(),
        hash_address=hash_address,
    )


def install(app: FastAPI, ctx: GatewayContext) -> RateLimiter:
    """Put the limiter on `app.state.rate_limiter` and its headers on responses."""
    limiter = build_rate_limiter(ctx)
    app.state.rate_limiter = limiter
    app.add_middleware(RateLimitHeaders)
    return limiter
