"""did:key for Ed25519: the W3C CCG vectors, resolution errors, and the X25519 derivation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nacl.bindings
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import read_json, vector_cases
from twin_spec import (
    DidError,
    DidErrorCode,
    DidKeyMethodType,
    Ed25519SigningKey,
    Multicodec,
    add_prefix,
    base58btc_encode,
    did_key_document,
    did_key_from_public_key,
    public_key_from_did_key,
    resolve_did_key,
    x25519_public_key,
)
from twin_spec._curve25519 import SMALL_ORDER_ENCODINGS

OTHER_KEY_FILES = ("bls12381.json", "nist-curves.json", "rsa.json", "secp256k1.json")


def _ed25519_cases(path: Path) -> list[tuple[str, Any]]:
    return [(did[8:20], (did, case)) for did, case in read_json(path).items()]


def _other_key_cases(folder: Path) -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    for name in OTHER_KEY_FILES:
        cases.extend((f"{name[:-5]}-{did[8:16]}", did) for did in read_json(folder / name))
    x25519 = read_json(folder / "x25519.json")["didDocument"]
    cases.extend((f"x25519-{did[8:16]}", did) for did in x25519)
    return cases


@pytest.mark.external_vectors("did-key-ed25519")
@pytest.mark.requirement("TWIN-IDENTITY-002", "TWIN-IDENTITY-004", "TWIN-IDENTITY-005")
@pytest.mark.parametrize(
    "vector", vector_cases("did-key/test-vectors/ed25519-x25519.json", _ed25519_cases)
)
def test_ed25519_did_key_resolves_to_the_expected_document(vector: tuple[str, Any]) -> None:
    did, case = vector
    key = Ed25519SigningKey(bytes.fromhex(case["seed"])).public_key
    assert did_key_from_public_key(key) == did
    expected = case["didDocument"]
    # The vectors use either the 2018 suite or JsonWebKey2020; resolve in the same form.
    method_type = DidKeyMethodType(expected["verificationMethod"][0]["type"])
    document = did_key_document(did, method_type=method_type, derive_key_agreement=True)
    assert document == expected
    result = resolve_did_key(did, method_type=method_type, derive_key_agreement=True)
    assert result["didDocument"] == expected
    assert result["didResolutionMetadata"] == {"contentType": "application/did+ld+json"}


@pytest.mark.external_vectors("did-key-other-key-types")
@pytest.mark.requirement("TWIN-IDENTITY-003")
@pytest.mark.parametrize("did", vector_cases("did-key/test-vectors", _other_key_cases))
def test_other_key_types_are_unsupported_public_key_type(did: str) -> None:
    result = resolve_did_key(did)
    assert result["didDocument"] is None
    metadata = result["didResolutionMetadata"]
    assert isinstance(metadata, dict)
    assert metadata["error"] == "unsupportedPublicKeyType"
    assert "TWIN resolves ed25519-pub keys only" in str(metadata["errorMessage"])


@pytest.mark.requirement("TWIN-IDENTITY-004")
def test_the_default_document_uses_multikey() -> None:
    key = Ed25519SigningKey(bytes(32)).public_key
    did = did_key_from_public_key(key)
    identifier = did[len("did:key:") :]
    assert did_key_document(did) == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#{identifier}",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": identifier,
            }
        ],
        "authentication": [f"{did}#{identifier}"],
        "assertionMethod": [f"{did}#{identifier}"],
        "capabilityInvocation": [f"{did}#{identifier}"],
        "capabilityDelegation": [f"{did}#{identifier}"],
    }


def _did_key_of(codec: Multicodec, payload: bytes) -> str:
    return "did:key:z" + base58btc_encode(add_prefix(codec, payload))


VALID_KEY = Ed25519SigningKey(bytes(32)).public_key.raw


@pytest.mark.requirement("TWIN-IDENTITY-003")
@pytest.mark.parametrize(
    ("did", "code", "message"),
    [
        ("did:key:", DidErrorCode.INVALID_DID, "method-specific identifier is empty"),
        ("did:web:example.com", DidErrorCode.METHOD_NOT_SUPPORTED, "is a did:web, not a did:key"),
        ("did:key:u7QE", DidErrorCode.INVALID_DID, "multibase prefix 'u' (base64url)"),
        ("did:key:z6Mk0OIl", DidErrorCode.INVALID_DID, "'0' at position 3 is not a base58btc"),
        ("did:key:z", DidErrorCode.INVALID_DID, "multicodec data is empty"),
        (
            _did_key_of(Multicodec.ED25519_PUB, VALID_KEY[:31]),
            DidErrorCode.INVALID_PUBLIC_KEY_LENGTH,
            "holds 31 key bytes",
        ),
        (
            _did_key_of(Multicodec.ED25519_PUB, VALID_KEY + b"\0"),
            DidErrorCode.INVALID_PUBLIC_KEY_LENGTH,
            "holds 33 key bytes",
        ),
        (
            _did_key_of(Multicodec.ED25519_PRIV, bytes(32)),
            DidErrorCode.UNSUPPORTED_PUBLIC_KEY_TYPE,
            "holds a ed25519-priv key",
        ),
        (
            _did_key_of(Multicodec.ED25519_PUB, (2).to_bytes(32, "little")),
            DidErrorCode.INVALID_PUBLIC_KEY,
            "not a usable Ed25519 key",
        ),
        (
            _did_key_of(Multicodec.ED25519_PUB, sorted(SMALL_ORDER_ENCODINGS)[0]),
            DidErrorCode.INVALID_PUBLIC_KEY,
            "or a point of small order",
        ),
    ],
)
def test_bad_did_keys_fail_with_the_did_key_error_codes(
    did: str, code: DidErrorCode, message: str
) -> None:
    with pytest.raises(DidError) as caught:
        public_key_from_did_key(did)
    assert caught.value.code is code
    assert message in str(caught.value)
    result = resolve_did_key(did)
    assert result["didDocument"] is None
    assert result["didResolutionMetadata"] == {
        "error": code.value,
        "errorMessage": caught.value.message,
    }


@pytest.mark.requirement("TWIN-IDENTITY-005")
@given(st.binary(min_size=32, max_size=32))
def test_x25519_derivation_agrees_with_libsodium(seed: bytes) -> None:
    key = Ed25519SigningKey(seed).public_key
    assert x25519_public_key(key) == nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(key.raw)


@pytest.mark.requirement("TWIN-IDENTITY-002")
@given(st.binary(min_size=32, max_size=32))
def test_did_key_round_trips_for_any_key(seed: bytes) -> None:
    key = Ed25519SigningKey(seed).public_key
    did = did_key_from_public_key(key)
    assert did.startswith("did:key:z6Mk")
    assert public_key_from_did_key(did) == key
