"""POST /v1/consents: partners record consent events."""

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from gateway.api.body import openapi_body
from gateway.api.deps import CtxDep, PartnerDep, json_model
from gateway.api.problems import BODY_PROBLEMS
from gateway.consent import service
from gateway.consent.events import (
    ConsentEvent,
    ConsentResult,
    EventIssue,
    RecordConsents,
    Status,
    TcfWarning,
    parse_events,
)
from gateway.consent.gpc import gpc_enabled
from gateway.errors import InvalidRequestError
from gateway.storage.db import transaction

router = APIRouter(tags=["consent"])

# An event is read on its own (`parse_events`): one that does not fit is
# rejected in its result, never with the batch. The envelope takes any JSON
# value there, and documents the shape an event must have.
RawEvent = Annotated[Any, WithJsonSchema(ConsentEvent.model_json_schema())]


class ConsentsIn(BaseModel):
    """A batch of consent events: one key, at least one event.

    At most `max_batch_records` events (1,000 by default) per request.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    events: list[RawEvent] = Field(min_length=1)


class EventIssueOut(BaseModel):
    """Why an event was rejected: field, reason and message, never its value."""

    field: str
    reason: str
    message: str
    # Only for a refused TC string: the TCF v2.3 rule it breaks.
    rule: str | None = Field(default=None, exclude_if=lambda rule: rule is None)

    @classmethod
    def of(cls, issue: EventIssue) -> Self:
        """The issue as sent to the partner."""
        return cls(
            field=issue.field,
            reason=issue.reason,
            message=issue.message,
            rule=issue.rule,
        )


class TcfWarningOut(BaseModel):
    """Why a TC string proved no consent for a purpose (recorded as withdrawn)."""

    field: Literal["tcf_string"] = "tcf_string"
    purpose: str
    reason: str
    message: str


class ConsentResultOut(BaseModel):
    """The outcome of one event."""

    index: int
    status: Literal["recorded", "rejected"]
    identifier_key: str | None
    reason: str | None
    errors: list[EventIssueOut]
    purposes: dict[str, Status]
    warnings: list[TcfWarningOut]
    # Purposes a `Sec-GPC: 1` header withdrew for this event's identifier.
    gpc_withdrawn: list[str]

    @classmethod
    def of(cls, result: ConsentResult) -> Self:
        """The result as sent to the partner."""
        return cls(
            index=result.index,
            status=result.outcome,
            identifier_key=result.identifier_key,
            reason=result.reason,
            errors=[EventIssueOut.of(issue) for issue in result.errors],
            purposes=dict(result.purposes),
            warnings=[_warning(w) for w in result.warnings],
            gpc_withdrawn=list(result.gpc_withdrawn),
        )


def _warning(warning: TcfWarning) -> TcfWarningOut:
    return TcfWarningOut(
        purpose=warning.purpose, reason=warning.rule, message=warning.message
    )


class ConsentsOut(BaseModel):
    """Per-event outcomes."""

    recorded: int
    rejected: int
    results: list[ConsentResultOut]

    @classmethod
    def of(cls, results: Sequence[ConsentResult]) -> Self:
        """The receipt of a batch."""
        rejected = sum(1 for r in results if r.outcome == "rejected")
        return cls(
            recorded=len(results) - rejected,
            rejected=rejected,
            results=[ConsentResultOut.of(r) for r in results],
        )


ConsentsBody = Annotated[ConsentsIn, Depends(json_model(ConsentsIn))]


@router.post(
    "/consents",
    responses=BODY_PROBLEMS,
    openapi_extra=openapi_body(ConsentsIn),
)
def record_consents(
    request: Request,
    ctx: CtxDep,
    client: PartnerDep,
    body: ConsentsBody,
    sec_gpc: Annotated[str | None, Header(alias="Sec-GPC")] = None,
) -> ConsentsOut:
    """Record granted and withdrawn consents, stored by pseudonym only.

    `Sec-GPC: 1` also withdraws, for every identifier sent, each purpose the
    policies mark as sale or sharing (Global Privacy Control).
    """
    limit = ctx.settings.max_batch_records
    if len(body.events) > limit:
        raise InvalidRequestError(f"events: at most {limit} per request")
    command = RecordConsents(parse_events(body.events), gpc=gpc_enabled(sec_gpc))
    with transaction(ctx.sessions) as session:
        results = service.record(session, ctx, client, command)
    metrics = request.app.state.metrics
    for result in results:
        metrics.consent_events.labels(result.outcome).inc()
    return ConsentsOut.of(results)
