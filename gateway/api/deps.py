"""Typed dependencies: the gateway context, the caller, its JSON body."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.api.body import ModelT, read_json, validated
from gateway.api.ratelimit import RateLimiter
from gateway.auth.clients import authenticate, require_role
from gateway.context import GatewayContext
from gateway.errors import AuthenticationError
from gateway.storage.db import transaction
from gateway.storage.models import ClientRow


def get_ctx(request: Request) -> GatewayContext:
    """The context built at start-up."""
    ctx: GatewayContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[GatewayContext, Depends(get_ctx)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise AuthenticationError("send Authorization: Bearer <api key or token>")
    return credential.strip()


def get_limiter(request: Request) -> RateLimiter:
    """The limiter built at start-up."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


def get_client(request: Request, ctx: CtxDep, limiter: LimiterDep) -> ClientRow:
    """The authenticated, unrevoked client, within its rate limit.

    Without valid credentials the call counts against its source address (a
    429 once that is over its limit, a 401 before); with them, against the
    client: bad credentials never use up a real client's allowance.
    """
    try:
        credential = _bearer(request)
        with transaction(ctx.read_sessions) as session:
            client = authenticate(session, ctx, credential)
    except AuthenticationError:
        limiter.check_unauthenticated(request)
        raise
    request.state.client_id = client.id
    limiter.check_client(request, client.id)
    return client


ClientDep = Annotated[ClientRow, Depends(get_client)]


def role(*roles: str) -> Callable[[ClientRow], ClientRow]:
    """A dependency that admits only clients of these roles."""

    def check(client: ClientDep) -> ClientRow:
        require_role(client, *roles)
        return client

    return check


PartnerDep = Annotated[ClientRow, Depends(role("partner"))]
DestinationDep = Annotated[ClientRow, Depends(role("destination"))]
DpoDep = Annotated[ClientRow, Depends(role("dpo"))]


async def json_body(request: Request, ctx: CtxDep) -> Any:
    """The request's JSON body, within the size and depth limits."""
    return await read_json(
        request, ctx.settings.max_body_bytes, ctx.settings.max_json_depth
    )


JsonBody = Annotated[Any, Depends(json_body)]


def json_model(
    model: type[ModelT],
) -> Callable[[Request, GatewayContext], Awaitable[ModelT]]:
    """A dependency reading the JSON body as `model`, or refusing it.

    The body is decoded by `gateway.api.body` (size, content type, UTF-8,
    duplicate keys, NaN, nesting: 413, 415 or 422), then validated by the
    model (a 422 naming fields and reasons, never values). Declare it after
    the caller's dependency: a body is read only from an authorized caller.
    """

    async def read(request: Request, ctx: CtxDep) -> ModelT:
        return validated(model, await json_body(request, ctx))

    return read
