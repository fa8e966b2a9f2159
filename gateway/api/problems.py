"""RFC 9457 problem+json for every error; `detail` never echoes submitted values."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth.refusals import audit_refusal
from gateway.errors import GatewayError
from gateway.fields.names import reportable_name

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("gateway.api")


class FieldProblem(BaseModel):
    """Where a request is invalid, and why: a location and a reason, no value."""

    field: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem document (`application/problem+json`).

    `detail` names fields, records and reasons, never a submitted value; a 422
    for a body or query that does not fit its schema lists them in `errors`.
    """

    # RFC 9457 section 3.2: problem types may carry extension members.
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None


_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
_INTEGER = {"type": "integer", "minimum": 0}
_STRING = {"type": "string"}
# draft-ietf-httpapi-ratelimit-headers-10, as `gateway.api.ratelimit` sends them.
RATE_LIMIT_HEADERS: dict[str, Any] = {
    "RateLimit-Policy": {
        "description": 'The quota applied: `"client"` or `"address"`, `q` calls '
        "per `w` seconds.",
        "schema": _STRING,
    },
    "RateLimit": {
        "description": "What is left of the quota: `r` calls, reset in `t` seconds.",
        "schema": _STRING,
    },
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before calling again.",
        "required": True,
        "schema": _INTEGER,
    }
}
_WHY = {
    401: "Missing, invalid, expired or revoked credentials",
    403: "Outside the client's role or grants",
    404: "No such resource (or one the client may not know of)",
    409: "Conflicts with stored state (an Idempotency-Key reused with another body)",
    413: "The body is over the size limit",
    415: "The body is not of the content type the operation reads",
    422: "The body, the query or the path is invalid",
    429: "Over the rate limit: retry after `Retry-After` seconds",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each a problem+json document.

    Every response of the API carries the RateLimit fields once a limit was
    applied; a 429 also carries `Retry-After`.
    """
    return {
        status: {
            "description": _WHY[status],
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
            "headers": RATE_LIMIT_HEADERS | (_RETRY_AFTER if status == 429 else {}),
        }
        for status in statuses
    }


# Every /v1 operation: its caller may be unauthenticated, outside its grants,
# naming what is not there, sending what does not fit, or over its limit.
PROBLEM_RESPONSES = problem_responses(401, 403, 404, 422, 429) | {
    200: {"headers": RATE_LIMIT_HEADERS}
}
# Operations that read a body: over the size limit, or not the content type.
BODY_PROBLEMS = problem_responses(413, 415)


def problem_response(
    status: int, slug: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status, media_type=PROBLEM_JSON, headers=headers)


async def _gateway_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, GatewayError):  # registered for this type only
        raise exc
    if exc.status in (401, 403):
        # Here, after the rate limiter: a call over its limit is a 429, never
        # audited; `gateway.auth.refusals` decides which refusals are.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        caller = getattr(request.state, "client_id", None)
        await run_in_threadpool(
            audit_refusal, request.app.state.ctx, exc, caller, request.method, route
        )
    if exc.status >= 500:
        logger.error("request failed", extra={"error": exc.slug})
        return problem_response(exc.status, exc.slug, exc.title)
    return problem_response(exc.status, exc.slug, exc.title, exc.detail)


def _location(loc: tuple[Any, ...]) -> str:
    # A key of the body is echoed only when shaped like a field name: an
    # unknown key may be a value put where a key belongs (`{"jean@x.fr": 1}`).
    # Query, path and header names are the route's own.
    in_body = bool(loc) and loc[0] == "body"
    return ".".join(
        reportable_name(part) if in_body and isinstance(part, str) else str(part)
        for part in loc
        if part not in ("body", "query", "path")
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    # pydantic's messages can quote the input ("input_value=..."): keep only
    # the location and the error type.
    errors = [
        {
            "field": _location(tuple(e.get("loc", ()))),
            "reason": e.get("type", "invalid"),
        }
        for e in exc.errors()
    ]
    return problem_response(
        422,
        "invalid-request",
        "Invalid request",
        "the body or the query is invalid",
        errors=errors,
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    return problem_response(exc.status_code, f"http-{exc.status_code}", title)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # The exception text may hold anything; log its type only.
    logger.error("unexpected error", extra={"error": type(exc).__name__})
    return problem_response(500, "internal-error", "Internal error")


def install(app: FastAPI) -> None:
    """Register the problem handlers on an app; declare the Problem schema."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    _declare_problem_schema(app)


def _declare_problem_schema(app: FastAPI) -> None:
    # The responses name the Problem schema by reference (one copy in the
    # document, not one per operation and status): put it in the components.
    _, top = models_json_schema(
        [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
    )
    definitions: dict[str, Any] = top["$defs"]
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).update(definitions)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
