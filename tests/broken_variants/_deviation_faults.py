"""Variants that deviate in ways the harness must handle as a real client would, and traps.

Some deviations are allowed by the spec (compressed answers, a proof signed in the background,
DIDs of another method), so a variant with them must be judged conformant. Others are one
divergence that must show as one failure (a token only in a cookie, a route not served), or a
target the harness must refuse to judge (404 everywhere) or must judge in bounded time (one
operation that never answers).
"""

from __future__ import annotations

import asyncio
import gzip
import os
import time

import brotli

from tests.broken_variants._asgi import (
    Context,
    Handler,
    HttpRequest,
    HttpResponse,
    json_response,
    rule,
    with_json,
)
from tests.broken_variants._fault import CONFORMANT, COULD_NOT_RUN, fault

ANY_METHOD = "GET POST PUT DELETE PATCH"
BACKGROUND_SIGNING_SECONDS = 2.0
"""How long the background-signing variant answers a new proof without proof and receipt."""
BUSY_ANSWERS = 2
"""How many evaluate requests the busy-at-first variant answers 503 before it serves them."""
THROTTLE_EVERY = 20
"""The gateway-throttled variant answers every THROTTLE_EVERY-th request but logins 429."""
THROTTLED_RETRY_AFTER = "60"
"""What the evaluate-throttled variant's 429 asks: longer than the harness waits (SUITE-024)."""


def _compressed(coding: str) -> Handler:
    """A handler that compresses every answer with ``coding`` when the client accepts it."""

    async def handler(request: HttpRequest, context: Context) -> HttpResponse:
        response = await context.forward(request)
        accepted = request.headers.get("accept-encoding", "")
        if coding not in accepted or not response.body:
            return response
        body = gzip.compress(response.body) if coding == "gzip" else brotli.compress(response.body)
        headers = [(k, v) for k, v in response.headers if k not in ("content-length",)]
        headers += [("content-encoding", coding), ("vary", "accept-encoding")]
        return HttpResponse(response.status, headers, body)

    handler.__doc__ = f"Compress every answer with {coding} when the request accepts it."
    return handler


def signed_in_background(seconds: float) -> Handler:
    """A handler answering a proof without proof and receipt for ``seconds`` after its 201."""

    async def handler(request: HttpRequest, context: Context) -> HttpResponse:
        response = await context.forward(request)
        created = context.memory.setdefault("created", {})
        if request.method == "POST" and response.status == 201:
            location = dict(response.headers).get("location", "")
            created[location] = time.monotonic()
            return response
        proof_id = request.path.removeprefix("/immutable-proof/")
        started = created.get(proof_id)
        body = response.json()
        if (
            request.method == "GET"
            and started is not None
            and time.monotonic() - started < seconds
            and response.status == 200
            and isinstance(body, dict)
        ):
            body.pop("proof", None)
            body.pop("immutableReceipt", None)
            return with_json(response, body)
        return response

    handler.__doc__ = f"Answer a new proof without proof and receipt for {seconds:.0f} s."
    return handler


proof_signed_in_background = signed_in_background(BACKGROUND_SIGNING_SECONDS)
"""Answer a proof without proof and receipt for a while after its 201 (TWIN node 0.0.2)."""


