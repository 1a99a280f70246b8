"""Ed25519 public keys as JSON Web Keys (RFC 8037 OKP) and their RFC 7638 thumbprints.

The TWIN node publishes verification methods of type ``JsonWebKey`` whose ``publicKeyJwk`` is
``{"kty": "OKP", "crv": "Ed25519", "x": ..., "alg": "EdDSA", "kid": <thumbprint>}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from twin_spec._ed25519 import PUBLIC_KEY_LENGTH, Ed25519PublicKey
from twin_spec._errors import EncodingError, KeyFormatError
from twin_spec._jcs import JSONValue, canonicalize
from twin_spec._multibase import base64url_decode, base64url_encode

# Members that carry private key material; a public JWK must not hold any of them.
_PRIVATE_MEMBERS = ("d",)
ACCEPTED_ALGORITHMS = ("EdDSA", "Ed25519")


def jwk_thumbprint(jwk: Mapping[str, object]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of an OKP key, base64url without padding."""
    # TWIN-IDENTITY-011 "The thumbprint of an OKP key is SHA-256 over the JSON object of its
    # required members crv, kty and x, in that order with no whitespace (RFC 7638, RFC 8037)."
    public_key_from_jwk(jwk)
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    # For these three string members the RFC 7638 form is exactly the JCS form.
    return base64url_encode(hashlib.sha256(canonicalize(required)).digest())


def jwk_from_public_key(public_key: Ed25519PublicKey) -> dict[str, JSONValue]:
    """Return the JWK the TWIN node publishes for a key: OKP, Ed25519, alg and thumbprint kid."""
    jwk: dict[str, JSONValue] = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": base64url_encode(public_key.raw),
        "alg": "EdDSA",
    }
    # TWIN-IDENTITY-012 "A node SHOULD set kid to the key's RFC 7638 thumbprint."
    jwk["kid"] = jwk_thumbprint(jwk)
    return jwk


def public_key_from_jwk(jwk: Mapping[str, object]) -> Ed25519PublicKey:
    """Read an Ed25519 public key out of a JWK, refusing anything that is not exactly that."""
    # TWIN-IDENTITY-010 "An Ed25519 publicKeyJwk has kty OKP, crv Ed25519 and x, the 32-byte key
    # in unpadded base64url, and holds no private member."
    if not isinstance(jwk, Mapping):
        raise KeyFormatError(
            f"a JWK is a JSON object, got {type(jwk).__name__}", requirement="TWIN-IDENTITY-010"
        )
    for member, expected in (("kty", "OKP"), ("crv", "Ed25519")):
        if jwk.get(member) != expected:
            raise KeyFormatError(
                f"JWK {member} is {jwk.get(member)!r}, expected {expected!r}",
                requirement="TWIN-IDENTITY-010",
            )
    for member in _PRIVATE_MEMBERS:
        if member in jwk:
            raise KeyFormatError(
                f"JWK holds the private member {member!r}; a verification method must not",
                requirement="TWIN-IDENTITY-010",
            )
    if "alg" in jwk and jwk["alg"] not in ACCEPTED_ALGORITHMS:
        raise KeyFormatError(
            f"JWK alg is {jwk['alg']!r}, expected one of {', '.join(ACCEPTED_ALGORITHMS)}",
            requirement="TWIN-IDENTITY-010",
        )
    x = jwk.get("x")
    if not isinstance(x, str):
        raise KeyFormatError(
            "JWK member x is missing or not a string", requirement="TWIN-IDENTITY-010"
        )
    try:
        raw = base64url_decode(x)
    except EncodingError as exc:
        raise KeyFormatError(
            f"JWK member x: {exc.message}", requirement="TWIN-IDENTITY-010"
        ) from None
    if len(raw) != PUBLIC_KEY_LENGTH:
        raise KeyFormatError(
            f"JWK member x decodes to {len(raw)} bytes, an Ed25519 key is {PUBLIC_KEY_LENGTH}",
            requirement="TWIN-IDENTITY-010",
        )
    return Ed25519PublicKey(raw)
