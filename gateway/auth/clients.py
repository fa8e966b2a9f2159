"""Create, revoke and authenticate API clients."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.auth.apikeys import api_key_matches, hash_api_key, key_id_of, new_api_key
from gateway.auth.refusals import CredentialRefusedError, RoleRefusedError
from gateway.auth.tokens import issue_token, looks_like_token, verify_token
from gateway.context import GatewayContext
from gateway.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)
from gateway.storage import clients_repo
from gateway.storage.models import ClientRow

ROLES = ("partner", "destination", "dpo")


@dataclass(frozen=True)
class NewClient:
    """A created client and its API key, shown once."""

    client_id: str
    name: str
    role: str
    api_key: str


def _check_grants(
    ctx: GatewayContext,
    role: str,
    datasets: Sequence[str],
    purposes: Sequence[str],
    audiences: Sequence[str],
) -> None:
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}")
    for kind, names, known in (
        ("dataset", datasets, ctx.policies.datasets),
        ("purpose", purposes, ctx.policies.purposes),
        ("audience", audiences, ctx.policies.audiences),
    ):
        for name in names:
            if name not in known:
                raise InvalidRequestError(f"unknown {kind}: {name}")
    if role != "partner" and (datasets or purposes):
        raise InvalidRequestError("only partners are granted datasets and purposes")
    if role != "destination" and audiences:
        raise InvalidRequestError("only destinations are granted audiences")


def create_client(
    session: Session,
    ctx: GatewayContext,
    name: str,
    role: str,
    datasets: Sequence[str] = (),
    purposes: Sequence[str] = (),
    audiences: Sequence[str] = (),
    region: str | None = None,
    actor: str = "cli",
) -> NewClient:
    """Add a client with its grants; only a hash of its key is stored."""
    _check_grants(ctx, role, datasets, purposes, audiences)
    if not name or len(name) > 128:
        raise InvalidRequestError("name: 1-128 characters")
    if clients_repo.by_name(session, name) is not None:
        raise ConflictError("a client with this name exists")
    region = (region or ctx.settings.default_region).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidRequestError("region: an ISO 3166 alpha-2 code, e.g. FR")
    key = new_api_key()
    now = ctx.clock()
    row = ClientRow(
        id=str(uuid.uuid4()),
        name=name,
        role=role,
        key_id=key.key_id,
        key_hash=hash_api_key(key.api_key),
        datasets=sorted(set(datasets)),
        purposes=sorted(set(purposes)),
        audiences=sorted(set(audiences)),
        default_region=region,
        created_at=now,
        revoked_at=None,
    )
    clients_repo.add(session, row)
    details = {
        "role": role,
        "datasets": row.datasets,
        "purposes": row.purposes,
        "audiences": row.audiences,
    }
    append_events(
        session,
        [
            AuditEvent(
                actor,
                "client.added",
                policy_version=ctx.policies.version,
                details={"client_id": row.id} | details,
            )
        ],
        now,
        ctx.checkpoint_signer,
    )
    return NewClient(row.id, name, role, key.api_key)


def revoke_client(
    session: Session, ctx: GatewayContext, name: str, actor: str = "cli"
) -> str:
    """Revoke a client's key and tokens at once; returns its id."""
    row = clients_repo.by_name(session, name)
    if row is None:
        raise NotFoundError("no client with this name")
    now = ctx.clock()
    clients_repo.revoke(session, row.id, now)
    append_events(
        session,
        [
            AuditEvent(
                actor,
                "client.revoked",
                policy_version=ctx.policies.version,
                details={"client_id": row.id},
            )
        ],
        now,
        ctx.checkpoint_signer,
    )
    return row.id


# One message for every credential refused: the caller learns nothing about
# which part was wrong, or whether the client exists (the audit log does).
REFUSED = "invalid or revoked credentials"


def _active(row: ClientRow | None) -> ClientRow:
    if row is None:
        raise AuthenticationError(REFUSED)
    if row.revoked_at is not None:
        raise CredentialRefusedError(REFUSED, client_id=row.id, reason="revoked")
    return row


def client_for_key(session: Session, api_key: str) -> ClientRow:
    """The active client owning this API key (constant-time hash comparison).

    Raises:
        AuthenticationError: A malformed key or an unknown key id (anonymous).
        CredentialRefusedError: A real key id with the wrong secret, or a revoked
            client's key (audited under that client).
    """
    key_id = key_id_of(api_key)
    row = clients_repo.by_key_id(session, key_id) if key_id else None
    if row is None:
        raise AuthenticationError(REFUSED)
    if not api_key_matches(api_key, row.key_hash):
        raise CredentialRefusedError(REFUSED, client_id=row.id, reason="bad_secret")
    return _active(row)


def authenticate(session: Session, ctx: GatewayContext, credential: str) -> ClientRow:
    """The client behind a bearer credential: an access token or an API key.

    Tokens are checked against the database too, so a revoked client's
    tokens stop working at once, not when they expire.
    """
    if looks_like_token(credential):
        claims = verify_token(ctx.keyring, credential, ctx.clock())
        return _active(clients_repo.by_id(session, claims.client_id))
    return client_for_key(session, credential)


def token_for(
    session: Session, ctx: GatewayContext, client_id: str, secret: str
) -> tuple[str, int]:
    """OAuth2 client credentials: an access token and its lifetime in seconds."""
    row = client_for_key(session, secret)
    if row.id != client_id:
        # A valid key sent under another client's id: whoever holds the key
        # of `row` tried to pass for someone else.
        raise CredentialRefusedError(
            "invalid client credentials", client_id=row.id, reason="client_mismatch"
        )
    ttl = ctx.settings.token_ttl_seconds
    return issue_token(ctx.keyring, row.id, row.role, ctx.clock(), ttl), ttl


def require_role(client: ClientRow, *roles: str) -> None:
    """Refuse a client outside the given roles."""
    if client.role not in roles:
        raise RoleRefusedError(
            "this route is not for this client's role", client_id=client.id
        )
