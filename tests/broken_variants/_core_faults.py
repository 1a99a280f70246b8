"""Faults of the core profile: error shape, /info, bearer auth, media types, I-JSON, statuses."""

from __future__ import annotations

import json
import os
from dataclasses import replace

from tests.broken_variants._asgi import (
    Context,
    HttpRequest,
    HttpResponse,
    json_response,
    rule,
    with_json,
)

ANY_METHOD = "GET POST PUT DELETE PATCH"
# Writes that need a token: everything but login and proof verification (TWIN-CORE-051).
UNSECURED_WRITES = {"/authentication/login", "/identity/proof/verify"}


async def error_without_name(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer every 4xx error body without its ``name`` member."""
    response = await context.forward(request)
    body = response.json()
    if 400 <= response.status < 500 and isinstance(body, dict) and "name" in body:
        del body["name"]
        return with_json(response, body)
    return response


async def info_without_spec_version(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer GET /info without ``specVersion``."""
    response = await context.forward(request)
    body = response.json()
    if response.status == 200 and isinstance(body, dict):
        body.pop("specVersion", None)
        return with_json(response, body)
    return response


async def _admin_token(context: Context, *, fresh: bool = False) -> str:
    """A token of the node's admin user, from a login through the node itself (cached)."""
    if fresh or "admin-token" not in context.memory:
        password = os.environ.get("TWIN_NODE_PASSWORD")
        if password is None:
            raise RuntimeError("the writes-without-token variant needs $TWIN_NODE_PASSWORD")
        email = os.environ.get("TWIN_NODE_ADMIN_EMAIL", "admin@twin.example")
        login = await context.forward(
            HttpRequest(
                "POST",
                "/authentication/login",
                headers={"content-type": "application/json"},
                body=json.dumps({"email": email, "password": password}).encode(),
            )
        )
        context.memory["admin-token"] = str(login.json()["token"])
    return str(context.memory["admin-token"])


async def writes_without_token(request: HttpRequest, context: Context) -> HttpResponse:
    """Accept a write whose token is missing or refused, as if the admin had sent it."""
    response = await context.forward(request)
    if response.status != 401 or request.path in UNSECURED_WRITES:
        return response
    for fresh in (False, True):
        token = await _admin_token(context, fresh=fresh)
        response = await context.forward(request.with_headers(authorization=f"Bearer {token}"))
        if response.status != 401:
            break
    return response


async def media_type_not_enforced(request: HttpRequest, context: Context) -> HttpResponse:
    """Read every request body as JSON, whatever its Content-Type says (no 415)."""
    if request.body:
        request = request.with_headers(content_type="application/json")
    return await context.forward(request)


async def duplicate_members_accepted(request: HttpRequest, context: Context) -> HttpResponse:
    """Parse JSON bodies leniently: a repeated member name keeps its last value (no 400)."""
    repeated = False

    def last_wins(pairs: list[tuple[str, object]]) -> dict[str, object]:
        """Build the object as a lenient parser does, noting a repeated name."""
        nonlocal repeated
        repeated = repeated or len({name for name, _value in pairs}) != len(pairs)
        return dict(pairs)

    try:
        value = json.loads(request.body.decode("utf-8"), object_pairs_hook=last_wins)
    except ValueError:
        return await context.forward(request)
    if repeated:
        relaxed = json.dumps(value, ensure_ascii=False).encode()
        request = replace(request, body=relaxed)
    return await context.forward(request)


async def logout_keeps_token(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer logout 204 without revoking the token."""
    return HttpResponse(204, [("set-cookie", "access_token=; Max-Age=0; Path=/")])


async def method_not_allowed_as_404(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a method the route lacks with 404 instead of 405 and Allow."""
    response = await context.forward(request)
    if response.status != 405:
        return response
    return json_response(
        {"name": "NotFoundError", "message": f"there is no route {request.path}"}, 404
    )


RULES = {
    "error-without-name": (rule(ANY_METHOD, ".*", error_without_name),),
    "info-without-spec-version": (rule("GET", "/info", info_without_spec_version),),
    "writes-without-token": (rule("POST PUT DELETE", "/.*", writes_without_token),),
    "media-type-not-enforced": (rule("POST PUT", "/.*", media_type_not_enforced),),
    "duplicate-members-accepted": (rule("POST PUT", "/.*", duplicate_members_accepted),),
    "logout-keeps-token": (rule("GET", "/authentication/logout", logout_keeps_token),),
    "method-not-allowed-as-404": (rule(ANY_METHOD, "/.*", method_not_allowed_as_404),),
}