async def login_token_in_cookie_only(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer login with the token in an access_token cookie only, as the TWIN node 0.0.2."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict) or "token" not in body:
        return response
    token = body.pop("token")
    answer = with_json(response, body)
    answer.headers.append(("set-cookie", f"access_token={token}; HttpOnly; Path=/"))
    return answer


async def resolution_hangs(request: HttpRequest, context: Context) -> HttpResponse:
    """Never answer the resolution of a DID of the node's own method (did:key still works)."""
    if request.path.startswith("/identity/did:key:"):
        return await context.forward(request)
    await asyncio.sleep(3600)
    return await context.forward(request)


async def not_found_everywhere(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer 404 with an HTML page to everything, as a wrong port or base path does."""
    return HttpResponse(
        404, [("content-type", "text/html")], b"<html><body>Not Found</body></html>"
    )


async def anchoring_errors_without_name(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer the anchoring routes' error bodies without ``name`` (the other routes are fine)."""
    response = await context.forward(request)
    body = response.json()
    if response.status >= 400 and isinstance(body, dict) and "name" in body:
        del body["name"]
        return with_json(response, body)
    return response


async def route_not_served(request: HttpRequest, context: Context) -> HttpResponse:
    """Serve no DELETE /verifiable/{id}: 404 as for an unknown route; Allow no longer lists it."""
    if request.method == "DELETE":
        return json_response({"name": "NotFoundError", "message": f"no route {request.path}"}, 404)
    response = await context.forward(request)
    if response.status == 405:
        response.headers = [
            (name, ", ".join(m for m in value.split(", ") if m != "DELETE"))
            if name == "allow"
            else (name, value)
            for name, value in response.headers
        ]
    return response


async def identity_create_drops_id(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a created identity's document without its id (every identity check needs it)."""
    response = await context.forward(request)
    body = response.json()
    if response.status == 200 and isinstance(body, dict):
        body.pop("id", None)
        return with_json(response, body)
    return response


def _unavailable() -> HttpResponse:
    """503 with Retry-After: 1, as the reference node answers when its worker is full."""
    response = json_response(
        {"name": "ServiceUnavailableError", "message": "the node is busy; try again later"}, 503
    )
    response.headers.append(("retry-after", "1"))
    return response


async def evaluate_unavailable(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer every evaluate request 503 with Retry-After: 1 (a worker that never starts)."""
    return _unavailable()


async def evaluate_throttled(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer every evaluate request 429 asking Retry-After: 60 (a gateway's rate limit)."""
    response = json_response(
        {"name": "TooManyRequestsError", "message": "too many requests; try again later"}, 429
    )
    response.headers.append(("retry-after", THROTTLED_RETRY_AFTER))
    return response


async def every_nth_throttled(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer every THROTTLE_EVERY-th request 429 with Retry-After: 1 (a gateway's rate limit)."""
    counted = context.memory.setdefault("requests", [0])
    counted[0] += 1
    if counted[0] % THROTTLE_EVERY:
        return await context.forward(request)
    response = json_response(
        {"name": "TooManyRequestsError", "message": "too many requests; try again in 1 s"}, 429
    )
    response.headers.append(("retry-after", "1"))
    return response


async def evaluate_busy_at_first(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer the first BUSY_ANSWERS evaluate requests 503 with Retry-After: 1, then serve."""
    answered = context.memory.setdefault("busy", [0])
    if answered[0] < BUSY_ANSWERS:
        answered[0] += 1
        return _unavailable()
    return await context.forward(request)


def _issued(value: str) -> None:
    """Append a secret the node issued to $TWIN_ISSUED_SECRETS_FILE (the secrets test reads it)."""
    path = os.environ.get("TWIN_ISSUED_SECRETS_FILE")
    if path and value:
        with open(path, "a", encoding="utf-8") as issued:
            issued.write(value + "\n")


async def tokens_recorded(request: HttpRequest, context: Context) -> HttpResponse:
    """Set each token it answers as a cookie as well, and record both as issued secrets."""
    response = await context.forward(request)
    body = response.json()
    token = body.get("token") if isinstance(body, dict) else None
    if response.status == 200 and isinstance(token, str):
        _issued(token)
        response.headers.append(("set-cookie", f"access_token={token}; HttpOnly; Path=/"))
    for name, value in response.headers:
        if name == "set-cookie":
            _issued(value.split("=", 1)[1].split(";", 1)[0])
    return response


def patch_did_method_entity_storage() -> None:
    """Make the node mint and resolve did:entity-storage DIDs, as the TWIN node 0.0.2 does."""
    from twin_reference import _identity
    from twin_spec import _did_twin

    method = "entity-storage"
    _did_twin.DID_TWIN_METHOD = method
    _did_twin._PREFIX = f"did:{method}:0x"
    setattr(_identity, "DID_TWIN_METHOD", method)  # noqa: B010 - the imported name, rebound


DEVIATIONS = (
    # -- deviations the spec allows: judged conformant ----------------------------------------
    fault(
        "gzip-responses",
        "core",
        None,
        "compresses every answer with gzip when the request accepts it",
        rules=(rule(ANY_METHOD, ".*", _compressed("gzip")),),
        run_profile="full",
        expect=CONFORMANT,
    ),
    fault(
        "brotli-responses",
        "core",
        None,
        "compresses every answer with brotli when the request accepts it",
        rules=(rule(ANY_METHOD, ".*", _compressed("br")),),
        run_profile="full",
        expect=CONFORMANT,
    ),
    fault(
        "proof-signed-in-background",
        "anchoring",
        None,
        "answers a new immutable proof without proof and receipt for 2 s after its 201",
        rules=(
            rule("POST", "/immutable-proof", proof_signed_in_background),
            rule("GET", "/immutable-proof/[^/]+", proof_signed_in_background),
        ),
        expect=CONFORMANT,
    ),
    fault(
        "did-method-entity-storage",
        "identity",
        None,
        "mints and resolves did:entity-storage DIDs, as the TWIN node 0.0.2 does",
        patch=patch_did_method_entity_storage,
        run_profile="full",
        expect=CONFORMANT,
    ),
    fault(
        "evaluate-busy-at-first",
        "consensus",
        None,
        f"answers its first {BUSY_ANSWERS} evaluate requests 503 with Retry-After: 1 (busy)",
        rules=(rule("POST", "/consensus/evaluate", evaluate_busy_at_first),),
        run_profile="consensus",
        expect=CONFORMANT,
    ),
    fault(
        "evaluate-throttled",
        "consensus",
        None,
        f"answers every evaluate request 429 with Retry-After: {THROTTLED_RETRY_AFTER}, longer "
        "than the harness waits: the check that met it did not run, its other uses blocked, "
        "nothing failed (SUITE-024)",
        rules=(rule("POST", "/consensus/evaluate", evaluate_throttled),),
        run_profile="consensus",
        expect=COULD_NOT_RUN,
    ),
    fault(
        "gateway-throttled",
        "core",
        None,
        f"answers every {THROTTLE_EVERY}th request but logins 429 with Retry-After: 1, as a "
        "rate-limiting gateway does: waited out, by the checks and by fuzzing (SUITE-024)",
        rules=(rule(ANY_METHOD, "(?!/authentication/login$).*", every_nth_throttled),),
        run_profile="core",
        fuzz_examples=5,
        expect=CONFORMANT,
    ),
    # -- one divergence, one failure ----------------------------------------------------------
    fault(
        "evaluate-unavailable",
        "consensus",
        "TWIN-CORE-070",
        "answers every evaluate request 503 with Retry-After: 1: one failure, its other uses "
        "blocked",
        rules=(rule("POST", "/consensus/evaluate", evaluate_unavailable),),
        max_failures=1,
    ),
    fault(
        "login-token-in-cookie-only",
        "core",
        "TWIN-CORE-056",
        "login answers the token only in an access_token cookie, as the TWIN node 0.0.2",
        rules=(rule("POST", "/authentication/login", login_token_in_cookie_only),),
        run_profile="full",
        max_failures=1,
    ),
    fault(
        "route-not-served",
        "anchoring",
        "TWIN-CORE-070",
        "DELETE /verifiable/{id} is not served (404 as for an unknown route)",
        rules=(rule(ANY_METHOD, "/verifiable/[^/]+", route_not_served),),
        max_failures=1,
    ),
    fault(
        "identity-create-drops-id",
        "identity",
        "TWIN-IDENTITY-014",
        "POST /identity answers the new DID document without its id: every identity check "
        "that needs a new DID is blocked by the one prerequisite that failed",
        rules=(rule("POST", "/identity", identity_create_drops_id),),
        max_failures=1,
    ),
    fault(
        "anchoring-errors-without-name",
        "anchoring",
        "TWIN-CORE-040",
        "only the anchoring routes' error bodies lack name: anchoring is not conformant",
        rules=(
            rule(ANY_METHOD, "/(immutable-proof|verifiable)(/.*)?", anchoring_errors_without_name),
        ),
    ),
    fault(
        "tokens-recorded",
        "core",
        None,
        "sets every token it issues as a cookie too, and records each in "
        "$TWIN_ISSUED_SECRETS_FILE (for the secrets test)",
        rules=(
            rule("POST", "/authentication/login", tokens_recorded),
            rule("GET", "/authentication/refresh", tokens_recorded),
        ),
        run_profile="full",
        expect=CONFORMANT,
    ),
    # -- targets the harness must not judge, or must judge in bounded time --------------------
    fault(
        "not-found-everywhere",
        "core",
        None,
        "answers 404 (an HTML page) to everything, as a wrong port or base path does",
        rules=(rule(ANY_METHOD, ".*", not_found_everywhere),),
        expect=COULD_NOT_RUN,
    ),
    fault(
        "resolution-hangs",
        "identity",
        "TWIN-IDENTITY-014",
        "never answers the resolution of a DID of its own method: one failure, the other "
        "uses of resolution blocked",
        rules=(rule("GET", "/identity/did:[^/]+", resolution_hangs),),
        max_failures=1,
    ),
)
"""Variants about the harness itself: deviations it must handle, traps it must not fall in."""
