"""Core profile routes of the reference node: info, health, spec, auth, and the error format."""

from __future__ import annotations

import json
import os
import re
import stat

import httpx
import pytest
from openapi_spec_validator import validate

from tests.node_process import ADMIN_EMAIL, RunningNode
from twin_spec import (
    SPEC_VERSION,
    Ed25519SigningKey,
    check_error_body,
    did_key_from_public_key,
    parse_did_twin,
)


def assert_error(
    response: httpx.Response, status: int, name: str, field: str | None = None
) -> None:
    """The response has the status, the TWIN error shape, the name and (if given) the field."""
    assert response.status_code == status, response.text
    body = response.json()
    check_error_body(body)
    assert body["name"] == name, body
    if field is not None:
        assert body["properties"]["field"] == field, body


@pytest.mark.requirement("TWIN-CORE-050")
def test_info_names_the_spec_version_profiles_and_identity(client: httpx.Client) -> None:
    info = client.get("/info").json()
    assert info["specVersion"] == SPEC_VERSION
    assert info["profiles"] == ["core", "identity", "anchoring", "consensus", "documents"]
    parse_did_twin(info["nodeIdentity"])
    resolved = client.get(f"/identity/{info['nodeIdentity']}").json()
    methods = [method["id"] for method in resolved["assertionMethod"]]
    assert f"{info['nodeIdentity']}#immutable-proof-assertion" in methods


@pytest.mark.requirement("TWIN-CORE-070")
def test_every_operation_of_the_document_is_routed(client: httpx.Client) -> None:
    document = client.get("/spec").json()
    default_security = document.get("security")
    did_key = did_key_from_public_key(Ed25519SigningKey(bytes(32)).public_key)
    unrouted = []
    for template, item in document["paths"].items():
        for method in ("get", "post", "put", "delete"):
            operation = item.get(method)
            if operation is None:
                continue
            secured = bool(operation.get("security", default_security))
            if operation["operationId"] == "identityResolve":
                path = f"/identity/{did_key}"
            elif "{" in template and not secured:
                continue  # a public read by id may rightly be 404 for the placeholder
            else:
                path = re.sub(r"\{[^}]+\}", "x", template)
            body = b"{}" if method in ("post", "put") else None
            response = client.request(
                method.upper(), path, content=body, headers={"content-type": "application/json"}
            )
            # A secured operation without a token is 401; nothing here may be a 404.
            if response.status_code == 404 or (secured and response.status_code != 401):
                unrouted.append(f"{method.upper()} {template}: {response.status_code}")
    assert not unrouted, f"operations the node does not serve as documented: {unrouted}"


def test_root_and_health_answer(client: httpx.Client) -> None:
    assert client.get("/").json()["links"]["spec"] == "/spec"
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert {component["name"] for component in health["components"]} == {
        "Database",
        "Ledger",
        "Evaluate worker",
    }


def test_spec_is_a_self_contained_openapi_document(client: httpx.Client) -> None:
    document = client.get("/spec").json()
    validate(document)
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(document))
    assert refs
    outside = [ref for ref in refs if not ref.startswith("#/")]
    assert not outside, f"references the served document cannot resolve: {outside[:5]}"


@pytest.mark.requirement("TWIN-CORE-051")
def test_login_gives_a_token_that_opens_writes(node: RunningNode, client: httpx.Client) -> None:
    response = client.post(
        "/authentication/login", json={"email": ADMIN_EMAIL, "password": "wrong"}
    )
    assert_error(response, 401, "UnauthorizedError")
    token = node.login()
    assert client.post("/identity", headers={"authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.requirement("TWIN-CORE-051")
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt", "Bearer a.b.c"],
)
def test_writes_without_a_valid_token_are_401(
    client: httpx.Client, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = client.post("/immutable-proof", json={"document": {"a": 1}}, headers=headers)
    assert_error(response, 401, "UnauthorizedError")


@pytest.mark.requirement("TWIN-CORE-051")
def test_a_token_signed_by_another_key_or_expired_is_401(client: httpx.Client) -> None:
    from twin_spec import Ed25519SigningKey, encode_jwt

    forged = encode_jwt(
        {"alg": "EdDSA", "typ": "JWT"},
        {"sub": "did:twin:0x" + "00" * 32, "exp": 4_000_000_000, "iat": 0, "jti": "00"},
        Ed25519SigningKey.generate(),
    )
    response = client.post("/identity", headers={"authorization": f"Bearer {forged}"})
    assert_error(response, 401, "UnauthorizedError")


@pytest.mark.requirement("TWIN-CORE-051")
def test_refresh_and_logout(node: RunningNode, client: httpx.Client) -> None:
    token = node.login()
    refreshed = client.get("/authentication/refresh", headers={"authorization": f"Bearer {token}"})
    assert refreshed.status_code == 200
    assert refreshed.json()["token"] != token
    assert client.get("/authentication/logout", params={"token": token}).status_code == 204
    response = client.post("/identity", headers={"authorization": f"Bearer {token}"})
    assert_error(response, 401, "UnauthorizedError")
    # The refreshed token belongs to the same session, which the logout ended (TWIN-CORE-065).
    fresh = refreshed.json()["token"]
    response = client.post("/identity", headers={"authorization": f"Bearer {fresh}"})
    assert_error(response, 401, "UnauthorizedError")


@pytest.mark.requirement("TWIN-CORE-040", "TWIN-CORE-052")
def test_unknown_routes_and_methods_have_the_error_shape(client: httpx.Client) -> None:
    assert_error(client.get("/no/such/route"), 404, "NotFoundError")
    assert_error(client.put("/info"), 405, "MethodNotAllowedError")


@pytest.mark.requirement("TWIN-CORE-052", "TWIN-CORE-053")
@pytest.mark.parametrize(
    ("content", "content_type", "status", "name", "field"),
    [
        (b"{", "application/json", 400, "ValidationError", "body"),
        (b'{"document": {}, "document": {}}', "application/json", 400, "ValidationError", "body"),
        (b"[]", "application/json", 400, "ValidationError", "body"),
        (b"{}", "application/json", 400, "ValidationError", "body.document"),
        (b'{"document": 1}', "application/json", 400, "ValidationError", "body.document"),
        (b'{"document": {}, "extra": 1}', "application/json", 400, "ValidationError", "body.extra"),
        (b'{"document": {}}', "text/plain", 415, "UnsupportedMediaTypeError", None),
        (b'{"document": {"n": NaN}}', "application/json", 400, "ValidationError", "body"),
        (b"\xff\xfe", "application/json", 400, "ValidationError", "body"),
    ],
)
def test_bad_bodies_get_the_right_status_and_name_the_field(
    admin: httpx.Client,
    content: bytes,
    content_type: str,
    status: int,
    name: str,
    field: str | None,
) -> None:
    response = admin.post(
        "/immutable-proof", content=content, headers={"content-type": content_type}
    )
    assert_error(response, status, name, field)


@pytest.mark.requirement("TWIN-CORE-053")
def test_a_body_over_the_limit_is_413(admin: httpx.Client) -> None:
    big = json.dumps({"document": {"blob": "x" * (1024 * 1024 + 1)}}).encode()
    assert_error(
        admin.post("/immutable-proof", content=big, headers={"content-type": "application/json"}),
        413,
        "PayloadTooLargeError",
    )


def test_secrets_on_disk_are_owner_only(node: RunningNode) -> None:
    mode = stat.S_IMODE(os.stat(node.data_dir).st_mode)
    assert mode == 0o700
    for path in node.data_dir.iterdir():
        if path.name.startswith("node.sqlite"):
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
