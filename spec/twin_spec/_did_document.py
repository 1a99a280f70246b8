"""Reading keys out of DID documents, for a given verification relationship.

A verifier takes the key from the controller's DID document as *it* resolved it, and only if
the document lists the method under the relationship the proof claims (``assertionMethod`` for
an assertion). It never uses a key that the signed data carries about itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from twin_spec._dids import parse_did, parse_did_url
from twin_spec._ed25519 import PUBLIC_KEY_LENGTH, Ed25519PublicKey
from twin_spec._errors import DidError, DidErrorCode, EncodingError, KeyFormatError
from twin_spec._jwk import public_key_from_jwk
from twin_spec._multibase import base58btc_decode, multibase_decode
from twin_spec._multicodec import Multicodec, codec_name, split_prefix

VERIFICATION_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)
JWK_METHOD_TYPES = ("JsonWebKey", "JsonWebKey2020")
MULTIKEY_METHOD_TYPES = ("Multikey", "Ed25519VerificationKey2020")
BASE58_METHOD_TYPES = ("Ed25519VerificationKey2018",)


def verification_key(
    document: Mapping[str, object], method_id: str, relationship: str
) -> Ed25519PublicKey:
    """Return the key of ``method_id`` if the document authorizes it for ``relationship``."""
    method = verification_method(document, method_id, relationship)
    return public_key_from_verification_method(method)


def verification_method(
    document: Mapping[str, object], method_id: str, relationship: str
) -> Mapping[str, object]:
    """Find a verification method that ``document`` lists under ``relationship``.

    The method must belong to the document's own DID; references may be absolute DID URLs or
    relative ('#key-1') ones, and entries may be references or embedded methods.
    """
    # TWIN-IDENTITY-013 "A verification method is used for a purpose only when the controller's
    # DID document lists it under the verification relationship of that name."
    if relationship not in VERIFICATION_RELATIONSHIPS:
        raise DidError(
            DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED,
            f"{relationship!r} is not a verification relationship "
            f"({', '.join(VERIFICATION_RELATIONSHIPS)})",
            requirement="TWIN-IDENTITY-013",
        )
    document_id = _document_id(document)
    wanted = _absolute(method_id, document_id)
    method_url = parse_did_url(wanted)
    if str(method_url.did) != document_id or method_url.fragment is None:
        raise DidError(
            DidErrorCode.VERIFICATION_METHOD_NOT_FOUND,
            f"verification method {method_id!r} is not a method of {document_id}",
            requirement="TWIN-IDENTITY-013",
        )
    declared = {
        _entry_id(entry, document_id): entry
        for entry in _entries(document, "verificationMethod")
        if isinstance(entry, Mapping)
    }
    for entry in _entries(document, relationship):
        if _entry_id(entry, document_id) != wanted:
            continue
        if isinstance(entry, Mapping):
            return entry
        if wanted not in declared:
            raise DidError(
                DidErrorCode.VERIFICATION_METHOD_NOT_FOUND,
                f"{relationship} references {wanted}, which verificationMethod does not define",
                requirement="TWIN-IDENTITY-013",
            )
        return declared[wanted]
    if wanted in declared or any(
        _entry_id(entry, document_id) == wanted
        for other in VERIFICATION_RELATIONSHIPS
        for entry in _entries(document, other)
    ):
        raise DidError(
            DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED,
            f"{wanted} is in the DID document but not listed under {relationship}",
            requirement="TWIN-IDENTITY-013",
        )
    raise DidError(
        DidErrorCode.VERIFICATION_METHOD_NOT_FOUND,
        f"the DID document of {document_id} has no verification method {wanted}",
        requirement="TWIN-IDENTITY-013",
    )


def public_key_from_verification_method(method: Mapping[str, object]) -> Ed25519PublicKey:
    """Read the Ed25519 key of a verification method of a type TWIN accepts."""
    method_type = method.get("type")
    if method_type in JWK_METHOD_TYPES:
        jwk = method.get("publicKeyJwk")
        if not isinstance(jwk, Mapping):
            raise KeyFormatError(
                f"a {method_type} verification method needs a publicKeyJwk object",
                requirement="TWIN-IDENTITY-010",
            )
        return public_key_from_jwk(jwk)
    if method_type in MULTIKEY_METHOD_TYPES:
        return _key_from_multikey(method.get("publicKeyMultibase"), str(method_type))
    if method_type in BASE58_METHOD_TYPES:
        return _key_from_base58(method.get("publicKeyBase58"))
    accepted = JWK_METHOD_TYPES + MULTIKEY_METHOD_TYPES + BASE58_METHOD_TYPES
    raise KeyFormatError(
        f"verification method type {method_type!r} is not one TWIN reads ({', '.join(accepted)})",
        requirement="TWIN-IDENTITY-010",
    )


def _key_from_multikey(value: object, method_type: str) -> Ed25519PublicKey:
    if not isinstance(value, str):
        raise KeyFormatError(
            f"a {method_type} verification method needs a publicKeyMultibase string",
            requirement="TWIN-IDENTITY-010",
        )
    try:
        code, raw = split_prefix(multibase_decode(value, allowed="z"))
    except EncodingError as exc:
        raise KeyFormatError(f"publicKeyMultibase: {exc.message}") from None
    if code != Multicodec.ED25519_PUB:
        raise KeyFormatError(
            f"publicKeyMultibase holds a {codec_name(code)} key, not ed25519-pub",
            requirement="TWIN-IDENTITY-010",
        )
    if len(raw) != PUBLIC_KEY_LENGTH:
        raise KeyFormatError(
            f"publicKeyMultibase holds {len(raw)} key bytes, an Ed25519 key is {PUBLIC_KEY_LENGTH}",
            requirement="TWIN-IDENTITY-010",
        )
    return Ed25519PublicKey(raw)


def _key_from_base58(value: object) -> Ed25519PublicKey:
    if not isinstance(value, str):
        raise KeyFormatError(
            "an Ed25519VerificationKey2018 method needs a publicKeyBase58 string",
            requirement="TWIN-IDENTITY-010",
        )
    try:
        raw = base58btc_decode(value)
    except EncodingError as exc:
        raise KeyFormatError(f"publicKeyBase58: {exc.message}") from None
    if len(raw) != PUBLIC_KEY_LENGTH:
        raise KeyFormatError(
            f"publicKeyBase58 holds {len(raw)} bytes, an Ed25519 key is {PUBLIC_KEY_LENGTH}",
            requirement="TWIN-IDENTITY-010",
        )
    return Ed25519PublicKey(raw)


def _document_id(document: Mapping[str, object]) -> str:
    document_id = document.get("id")
    if not isinstance(document_id, str):
        raise DidError(
            DidErrorCode.INVALID_DID_DOCUMENT,
            "the DID document has no string id",
            requirement="TWIN-IDENTITY-014",
        )
    return str(parse_did(document_id))


def _absolute(reference: str, document_id: str) -> str:
    return document_id + reference if reference.startswith("#") else reference


def _entry_id(entry: object, document_id: str) -> str | None:
    """The absolute id of a relationship entry: a reference, or an embedded method's id."""
    if isinstance(entry, str):
        return _absolute(entry, document_id)
    if isinstance(entry, Mapping):
        return _absolute(str(entry.get("id")), document_id)
    return None


def _entries(document: Mapping[str, object], member: str) -> list[object]:
    value = document.get(member, [])
    if not isinstance(value, list):
        raise DidError(
            DidErrorCode.INVALID_DID_DOCUMENT,
            f"DID document member {member} must be an array, got {type(value).__name__}",
            requirement="TWIN-IDENTITY-014",
        )
    return value
