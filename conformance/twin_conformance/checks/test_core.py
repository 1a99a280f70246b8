"""Core profile checks: health, info, login and bearer auth, the error format, limits.

Every response is also checked against the OpenAPI document by the client (TWIN-CORE-056,
and TWIN-CORE-040 for error bodies).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from twin_conformance._client import Exchange, TwinClient, fail, require
from twin_conformance._contract import load_contract
from twin_conformance._failures import status_cause
from twin_conformance._run import TwinState
from twin_conformance._target import token_from_cookies
from twin_conformance.checks._support import PLACEHOLDERS, fresh_login
from twin_spec import DidError, parse_did

pytestmark = pytest.mark.twin_profile("core")

OVERSIZED_BODY_BYTES = 17 * 1024 * 1024
# A JWT of the right shape signed by a key no node knows: a node must not accept it.
FOREIGN_TOKEN = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJkaWQ6dHdpbjoweDAwIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDAwMDAwMDB9."
    "c2lnbmF0dXJlLWJ5LWEta2V5LW5vLW5vZGUta25vd3Mtc2lnbmF0dXJlLWJ5LWEta2V5LW5vLW5vZGUta25vd3M"
)


def _is_did(value: str) -> bool:
    """Whether ``value`` is a DID by the spec core's syntax rules (TWIN-IDENTITY-001)."""
    try:
        parse_did(value)
    except DidError:
        return False
    return True


