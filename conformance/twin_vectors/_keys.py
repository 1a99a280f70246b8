"""Helpers the identity vector families share: did:keys of any bytes, JWTs with any header."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from twin_spec import (
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    Ed25519SigningKey,
    Multicodec,
    add_prefix,
    base58btc_encode,
    base64url_encode,
    canonicalize,
    did_key_document,
    parse_did_url,
    verification_key,
)

CREATED = "2026-11-21T08:00:00Z"

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"

# JWT times: issued on 2026-01-01, "now" for offline checks in January 2027; the node checking
# live uses its own clock, which these times leave on the same side of every boundary.
ISSUED_SECONDS = 1_767_225_600

NOW_SECONDS = 1_800_000_000

FAR_FUTURE_SECONDS = 4_102_444_800  # 2100-01-01


Case = tuple[str, str, list[str], dict[str, Any]]


def did_key_of(raw: bytes, codec: Multicodec = Multicodec.ED25519_PUB) -> str:
    """The did:key spelling of raw key bytes under a multicodec, valid or not."""
    return "did:key:z" + base58btc_encode(add_prefix(codec, raw))


def method_of(did: str) -> str:
    """The one verification method id of a did:key: ``did#<identifier>``."""
    return f"{did}#{did.removeprefix('did:key:')}"


def resolve_did_key_method(method: str, purpose: str) -> Ed25519PublicKey:
    """A verifier's own resolution of a did:key method for a purpose (no other method)."""
    did = str(parse_did_url(method).did)
    if not did.startswith("did:key:"):
        raise DidError(DidErrorCode.METHOD_NOT_SUPPORTED, f"{did} is not a did:key")
    return verification_key(did_key_document(did), method, purpose)


UNKNOWN_DID_TWIN = (
    "did:twin:0x" + hashlib.sha256(b"twin-vectors: an identity no ledger holds").hexdigest()
)


def raw_jwt(header: Mapping[str, Any], payload: Mapping[str, Any], key: Ed25519SigningKey) -> str:
    """A compact JWS signed by ``key`` whatever its header says (for refused headers)."""
    signing_input = (
        base64url_encode(canonicalize(header)) + "." + base64url_encode(canonicalize(payload))
    )
    return signing_input + "." + base64url_encode(key.sign(signing_input.encode("ascii")))


def raw_jwt_text(header: Mapping[str, Any], payload_text: str, key: Ed25519SigningKey) -> str:
    """A signed compact JWS whose payload is the given text (for payloads JCS cannot write)."""
    signing_input = (
        base64url_encode(canonicalize(header)) + "." + base64url_encode(payload_text.encode())
    )
    return signing_input + "." + base64url_encode(key.sign(signing_input.encode("ascii")))


def json_object(value: object) -> dict[str, Any]:
    """A JSON object built by this module, typed as one."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def bump_base64url(char: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return alphabet[alphabet.index(char) + 1]
