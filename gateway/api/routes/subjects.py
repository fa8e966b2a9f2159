"""The DPO answers data-subject requests: access (Art. 15, 20), erasure (Art. 17)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StringConstraints

from gateway.api.body import openapi_body
from gateway.api.deps import CtxDep, DpoDep, json_model
from gateway.api.problems import BODY_PROBLEMS
from gateway.subjects.access import access
from gateway.subjects.documents import (
    AccessDocument,
    ErasureReceipt,
    Reidentification,
)
from gateway.subjects.erase import erase
from gateway.subjects.reidentify import MAX_JUSTIFICATION, reidentify

router = APIRouter(prefix="/subjects", tags=["subjects"])

Text = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class SubjectIn(BaseModel):
    """Who the request is about: one of their identifiers, in clear."""

    model_config = ConfigDict(extra="forbid", strict=True)

    identifier_type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    identifier: Text


class ReidentifyIn(BaseModel):
    """A subject pseudonym, and why the DPO needs the person behind it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    subject_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    justification: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_JUSTIFICATION)
    ]


SubjectBody = Annotated[SubjectIn, Depends(json_model(SubjectIn))]
ReidentifyBody = Annotated[ReidentifyIn, Depends(json_model(ReidentifyIn))]


@router.post("/access", responses=BODY_PROBLEMS, openapi_extra=openapi_body(SubjectIn))
def subject_access(ctx: CtxDep, dpo: DpoDep, body: SubjectBody) -> AccessDocument:
    """Everything held about the subject, decrypted: also its portable copy."""
    return access(ctx, dpo.id, body.identifier_type, body.identifier)


@router.post("/erase", responses=BODY_PROBLEMS, openapi_extra=openapi_body(SubjectIn))
def subject_erase(ctx: CtxDep, dpo: DpoDep, body: SubjectBody) -> ErasureReceipt:
    """Crypto-shred and delete the subject; the erasure receipt, with its proof."""
    return erase(ctx, dpo.id, body.identifier_type, body.identifier)


@router.post(
    "/reidentify", responses=BODY_PROBLEMS, openapi_extra=openapi_body(ReidentifyIn)
)
def subject_reidentify(
    ctx: CtxDep, dpo: DpoDep, body: ReidentifyBody
) -> Reidentification:
    """The identifiers behind a subject pseudonym; the justification is audited."""
    return reidentify(ctx, dpo.id, body.subject_id, body.justification)
