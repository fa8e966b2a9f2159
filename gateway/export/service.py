"""What a destination may pull: segments over its floor, members as its own ids.

Destinations see segments by their public id, which a segment keeps from
run to run while it stays essentially the same; the row behind it is the
one of the audience's latest finished run. A public id the latest run no
longer has is answered as a superseded segment (404).

Consent is checked again at every pull: consent events recorded and subjects
erased since the run are mapped to the entities they touch, those entities
are decided again subject by subject, and an entity with any subject that
lost its consent (or was erased) is left out. A segment that falls under the
destination's floor that way is withheld as a whole. What a destination is
sent of a segment is decided against what it was sent last time
(`gateway.export.delivery`). Every pull is audited.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.consent.service import decide_many
from gateway.context import GatewayContext
from gateway.crypto.destination import destination_key, destination_root, member_id
from gateway.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from gateway.export.delivery import Target, deliver, read_page
from gateway.export.floor import visible_ids
from gateway.policy.audiences import Audience
from gateway.storage import deliveries_repo, revocations_repo, segments_repo
from gateway.storage.db import transaction
from gateway.storage.models import ClientRow, PipelineRunRow, SegmentRow

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as pulls see it: its segments' current sizes and lapsed entities."""

    run: PipelineRunRow
    segments: list[SegmentRow]
    sizes_now: dict[str, int]
    lapsed: frozenset[str]


@dataclass(frozen=True, slots=True)
class VisibleSegment:
    """A segment a destination may pull, by public ids.

    `size` is the segment's size now: its members in the latest run minus
    those lapsed since. It is not the number of ids a pull delivers, which
    differs by the entrants and leavers difference protection holds back
    (fewer than the floor either way): a count, never an id.
    """

    segment_id: str
    level: int
    parent_id: str | None
    size: int
    generated_at: str
    description: str


@dataclass(frozen=True, slots=True)
class MembersPage:
    """One page of a segment's members, as the destination's ids."""

    segment_id: str
    members: list[str]
    # None on the last page.
    next_cursor: str | None


def floor_for(ctx: GatewayContext, audience: Audience, destination: ClientRow) -> int:
    """The strictest k-anonymity floor for what this destination sees."""
    policy = ctx.policies.destinations.get(destination.name)
    own = policy.k_min if policy and policy.k_min else 0
    return max(audience.k_min, own)


def audience_for(ctx: GatewayContext, client: ClientRow, name: str) -> Audience:
    """The audience, if it exists and this destination was granted it."""
    audience = ctx.policies.audiences.get(name)
    if audience is None:
        raise NotFoundError("no such audience")
    if name not in client.audiences:
        raise PermissionDeniedError("this destination may not pull this audience")
    return audience


def destination_ids(
    ctx: GatewayContext, client: ClientRow, entities: Sequence[str]
) -> list[str]:
    """These entities as this destination knows them: under its own key and format."""
    # Pinned to the first linkage key: ids survive a linkage key rotation.
    key = destination_key(destination_root(ctx.keyring), client.id)
    policy = ctx.policies.destinations.get(client.name)
    id_format = policy.id_format if policy else "pseudonym"
    return [member_id(key, entity, id_format) for entity in entities]


def lapsed_entities(
    session: Session, ctx: GatewayContext, audience: Audience, run: PipelineRunRow
) -> frozenset[str]:
    """Entities of the run that may no longer be exported.

    Only what changed since the run is looked at: consent events recorded
    since it started, and subjects erased since. Erased subjects' entities
    lapse outright; the others are decided again on every identifier of
    every subject they were built from.
    """
    purpose = ctx.policies.purposes[audience.purpose]
    erased = segments_repo.subjects_erased_since(session, run.started_at)
    gone = segments_repo.entities_by_subjects(session, run.id, erased)
    touched = (
        segments_repo.entities_with_consent_since(
            session, run.id, purpose.name, run.started_at
        )
        - gone
    )
    subjects = segments_repo.subject_keys_of(session, run.id, touched)
    owners = [(entity, keys) for entity, by in subjects.items() for keys in by.values()]
    decisions = decide_many(
        session, [keys for _, keys in owners], purpose.name, purpose.basis
    )
    refused = {
        entity
        for (entity, _), decision in zip(owners, decisions, strict=True)
        if not decision.allowed
    }
    return frozenset(gone | refused)


def run_view(
    session: Session, ctx: GatewayContext, audience: Audience
) -> RunView | None:
    """The audience's latest finished run, with sizes after lapsed entities."""
    run = segments_repo.latest_run(session, audience.name)
    if run is None:
        return None
    lapsed = lapsed_entities(session, ctx, audience, run)
    minus = segments_repo.lapsed_counts(session, run.id, lapsed)
    segments = segments_repo.segments_of(session, run.id)
    sizes = {s.id: s.size - minus.get(s.id, 0) for s in segments}
    return RunView(run, segments, sizes, lapsed)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; the
    # gateway only ever stores UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _visible(view: RunView, floor: int) -> list[SegmentRow]:
    rows = [(s.id, s.level, s.parent_id) for s in view.segments]
    shown = visible_ids(rows, view.sizes_now, floor)
    return [s for s in view.segments if s.id in shown]


