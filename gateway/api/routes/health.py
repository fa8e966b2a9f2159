"""GET /healthz and GET /metrics."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway.api.deps import CtxDep
from gateway.storage.db import transaction

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(ctx: CtxDep) -> dict[str, str]:
    """Liveness, with a round trip to the database."""
    with transaction(ctx.read_sessions) as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok", "policy_version": ctx.policies.version}


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus metrics (no personal data in labels)."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
