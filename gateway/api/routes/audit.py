"""The DPO's audit routes."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, JsonValue

from gateway.api.deps import CtxDep, DpoDep
from gateway.audit import consistency_proof, inclusion_proof, verify
from gateway.audit.checkpoints import sign_checkpoint
from gateway.storage.db import transaction
from gateway.subjects.audit_search import MAX_LIMIT as MAX_EVENTS
from gateway.subjects.audit_search import find_events

router = APIRouter(prefix="/audit", tags=["audit"])
# A cursor is a position: ASCII digits only ("³" passes `str.isdigit` and
# fails `int`: a 500 before the edge refused it).
DIGITS = "^[0-9]*$"


class VerifyOut(BaseModel):
    """The result of recomputing the log."""

    ok: bool
    size: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None
    root_hash: str | None


@router.get("/verify")
def verify_log(ctx: CtxDep, _dpo: DpoDep) -> VerifyOut:
    """Recompute every event's bytes and hashes; name the first bad one."""
    with transaction(ctx.read_sessions) as session:
        report = verify(session, ctx.read_sessions)
    return VerifyOut(
        ok=report.ok,
        size=report.size,
        head_hash=report.head_hash,
        first_bad_seq=report.first_bad_seq,
        problem=report.problem,
        root_hash=report.root_hash,
    )


class InclusionProofOut(BaseModel):
    """RFC 6962 inclusion proof; hashes in hex."""

    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]


class ConsistencyProofOut(BaseModel):
    """RFC 6962 consistency proof between two tree sizes; hashes in hex."""

    first: int
    second: int
    proof: list[str]


# Sizes and positions are counts of events: never negative, and within the
# 64-bit range the database stores them in.
Count = Annotated[int, Query(ge=0, le=2**63 - 1)]


@router.get("/proof/{seq}")
def prove_inclusion(
    seq: int, ctx: CtxDep, _dpo: DpoDep, tree_size: Count | None = None
) -> InclusionProofOut:
    """Prove that event `seq` is in the log (of `tree_size` events, or all)."""
    with transaction(ctx.read_sessions) as session:
        proof = inclusion_proof(session, seq, tree_size)
    return InclusionProofOut(**proof.document())


@router.get("/consistency")
def prove_consistency(
    first: Count, second: Count, ctx: CtxDep, _dpo: DpoDep
) -> ConsistencyProofOut:
    """Prove that the log of `second` events extends the log of `first` events."""
    with transaction(ctx.read_sessions) as session:
        proof = consistency_proof(session, first, second)
    return ConsistencyProofOut(**proof.document())


class CheckpointOut(BaseModel):
    """The signed tree head (C2SP tlog-checkpoint); root in hex."""

    tree_size: int
    root_hash: str
    checkpoint: str


@router.get("/checkpoint")
def checkpoint(ctx: CtxDep, _dpo: DpoDep) -> CheckpointOut:
    """Sign the tree head (or return the checkpoint of that head, signed already)."""
    with transaction(ctx.sessions) as session:
        signed = sign_checkpoint(session, ctx.checkpoint_signer, ctx.clock())
    return CheckpointOut(**signed.document())


class AuditEventOut(BaseModel):
    """One audit event: pseudonyms, actions and reasons, never a value."""

    # `subjects.audit_search` builds the page as plain documents: an unknown key there
    # fails validation here rather than reaching the DPO undocumented.
    model_config = ConfigDict(extra="forbid")

    seq: int
    event_id: str
    occurred_at: str
    actor: str
    action: str
    subject_id: str | None
    purpose: str | None
    dataset: str | None
    record_id: str | None
    reason: str | None
    policy_version: str | None
    details: dict[str, JsonValue]
    leaf_hash: str


class AuditEventsOut(BaseModel):
    """A page of audit events in log order."""

    model_config = ConfigDict(extra="forbid")

    events: list[AuditEventOut]
    next_cursor: str | None


@router.get("/events")
def audit_events(  # noqa: PLR0913 - the query's documented filters
    ctx: CtxDep,
    dpo: DpoDep,
    identifier_type: Annotated[str | None, Query(max_length=64)] = None,
    identifier: Annotated[str | None, Query(max_length=1024)] = None,
    action: Annotated[str | None, Query(max_length=48)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=20, pattern=DIGITS)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_EVENTS)] = None,
) -> AuditEventsOut:
    """Audit events about a subject (by identifier), an action, or since a time."""
    page = find_events(
        ctx,
        dpo.id,
        identifier_type=identifier_type,
        identifier=identifier,
        action=action,
        since=since,
        cursor=cursor,
        limit=limit,
    )
    return AuditEventsOut.model_validate(page)
