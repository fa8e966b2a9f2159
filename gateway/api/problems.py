"""RFC 9457 problem+json for every error; `detail` never echoes submitted values."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth.refusals import audit_refusal
from gateway.errors import GatewayError
from gateway.ingest.validate import reportable_name

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("gateway.api")


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
    """Register the problem handlers on an app."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
