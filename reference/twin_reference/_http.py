"""Reading requests and writing responses: body limits, media types, strict JSON, errors."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from twin_reference._errors import (
    ApiError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    RequestTimeoutError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from twin_spec import (
    CanonicalizationError,
    JSONValue,
    TwinSpecError,
    json_value_count,
    parse_json,
)

LOG = logging.getLogger("twin_reference")
T = TypeVar("T")
BODY_TIMEOUT_SECONDS = 30.0
"""How long a request body may take to arrive, unless a route says otherwise."""
INLINE_PARSE_BYTES = 64 * 1024
"""Bodies up to this size are parsed at once; larger ones one at a time (read_json_sized)."""
_LARGE_PARSE = asyncio.Lock()


def json_bytes(value: object) -> bytes:
    """Compact UTF-8 JSON of ``value``.

    A string with no UTF-8 form (a lone surrogate quoted from bad input) is written escaped,
    so that such input gets its 4xx, never a failure to answer.
    """
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()


def json_response(
    value: object,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """Serialize ``value`` as compact UTF-8 JSON."""
    return Response(
        json_bytes(value), status_code=status, headers=dict(headers or {}), media_type=media_type
    )


def error_response(error: ApiError) -> Response:
    """Render an ApiError as a TWIN error body with its status (and headers, if any)."""
    return json_response(error.body(), error.status, headers=error.headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    """Starlette handler for ApiError."""
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Turn Starlette's own 404 and 405 into TWIN error bodies."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if exc.status_code == 405:
        response = error_response(
            MethodNotAllowedError(f"{request.method} is not allowed on {request.url.path}")
        )
        # RFC 9110 section 15.5.6: a 405 names the methods the resource supports.
        allow = (exc.headers or {}).get("Allow")
        if allow:
            response.headers["allow"] = allow
        return response
    if exc.status_code == 404:
        return error_response(NotFoundError(f"there is no route {request.url.path}"))
    return json_response(
        {"name": "GeneralError", "message": str(exc.detail)}, status=exc.status_code
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Log an unexpected error and answer 500 without internals (no stack trace)."""
    LOG.exception("unexpected error on %s %s", request.method, request.url.path)
    return json_response(
        {"name": "GeneralError", "message": "the node failed to handle the request"}, 500
    )


@dataclass(frozen=True)
class BodyLimit:
    """What one route's request body may hold: bytes, JSON values, and time to arrive.

    The value bound (:func:`twin_spec.json_value_count`) is checked before parsing, so the
    parse of any body within a route's limits takes a bounded time and memory (about 0.5 us and
    100 bytes a value on the development machine).
    """

    bytes: int
    values: int
    seconds: float = BODY_TIMEOUT_SECONDS


async def read_body(request: Request, limit: BodyLimit, *, optional: bool = False) -> bytes:
    """Read a request body of JSON within ``limit`` (bytes and time), without parsing it."""
    # TWIN-CORE-053 "A node MUST answer 413 to a body over its limit and 415 to a body that is
    # not application/json, without changing state."
    declared = request.headers.get("content-length")
    if declared is not None and (
        len(declared) > 18 or (declared.isdigit() and int(declared) > limit.bytes)
    ):
        raise PayloadTooLargeError(
            f"the body is {declared[:20]} bytes, over the limit of {limit.bytes} bytes",
            limit=limit.bytes,
            code="bodyTooLarge",
        )
    chunks: list[bytes] = []
    size = 0
    try:
        # TWIN-CORE-062 "A node MUST bound the time a client takes to send its request
        # headers and its body, answering 408 or closing the connection past it ...".
        async with asyncio.timeout(limit.seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit.bytes:
                    raise PayloadTooLargeError(
                        f"the body is over the limit of {limit.bytes} bytes",
                        limit=limit.bytes,
                        code="bodyTooLarge",
                    )
                chunks.append(chunk)
    except TimeoutError:
        # The rest of the body may still come: the connection cannot carry another request.
        raise RequestTimeoutError(
            f"the body did not arrive within {limit.seconds:g} s", field="body"
        ).with_headers({"connection": "close"}) from None
    raw = b"".join(chunks)
    if not raw:
        if optional:
            return raw
        raise ValidationError("the request needs a JSON body", field="body")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaTypeError(
            f"the body must be application/json, not {media_type or 'unlabelled'}",
            field="header.content-type",
        )
    return raw


def parse_body(raw: bytes, limit: BodyLimit) -> JSONValue:
    """Parse a body strictly (I-JSON), once its JSON values are counted within ``limit``."""
    # TWIN-CORE-061 "A node MUST refuse, before parsing it, a request body over the
    # operation's byte limit or holding more JSON values than its value limit, with 413,
    # properties.code (bodyTooLarge, tooManyValues) and properties.limit ...".
    values = json_value_count(raw, limit.values)
    if values > limit.values:
        raise PayloadTooLargeError(
            f"the body holds {values} JSON values, over the limit of {limit.values}",
            limit=limit.values,
            code="tooManyValues",
        )
    try:
        return parse_json(raw)
    except CanonicalizationError as exc:
        # TWIN-CORE-060 "A node MUST answer a JSON body that breaks a limit of strict parsing
        # ... with 400 and properties.code naming the limit ..., never with a 5xx."
        code: dict[str, JSONValue] = {} if exc.limit is None else {"code": exc.limit.value}
        raise ValidationError(
            f"the body is not valid JSON: {exc.message}", field="body", **code
        ) from None
    except TwinSpecError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc.message}", field="body") from None


async def read_json(request: Request, limit: BodyLimit, *, optional: bool = False) -> JSONValue:
    """Read and parse a JSON body within ``limit``, strictly (I-JSON, no duplicate names)."""
    value, _size = await read_json_sized(request, limit, optional=optional)
    return value


async def read_json_sized(
    request: Request, limit: BodyLimit, *, optional: bool = False
) -> tuple[JSONValue, int]:
    """Read a JSON body like :func:`read_json`; return it with its size in bytes.

    A body over :data:`INLINE_PARSE_BYTES` is parsed only when no other such body is being
    parsed, after the loop has run whatever else was ready: the loop never spends more than
    one large parse between two turns.
    """
    raw = await read_body(request, limit, optional=optional)
    if not raw:
        return {}, 0
    if len(raw) <= INLINE_PARSE_BYTES:
        return parse_body(raw, limit), len(raw)
    async with _LARGE_PARSE:
        await asyncio.sleep(0)
        return parse_body(raw, limit), len(raw)


def body_object(value: JSONValue, *, allowed: set[str], required: set[str]) -> dict[str, Any]:
    """Check that the body is an object with the required members and no unknown ones."""
    # TWIN-CORE-054 "Bad input MUST never be answered with a 5xx and MUST leave state unchanged":
    # every handler checks its whole request before it submits anything to the ledger.
    if not isinstance(value, dict):
        raise ValidationError("the body must be a JSON object", field="body")
    for name in sorted(required - value.keys()):
        raise ValidationError(f"body.{name} is required", field=f"body.{name}")
    for name in sorted(value.keys() - allowed):
        raise ValidationError(
            f"body.{name} is not a member this operation takes", field=f"body.{name}"
        )
    return value


def member(body: Mapping[str, Any], name: str, kind: type[T], what: str) -> T:
    """Return ``body[name]`` if it has the right JSON type, else a 400 naming the member."""
    value = body.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValidationError(f"body.{name} must be {what}", field=f"body.{name}")
    return value
