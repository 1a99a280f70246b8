"""Core routes: root, info, health, the OpenAPI document, login, refresh and logout."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_reference._errors import UnauthorizedError
from twin_reference._http import body_object, json_response, member, read_json
from twin_reference._node import Node
from twin_reference._openapi import served_openapi
from twin_spec import SPEC_VERSION

PROFILES = ["core", "identity", "anchoring", "consensus", "documents"]
STALL_WARNING_SECONDS = 5.0
"""Transactions that wait this long without a commit make the ledger's health a warning..."""
STALL_ERROR_SECONDS = 30.0
"""... and this long (or the commit timeout) an error."""
LOGIN_BODY_BYTES = 8 * 1024
"""An email and a password: 8 KiB is plenty, and keeps a public route's parse trivial."""
VERSION = "0.1.0"
WORKER_DEATHS_WARNING = 3
"""/health warns once the evaluate worker died on this many requests in a row."""


def node_of(request: Request) -> Node:
    """The running node, kept in the application state."""
    node: Node = request.app.state.node
    return node


def bearer_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer``, or else from the access_token cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("the Authorization header must be 'Bearer <token>'")
        return token.strip()
    return request.cookies.get("access_token")


def authenticate(request: Request) -> str:
    """Return the caller's identity, or raise 401."""
    token = bearer_token(request)
    if token is None:
        raise UnauthorizedError("this operation needs a bearer token (POST /authentication/login)")
    identity, _jti, _exp = node_of(request).tokens.check(token)
    return identity


async def request_body(
    request: Request, *, allowed: set[str], required: set[str]
) -> dict[str, Any]:
    """Read the JSON body (within the node's limit) as an object of the allowed members."""
    limit = node_of(request).settings.body_limit
    return body_object(await read_json(request, limit), allowed=allowed, required=required)


async def root(request: Request) -> Response:
    """Name the node and point at its documents."""
    return json_response(
        {
            "name": node_of(request).settings.node_name,
            "version": VERSION,
            "links": {"info": "/info", "health": "/health", "spec": "/spec"},
        }
    )


async def info(request: Request) -> Response:
    """Name, version, spec version, claimed profiles and the node's identity."""
    node = node_of(request)
    # TWIN-CORE-050 "GET /info MUST name the spec version the node implements and the profiles
    # it claims; the harness tests only the claimed profiles."
    return json_response(
        {
            "name": node.settings.node_name,
            "version": VERSION,
            "specVersion": SPEC_VERSION,
            "profiles": PROFILES,
            "nodeIdentity": node.node_did,
        }
    )


async def health(request: Request) -> Response:
    """Report the database, the ledger and (in a committee of several) the peers."""
    node = node_of(request)
    # TWIN-CORE-066 "GET /health SHOULD report warning or error, naming the component and the
    # reason in details, when the ledger has not committed for a while although writes wait,
    # when the node cannot reach a quorum of its committee, and when its storage fails."
    components: list[dict[str, Any]] = [
        _database_health(node),
        _ledger_health(node),
        _worker_health(node),
    ]
    if node.committee.size > 1:
        components.append(_peers_health(node))
    statuses = {component["status"] for component in components}
    worst = next(status for status in ("error", "warning", "ok") if status in statuses | {"ok"})
    return json_response({"status": worst, "components": components})


def _component(name: str, status: str = "ok", details: str | None = None) -> dict[str, Any]:
    component: dict[str, Any] = {"name": name, "status": status}
    if details is not None:
        component["details"] = details
    return component


def _database_health(node: Node) -> dict[str, Any]:
    try:
        node.store.one("SELECT 1")
    except Exception as exc:
        return _component("Database", "error", f"the database cannot be read: {exc}")
    failure = node.ledger.storage_error
    if failure is not None:
        return _component("Database", "error", f"the database refuses writes: {failure}")
    return _component("Database")


