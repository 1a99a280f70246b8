"""Identity profile routes of the reference node, against a real node process."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reference.test_core_routes import assert_error
from tests.support import external_vectors_dir, read_json
from twin_spec import (
    decode_jwt,
    public_key_from_jwk,
    verification_key,
    verify_proof,
)

W3C = "w3c-vc-di-eddsa/TestVectors/eddsa-jcs-2022"
DOCUMENT: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential"],
    "issuer": "https://vc.example/issuers/5678",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}


@pytest.fixture
def did(admin: httpx.Client) -> str:
    response = admin.post("/identity")
    assert response.status_code == 200, response.text
    identity = response.json()["id"]
    assert isinstance(identity, str)
    return identity


def add_method(
    admin: httpx.Client, did: str, fragment: str, relationship: str = "assertionMethod"
) -> dict[str, Any]:
    response = admin.post(
        f"/identity/{did}/verification-method",
        json={"verificationMethodType": relationship, "verificationMethodId": fragment},
    )
    assert response.status_code == 200, response.text
    method = response.json()
    assert isinstance(method, dict)
    return method


@pytest.mark.requirement("TWIN-IDENTITY-030")
def test_a_created_did_resolves_with_its_status_list(
    admin: httpx.Client, client: httpx.Client, did: str
) -> None:
    document = client.get(f"/identity/{did}").json()
    assert document["id"] == did
    assert document["service"][0]["id"] == f"{did}#revocation"
    assert document["service"][0]["type"] == "BitstringStatusList"


@pytest.mark.requirement("TWIN-IDENTITY-060")
def test_resolution_result_when_asked(client: httpx.Client, did: str) -> None:
    response = client.get(f"/identity/{did}", headers={"accept": "application/did-resolution"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/did-resolution")
    result = response.json()
    assert result["didDocument"]["id"] == did
    assert result["didResolutionMetadata"]["contentType"] == "application/did+json"
    assert result["didDocumentMetadata"]["versionId"] == "1"
    assert result["didDocumentMetadata"]["created"].endswith("Z")
    missing = client.get(
        "/identity/did:twin:0x" + "ab" * 32, headers={"accept": "application/did-resolution"}
    )
    assert missing.status_code == 404
    assert missing.json()["didResolutionMetadata"]["error"] == "notFound"


@pytest.mark.requirement("TWIN-IDENTITY-061")
@pytest.mark.parametrize(
    ("did", "status", "code"),
    [
        ("not-a-did", 400, "invalidDid"),
        ("did:twin:0xABC", 400, "invalidDid"),
        ("did:twin:0x" + "AB" * 32, 400, "invalidDid"),
        ("did:key:z0OIl", 400, "invalidDid"),
        ("did:key:z6Mk", 400, "unsupportedPublicKeyType"),
        ("did:web:example.com", 501, "methodNotSupported"),
        ("did:twin:0x" + "cd" * 32, 404, "notFound"),
    ],
)
def test_resolution_errors(client: httpx.Client, did: str, status: int, code: str) -> None:
    response = client.get(f"/identity/{did}")
    assert response.status_code == status, response.text
    assert response.json()["properties"]["code"] == code


def test_did_key_resolves(client: httpx.Client) -> None:
    did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    document = client.get(f"/identity/{did}").json()
    assert document["id"] == did


@pytest.mark.requirement("TWIN-IDENTITY-063")
def test_methods_and_services_are_added_and_removed(
    admin: httpx.Client, client: httpx.Client, did: str
) -> None:
    method = add_method(admin, did, "signing")
    assert method["id"] == f"{did}#signing"
    assert method["type"] == "JsonWebKey"
    public_key_from_jwk(method["publicKeyJwk"])
    assert_error(
        admin.post(
            f"/identity/{did}/verification-method",
            json={"verificationMethodType": "assertionMethod", "verificationMethodId": "signing"},
        ),
        409,
        "ConflictError",
    )
    document = client.get(f"/identity/{did}").json()
    assert verification_key(document, f"{did}#signing", "assertionMethod")
    service = admin.post(
        f"/identity/{did}/service",
        json={
            "serviceId": "linked-domain",
            "type": "LinkedDomains",
            "endpoint": "https://bar.example.com",
        },
    )
    assert service.status_code == 200, service.text
    assert service.json() == {
        "id": f"{did}#linked-domain",
        "type": "LinkedDomains",
        "serviceEndpoint": "https://bar.example.com",
    }
    assert admin.delete(f"/identity/{did}/service/linked-domain").status_code == 204
    assert admin.delete(f"/identity/{did}/verification-method/{did}%23signing").status_code == 204
    document = client.get(f"/identity/{did}").json()
    assert "assertionMethod" not in document
    assert [entry["id"] for entry in document["service"]] == [f"{did}#revocation"]
    assert_error(admin.delete(f"/identity/{did}/verification-method/signing"), 404, "NotFoundError")


@pytest.mark.requirement("TWIN-IDENTITY-064")
def test_a_proof_made_by_the_node_verifies_there_and_offline(
    admin: httpx.Client, client: httpx.Client, did: str
) -> None:
    add_method(admin, did, "assert")
    response = admin.post(
        f"/identity/{did}/proof/assert",
        json={"proofType": "DataIntegrityProof", "document": DOCUMENT},
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["verificationMethod"] == f"{did}#assert"
    verified = client.post("/identity/proof/verify", json={"document": DOCUMENT, "proof": proof})
    assert verified.json() == {"verified": True}
    # Offline: the spec core, with the key from the node's published DID document.
    document = client.get(f"/identity/{did}").json()
    verify_proof(
        {**DOCUMENT, "proof": proof}, lambda vm, purpose: verification_key(document, vm, purpose)
    )
    tampered = copy.deepcopy(DOCUMENT)
    tampered["credentialSubject"]["alumniOf"] = "Another School"
    refused = client.post("/identity/proof/verify", json={"document": tampered, "proof": proof})
    assert refused.json() == {"verified": False, "failure": "signatureMismatch"}


@pytest.mark.external_vectors("w3c-eddsa-jcs-2022")
@pytest.mark.requirement("TWIN-IDENTITY-064")
def test_the_w3c_vector_verifies_through_the_api_and_a_one_byte_change_does_not(
    client: httpx.Client,
) -> None:
    folder = external_vectors_dir() / W3C
    if not folder.is_dir():
        pytest.skip(f"public vectors not found at {folder}")
    signed = read_json(folder / "signedJCS.json")
    document = {name: value for name, value in signed.items() if name != "proof"}
    response = client.post(
        "/identity/proof/verify", json={"document": document, "proof": signed["proof"]}
    )
    assert response.json() == {"verified": True}
    proof = dict(signed["proof"])
    value = proof["proofValue"]
    proof["proofValue"] = value[:-1] + ("2" if value[-1] != "2" else "3")
    response = client.post("/identity/proof/verify", json={"document": document, "proof": proof})
    assert response.json()["verified"] is False
    changed = dict(document, issuer=document["issuer"] + "x")
    response = client.post(
        "/identity/proof/verify", json={"document": changed, "proof": signed["proof"]}
    )
    assert response.json() == {"verified": False, "failure": "signatureMismatch"}


@pytest.mark.requirement("TWIN-IDENTITY-065")
def test_credentials_are_issued_verified_revoked_and_unrevoked(
    admin: httpx.Client, client: httpx.Client, did: str
) -> None:
    add_method(admin, did, "vc")
    subject = {
        "@context": "https://schema.org",
        "@type": "Person",
        "id": "did:example:jane",
        "name": "Jane Doe",
    }
    response = admin.post(
        f"/identity/{did}/verifiable-credential/vc",
        json={
            "credentialId": "https://example.com/credentials/1",
            "subject": subject,
            "revocationIndex": 5,
        },
    )
    assert response.status_code == 200, response.text
    issued = response.json()
    assert decode_jwt(issued["jwt"]).header["kid"] == f"{did}#vc"
    verified = client.get(
        "/identity/verifiable-credential/verify", params={"jwt": issued["jwt"]}
    ).json()
    assert verified["verified"] is True
    assert verified["revoked"] is False
    assert verified["verifiableCredential"]["issuer"] == did
    assert admin.get(f"/identity/{did}/verifiable-credential/revoke/5").status_code == 204
    revoked = client.get(
        "/identity/verifiable-credential/verify", params={"jwt": issued["jwt"]}
    ).json()
    assert revoked["revoked"] is True
    assert admin.get(f"/identity/{did}/verifiable-credential/unrevoke/5").status_code == 204
    restored = client.get(
        "/identity/verifiable-credential/verify", params={"jwt": issued["jwt"]}
    ).json()
    assert restored["revoked"] is False
    header, payload, signature = issued["jwt"].split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BA")
    bad = client.get(
        "/identity/verifiable-credential/verify", params={"jwt": f"{header}.{payload}.{flipped}"}
    )
    assert bad.json()["verified"] is False
    assert_error(
        client.get("/identity/verifiable-credential/verify", params={"jwt": "not a jwt"}),
        400,
        "ValidationError",
        "query.jwt",
    )


@pytest.mark.requirement("TWIN-IDENTITY-062")
def test_deactivation_is_permanent_and_voids_proofs(
    admin: httpx.Client, client: httpx.Client, did: str
) -> None:
    add_method(admin, did, "assert")
    proof = admin.post(
        f"/identity/{did}/proof/assert",
        json={"proofType": "DataIntegrityProof", "document": DOCUMENT},
    ).json()
    assert admin.delete(f"/identity/{did}").status_code == 204
    assert_error(client.get(f"/identity/{did}"), 410, "GoneError")
    result = client.get(f"/identity/{did}", headers={"accept": "application/did-resolution"})
    assert result.status_code == 410
    assert result.json()["didDocument"] is None
    assert result.json()["didDocumentMetadata"]["deactivated"] is True
    verified = client.post(
        "/identity/proof/verify", json={"document": DOCUMENT, "proof": proof}
    ).json()
    assert verified["verified"] is False
    assert_error(admin.delete(f"/identity/{did}"), 410, "GoneError")
    assert_error(
        admin.post(
            f"/identity/{did}/verification-method",
            json={"verificationMethodType": "authentication"},
        ),
        410,
        "GoneError",
    )


@pytest.mark.requirement("TWIN-CORE-052", "TWIN-CORE-054")
@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        (
            "post",
            "/identity/not-a-did/verification-method",
            {"verificationMethodType": "authentication"},
            400,
            "path.identity",
        ),
        (
            "post",
            "/identity/{did}/verification-method",
            {"verificationMethodType": "keyAgreement"},
            400,
            "body.verificationMethodType",
        ),
        (
            "post",
            "/identity/{did}/verification-method",
            {"verificationMethodType": "authentication", "verificationMethodId": "a b"},
            400,
            "body.verificationMethodId",
        ),
        (
            "post",
            "/identity/{did}/proof/missing",
            {"proofType": "DataIntegrityProof", "document": {"a": 1}},
            404,
            "path.verificationMethodId",
        ),
        (
            "post",
            "/identity/{did}/proof/did:twin:0x{other}%23key",
            {"proofType": "DataIntegrityProof", "document": {"a": 1}},
            404,
            "path.verificationMethodId",
        ),
        ("delete", "/identity/{did}/service/revocation", None, 403, "path.serviceId"),
        (
            "delete",
            "/identity/{did}/verification-method/nope",
            None,
            404,
            "path.verificationMethodId",
        ),
        (
            "post",
            "/identity/{did}/verifiable-credential/vc",
            {"subject": {}, "revocationIndex": 131072},
            400,
            "body.revocationIndex",
        ),
        (
            "get",
            "/identity/{did}/verifiable-credential/revoke/-1",
            None,
            400,
            "path.revocationIndex",
        ),
    ],
)
def test_bad_identity_requests_change_nothing(
    admin: httpx.Client,
    client: httpx.Client,
    did: str,
    method: str,
    path: str,
    body: Any,
    status: int,
    field: str,
) -> None:
    before = client.get(f"/identity/{did}", headers={"accept": "application/did-resolution"}).json()
    url = path.format(did=did, other="ef" * 32)
    response = (
        admin.request(method.upper(), url, json=body)
        if body is not None
        else admin.request(method.upper(), url)
    )
    assert response.status_code == status, response.text
    assert response.json()["properties"]["field"] == field
    after = client.get(f"/identity/{did}", headers={"accept": "application/did-resolution"}).json()
    assert after == before


def test_the_nodes_own_identity_cannot_be_changed_through_the_api(
    admin: httpx.Client, client: httpx.Client
) -> None:
    node_did = client.get("/info").json()["nodeIdentity"]
    assert_error(admin.delete(f"/identity/{node_did}"), 403, "ForbiddenError")
    assert_error(
        admin.delete(f"/identity/{node_did}/verification-method/immutable-proof-assertion"),
        403,
        "ForbiddenError",
    )


_ = Path
