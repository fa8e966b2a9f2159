"""create_app(): routers, problem handlers, middleware and start-up wiring."""

import gc
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from gateway import __version__
from gateway.api import problems, ratelimit
from gateway.api.metrics import Metrics, latest_drift
from gateway.api.routes import (
    audit,
    consents,
    health,
    records,
    segments,
    subjects,
    token,
)
from gateway.bootstrap import build_context
from gateway.context import GatewayContext
from gateway.logs import configure_logging
from gateway.settings import get_settings

access_log = logging.getLogger("gateway.access")


def _route_template(request: Request) -> str:
    """The matched route's template, never the concrete path (which may vary)."""
    route = request.scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "unmatched"))
    # FastAPI's documentation routes leave no route in the scope; their paths
    # are fixed strings, safe as labels.
    path = request.url.path
    return path if path in _DOC_PATHS else "unmatched"


_DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def _observe(app: FastAPI) -> None:
    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        route = _route_template(request)
        metrics: Metrics = app.state.metrics
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(elapsed)
        response.headers["X-Request-Id"] = request_id
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "client_id": getattr(request.state, "client_id", None),
            },
        )
        return response


def create_app(ctx: GatewayContext | None = None) -> FastAPI:
    """Build the HTTP app around a context (built from the settings if not given)."""
    if ctx is None:
        ctx = build_context(get_settings())
    configure_logging(ctx.settings.log_dir, ctx.settings.log_level)
    app = FastAPI(
        title="Consent Gateway",
        version=__version__,
        description="Consent-checked, pseudonymizing ingestion for segmentation.",
    )
    app.state.ctx = ctx
    audiences = tuple(ctx.policies.audiences)
    app.state.metrics = Metrics(
        drift=lambda: latest_drift(ctx.read_sessions, audiences)
    )
    ratelimit.install(app, ctx)
    problems.install(app)
    for router in (
        token.router,
        consents.router,
        records.router,
        segments.router,
        audit.router,
        subjects.router,
    ):
        app.include_router(router, prefix="/v1", responses=problems.PROBLEM_RESPONSES)
    app.include_router(health.router)
    _observe(app)
    # The PII analyzer takes seconds to load (spaCy): at start-up, not in the
    # first request that carries free text.
    ctx.pii  # noqa: B018 - a cached property, read for its side effect
    # Everything built so far (policies, routes, the libraries' tables) lives
    # as long as the process: move it out of the collector's way, so that each
    # full collection scans only what requests allocate.
    gc.freeze()
    return app


def app_from_settings() -> FastAPI:
    """Factory for `uvicorn --factory` (one app per worker process)."""
    return create_app()
