"""Destinations pull segments: the latest run's, over their floor, in their ids."""

from typing import Annotated, Literal, Self

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from gateway.api.deps import CtxDep, DestinationDep
from gateway.auth.refusals import Refusal, record_refusal
from gateway.errors import NotFoundError, PermissionDeniedError
from gateway.export.revocations import revocations
from gateway.export.service import (
    MAX_LIMIT,
    MembersPage,
    VisibleSegment,
    list_segments,
    pull_members,
)

router = APIRouter(tags=["export"])
# A cursor is a position: ASCII digits only. `str.isdigit` alone also takes
# "³" and other Unicode digits, which `int` then refuses (a 500, found by
# bench/fuzz.py): the edge refuses them first, with a 422.
DIGITS = "^[0-9]*$"


class SegmentOut(BaseModel):
    """A segment a destination may pull; `size` is counted at pull time.

    `segment_id` and `parent_id` are public ids: a segment that stays
    essentially the same from run to run keeps its id.
    """

    segment_id: str
    level: int
    parent_id: str | None
    size: int
    generated_at: str
    description: str

    @classmethod
    def of(cls, segment: VisibleSegment) -> Self:
        """The segment as listed to the destination."""
        return cls(
            segment_id=segment.segment_id,
            level=segment.level,
            parent_id=segment.parent_id,
            size=segment.size,
            generated_at=segment.generated_at,
            description=segment.description,
        )


class MembersOut(BaseModel):
    """One page of members, as this destination's ids; consent checked now."""

    segment_id: str
    members: list[str]
    next_cursor: str | None

    @classmethod
    def of(cls, page: MembersPage) -> Self:
        """The page as sent to the destination."""
        return cls(
            segment_id=page.segment_id,
            members=page.members,
            next_cursor=page.next_cursor,
        )


@router.get("/audiences/{audience}/segments")
def audience_segments(
    audience: str, ctx: CtxDep, client: DestinationDep
) -> list[SegmentOut]:
    """The segments of the audience's latest run over this destination's floor."""
    return [SegmentOut.of(s) for s in list_segments(ctx, client, audience)]


@router.get("/segments/{segment_id}/members")
def segment_members(
    segment_id: str,
    request: Request,
    ctx: CtxDep,
    client: DestinationDep,
    cursor: Annotated[str | None, Query(max_length=16, pattern=DIGITS)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
) -> MembersOut:
    """A page of the segment's members; pass `next_cursor` back for the next.

    The first page (no cursor) decides what this pull delivers against what
    the destination was delivered last time: entrants or leavers fewer
    than its floor are held back (`gateway.export.difference`).

    A segment of an audience this destination was not granted is answered
    exactly as a segment that does not exist (404, "no such segment"): a 403
    would confirm to one destination that another's segment id is real. The
    refusal is audited all the same.
    """
    try:
        page = pull_members(ctx, client, segment_id, cursor, limit)
    except PermissionDeniedError:
        route = request.scope["route"].path  # the template, never the id
        record_refusal(ctx, Refusal(client.id, 404, "grant", request.method, route))
        raise NotFoundError("no such segment") from None
    return MembersOut.of(page)


class RevokedOut(BaseModel):
    """An id this destination was sent and must now delete."""

    id: str
    reason: Literal["erased", "withdrawn"]
    at: str


class RevocationsOut(BaseModel):
    """One page of the revocations feed (GDPR Art. 19)."""

    revoked: list[RevokedOut]
    next_cursor: str | None
    resume_cursor: str | None


@router.get("/audiences/{audience}/revocations")
def audience_revocations(
    audience: str,
    ctx: CtxDep,
    client: DestinationDep,
    cursor: Annotated[str | None, Query(max_length=20, pattern=DIGITS)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
) -> RevocationsOut:
    """Ids pulled earlier that were erased or lost consent since: delete them."""
    # `export.revocations` builds the page as a plain document: validated
    # here, so a key it adds or drops is an error, not a silent change.
    return RevocationsOut.model_validate(
        revocations(ctx, client, audience, cursor, limit)
    )
