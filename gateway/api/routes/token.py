"""POST /v1/token: OAuth2 client credentials."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from gateway.api.body import FORM, openapi_body, read_form
from gateway.api.deps import CtxDep, LimiterDep
from gateway.api.problems import BODY_PROBLEMS
from gateway.auth.clients import token_for
from gateway.errors import AuthenticationError, InvalidRequestError
from gateway.storage.db import transaction

router = APIRouter(tags=["auth"])


class TokenForm(BaseModel):
    """The client credentials grant (documented shape; read by `read_form`)."""

    grant_type: str = Field(max_length=64)
    client_id: str = Field(max_length=128)
    client_secret: str = Field(max_length=512)


class TokenOut(BaseModel):
    """An OAuth2 access token response."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 -- the OAuth2 token type, not a secret
    expires_in: int


async def _form(request: Request, ctx: CtxDep) -> dict[str, str]:
    return await read_form(request, ctx.settings.max_body_bytes)


FormDep = Annotated[dict[str, str], Depends(_form)]


@router.post(
    "/token",
    responses=BODY_PROBLEMS,
    openapi_extra=openapi_body(TokenForm, FORM),
)
def token(
    request: Request, ctx: CtxDep, limiter: LimiterDep, form: FormDep
) -> TokenOut:
    """Exchange a client's id and API key for a short-lived access token.

    A refused exchange counts against the caller's source address, a granted
    one against the client (so guessing secrets never locks a client out).
    """
    grant_type = form.get("grant_type")
    client_id = form.get("client_id")
    client_secret = form.get("client_secret")
    try:
        if grant_type is None or client_id is None or client_secret is None:
            raise InvalidRequestError("send grant_type, client_id and client_secret")
        if grant_type != "client_credentials":
            raise InvalidRequestError("grant_type must be client_credentials")
        with transaction(ctx.read_sessions) as session:
            access_token, ttl = token_for(session, ctx, client_id, client_secret)
    except (AuthenticationError, InvalidRequestError):
        limiter.check_unauthenticated(request)
        raise
    limiter.check_client(request, client_id)
    return TokenOut(access_token=access_token, expires_in=ttl)
