"""POST /v1/token: OAuth2 client credentials."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.body import FORM, openapi_body, read_form, validated
from gateway.api.deps import CtxDep, LimiterDep
from gateway.api.problems import BODY_PROBLEMS
from gateway.auth.clients import REFUSED, token_for
from gateway.errors import AuthenticationError, InvalidRequestError
from gateway.storage.db import transaction

router = APIRouter(tags=["auth"])
CLIENT_ID_MAX = 128
CLIENT_SECRET_MAX = 512


class TokenForm(BaseModel):
    """The client credentials grant (RFC 6749 section 4.4), read by `read_form`."""

    # RFC 6749 section 3.2: the server MUST ignore parameters it does not
    # recognize (`audience`, `resource` from clients of other servers).
    model_config = ConfigDict(extra="ignore", strict=True)

    grant_type: Literal["client_credentials"]
    client_id: str = Field(min_length=1, max_length=CLIENT_ID_MAX)
    client_secret: str = Field(min_length=1, max_length=CLIENT_SECRET_MAX)
    # RFC 6749 section 4.4.2 lets a client ask for a scope: a client's grants
    # are fixed when it is created, so one is accepted and not used.
    scope: str | None = Field(default=None, max_length=256)


class TokenOut(BaseModel):
    """An OAuth2 access token response."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 -- the OAuth2 type
    expires_in: int


async def _form(request: Request, ctx: CtxDep) -> dict[str, str]:
    return await read_form(request, ctx.settings.max_body_bytes)


FormDep = Annotated[dict[str, str], Depends(_form)]
_CREDENTIALS = {"client_id", "client_secret"}


def _grant(form: dict[str, str]) -> TokenForm:
    try:
        return validated(TokenForm, form)
    except RequestValidationError as exc:
        # No client has an id or a key that long: such a request is refused
        # as any wrong credentials are (401), not told apart by a 422.
        if all(
            e.get("type") == "string_too_long" and e["loc"][-1] in _CREDENTIALS
            for e in exc.errors()
        ):
            raise AuthenticationError(REFUSED) from None
        raise


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
    try:
        grant = _grant(form)
        with transaction(ctx.read_sessions) as session:
            access_token, ttl = token_for(
                session, ctx, grant.client_id, grant.client_secret
            )
    except (AuthenticationError, InvalidRequestError, RequestValidationError):
        limiter.check_unauthenticated(request)
        raise
    limiter.check_client(request, grant.client_id)
    return TokenOut(access_token=access_token, expires_in=ttl)
