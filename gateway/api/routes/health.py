"""GET /healthz and GET /metrics."""

import os

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from pydantic import BaseModel
from sqlalchemy import text

from gateway.api.deps import CtxDep
from gateway.storage.db import transaction

router = APIRouter(tags=["operations"])
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class HealthOut(BaseModel):
    """The gateway is up, its database answers, under these policies."""

    status: str
    policy_version: str


@router.get("/healthz")
def healthz(ctx: CtxDep) -> HealthOut:
    """Liveness, with a round trip to the database."""
    with transaction(ctx.read_sessions) as session:
        session.execute(text("SELECT 1"))
    return HealthOut(status="ok", policy_version=ctx.policies.version)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics (no personal data in labels), summed over all workers."""
    metrics = request.app.state.metrics
    registry = metrics.registry
    if os.environ.get(MULTIPROC_ENV):
        # Several workers: each writes its counts to files; read them all.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        if metrics.drift is not None:  # read from the database, not the files
            registry.register(metrics.drift)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
