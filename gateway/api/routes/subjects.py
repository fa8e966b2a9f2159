"""The DPO answers data-subject requests: access (Art. 15, 20), erasure (Art. 17)."""

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from gateway.api.deps import CtxDep, DpoDep
from gateway.subjects.access import access
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


@router.post("/access")
def subject_access(body: SubjectIn, ctx: CtxDep, dpo: DpoDep) -> dict[str, Any]:
    """Everything held about the subject, decrypted: also its portable copy."""
    return access(ctx, dpo.id, body.identifier_type, body.identifier)


@router.post("/erase")
def subject_erase(body: SubjectIn, ctx: CtxDep, dpo: DpoDep) -> dict[str, Any]:
    """Crypto-shred and delete the subject; the erasure receipt, with its proof."""
    return erase(ctx, dpo.id, body.identifier_type, body.identifier)


@router.post("/reidentify")
def subject_reidentify(body: ReidentifyIn, ctx: CtxDep, dpo: DpoDep) -> dict[str, Any]:
    """The identifiers behind a subject pseudonym; the justification is audited."""
    return reidentify(ctx, dpo.id, body.subject_id, body.justification)
