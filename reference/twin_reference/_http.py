"""Reading requests and writing responses: body limits, media types, strict JSON, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from twin_reference._errors import (
    ApiError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from twin_spec import CanonicalizationError, JSONValue, TwinSpecError, parse_json

LOG = logging.getLogger("twin_reference")
T = TypeVar("T")


def json_response(
    value: object,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """Serialize ``value`` as compact UTF-8 JSON.

    A string with no UTF-8 form (a lone surrogate quoted from bad input) is written escaped,
    so that such input gets its 4xx, never a failure to answer.
    """
    try:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        body = json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=media_type)


def error_response(error: ApiError) -> Response:
    """Render an ApiError as a TWIN error body with its status."""
    return json_response(error.body(), error.status)


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


async def read_json(request: Request, limit: int, *, optional: bool = False) -> JSONValue:
    """Read a JSON body of at most ``limit`` bytes, strictly (I-JSON, no duplicate names)."""
    value, _size = await read_json_sized(request, limit, optional=optional)
    return value


async def read_json_sized(
    request: Request, limit: int, *, optional: bool = False
) -> tuple[JSONValue, int]:
    """Read a JSON body like :func:`read_json`; return it with its size in bytes."""
    # TWIN-CORE-053 "A node MUST answer 413 to a body over its limit and 415 to a body that is
    # not application/json, without changing state."
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(
            f"the body is {declared} bytes, over the limit of {limit} bytes", limit=limit
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over the limit of {limit} bytes", limit=limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        if optional:
            return {}, 0
        raise ValidationError("the request needs a JSON body", field="body")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaTypeError(
            f"the body must be application/json, not {media_type or 'unlabelled'}",
            field="header.content-type",
        )
    try:
        return parse_json(raw), len(raw)
    except CanonicalizationError as exc:
        # TWIN-CORE-060 "A node MUST answer a JSON body that breaks a limit of strict parsing
        # ... with 400 and properties.code naming the limit ..., never with a 5xx."
        code: dict[str, JSONValue] = {} if exc.limit is None else {"code": exc.limit.value}
        raise ValidationError(
            f"the body is not valid JSON: {exc.message}", field="body", **code
        ) from None
    except TwinSpecError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc.message}", field="body") from None


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