def _secured_writes() -> list[Any]:
    """Every write operation the document secures, each as a param marked with its profile."""
    contract = load_contract()
    params = []
    for operation in contract.operations:
        if (
            operation.secured
            and operation.method in ("POST", "PUT", "DELETE", "GET")
            and (operation.method != "GET" or "revoke" in operation.template)
        ):
            path = re.sub(
                r"\{([^}]+)\}",
                lambda match: PLACEHOLDERS.get(match.group(1), "x"),
                operation.template,
            )
            params.append(
                pytest.param(
                    operation.method,
                    path,
                    id=operation.operation_id,
                    marks=pytest.mark.twin_profile(operation.profile),
                )
            )
    return params


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-056")
def test_health_answers(twin: TwinClient) -> None:
    exchange = twin.get("/health")
    require(exchange.status == 200, "TWIN-CORE-056", f"GET /health answered {exchange.status}")


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-050")
def test_info_names_the_node_spec_version_and_profiles(
    twin: TwinClient, twin_state: TwinState
) -> None:
    # The contract check runs last, so that a missing member is blamed on TWIN-CORE-050.
    exchange = twin.get("/info", validate=False)
    require(exchange.status == 200, None, f"GET /info answered {exchange.status}")
    info = exchange.json()
    require(isinstance(info, dict), None, "GET /info is not an object")
    for member in ("name", "version", "specVersion"):
        require(
            isinstance(info.get(member), str) and info[member],
            None,
            f"GET /info has no non-empty string {member}",
        )
    profiles = info.get("profiles")
    require(
        isinstance(profiles, list) and "core" in profiles,
        None,
        f"GET /info profiles must be a list that includes core, not {profiles!r}",
    )
    if {"identity", "anchoring"} & set(profiles):
        node = info.get("nodeIdentity")
        require(
            isinstance(node, str) and _is_did(node),
            None,
            f"a node claiming identity or anchoring must give nodeIdentity as a DID, not {node!r}",
        )
    if twin.validator is not None:
        twin.validator(exchange, False)


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-056")
def test_spec_serves_an_openapi_31_document(twin: TwinClient) -> None:
    exchange = twin.get("/spec")
    require(exchange.status == 200, None, f"GET /spec answered {exchange.status}")
    document = exchange.json()
    require(
        isinstance(document, dict) and str(document.get("openapi", "")).startswith("3.1"),
        None,
        "GET /spec is not an OpenAPI 3.1 document",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-051", "TWIN-CORE-040")
def test_login_with_a_wrong_password_is_401(twin: TwinClient) -> None:
    exchange = twin.post(
        "/authentication/login",
        json_body={"email": "nobody@conformance.invalid", "password": "not the password"},
        expect_rejection=True,
    )
    require(
        exchange.status == 401,
        "TWIN-CORE-051",
        f"login with unknown credentials answered {exchange.status}, not 401",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-054")
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"email": "a@b.example", "password": ', id="truncated"),
        pytest.param(b"[1, 2, 3]", id="array"),
        pytest.param(b'{"email": 7, "password": []}', id="wrong-types"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
    ],
)
def test_malformed_login_body_is_400(twin: TwinClient, body: bytes) -> None:
    exchange = twin.post(
        "/authentication/login",
        content=body,
        headers={"content-type": "application/json"},
        expect_rejection=True,
    )
    require(
        exchange.status == 400,
        "TWIN-CORE-052",
        f"a malformed login body answered {exchange.status}, not 400",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-003")
def test_duplicate_member_names_are_refused(twin: TwinClient) -> None:
    exchange = twin.post(
        "/authentication/login",
        content=b'{"email": "a@b.example", "password": "x", "password": "y"}',
        headers={"content-type": "application/json"},
        expect_rejection=True,
    )
    require(
        exchange.status == 400,
        "TWIN-CORE-003",
        f"a body repeating a member name answered {exchange.status}, not 400",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-053")
def test_a_body_that_is_not_json_is_415(twin: TwinClient) -> None:
    exchange = twin.post(
        "/authentication/login",
        content=b"email=a@b.example&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
        expect_rejection=True,
    )
    require(
        exchange.status == 415,
        "TWIN-CORE-053",
        f"a form-encoded body answered {exchange.status}, not 415",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-053")
def test_an_oversized_body_is_413(twin: TwinClient) -> None:
    padding = b" " * OVERSIZED_BODY_BYTES
    exchange = twin.post(
        "/authentication/login",
        content=b'{"email": "a@b.example", "password": "x"' + padding + b"}",
        headers={"content-type": "application/json"},
        expect_rejection=True,
    )
    require(
        exchange.status == 413,
        "TWIN-CORE-053",
        f"a {OVERSIZED_BODY_BYTES} byte body answered {exchange.status}, not 413",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-040")
def test_an_unknown_route_is_404(twin: TwinClient) -> None:
    exchange = twin.get("/conformance-no-such-route/0", expect_rejection=True)
    require(
        exchange.status == 404,
        "TWIN-CORE-052",
        f"an unknown route answered {exchange.status}, not 404",
        status_cause("TWIN-CORE-052", 404, exchange.status),
    )
    body = exchange.json("TWIN-CORE-040")
    require(
        isinstance(body, dict) and isinstance(body.get("name"), str) and body["name"],
        "TWIN-CORE-040",
        "the 404 body has no error name",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-052")
def test_a_method_the_route_lacks_is_405(twin: TwinClient) -> None:
    exchange = twin.request("PUT", "/info", json_body={}, expect_rejection=True, validate=False)
    require(
        exchange.status == 405,
        "TWIN-CORE-052",
        f"PUT /info answered {exchange.status}, not 405",
        status_cause("TWIN-CORE-052", 405, exchange.status),
    )
    require(
        "get" in exchange.headers.get("allow", "").lower(),
        "TWIN-CORE-052",
        "the 405 answer does not list GET in Allow",
    )


@pytest.mark.twin_requirement("TWIN-CORE-051", "TWIN-CORE-054")
@pytest.mark.parametrize(("method", "path"), _secured_writes())
@pytest.mark.parametrize("token", ["none", "garbage", "foreign"])
def test_a_write_without_a_valid_token_is_401(
    twin: TwinClient, method: str, path: str, token: str
) -> None:
    tokens: dict[str, bool | str] = {
        "none": False,
        "garbage": "not-a-token",
        "foreign": FOREIGN_TOKEN,
    }
    auth = tokens[token]
    body = None if method in ("GET", "DELETE") else b"{}"
    headers = {"content-type": "application/json"} if body is not None else {}
    exchange = twin.request(
        method, path, content=body, headers=headers, auth=auth, expect_rejection=True
    )
    if exchange.status != 401:
        fail(
            "TWIN-CORE-051",
            f"{method} {path} with {token} token answered {exchange.status}, not 401",
        )


@pytest.mark.twin_requirement("TWIN-CORE-056")
@pytest.mark.twin_read_only
def test_login_answers_the_token_in_its_body(twin: TwinClient, twin_state: TwinState) -> None:
    target = twin_state.target
    if target is None or not (target.email and target.password):
        pytest.skip("the run has a token but no login credentials to log in with")
    exchange = twin.post(
        "/authentication/login",
        json_body={"email": target.email, "password": target.password},
        validate=False,
    )
    require(exchange.status == 200, "TWIN-CORE-051", f"login answered {exchange.status}")
    body = exchange.json("TWIN-CORE-056")
    token = body.get("token") if isinstance(body, dict) else None
    cookie = " (the token came only in a cookie)" if exchange.set_cookies else ""
    require(
        isinstance(token, str) and token,
        "TWIN-CORE-056",
        f"POST /authentication/login answered 200 with no token in its body{cookie}",
    )
    if twin.validator is not None:
        twin.validator(exchange, False)


def _refreshed_token(exchange: Exchange) -> str | None:
    """The new token a refresh answered, from its body or else its cookie."""
    try:
        body = json.loads(exchange.body)
    except (UnicodeDecodeError, ValueError):
        body = None
    token = body.get("token") if isinstance(body, dict) else None
    if isinstance(token, str) and token:
        return token
    cookie = token_from_cookies(exchange.set_cookies)
    return None if cookie is None else cookie[1]


@pytest.mark.twin_requirement("TWIN-CORE-051", "TWIN-CORE-065")
@pytest.mark.twin_read_only
def test_a_logged_out_token_is_refused(twin: TwinClient, twin_state: TwinState) -> None:
    """Log in (A), refresh (B), log A out: A and B are both refused (the session ended)."""
    token = fresh_login(twin, twin_state)
    refresh = twin.get("/authentication/refresh", auth=token)
    require(refresh.status == 200, None, f"refresh with a fresh token answered {refresh.status}")
    refreshed = _refreshed_token(refresh)
    logout = twin.get("/authentication/logout", params={"token": token})
    require(logout.status == 204, None, f"logout answered {logout.status}, not 204")
    again = twin.get("/authentication/refresh", auth=token, expect_rejection=True)
    require(
        again.status == 401,
        None,
        f"a logged-out token was answered {again.status} by refresh, not 401",
    )
    if refreshed is None or refreshed == token:
        return  # No second token of the session to try.
    derived = twin.get("/authentication/refresh", auth=refreshed, expect_rejection=True)
    require(
        derived.status == 401,
        "TWIN-CORE-065",
        f"a token refreshed before its session's logout was answered {derived.status} by "
        "refresh after the logout, not 401",
    )
