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
from tests.broken_variants._fault import fault

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


async def health_with_uptime(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer GET /health with an ``uptimeSeconds`` member the document does not allow."""
    response = await context.forward(request)
    body = response.json()
    if response.status == 200 and isinstance(body, dict):
        return with_json(response, {**body, "uptimeSeconds": 42})
    return response


async def logout_not_served(request: HttpRequest, context: Context) -> HttpResponse:
    """Serve no GET /authentication/logout: 404 as for an unknown route; Allow keeps HEAD only."""
    if request.method == "GET":
        return json_response({"name": "NotFoundError", "message": f"no route {request.path}"}, 404)
    response = await context.forward(request)
    response.headers = [
        (name, ", ".join(m for m in value.split(", ") if m != "GET"))
        if name == "allow"
        else (name, value)
        for name, value in response.headers
    ]
    return response


FAULTS = (
    fault(
        "error-without-name",
        "core",
        "TWIN-CORE-040",
        "every 4xx error body lacks its name member",
        rules=(rule(ANY_METHOD, ".*", error_without_name),),
    ),
    fault(
        "info-without-spec-version",
        "core",
        "TWIN-CORE-050",
        "GET /info answers without specVersion, which its schema requires: the answer breaks "
        "the contract (TWIN-CORE-056) too",
        rules=(rule("GET", "/info", info_without_spec_version),),
        also=("TWIN-CORE-056",),
    ),
    fault(
        "writes-without-token",
        "core",
        "TWIN-CORE-051",
        "a write with a missing or refused bearer token is performed as the admin's; the "
        "writes it lets through change the DID that later negative checks use, which then "
        "answer other statuses (TWIN-CORE-052)",
        rules=(rule("POST PUT DELETE", "/.*", writes_without_token),),
        also=("TWIN-CORE-052",),
        # Core has no write of its own: the token checks run on the identity routes.
        run_profile="identity",
    ),
    fault(
        "logout-keeps-token",
        "core",
        "TWIN-CORE-051",
        "logout answers 204 but the token stays valid",
        rules=(rule("GET", "/authentication/logout", logout_keeps_token),),
    ),
    fault(
        "media-type-not-enforced",
        "core",
        "TWIN-CORE-053",
        "a request body is read as JSON whatever its Content-Type (no 415)",
        rules=(rule("POST PUT", "/.*", media_type_not_enforced),),
    ),
    fault(
        "duplicate-members-accepted",
        "core",
        "TWIN-CORE-003",
        "a JSON body repeating a member name is accepted (the last value wins)",
        rules=(rule("POST PUT", "/.*", duplicate_members_accepted),),
    ),
    fault(
        "method-not-allowed-as-404",
        "core",
        "TWIN-CORE-052",
        "a method the route lacks is answered 404 without Allow, not 405",
        rules=(rule(ANY_METHOD, "/.*", method_not_allowed_as_404),),
    ),
    fault(
        "health-with-undocumented-member",
        "core",
        "TWIN-CORE-056",
        "GET /health answers an uptimeSeconds member its schema does not allow",
        rules=(rule("GET", "/health", health_with_uptime),),
    ),
    fault(
        "logout-not-served",
        "core",
        "TWIN-CORE-070",
        "GET /authentication/logout is not served (404 as for an unknown route)",
        rules=(rule(ANY_METHOD, "/authentication/logout", logout_not_served),),
        max_failures=1,
    ),
)
