"""The DPO's search of the audit log: by subject, action and time, in log order."""

from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.audit import AuditEvent, append_events
from gateway.audit.log import format_time
from gateway.context import GatewayContext
from gateway.errors import InvalidRequestError
from gateway.storage import audit_repo
from gateway.storage.db import transaction
from gateway.subjects.locate import locate

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _since(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequestError("since: an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)


def _cursor(value: str | None) -> int:
    if value is None or value == "":
        return -1
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise InvalidRequestError("cursor: use the next_cursor of the previous page")
    return int(value)


def find_events(
    ctx: GatewayContext,
    actor: str,
    *,
    identifier_type: str | None = None,
    identifier: str | None = None,
    action: str | None = None,
    since: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """A page of audit events; by identifier, every pseudonym of the subject.

    A search by identifier is itself audited (it tells the DPO what was done
    about a person); a search by action or time is not: it names no one.

    Raises:
        InvalidRequestError: Only one of identifier_type and identifier, an
            unknown type, a bad time, cursor or limit.
    """
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise InvalidRequestError(f"limit: between 1 and {MAX_LIMIT}")
    if (identifier_type is None) != (identifier is None):
        raise InvalidRequestError("identifier_type and identifier go together")
    after, since_text = _cursor(cursor), _since(since)
    with transaction(ctx.sessions) as session:
        pseudonyms: tuple[str, ...] | None = None
        if identifier_type is not None and identifier is not None:
            pseudonyms = locate(session, ctx, identifier_type, identifier).pseudonyms
        rows = audit_repo.find_events(
            session, pseudonyms, action, since_text, after, size + 1
        )
        if pseudonyms is not None:
            append_events(
                session,
                [
                    AuditEvent(
                        actor=actor,
                        action="audit.searched",
                        policy_version=ctx.policies.version,
                        details={"identifier_type": identifier_type},
                    )
                ],
                ctx.clock(),
                ctx.checkpoint_signer,
            )
    more = len(rows) > size
    rows = rows[:size]
    return {
        "events": [
            {
                "seq": row.seq,
                "event_id": row.event_id,
                "occurred_at": row.occurred_at,
                "actor": row.actor,
                "action": row.action,
                "subject_id": row.subject_id,
                "purpose": row.purpose,
                "dataset": row.dataset,
                "record_id": row.record_id,
                "reason": row.reason,
                "policy_version": row.policy_version,
                "details": orjson.loads(row.details),
                "leaf_hash": bytes(row.leaf_hash).hex(),
            }
            for row in rows
        ],
        "next_cursor": str(rows[-1].seq) if more else None,
    }
