"""POST /v1/datasets/{dataset}/records: partners submit records."""

from collections import Counter
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field

from gateway.api.deps import CtxDep, JsonBody, PartnerDep
from gateway.consent.gpc import gpc_enabled
from gateway.ingest.service import ingest

router = APIRouter(tags=["ingest"])


class RecordsIn(BaseModel):
    """A batch of records for one declared purpose (fields per dataset policy)."""

    purpose: str
    records: list[dict[str, Any]] = Field(min_length=1)


class FieldIssueOut(BaseModel):
    """A problem or note about one field, never its value."""

    field: str
    reason: str
    message: str


class RecordResultOut(BaseModel):
    """The outcome of one record."""

    index: int
    source_id: str | None
    status: Literal["accepted", "rejected", "duplicate", "updated"]
    record_id: str | None
    subject_id: str | None
    reason: str | None
    errors: list[FieldIssueOut]
    warnings: list[FieldIssueOut]


class RecordsOut(BaseModel):
    """The receipt of a batch."""

    accepted: int
    rejected: int
    results: list[RecordResultOut]


@router.post(
    "/datasets/{dataset}/records",
    response_model=RecordsOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RecordsIn.model_json_schema()}},
        }
    },
)
def submit_records(
    dataset: str,
    request: Request,
    ctx: CtxDep,
    client: PartnerDep,
    body: JsonBody,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    sec_gpc: Annotated[str | None, Header(alias="Sec-GPC")] = None,
) -> Response:
    """Check, pseudonymize and store records; answer after the commit.

    `Sec-GPC: 1` withdraws, for the identifiers of every valid record, each
    purpose the policies mark as sale or sharing, before consent is decided.
    """
    gpc = gpc_enabled(sec_gpc)
    outcome = ingest(ctx, client, dataset, body, idempotency_key, gpc=gpc)
    if not outcome.replayed:
        counter = request.app.state.metrics.records
        tally = Counter(
            (r["status"], r["reason"] or "") for r in outcome.body["results"]
        )
        for (status, reason), count in tally.items():
            counter.labels(dataset, status, reason).inc(count)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(
        orjson.dumps(outcome.body),
        outcome.status_code,
        headers=headers,
        media_type="application/json",
    )