def _ledger_health(node: Node) -> dict[str, Any]:
    ledger = node.ledger
    if not ledger.running:
        return _component("Ledger", "error", "the validator is not running")
    if ledger.fault is not None:
        return _component("Ledger", "error", ledger.fault)
    if ledger.loop_error is not None and ledger.storage_error is None:
        return _component("Ledger", "error", f"the ledger loop fails: {ledger.loop_error}")
    if ledger.beyond_retention is not None:
        return _component(
            "Ledger",
            "error",
            f"the peers committed past commit {ledger.beyond_retention - 1} and no longer hold"
            " the blocks of the next (below their block retention): restart the node to catch up"
            " from their certified checkpoints",
        )
    stalled = ledger.seconds_without_progress()
    if stalled >= STALL_ERROR_SECONDS or stalled >= node.settings.commit_timeout_seconds:
        return _component(
            "Ledger",
            "error",
            f"no commit for {stalled:.0f} s while {ledger.waiting} transactions wait",
        )
    if stalled >= max(STALL_WARNING_SECONDS, 3 * node.settings.leader_timeout_seconds):
        return _component(
            "Ledger",
            "warning",
            f"no commit for {stalled:.0f} s while {ledger.waiting} transactions wait",
        )
    if not node.ready:
        # TWIN-CONSENSUS-111: until the committee has committed the node's own DID, the node
        # is up but not ready (its peers may not be listening yet).
        return _component("Ledger", "warning", "waiting for the committee to commit the node's DID")
    return _component("Ledger")


def _worker_health(node: Node) -> dict[str, Any]:
    """The evaluate worker: a warning once it died on several requests in a row.

    Each death answers that request 503 and starts a new worker; one that dies again and
    again (it cannot start, or every body kills it) leaves the public evaluate route unusable.
    """
    deaths = node.evaluator.deaths_in_a_row
    if deaths >= WORKER_DEATHS_WARNING:
        return _component(
            "Evaluate worker",
            "warning",
            f"the evaluate worker process died on the last {deaths} evaluate requests",
        )
    return _component("Evaluate worker")


def _peers_health(node: Node) -> dict[str, Any]:
    unreachable = node.ledger.unreachable_peers()
    if not node.ledger.quorum_reachable():
        return _component(
            "Peers",
            "error",
            f"a quorum of the committee is unreachable: validators {unreachable} do not answer",
        )
    return _component("Peers")


async def spec(request: Request) -> Response:
    """The node's OpenAPI document, with the JSON Schemas it refers to bundled in."""
    return json_response(served_openapi())


async def login(request: Request) -> Response:
    """Check email and password; answer a bearer token and set it as a cookie too."""
    node = node_of(request)
    address = request.client.host if request.client is not None else "unknown"
    await node.logins.check_address(address)
    raw = await read_json(request, node.settings.small_body_limit(LOGIN_BODY_BYTES, 1024))
    body = body_object(raw, allowed={"email", "password"}, required={"email", "password"})
    email = member(body, "email", str, "a string")
    password = member(body, "password", str, "a string")
    identity = await node.logins.login(email, password, address)
    token, expiry = node.tokens.issue(identity)
    response = json_response({"token": token, "expiry": expiry})
    response.set_cookie(
        "access_token",
        token,
        max_age=node.tokens.lifetime_seconds,
        httponly=True,
        samesite="strict",
        path="/",
    )
    return response


async def refresh(request: Request) -> Response:
    """Trade a valid token for a fresh one."""
    node = node_of(request)
    token = request.query_params.get("token") or bearer_token(request)
    if token is None:
        raise UnauthorizedError("refresh needs a token (query token, bearer or cookie)")
    identity, session, _exp = node.tokens.check(token)
    # The fresh token belongs to the same session: a logout with either ends both.
    fresh, expiry = node.tokens.issue(identity, session)
    return json_response({"token": fresh, "expiry": expiry})


async def logout(request: Request) -> Response:
    """End the session of the token given in the query (or the cookie); 204 either way."""
    node = node_of(request)
    token = request.query_params.get("token") or request.cookies.get("access_token")
    if token:
        try:
            _identity, session, _expiry = node.tokens.check(token)
        except UnauthorizedError:
            pass
        else:
            node.tokens.revoke(session)
    response = Response(status_code=204)
    response.delete_cookie("access_token", path="/")
    return response


ROUTES = [
    Route("/", root, methods=["GET"]),
    Route("/info", info, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/spec", spec, methods=["GET"]),
    Route("/authentication/login", login, methods=["POST"]),
    Route("/authentication/refresh", refresh, methods=["GET"]),
    Route("/authentication/logout", logout, methods=["GET"]),
]
