"""The revocations feed (GDPR Art. 19): ids a destination was sent and must delete.

A destination reads, in its own ids, every entity it pulled from an audience
that was later erased or whose consent for the audience's purpose was
withdrawn. The cursor is the position of the last entry read: it tells
nothing about anyone. `next_cursor` is null on the last page, as for
members; `resume_cursor` is where a destination polling the feed picks up
next time. Every read is audited.
"""

from typing import Any

from gateway.audit import AuditEvent, append_events
from gateway.context import GatewayContext
from gateway.export.service import (
    audience_for,
    check_limit,
    destination_ids,
    parse_cursor,
)
from gateway.storage import revocations_repo
from gateway.storage.db import transaction
from gateway.storage.models import ClientRow
from gateway.subjects.access import iso_utc


def revocations(
    ctx: GatewayContext,
    client: ClientRow,
    audience_name: str,
    cursor: str | None,
    limit: int | None,
) -> dict[str, Any]:
    """One page of the destination's revocations for an audience.

    Raises:
        NotFoundError: No such audience.
        PermissionDeniedError: The audience was not granted to this destination.
        InvalidRequestError: A malformed cursor or a limit out of bounds.
    """
    after, size = parse_cursor(cursor), check_limit(limit)
    audience = audience_for(ctx, client, audience_name)
    with transaction(ctx.sessions) as session:  # a read of the feed is audited
        page = revocations_repo.feed(
            session, client.id, audience.name, audience.purpose, after, size + 1
        )
        more = len(page) > size
        page = page[:size]
        ids = destination_ids(ctx, client, [entry.entity_id for entry in page])
        append_events(
            session,
            [
                AuditEvent(
                    actor=client.id,
                    action="revocations.pulled",
                    purpose=audience.purpose,
                    policy_version=ctx.policies.version,
                    details={
                        "audience": audience.name,
                        "revoked": len(page),
                        "after": after,
                    },
                )
            ],
            ctx.clock(),
            ctx.checkpoint_signer,
        )
    return {
        "revoked": [
            {"id": member, "reason": entry.reason, "at": iso_utc(entry.at)}
            for member, entry in zip(ids, page, strict=True)
        ],
        "next_cursor": str(page[-1].id) if more else None,
        # Where to resume later, at the end too: the feed keeps growing, and a
        # destination that polls should not read it again from the start.
        "resume_cursor": str(page[-1].id) if page else (cursor or None),
    }
