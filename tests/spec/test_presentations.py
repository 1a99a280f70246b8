"""VP-JWTs as the TWIN node makes them, verified offline: holder binding, expiry, credentials."""

from __future__ import annotations

from typing import Any

import pytest

from twin_spec import (
    VC_CONTEXT,
    DidError,
    DidErrorCode,
    Ed25519SigningKey,
    JwtError,
    JwtFailure,
    PresentationError,
    PresentationFailure,
    ProofFailureReason,
    ProofVerificationError,
    build_credential,
    build_presentation,
    build_presentation_document,
    decode_jwt,
    jwk_from_public_key,
    new_status_list,
    sign_credential_jwt,
    sign_presentation_document,
    sign_presentation_jwt,
    status_list_service,
    verify_presentation_document,
    verify_presentation_jwt,
    with_status_bit,
)
from twin_vectors.identity_presentations import (
    presentation_document_oracle,
    presentation_document_vectors,
    presentation_oracle,
    presentation_vectors,
)

HOLDER = "did:twin:0x" + "11" * 32
ISSUER = "did:twin:0x" + "22" * 32
HOLDER_KEY = Ed25519SigningKey(bytes(range(32)))
ISSUER_KEY = Ed25519SigningKey(bytes(range(1, 33)))
NOW = 1_800_000_000
ISSUED = 1_767_225_600


def _document(did: str, relationship: str, key: Ed25519SigningKey, bits: bytes) -> dict[str, Any]:
    method = {
        "id": f"{did}#k",
        "type": "JsonWebKey",
        "controller": did,
        "publicKeyJwk": jwk_from_public_key(key.public_key),
    }
    return {"id": did, relationship: [method], "service": [status_list_service(did, bits)]}


DOCUMENTS = {
    HOLDER: _document(HOLDER, "authentication", HOLDER_KEY, new_status_list()),
    ISSUER: _document(
        ISSUER, "assertionMethod", ISSUER_KEY, with_status_bit(new_status_list(), 9, True)
    ),
}


def _credential(subject_id: str, status: int | None = None) -> str:
    credential = build_credential(
        ISSUER,
        {"id": subject_id, "type": "Permit"},
        issued_at_ms=ISSUED * 1000,
        status_index=status,
    )
    return sign_credential_jwt(
        credential, ISSUER_KEY, verification_method=f"{ISSUER}#k", issued_at_seconds=ISSUED
    )


def _presentation(credentials: list[str], **options: Any) -> str:
    presentation = build_presentation(HOLDER, credentials, presentation_id="urn:example:vp:1")
    return sign_presentation_jwt(
        presentation,
        options.pop("key", HOLDER_KEY),
        verification_method=f"{HOLDER}#k",
        issued_at_seconds=ISSUED,
        **options,
    )


@pytest.mark.requirement("TWIN-IDENTITY-070")
def test_the_vp_jwt_carries_the_holder_as_iss_and_the_rest_as_vp() -> None:
    token = _presentation([_credential(HOLDER)], expires_at_seconds=ISSUED + 600)
    decoded = decode_jwt(token)
    assert decoded.header == {"kid": f"{HOLDER}#k", "typ": "JWT", "alg": "EdDSA"}
    assert decoded.payload["iss"] == HOLDER
    assert decoded.payload["jti"] == "urn:example:vp:1"
    assert decoded.payload["exp"] == ISSUED + 600
    vp = decoded.payload["vp"]
    assert isinstance(vp, dict)
    assert set(vp) == {"@context", "type", "verifiableCredential"}
    assert vp["@context"] == [VC_CONTEXT]
    assert vp["type"] == ["VerifiablePresentation"]


@pytest.mark.requirement("TWIN-IDENTITY-071", "TWIN-IDENTITY-073", "TWIN-IDENTITY-075")
def test_a_valid_presentation_is_rebuilt_with_holder_and_id() -> None:
    token = _presentation([_credential("did:example:someone-else")])
    verified = verify_presentation_jwt(token, DOCUMENTS, NOW)
    assert verified.presentation["holder"] == HOLDER
    assert verified.presentation["id"] == "urn:example:vp:1"
    assert verified.credentials[0]["issuer"] == ISSUER
    assert [document["id"] for document in verified.issuers] == [ISSUER]


@pytest.mark.requirement("TWIN-IDENTITY-071")
def test_a_presentation_signed_by_another_key_is_refused() -> None:
    token = _presentation([_credential(HOLDER)], key=ISSUER_KEY)
    with pytest.raises(JwtError) as caught:
        verify_presentation_jwt(token, DOCUMENTS, NOW)
    assert caught.value.reason is JwtFailure.SIGNATURE_MISMATCH


@pytest.mark.requirement("TWIN-IDENTITY-071")
def test_the_holder_key_must_be_an_authentication_method() -> None:
    holder = _document(HOLDER, "assertionMethod", HOLDER_KEY, new_status_list())
    documents = {**DOCUMENTS, HOLDER: holder}
    with pytest.raises(DidError) as caught:
        verify_presentation_jwt(_presentation([_credential(HOLDER)]), documents, NOW)
    assert caught.value.code is DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED


