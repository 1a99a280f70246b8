"""Presentation and profile routes of the reference node, against a real node process."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import httpx
import pytest

from tests.reference.test_core_routes import assert_error
from tests.reference.test_identity_routes import add_method
from twin_reference._ledger_codec import unpack_text
from twin_spec import decode_jwt, verify_presentation_jwt

PRIVATE_MARKER = "private-telephone-+254-700-000-183"


def _issue(admin: httpx.Client, issuer: str, subject: str, index: int | None = None) -> str:
    body: dict[str, Any] = {"subject": {"id": subject, "type": "Permit", "country": "KE"}}
    if index is not None:
        body["revocationIndex"] = index
    response = admin.post(f"/identity/{issuer}/verifiable-credential/assert", json=body)
    assert response.status_code == 200, response.text
    token = response.json()["jwt"]
    assert isinstance(token, str)
    return token


@pytest.fixture
def parties(admin: httpx.Client) -> tuple[str, str]:
    """An issuer DID with an assertion key and a holder DID with an authentication key."""
    issuer = admin.post("/identity").json()["id"]
    holder = admin.post("/identity").json()["id"]
    add_method(admin, issuer, "assert")
    add_method(admin, holder, "auth", "authentication")
    add_method(admin, holder, "sign")
    return issuer, holder


def _present(admin: httpx.Client, holder: str, credentials: list[str], **extra: Any) -> Any:
    return admin.post(
        f"/identity/{holder}/verifiable-presentation/auth",
        json={"verifiableCredentials": credentials, **extra},
    )


@pytest.mark.requirement("TWIN-IDENTITY-070", "TWIN-IDENTITY-075")
def test_a_presentation_verifies_offline_and_through_the_node(
    admin: httpx.Client, client: httpx.Client, parties: tuple[str, str]
) -> None:
    issuer, holder = parties
    credential = _issue(admin, issuer, "did:key:z6MkmkYBJkNitKnZcBioox1fMLpSYaiFXcDnCgPPyhwUxWTM")
    response = _present(
        admin, holder, [credential], presentationId="urn:example:vp:7", expiresInMinutes=5
    )
    assert response.status_code == 200, response.text
    made = response.json()
    header = decode_jwt(made["jwt"]).header
    assert header == {"alg": "EdDSA", "kid": f"{holder}#auth", "typ": "JWT"}
    documents = {did: client.get(f"/identity/{did}").json() for did in (issuer, holder)}
    offline = verify_presentation_jwt(made["jwt"], documents, int(time.time()))
    assert offline.presentation == made["verifiablePresentation"]
    answer = client.get("/identity/verifiable-presentation/verify", params={"jwt": made["jwt"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verified"] is True
    assert body["revoked"] is False
    assert body["verifiablePresentation"] == made["verifiablePresentation"]
    assert [document["id"] for document in body["issuers"]] == [issuer]


@pytest.mark.requirement("TWIN-IDENTITY-074")
def test_revoking_a_credential_fails_the_presentation(
    admin: httpx.Client, client: httpx.Client, parties: tuple[str, str]
) -> None:
    issuer, holder = parties
    token = _present(admin, holder, [_issue(admin, issuer, holder, 11)]).json()["jwt"]
    assert admin.get(f"/identity/{issuer}/verifiable-credential/revoke/11").status_code == 204
    body = client.get("/identity/verifiable-presentation/verify", params={"jwt": token}).json()
    assert body == {
        "verified": False,
        "revoked": True,
        "failure": "credentialRevoked",
        "credentialIndex": 0,
        "credentialFailure": "credentialRevoked",
    }


@pytest.mark.requirement("TWIN-IDENTITY-071")
def test_only_an_authentication_key_signs_a_presentation(
    admin: httpx.Client, parties: tuple[str, str]
) -> None:
    issuer, holder = parties
    credential = _issue(admin, issuer, holder)
    response = admin.post(
        f"/identity/{holder}/verifiable-presentation/sign",
        json={"verifiableCredentials": [credential]},
    )
    assert_error(response, 400, "ValidationError", "path.verificationMethodId")


@pytest.mark.requirement("TWIN-CORE-054")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"verifiableCredentials": []}, "body.verifiableCredentials"),
        ({"verifiableCredentials": ["not-a-jwt"]}, "body.verifiableCredentials"),
        ({"verifiableCredentials": ["a.b.c"], "expiresInMinutes": 0}, "body.expiresInMinutes"),
        ({"verifiableCredentials": ["a.b.c"], "types": [7]}, "body.types"),
        ({"verifiableCredentials": ["a.b.c"], "extra": 1}, "body.extra"),
    ],
)
def test_bad_presentation_requests_are_refused(
    admin: httpx.Client, parties: tuple[str, str], body: dict[str, Any], field: str
) -> None:
    _issuer, holder = parties
    response = admin.post(f"/identity/{holder}/verifiable-presentation/auth", json=body)
    assert_error(response, 400, "ValidationError", field)


@pytest.mark.requirement("TWIN-IDENTITY-080", "TWIN-IDENTITY-081", "TWIN-IDENTITY-082")
def test_a_profile_lifecycle_keeps_the_private_part_private(
    admin: httpx.Client, client: httpx.Client, node: Any
) -> None:
    public = {"@context": "https://schema.org", "@type": "Organization", "name": "Tea Ltd"}
    private = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "telephone": PRIVATE_MARKER,
    }
    admin.delete("/identity/profile")
    created = admin.post(
        "/identity/profile", json={"publicProfile": public, "privateProfile": private}
    )
    assert created.status_code == 204, created.text
    again = admin.post("/identity/profile", json={"publicProfile": public})
    assert_error(again, 409, "ConflictError")
    own = admin.get("/identity/profile")
    assert own.status_code == 200
    identity = own.json()["identity"]
    assert own.json() == {"identity": identity, "publicProfile": public, "privateProfile": private}
    filtered = admin.get("/identity/profile", params={"privatePropertyNames": "url"}).json()
    assert "telephone" not in filtered["privateProfile"]
    shown = client.get(
        f"/identity/profile/{identity}/public", params={"propertyNames": "name,telephone"}
    )
    assert shown.status_code == 200
    assert shown.headers["content-type"].startswith("application/ld+json")
    assert shown.json() == public
    page = admin.get("/identity/profile/query", params={"pageSize": 1}).json()
    assert PRIVATE_MARKER not in json.dumps(page)
    assert page["items"][0]["identity"] == identity
    assert (
        admin.put("/identity/profile", json={"publicProfile": {"name": "Tea"}}).status_code == 204
    )
    assert admin.get("/identity/profile").json()["privateProfile"] == private
    assert admin.delete("/identity/profile").status_code == 204
    assert_error(admin.get("/identity/profile"), 404, "NotFoundError")
    assert_error(client.get(f"/identity/profile/{identity}/public"), 404, "NotFoundError")


@pytest.mark.requirement("TWIN-CORE-052")
@pytest.mark.parametrize("method", ["post", "put"])
@pytest.mark.parametrize("part", ["publicProfile", "privateProfile"])
def test_a_profile_part_that_is_not_an_object_is_refused(
    admin: httpx.Client, method: str, part: str
) -> None:
    # Found by fuzzing: null was taken for an absent part, where the schema asks for an object.
    admin.delete("/identity/profile")
    admin.post("/identity/profile", json={"publicProfile": {"name": "Tea Ltd"}})
    values: tuple[object, ...] = (None, [], "Tea")
    for value in values:
        response = admin.request(method.upper(), "/identity/profile", json={part: value})
        assert_error(response, 400, "ValidationError", f"body.{part}")
    admin.delete("/identity/profile")


@pytest.mark.requirement("TWIN-IDENTITY-083")
def test_private_properties_never_reach_the_ledger(node: Any, admin: httpx.Client) -> None:
    admin.delete("/identity/profile")
    private = {"telephone": PRIVATE_MARKER + "-ledger"}
    assert admin.post("/identity/profile", json={"privateProfile": private}).status_code == 204
    database = node.data_dir / "node.sqlite"
    with sqlite3.connect(database) as connection:
        ledger = [
            unpack_text(row[0])
            for row in connection.execute("SELECT body FROM transactions").fetchall()
            + connection.execute("SELECT body FROM blocks").fetchall()
        ]
    assert not [body for body in ledger if PRIVATE_MARKER in body]
    assert any("profile.create" in body for body in ledger)
    assert admin.delete("/identity/profile").status_code == 204


def test_a_presentation_bound_to_a_challenge_answers_only_it(
    admin: httpx.Client, client: httpx.Client, parties: tuple[str, str]
) -> None:
    """The MAY extension of TWIN-IDENTITY-076, which the reference node offers."""
    issuer, holder = parties
    made = _present(
        admin, holder, [_issue(admin, issuer, holder)], challenge="req-42", domain="customs.ke"
    )
    assert made.status_code == 200, made.text
    token = made.json()["jwt"]
    assert decode_jwt(token).payload["nonce"] == "req-42"
    verify = "/identity/verifiable-presentation/verify"
    asked = {"jwt": token, "challenge": "req-42", "domain": "customs.ke"}
    assert client.get(verify, params=asked).json()["verified"] is True
    other = client.get(verify, params={**asked, "challenge": "req-43"}).json()
    assert other["failure"] == "challengeMismatch"
    elsewhere = client.get(verify, params={**asked, "domain": "other.example"}).json()
    assert elsewhere["failure"] == "domainMismatch"
    assert client.get(verify, params={"jwt": token}).json()["verified"] is True
