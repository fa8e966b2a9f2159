"""POST /v1/token: OAuth2 client credentials."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from gateway.api.deps import CtxDep, LimiterDep
from gateway.auth.clients import token_for
from gateway.errors import AuthenticationError, InvalidRequestError
from gateway.storage.db import transaction

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    """An OAuth2 access token response."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 -- the OAuth2 token type, not a secret
    expires_in: int


@router.post("/token")
def token(
    request: Request,
    ctx: CtxDep,
    limiter: LimiterDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str, Form()],
    client_secret: Annotated[str, Form()],
) -> TokenOut:
    """Exchange a client's id and API key for a short-lived access token.

    A refused exchange counts against the caller's source address, a granted
    one against the client (so guessing secrets never locks a client out).
    """
    try:
        if grant_type != "client_credentials":
            raise InvalidRequestError("grant_type must be client_credentials")
        with transaction(ctx.read_sessions) as session:
            access_token, ttl = token_for(session, ctx, client_id, client_secret)
    except (AuthenticationError, InvalidRequestError):
        limiter.check_unauthenticated(request)
        raise
    limiter.check_client(request, client_id)
    return TokenOut(access_token=access_token, expires_in=ttl)
