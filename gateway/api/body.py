"""Read a JSON body safely: size limit, content type, UTF-8, nesting depth."""

from typing import Any

import orjson
from fastapi import Request

from gateway.errors import (
    InvalidRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)


def json_depth_ok(value: Any, limit: int) -> bool:
    """Tell whether a parsed JSON value nests no deeper than `limit` (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int, max_depth: int) -> Any:
    """Parse a JSON body or refuse it with a 4xx problem."""
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaTypeError("send application/json")
    raw = await read_limited(request, limit)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson also refuses invalid UTF-8 and nesting past 1024 levels.
        raise InvalidRequestError("the body is not valid UTF-8 JSON") from exc
    if not json_depth_ok(value, max_depth):
        raise InvalidRequestError(f"the body nests deeper than {max_depth} levels")
    return value