def list_segments(
    ctx: GatewayContext, client: ClientRow, audience_name: str
) -> list[VisibleSegment]:
    """The segments of the audience's latest run that this destination may see."""
    audience = audience_for(ctx, client, audience_name)
    floor = floor_for(ctx, audience, client)
    with transaction(ctx.sessions) as session:  # a pull is audited: one write
        view = run_view(session, ctx, audience)
        if view is None:
            shown: list[VisibleSegment] = []
        else:
            generated = _utc(view.run.finished_at or view.run.started_at)
            # `parent_id` holds the parent's row id within the run.
            public = {s.id: s.public_id for s in view.segments}
            shown = [
                VisibleSegment(
                    segment_id=s.public_id,
                    level=s.level,
                    parent_id=public.get(s.parent_id) if s.parent_id else None,
                    size=view.sizes_now[s.id],
                    generated_at=generated.isoformat(),
                    description=s.description,
                )
                for s in _visible(view, floor)
            ]
        _audit(
            session,
            ctx,
            client,
            "segments.listed",
            audience,
            {"segments": len(shown), "run_id": view.run.id if view else None},
        )
    return shown


def parse_cursor(cursor: str | None) -> int:
    """A cursor is the position of the last member sent; none means the start."""
    if cursor is None or cursor == "":
        return -1
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 12:
        raise InvalidRequestError("cursor: use the next_cursor of the previous page")
    return int(cursor)


def check_limit(limit: int | None) -> int:
    """The page size, within bounds."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(f"limit: between 1 and {MAX_LIMIT}")
    return limit


def _latest_segment(
    session: Session, ctx: GatewayContext, client: ClientRow, public_id: str
) -> tuple[Audience, RunView, SegmentRow]:
    """The audience, latest run and row behind a public segment id.

    Raises:
        NotFoundError: No such segment, or not in the audience's latest run.
        PermissionDeniedError: Its audience was not granted to this destination.
    """
    audiences = deliveries_repo.audiences_of(session, public_id)
    if not audiences:
        raise NotFoundError("no such segment")
    granted = [name for name in audiences if name in client.audiences]
    audience = audience_for(ctx, client, (granted or audiences)[0])
    view = run_view(session, ctx, audience)
    segment = (
        deliveries_repo.segment_in_run(session, view.run.id, public_id)
        if view
        else None
    )
    # Only the latest run's segments may be pulled: a public id the latest
    # run no longer has is out of reach, as is a segment under the floor.
    if view is None or segment is None:
        raise NotFoundError("this segment belongs to a superseded run")
    return audience, view, segment


def pull_members(
    ctx: GatewayContext,
    client: ClientRow,
    segment_id: str,
    cursor: str | None,
    limit: int | None,
) -> MembersPage:
    """One page of a segment's members, in this destination's id format.

    `segment_id` is the public id. The first page (no cursor) decides the
    destination's delivery against its last one; later pages read it.
    """
    after, size = parse_cursor(cursor), check_limit(limit)
    with transaction(ctx.sessions) as session:  # a pull is audited: one write
        audience, view, segment = _latest_segment(session, ctx, client, segment_id)
        floor = floor_for(ctx, audience, client)
        if segment.id not in {s.id for s in _visible(view, floor)}:
            raise NotFoundError(
                "this segment is withheld (under the k-anonymity floor)"
            )
        target = Target(client.id, segment, view.run.id, view.lapsed)
        # Held-back counts belong to the first page, where the delivery is
        # decided; a later page only reads it.
        held = deliver(session, target, floor) if after < 0 else None
        members, last, more = read_page(session, target, after, size)
        ids = destination_ids(ctx, client, members)
        revocations_repo.note_pulled(
            session, client.id, audience.name, members, ctx.clock()
        )
        _audit(
            session,
            ctx,
            client,
            "segment.pulled",
            audience,
            {
                "segment_id": segment.public_id,
                "run_id": view.run.id,
                "members": len(ids),
                "after": after,
                "entering_held": held.entering if held else None,
                "leaving_held": held.leaving if held else None,
            },
        )
    return MembersPage(segment.public_id, ids, str(last) if more else None)


def _audit(
    session: Session,
    ctx: GatewayContext,
    client: ClientRow,
    action: str,
    audience: Audience,
    details: dict[str, Any],
) -> None:
    event = AuditEvent(
        actor=client.id,
        action=action,
        purpose=audience.purpose,
        policy_version=ctx.policies.version,
        details={"audience": audience.name, **details},
    )
    append_events(session, [event], ctx.clock(), ctx.checkpoint_signer)
