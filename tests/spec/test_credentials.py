"""VC-JWTs as the TWIN node issues them: the credential, the claims, verification, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import upstream_file
from twin_spec import (
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    Ed25519SigningKey,
    JwtError,
    JwtFailure,
    TwinSpecError,
    build_credential,
    credential_from_jwt_claims,
    credential_jwt_claims,
    credential_status_index,
    decode_jwt,
    encode_jwt,
    iso_from_ms,
    jwk_from_public_key,
    seconds_from_iso,
    sign_credential_jwt,
    verification_key,
    verify_credential_jwt,
)

ISSUER = "did:twin:0x879c31386f992cfa29b77fe31e37256d69f6a57653cee4eb60ad4c4613c5515a"
HOLDER = "did:twin:0x4757993355b921a8229bd780f30921b6a0216a72e6c3f37a09d13b8426a17def"
METHOD = ISSUER + "#assertion-key"
KEY = Ed25519SigningKey(bytes(range(32)))
OTHER_KEY = Ed25519SigningKey(bytes(range(1, 33)))
SUBJECT = {"@context": "https://schema.org", "@type": "Person", "id": HOLDER, "name": "Jane Doe"}
ISSUED_MS = 1737710511500  # 2025-01-24T09:21:51.500Z
DOCUMENT: dict[str, Any] = {
    "id": ISSUER,
    "verificationMethod": [
        {
            "id": METHOD,
            "controller": ISSUER,
            "type": "JsonWebKey",
            "publicKeyJwk": jwk_from_public_key(KEY.public_key),
        },
        {
            "id": ISSUER + "#auth-key",
            "controller": ISSUER,
            "type": "JsonWebKey",
            "publicKeyJwk": jwk_from_public_key(OTHER_KEY.public_key),
        },
    ],
    "assertionMethod": [METHOD],
    "authentication": [ISSUER + "#auth-key"],
}


def resolve(kid: str) -> Ed25519PublicKey:
    return verification_key(DOCUMENT, kid, "assertionMethod")


def _credential(**options: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "credential_id": "https://example.com/credentials/3732",
        "issued_at_ms": ISSUED_MS,
        "status_index": 5,
    }
    arguments.update(options)
    return build_credential(ISSUER, SUBJECT, **arguments)


def _jwt(
    payload: dict[str, Any], header: dict[str, Any] | None = None, key: Ed25519SigningKey = KEY
) -> str:
    return encode_jwt(header or {"kid": METHOD, "typ": "JWT", "alg": "EdDSA"}, payload, key)


def _claims(**changes: Any) -> dict[str, Any]:
    claims = credential_jwt_claims(_credential(), ISSUED_MS // 1000)
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _vc_claims(**changes: Any) -> dict[str, Any]:
    claims = _claims()
    claims["vc"].update(changes)
    claims["vc"] = {name: value for name, value in claims["vc"].items() if value is not None}
    return claims


def _refused(token: str, reason: JwtFailure, requirement: str, now: int = 1737710600) -> str:
    with pytest.raises(JwtError) as caught:
        verify_credential_jwt(token, resolve, now)
    assert caught.value.reason is reason, caught.value.message
    assert caught.value.requirement == requirement
    return caught.value.message


@pytest.mark.requirement("TWIN-IDENTITY-040", "TWIN-IDENTITY-044")
def test_the_credential_has_the_twin_node_shape() -> None:
    # The shape of the identityVerifiableCredentialCreate example of the TWIN node 0.0.2.
    assert _credential() == {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://schema.org"],
        "id": "https://example.com/credentials/3732",
        "type": ["VerifiableCredential", "Person"],
        "credentialSubject": {"id": HOLDER, "name": "Jane Doe"},
        "issuer": ISSUER,
        "issuanceDate": "2025-01-24T09:21:51.500Z",
        "credentialStatus": {
            "id": ISSUER + "#revocation",
            "type": "BitstringStatusList",
            "revocationBitmapIndex": "5",
        },
    }
    assert credential_status_index(_credential()) == 5


@pytest.mark.requirement("TWIN-IDENTITY-040")
def test_optional_parts_of_the_credential() -> None:
    plain = build_credential(ISSUER, {"name": "x"}, issued_at_ms=0)
    assert plain == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"name": "x"},
        "issuer": ISSUER,
        "issuanceDate": "1970-01-01T00:00:00.000Z",
    }
    assert credential_status_index(plain) is None
    listed = build_credential(
        ISSUER,
        {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://schema.org"],
            "type": ["Thing", "VerifiableCredential"],
        },
        issued_at_ms=0,
        expiration_date="2030-01-01T00:00:00.750+01:00",
    )
    assert listed["@context"] == ["https://www.w3.org/ns/credentials/v2", "https://schema.org"]
    assert listed["type"] == ["VerifiableCredential", "Thing"]
    assert listed["credentialSubject"] == {"type": ["Thing", "VerifiableCredential"]}
    assert listed["expirationDate"] == "2029-12-31T23:00:00.000Z"


@pytest.mark.requirement("TWIN-IDENTITY-040", "TWIN-IDENTITY-044", "TWIN-IDENTITY-001")
@pytest.mark.parametrize(
    ("issuer", "subject", "options", "error"),
    [
        ("not a did", SUBJECT, {}, DidError),
        (ISSUER, ["x"], {}, JwtError),
        (ISSUER, {"when": float("nan")}, {}, JwtError),
        (ISSUER, SUBJECT, {"status_index": 131072}, JwtError),
        (ISSUER, SUBJECT, {"status_index": -1}, JwtError),
        (ISSUER, SUBJECT, {"status_index": True}, JwtError),
        (ISSUER, SUBJECT, {"issued_at_ms": -1}, JwtError),
        (ISSUER, SUBJECT, {"expiration_date": "2030-02-30T00:00:00Z"}, JwtError),
        (ISSUER, SUBJECT, {"expiration_date": "2030-01-01T00:00:00"}, JwtError),
        (ISSUER, SUBJECT, {"expiration_date": 1893456000}, JwtError),
        (ISSUER, SUBJECT, {"credential_id": 7}, JwtError),
    ],
)
def test_build_credential_refuses_bad_input(
    issuer: str, subject: Any, options: dict[str, Any], error: type[TwinSpecError]
) -> None:
    arguments: dict[str, Any] = {"issued_at_ms": ISSUED_MS, **options}
    with pytest.raises(error):
        build_credential(issuer, subject, **arguments)


@pytest.mark.requirement("TWIN-IDENTITY-041")
def test_the_claims_move_id_issuer_and_dates_out_of_vc() -> None:
    credential = _credential(expiration_date="2026-01-24T09:21:51Z")
    claims: dict[str, Any] = credential_jwt_claims(credential, 1737710511)
    assert claims == {
        "iss": ISSUER,
        "nbf": 1737710511,
        "jti": "https://example.com/credentials/3732",
        "sub": HOLDER,
        "exp": 1769246511,
        "vc": {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://schema.org"],
            "type": ["VerifiableCredential", "Person"],
            "credentialSubject": {"id": HOLDER, "name": "Jane Doe"},
            "credentialStatus": credential["credentialStatus"],
        },
    }
    claims["vc"]["credentialSubject"]["name"] = "changed"
    assert credential["credentialSubject"]["name"] == "Jane Doe", "the claims are a copy"


@pytest.mark.requirement("TWIN-IDENTITY-041", "TWIN-IDENTITY-043")
def test_claims_and_credential_round_trip() -> None:
    credentials: list[dict[str, Any]] = [
        _credential(issued_at_ms=1737710511000),
        _credential(issued_at_ms=0, expiration_date="2030-01-01T00:00:00Z", status_index=None),
        build_credential(ISSUER, {"name": "no id"}, issued_at_ms=5000),
    ]
    for credential in credentials:
        seconds = seconds_from_iso(credential["issuanceDate"])
        rebuilt = credential_from_jwt_claims(credential_jwt_claims(credential, seconds))
        assert rebuilt == credential
        assert list(rebuilt) == list(credential)


@pytest.mark.requirement("TWIN-IDENTITY-041", "TWIN-IDENTITY-042")
def test_sign_then_verify() -> None:
    credential = _credential(issued_at_ms=1737710511000)
    token = sign_credential_jwt(
        credential, KEY, verification_method=METHOD, issued_at_seconds=1737710511
    )
    assert decode_jwt(token).header == {"kid": METHOD, "typ": "JWT", "alg": "EdDSA"}
    assert verify_credential_jwt(token, resolve, 1737710511) == credential


@pytest.mark.requirement("TWIN-IDENTITY-041", "TWIN-IDENTITY-042", "TWIN-IDENTITY-043")
def test_a_credential_from_a_running_twin_node_verifies() -> None:
    token = upstream_file("samples/attestation-jwt.txt").read_text(encoding="utf-8").strip()
    text = upstream_file("samples/node-identity.txt").read_text(encoding="utf-8")
    document = json.loads(text[text.index("{") :])
    attestation_text = upstream_file("samples/attestation-get.txt").read_text(encoding="utf-8")
    attestation = json.loads(attestation_text[attestation_text.index("{") :])
    nbf = decode_jwt(token).payload["nbf"]
    assert isinstance(nbf, int)
    credential = verify_credential_jwt(
        token, lambda kid: verification_key(document, kid, "assertionMethod"), nbf
    )
    assert credential["issuer"] == document["id"]
    assert credential["issuanceDate"] == attestation["dateCreated"]
    assert credential["type"] == ["VerifiableCredential", attestation["attestationObject"]["type"]]
    subject = {k: v for k, v in attestation["attestationObject"].items() if k != "type"}
    assert credential["credentialSubject"] == subject
    with pytest.raises(JwtError) as caught:
        verify_credential_jwt(
            token, lambda kid: verification_key(document, kid, "assertionMethod"), nbf - 1
        )
    assert caught.value.reason is JwtFailure.NOT_YET_VALID


@pytest.mark.requirement("TWIN-IDENTITY-042")
@pytest.mark.parametrize(
    ("header", "says"),
    [
        ({"typ": "JWT", "alg": "EdDSA"}, "has no kid"),
        ({"kid": 7, "alg": "EdDSA"}, "has no kid"),
        ({"kid": ISSUER, "alg": "EdDSA"}, "with just a fragment"),
        ({"kid": ISSUER + "/path#key", "alg": "EdDSA"}, "with just a fragment"),
        ({"kid": ISSUER + "?q=1#key", "alg": "EdDSA"}, "with just a fragment"),
    ],
)
def test_the_kid_must_name_a_method(header: dict[str, Any], says: str) -> None:
    assert says in _refused(_jwt(_claims(), header), JwtFailure.MALFORMED, "TWIN-IDENTITY-042")


@pytest.mark.requirement("TWIN-IDENTITY-042", "TWIN-IDENTITY-001")
def test_a_kid_or_iss_that_is_not_a_did_is_invalid_did() -> None:
    for token in (
        _jwt(_claims(), {"kid": "#assertion-key", "alg": "EdDSA"}),
        _jwt(_claims(iss="issuer"), {"kid": METHOD, "alg": "EdDSA"}),
    ):
        with pytest.raises(DidError) as caught:
            verify_credential_jwt(token, resolve, ISSUED_MS // 1000)
        assert caught.value.code is DidErrorCode.INVALID_DID


@pytest.mark.requirement("TWIN-IDENTITY-042")
def test_iss_must_be_present() -> None:
    claims = _claims()
    del claims["iss"]
    assert "no iss" in _refused(_jwt(claims), JwtFailure.MALFORMED, "TWIN-IDENTITY-042")


@pytest.mark.requirement("TWIN-IDENTITY-042")
def test_a_kid_of_another_did_is_issuer_mismatch() -> None:
    # Signed by the holder's key and naming the holder's method, but claiming the issuer.
    token = _jwt(_claims(), {"kid": HOLDER + "#key", "alg": "EdDSA"}, OTHER_KEY)
    message = _refused(token, JwtFailure.ISSUER_MISMATCH, "TWIN-IDENTITY-042")
    assert "the issuer (iss) is " + ISSUER in message


@pytest.mark.requirement("TWIN-IDENTITY-042", "TWIN-IDENTITY-013")
def test_the_key_comes_from_the_issuers_document_for_assertion_method() -> None:
    token = _jwt(_claims(), {"kid": ISSUER + "#auth-key", "alg": "EdDSA"}, OTHER_KEY)
    with pytest.raises(DidError) as caught:
        verify_credential_jwt(token, resolve, ISSUED_MS // 1000)
    assert caught.value.code is DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED
    token = _jwt(_claims(), {"kid": ISSUER + "#missing", "alg": "EdDSA"})
    with pytest.raises(DidError) as caught:
        verify_credential_jwt(token, resolve, ISSUED_MS // 1000)
    assert caught.value.code is DidErrorCode.VERIFICATION_METHOD_NOT_FOUND


@pytest.mark.requirement("TWIN-IDENTITY-038", "TWIN-IDENTITY-042")
def test_a_token_signed_by_another_key_is_signature_mismatch() -> None:
    _refused(_jwt(_claims(), key=OTHER_KEY), JwtFailure.SIGNATURE_MISMATCH, "TWIN-IDENTITY-038")


@pytest.mark.requirement("TWIN-IDENTITY-039")
def test_times_are_checked() -> None:
    token = _jwt(_claims(exp=ISSUED_MS // 1000 + 10))
    assert verify_credential_jwt(token, resolve, ISSUED_MS // 1000 + 9)["expirationDate"]
    _refused(token, JwtFailure.EXPIRED, "TWIN-IDENTITY-039", now=ISSUED_MS // 1000 + 10)
    _refused(token, JwtFailure.NOT_YET_VALID, "TWIN-IDENTITY-039", now=ISSUED_MS // 1000 - 1)
    _refused(_jwt(_claims(nbf="1")), JwtFailure.MALFORMED, "TWIN-IDENTITY-039")
    with pytest.raises(JwtError):
        verify_credential_jwt(token, resolve, ISSUED_MS // 1000 - 1, leeway_seconds=0)
    verify_credential_jwt(token, resolve, ISSUED_MS // 1000 - 1, leeway_seconds=1)


@pytest.mark.requirement("TWIN-IDENTITY-043")
@pytest.mark.parametrize(
    ("claims", "says"),
    [
        (_claims(vc=None), "vc claim is NoneType"),
        (_claims(vc=["x"]), "vc claim is list"),
        (_vc_claims(**{"@context": None}), "array starting with"),
        (_vc_claims(**{"@context": "https://www.w3.org/ns/credentials/v2"}), "array starting"),
        (_vc_claims(**{"@context": ["https://schema.org"]}), "array starting with"),
        (_vc_claims(type="VerifiableCredential"), "type must be an array"),
        (_vc_claims(type=["Person"]), "type must be an array"),
        (_vc_claims(credentialSubject=None), "credentialSubject must be a JSON object"),
        (_vc_claims(credentialSubject=[{"id": HOLDER}]), "credentialSubject must be"),
        (_vc_claims(issuer=ISSUER), "vc carries issuer"),
        (_vc_claims(id="urn:x"), "vc carries id"),
        (_vc_claims(issuanceDate="2025-01-24T09:21:51.500Z"), "vc carries issuanceDate"),
        (_vc_claims(expirationDate="2030-01-24T09:21:51.500Z"), "vc carries expirationDate"),
        (_claims(sub=HOLDER + "0"), "differs from credentialSubject.id"),
        (_claims(sub=5), "is not a string"),
        (_claims(jti=5), "is not a string"),
        (_claims(nbf=253402300800), "nbf: timestamp"),
    ],
)
def test_a_malformed_vc_is_credential_malformed(claims: dict[str, Any], says: str) -> None:
    message = _refused(_jwt(claims), JwtFailure.CREDENTIAL_MALFORMED, "TWIN-IDENTITY-043", 2**40)
    assert says in message


@pytest.mark.requirement("TWIN-IDENTITY-043")
def test_sub_fills_in_a_missing_subject_id() -> None:
    claims = _vc_claims(credentialSubject={"name": "Jane Doe"})
    credential = verify_credential_jwt(_jwt(claims), resolve, ISSUED_MS // 1000)
    assert credential["credentialSubject"] == {"name": "Jane Doe", "id": HOLDER}


GOOD_STATUS = {
    "id": ISSUER + "#revocation",
    "type": "BitstringStatusList",
    "revocationBitmapIndex": "5",
}


@pytest.mark.requirement("TWIN-IDENTITY-044")
@pytest.mark.parametrize(
    ("status", "says"),
    [
        ({**GOOD_STATUS, "revocationBitmapIndex": 5}, "not a decimal string"),
        ("revoked", "not a decimal string"),
        ({"id": ISSUER + "#revocation", "type": "BitstringStatusList"}, "not a decimal string"),
        ({**GOOD_STATUS, "revocationBitmapIndex": "05"}, "not a decimal string"),
        ({**GOOD_STATUS, "revocationBitmapIndex": "-1"}, "not a decimal string"),
        ({**GOOD_STATUS, "revocationBitmapIndex": "1000000"}, "not a decimal string"),
        ({**GOOD_STATUS, "revocationBitmapIndex": "131072"}, "not an integer from 0 to 131071"),
        ({**GOOD_STATUS, "id": HOLDER + "#revocation"}, "must be exactly"),
        ({**GOOD_STATUS, "type": "StatusList2021Entry"}, "must be exactly"),
        ({**GOOD_STATUS, "statusPurpose": "revocation"}, "must be exactly"),
    ],
)
def test_a_bad_credential_status_is_credential_malformed(status: Any, says: str) -> None:
    claims = _vc_claims(credentialStatus=status)
    message = _refused(_jwt(claims), JwtFailure.CREDENTIAL_MALFORMED, "TWIN-IDENTITY-044")
    assert says in message


@given(st.integers(0, 253402300799999))
def test_iso_from_ms_matches_datetime(ms: int) -> None:
    expected = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert iso_from_ms(ms) == f"{expected}.{ms % 1000:03d}Z"
    assert seconds_from_iso(iso_from_ms(ms)) == ms // 1000


@pytest.mark.parametrize(
    "text",
    [
        "2030-13-01T00:00:00Z",
        "2030-00-01T00:00:00Z",
        "2029-02-29T00:00:00Z",
        "2030-01-01T24:00:00Z",
        "2030-01-01T00:60:00Z",
        "2030-01-01T00:00:60Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:59:59+01:00",
        "2030-01-01 00:00:00Z",
        "2030-01-01T00:00:00z",
        "2030-01-01T00:00:00.Z",
        "",
    ],
)
def test_seconds_from_iso_refuses_what_is_not_a_real_utc_instant(text: str) -> None:
    with pytest.raises(TwinSpecError):
        seconds_from_iso(text)


def test_seconds_from_iso_applies_the_offset() -> None:
    assert seconds_from_iso("2024-02-29T12:00:00.999-02:30") == int(
        datetime(2024, 2, 29, 14, 30, tzinfo=UTC).timestamp()
    )
