"""Keys from DID documents: only methods the document authorizes for the purpose asked."""

from __future__ import annotations

from typing import Any

import pytest

from twin_spec import (
    DidError,
    DidErrorCode,
    DidKeyMethodType,
    Ed25519PublicKey,
    Ed25519SigningKey,
    KeyFormatError,
    base58btc_encode,
    did_key_document,
    did_key_from_public_key,
    jwk_from_public_key,
    public_key_from_verification_method,
    verification_key,
    verification_method,
)

KEY = Ed25519SigningKey(bytes(range(32))).public_key
OTHER = Ed25519SigningKey(bytes(range(1, 33))).public_key
DID = "did:entity-storage:0x" + "ab" * 32


def _jwk_method(fragment: str, key: Ed25519PublicKey = KEY) -> dict[str, Any]:
    return {
        "id": f"{DID}#{fragment}",
        "controller": DID,
        "type": "JsonWebKey",
        "publicKeyJwk": jwk_from_public_key(key),
    }


DOCUMENT: dict[str, Any] = {
    "@context": "https://www.w3.org/ns/did/v1",
    "id": DID,
    "verificationMethod": [_jwk_method("referenced"), _jwk_method("auth-only", OTHER)],
    "assertionMethod": [
        _jwk_method("embedded"),
        "#referenced",
    ],
    "authentication": [f"{DID}#auth-only"],
}


@pytest.mark.requirement("TWIN-IDENTITY-013")
@pytest.mark.parametrize(
    "method_id", [f"{DID}#embedded", f"{DID}#referenced", "#referenced", "#embedded"]
)
def test_methods_listed_under_the_relationship_are_found(method_id: str) -> None:
    assert verification_key(DOCUMENT, method_id, "assertionMethod") == KEY


@pytest.mark.requirement("TWIN-IDENTITY-013")
def test_a_method_listed_under_another_relationship_is_not_authorized() -> None:
    with pytest.raises(DidError, match="not listed under assertionMethod") as caught:
        verification_method(DOCUMENT, f"{DID}#auth-only", "assertionMethod")
    assert caught.value.code is DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED
    assert verification_key(DOCUMENT, f"{DID}#auth-only", "authentication") == OTHER


@pytest.mark.requirement("TWIN-IDENTITY-013")
@pytest.mark.parametrize(
    ("method_id", "relationship", "code", "message"),
    [
        (
            f"{DID}#missing",
            "assertionMethod",
            "verificationMethodNotFound",
            "has no verification method",
        ),
        (
            "did:key:z6Mkabc#k",
            "assertionMethod",
            "verificationMethodNotFound",
            "is not a method of",
        ),
        (DID, "assertionMethod", "verificationMethodNotFound", "is not a method of"),
        (
            f"{DID}#embedded",
            "signing",
            "verificationMethodNotAuthorized",
            "not a verification relationship",
        ),
        ("not a did", "assertionMethod", "invalidDid", "is not a DID URL"),
    ],
)
def test_unknown_or_foreign_methods_are_refused(
    method_id: str, relationship: str, code: str, message: str
) -> None:
    with pytest.raises(DidError) as caught:
        verification_method(DOCUMENT, method_id, relationship)
    assert caught.value.code.value == code
    assert message in str(caught.value)


@pytest.mark.requirement("TWIN-IDENTITY-013", "TWIN-IDENTITY-014")
def test_a_dangling_reference_is_not_found() -> None:
    document = {"id": DID, "assertionMethod": ["#nowhere"]}
    with pytest.raises(DidError, match="which verificationMethod does not define"):
        verification_method(document, "#nowhere", "assertionMethod")


@pytest.mark.requirement("TWIN-IDENTITY-014")
@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"assertionMethod": []}, "the DID document has no string id"),
        ({"id": DID, "assertionMethod": "#key"}, "member assertionMethod must be an array"),
        ({"id": "not-a-did"}, "is not a DID"),
    ],
)
def test_malformed_documents_are_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(DidError, match=message):
        verification_method(document, "#key", "assertionMethod")


@pytest.mark.requirement("TWIN-IDENTITY-010")
@pytest.mark.parametrize("method_type", list(DidKeyMethodType))
def test_every_did_key_method_form_yields_the_key(method_type: DidKeyMethodType) -> None:
    did = did_key_from_public_key(KEY)
    document = did_key_document(did, method_type=method_type)
    method_id = f"{did}#{did[8:]}"
    assert verification_key(document, method_id, "assertionMethod") == KEY


@pytest.mark.requirement("TWIN-IDENTITY-010")
@pytest.mark.parametrize(
    ("method", "message"),
    [
        ({"type": "EcdsaSecp256k1VerificationKey2019"}, "is not one TWIN reads"),
        ({"type": "JsonWebKey"}, "needs a publicKeyJwk object"),
        ({"type": "Multikey"}, "needs a publicKeyMultibase string"),
        ({"type": "Multikey", "publicKeyMultibase": "uAQID"}, "prefix 'u' (base64url)"),
        (
            {
                "type": "Multikey",
                "publicKeyMultibase": "z" + base58btc_encode(b"\xe7\x01" + bytes(33)),
            },
            "holds a 0xe7 key",
        ),
        (
            {
                "type": "Multikey",
                "publicKeyMultibase": "z" + base58btc_encode(b"\xed\x01" + bytes(31)),
            },
            "holds 31 key bytes",
        ),
        ({"type": "Ed25519VerificationKey2018"}, "needs a publicKeyBase58 string"),
        (
            {"type": "Ed25519VerificationKey2018", "publicKeyBase58": "0OIl"},
            "not a base58btc character",
        ),
        (
            {"type": "Ed25519VerificationKey2018", "publicKeyBase58": base58btc_encode(bytes(30))},
            "holds 30 bytes",
        ),
    ],
)
def test_unusable_methods_are_named_errors(method: dict[str, Any], message: str) -> None:
    with pytest.raises(KeyFormatError) as caught:
        public_key_from_verification_method(method)
    assert message in str(caught.value)
