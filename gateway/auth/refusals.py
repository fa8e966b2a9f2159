"""Refused calls in the audit log: who was turned away from which route, and why.

Every 403 names its caller (it authenticated) and is audited. A 401 is audited
when the credential names a real client: a revoked key or token, an expired
token (its signature holds, so its subject is trusted), a wrong secret for a
real key id, a valid key sent with another client's id. That is a leaked or
stale credential the DPO should see. A credential that names no one (none,
malformed, an unknown key id, a token whose signature fails) is counted in
the metrics and the access log but not audited: its claims cannot be
trusted, and the log, which is never erased, must not grow at the pace of
anonymous traffic.

The event holds the client id, the route template (never the concrete path)
and the method: no submitted value, no address.
"""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit import AuditEvent, append_events
from gateway.audit.proofs import AuditLogError
from gateway.errors import AuthenticationError, GatewayError, PermissionDeniedError
from gateway.storage.db import transaction

if TYPE_CHECKING:  # the context imports nothing from auth; keep it that way
    from gateway.context import GatewayContext

REFUSED = "access.refused"
logger = logging.getLogger("gateway.auth")


class CredentialRefusedError(AuthenticationError):
    """A 401 for a credential that names a real client (audited as such)."""

    def __init__(self, detail: str, *, client_id: str, reason: str) -> None:
        super().__init__(detail)
        # Kept off `extra`: the client id is for the audit log, not the caller.
        self.client_id = client_id
        self.reason = reason


class RoleRefusedError(PermissionDeniedError):
    """A 403 for a client calling a route of another role."""

    def __init__(self, detail: str, *, client_id: str) -> None:
        super().__init__(detail)
        self.client_id = client_id
        self.reason = "role"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused call, as the audit log keeps it."""

    client_id: str
    status: int
    reason: str
    method: str
    route: str


def refusal_of(
    exc: GatewayError, caller: str | None, method: str, route: str
) -> Refusal | None:
    """The refusal to audit for an error, or None (not a refusal, or anonymous).

    Args:
        exc: The error the request ended with.
        caller: The authenticated client of the request, if it got that far.
        method: The HTTP method.
        route: The matched route's template (never the concrete path).
    """
    if isinstance(exc, CredentialRefusedError | RoleRefusedError):
        return Refusal(exc.client_id, exc.status, exc.reason, method, route)
    # Any other 403 (a dataset or audience outside the grants) comes after
    # authentication: the request knows its caller.
    if isinstance(exc, PermissionDeniedError) and caller is not None:
        return Refusal(caller, exc.status, "grant", method, route)
    return None


def record_refusal(ctx: "GatewayContext", refusal: Refusal) -> None:
    """Append the refusal to the audit log, in a transaction of its own.

    The request's own transaction, if any, was rolled back with the refusal.
    A failure to write is logged, never raised: the call stays refused either
    way, and its answer must stay the 401 or 403 it is.
    """
    event = AuditEvent(
        actor=refusal.client_id,
        action=REFUSED,
        reason=refusal.reason,
        policy_version=ctx.policies.version,
        details={
            "status": refusal.status,
            "method": refusal.method,
            "route": refusal.route,
        },
    )
    try:
        with transaction(ctx.sessions) as session:
            append_events(session, [event], ctx.clock(), ctx.checkpoint_signer)
    except (SQLAlchemyError, AuditLogError) as exc:
        # The exception's text may quote SQL parameters: log its type only.
        logger.error(
            "refusal not audited",
            extra={"route": refusal.route, "error": type(exc).__name__},
        )


def audit_refusal(
    ctx: "GatewayContext",
    exc: GatewayError,
    caller: str | None,
    method: str,
    route: str,
) -> None:
    """Audit `exc` if it is a refusal worth recording (see the module docstring)."""
    refusal = refusal_of(exc, caller, method, route)
    if refusal is not None:
        record_refusal(ctx, refusal)
