"""The DPO's audit routes."""

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.api.deps import CtxDep, DpoDep
from gateway.audit import verify
from gateway.storage.db import transaction

router = APIRouter(prefix="/audit", tags=["audit"])


class VerifyOut(BaseModel):
    """The result of recomputing the log."""

    ok: bool
    size: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None


@router.get("/verify")
def verify_log(ctx: CtxDep, _dpo: DpoDep) -> VerifyOut:
    """Recompute every event's bytes and hashes; name the first bad one."""
    with transaction(ctx.read_sessions) as session:
        report = verify(session)
    return VerifyOut(
        ok=report.ok,
        size=report.size,
        head_hash=report.head_hash,
        first_bad_seq=report.first_bad_seq,
        problem=report.problem,
    )
