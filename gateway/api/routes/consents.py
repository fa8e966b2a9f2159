"""POST /v1/consents: partners record consent events."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.body import openapi_body
from gateway.api.deps import CtxDep, JsonBody, PartnerDep
from gateway.api.problems import BODY_PROBLEMS
from gateway.consent import service
from gateway.consent.gpc import gpc_enabled
from gateway.errors import InvalidRequestError
from gateway.storage.db import transaction

router = APIRouter(tags=["consent"])


class ConsentEventIn(BaseModel):
    """One consent event (documented shape; events are checked one by one)."""

    identifier_type: str
    identifier: str
    purpose: str | None = None
    status: Literal["granted", "withdrawn"]
    timestamp: str
    source: str
    tcf_string: str | None = None
    explicit: bool = False


class ConsentsIn(BaseModel):
    """A batch of consent events: one key, at least one event."""

    model_config = ConfigDict(extra="forbid")

    events: list[ConsentEventIn] = Field(min_length=1)


class ConsentResultOut(BaseModel):
    """The outcome of one event."""

    index: int
    status: Literal["recorded", "rejected"]
    identifier_key: str | None
    reason: str | None
    errors: list[dict[str, str]]
    purposes: dict[str, Literal["granted", "withdrawn"]]
    # Why a TC string proved no consent for a purpose (recorded as withdrawn).
    warnings: list[dict[str, str]]
    # Purposes a `Sec-GPC: 1` header withdrew for this event's identifier.
    gpc_withdrawn: list[str]


class ConsentsOut(BaseModel):
    """Per-event outcomes."""

    recorded: int
    rejected: int
    results: list[ConsentResultOut]


def _events(body: Any, limit: int) -> list[Any]:
    if not isinstance(body, dict) or set(body) != {"events"}:
        raise InvalidRequestError("the body must be an object with one key: events")
    events = body["events"]
    if not isinstance(events, list) or not events:
        raise InvalidRequestError("events: required, as a non-empty list")
    if len(events) > limit:
        raise InvalidRequestError(f"events: at most {limit} per request")
    return events


@router.post(
    "/consents",
    responses=BODY_PROBLEMS,
    openapi_extra=openapi_body(ConsentsIn),
)
def record_consents(
    request: Request,
    ctx: CtxDep,
    client: PartnerDep,
    body: JsonBody,
    sec_gpc: Annotated[str | None, Header(alias="Sec-GPC")] = None,
) -> ConsentsOut:
    """Record granted and withdrawn consents, stored by pseudonym only.

    `Sec-GPC: 1` also withdraws, for every identifier sent, each purpose the
    policies mark as sale or sharing (Global Privacy Control).
    """
    events = _events(body, ctx.settings.max_batch_records)
    gpc = gpc_enabled(sec_gpc)
    with transaction(ctx.sessions) as session:
        results = service.record(session, ctx, client, events, gpc=gpc)
    metrics = request.app.state.metrics
    for result in results:
        metrics.consent_events.labels(result.status).inc()
    rejected = sum(1 for r in results if r.status == "rejected")
    return ConsentsOut(
        recorded=len(results) - rejected,
        rejected=rejected,
        results=[
            ConsentResultOut(
                index=r.index,
                status="recorded" if r.status == "recorded" else "rejected",
                identifier_key=r.identifier_key,
                reason=r.reason,
                errors=r.errors,
                purposes=r.purposes,  # type: ignore[arg-type]
                warnings=r.warnings,
                gpc_withdrawn=r.gpc_withdrawn,
            )
            for r in results
        ],
    )