@pytest.mark.requirement("TWIN-IDENTITY-072")
def test_an_expired_presentation_is_refused() -> None:
    token = _presentation([_credential(HOLDER)], expires_at_seconds=NOW)
    with pytest.raises(JwtError) as caught:
        verify_presentation_jwt(token, DOCUMENTS, NOW)
    assert caught.value.reason is JwtFailure.EXPIRED
    assert caught.value.requirement == "TWIN-IDENTITY-072"
    verify_presentation_jwt(token, DOCUMENTS, NOW - 1)


@pytest.mark.requirement("TWIN-IDENTITY-074")
def test_a_revoked_credential_inside_fails_the_presentation() -> None:
    token = _presentation([_credential(HOLDER, 8), _credential(HOLDER, 9)])
    with pytest.raises(PresentationError) as caught:
        verify_presentation_jwt(token, DOCUMENTS, NOW)
    assert caught.value.reason == PresentationFailure.CREDENTIAL_REVOKED
    assert caught.value.credential_index == 1


@pytest.mark.requirement("TWIN-IDENTITY-073")
def test_a_credential_of_an_unresolvable_issuer_fails_the_presentation() -> None:
    documents = {HOLDER: DOCUMENTS[HOLDER]}
    with pytest.raises(PresentationError) as caught:
        verify_presentation_jwt(_presentation([_credential(HOLDER)]), documents, NOW)
    assert caught.value.reason == PresentationFailure.CREDENTIAL_INVALID
    assert caught.value.credential_failure == DidErrorCode.NOT_FOUND.value


def test_a_challenge_is_checked_only_when_asked() -> None:
    token = _presentation([_credential(HOLDER)], challenge="abc")
    verify_presentation_jwt(token, DOCUMENTS, NOW)
    verify_presentation_jwt(token, DOCUMENTS, NOW, challenge="abc")
    with pytest.raises(PresentationError) as caught:
        verify_presentation_jwt(token, DOCUMENTS, NOW, challenge="xyz")
    assert caught.value.reason == PresentationFailure.CHALLENGE_MISMATCH


def test_building_refuses_an_empty_or_non_jwt_credential_list() -> None:
    for credentials in ([], ["not a jwt"]):
        with pytest.raises(PresentationError):
            build_presentation(HOLDER, credentials)


@pytest.mark.parametrize("vector", presentation_vectors(), ids=lambda vector: vector["id"])
def test_the_presentation_vectors_hold(vector: dict[str, Any]) -> None:
    assert presentation_oracle(vector["input"]) == vector["expected"]


def _secured(credentials: list[str], **options: Any) -> dict[str, Any]:
    presentation = build_presentation_document(HOLDER, credentials)
    return sign_presentation_document(
        presentation,
        options.pop("key", HOLDER_KEY),
        verification_method=f"{HOLDER}#k",
        created="2026-01-01T00:00:00Z",
        **options,
    )


@pytest.mark.requirement("TWIN-IDENTITY-077")
def test_a_data_integrity_presentation_verifies_with_the_same_rules() -> None:
    secured = _secured([_credential(HOLDER)], challenge="c-1", domain="customs.example")
    entry = secured["verifiableCredential"][0]
    assert entry["type"] == "EnvelopedVerifiableCredential"
    assert entry["id"].startswith("data:application/vc+jwt,")
    verified = verify_presentation_document(
        secured, DOCUMENTS, NOW, challenge="c-1", domain="customs.example"
    )
    assert verified.presentation == {k: v for k, v in secured.items() if k != "proof"}
    with pytest.raises(PresentationError) as caught:
        verify_presentation_document(secured, DOCUMENTS, NOW, domain="other.example")
    assert caught.value.reason == PresentationFailure.DOMAIN_MISMATCH
    expired = _secured([_credential(HOLDER)], expires="2026-06-01T00:00:00Z")
    with pytest.raises(PresentationError) as caught:
        verify_presentation_document(expired, DOCUMENTS, NOW)
    assert caught.value.reason == JwtFailure.EXPIRED.value
    revoked = _secured([_credential(HOLDER, 9)])
    with pytest.raises(PresentationError) as caught:
        verify_presentation_document(revoked, DOCUMENTS, NOW)
    assert caught.value.reason == PresentationFailure.CREDENTIAL_REVOKED


@pytest.mark.requirement("TWIN-IDENTITY-077")
def test_a_data_integrity_presentation_changed_after_its_proof_is_refused() -> None:
    secured = _secured([_credential(HOLDER)])
    changed = {**secured, "type": ["VerifiablePresentation", "Other"]}
    with pytest.raises(ProofVerificationError) as caught:
        verify_presentation_document(changed, DOCUMENTS, NOW)
    assert caught.value.reason is ProofFailureReason.SIGNATURE_MISMATCH


@pytest.mark.parametrize("vector", presentation_document_vectors(), ids=lambda vector: vector["id"])
def test_the_presentation_document_vectors_hold(vector: dict[str, Any]) -> None:
    assert presentation_document_oracle(vector["input"]) == vector["expected"]
