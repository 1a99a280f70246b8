"""The did:key method for Ed25519 keys: encode, decode, and resolve to a DID document.

``did:key:z6Mk...`` is the key itself: base58btc multibase of the ed25519-pub multicodec
(varint 0xed 0x01) followed by the 32 key bytes. Resolution needs no network: the document is
computed from the identifier (W3C CCG did:key method).
"""

from __future__ import annotations

from enum import StrEnum

from twin_spec import _curve25519 as curve
from twin_spec._dids import parse_did
from twin_spec._ed25519 import PUBLIC_KEY_LENGTH, Ed25519PublicKey
from twin_spec._errors import DidError, DidErrorCode, EncodingError
from twin_spec._jcs import JSONValue
from twin_spec._jwk import jwk_from_public_key
from twin_spec._multibase import base58btc_encode, base64url_encode, multibase_decode
from twin_spec._multicodec import Multicodec, add_prefix, codec_name, split_prefix

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
AUTHORIZED_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)


class DidKeyMethodType(StrEnum):
    """How the resolved document spells its verification methods."""

    MULTIKEY = "Multikey"
    JSON_WEB_KEY = "JsonWebKey"
    JSON_WEB_KEY_2020 = "JsonWebKey2020"
    ED25519_2018 = "Ed25519VerificationKey2018"


_CONTEXTS = {
    DidKeyMethodType.MULTIKEY: ["https://w3id.org/security/multikey/v1"],
    DidKeyMethodType.JSON_WEB_KEY: ["https://w3id.org/security/jwk/v1"],
    DidKeyMethodType.JSON_WEB_KEY_2020: ["https://w3id.org/security/suites/jws-2020/v1"],
    DidKeyMethodType.ED25519_2018: ["https://w3id.org/security/suites/ed25519-2018/v1"],
}
_X25519_2019_CONTEXT = "https://w3id.org/security/suites/x25519-2019/v1"


def did_key_from_public_key(public_key: Ed25519PublicKey) -> str:
    """Return the did:key identifier of an Ed25519 public key."""
    # TWIN-IDENTITY-002 "The did:key of an Ed25519 key is 'did:key:z' followed by the base58btc
    # of 0xed 0x01 and the 32 key bytes."
    return "did:key:z" + base58btc_encode(add_prefix(Multicodec.ED25519_PUB, public_key.raw))


def public_key_from_did_key(did: str) -> Ed25519PublicKey:
    """Decode a did:key to its Ed25519 key, raising :class:`DidError` with the did:key code."""
    # TWIN-IDENTITY-003 "did:key resolution fails with invalidDid, methodNotSupported,
    # unsupportedPublicKeyType, invalidPublicKeyLength or invalidPublicKey as the case is."
    parsed = parse_did(did)
    if parsed.method != "key":
        raise DidError(
            DidErrorCode.METHOD_NOT_SUPPORTED,
            f"{did!r} is a did:{parsed.method}, not a did:key",
            requirement="TWIN-IDENTITY-003",
        )
    identifier = parsed.method_specific_id
    try:
        code, raw = split_prefix(multibase_decode(identifier, allowed="z"))
    except EncodingError as exc:
        raise DidError(
            DidErrorCode.INVALID_DID,
            f"did:key identifier {identifier[:60]!r} is not base58btc multibase of a "
            f"multicodec key: {exc.message}",
            requirement="TWIN-IDENTITY-003",
        ) from None
    if code != Multicodec.ED25519_PUB:
        raise DidError(
            DidErrorCode.UNSUPPORTED_PUBLIC_KEY_TYPE,
            f"did:key holds a {codec_name(code)} key; TWIN resolves ed25519-pub keys only",
            requirement="TWIN-IDENTITY-003",
        )
    if len(raw) != PUBLIC_KEY_LENGTH:
        raise DidError(
            DidErrorCode.INVALID_PUBLIC_KEY_LENGTH,
            f"did:key holds {len(raw)} key bytes, an Ed25519 key is {PUBLIC_KEY_LENGTH}",
            requirement="TWIN-IDENTITY-003",
        )
    key = Ed25519PublicKey(raw)
    if not key.is_valid_point():
        raise DidError(
            DidErrorCode.INVALID_PUBLIC_KEY,
            "did:key holds bytes that are not a usable Ed25519 key "
            "(not a canonical curve point, or a point of small order)",
            requirement="TWIN-IDENTITY-003",
        )
    return key


def x25519_public_key(public_key: Ed25519PublicKey) -> bytes:
    """Derive the X25519 key-agreement key of an Ed25519 key (RFC 7748 birational map)."""
    point = curve.decode_point(public_key.raw)
    if point is None or public_key.raw in curve.SMALL_ORDER_ENCODINGS:
        raise DidError(
            DidErrorCode.INVALID_PUBLIC_KEY,
            "an X25519 key can only be derived from a valid Ed25519 key",
            requirement="TWIN-IDENTITY-005",
        )
    return curve.montgomery_u_from_edwards_y(point[1]).to_bytes(32, "little")


def did_key_document(
    did: str,
    *,
    method_type: DidKeyMethodType = DidKeyMethodType.MULTIKEY,
    derive_key_agreement: bool = False,
) -> dict[str, JSONValue]:
    """Expand a did:key into its DID document.

    The one Ed25519 method is listed under authentication, assertionMethod,
    capabilityInvocation and capabilityDelegation; with ``derive_key_agreement`` an X25519
    method derived from it is added under keyAgreement.
    """
    # TWIN-IDENTITY-004 "The did:key document has one verification method, id did#<identifier>,
    # controller did, referenced from authentication, assertionMethod, capabilityInvocation and
    # capabilityDelegation."
    key = public_key_from_did_key(did)
    identifier = did.removeprefix("did:key:")
    method_id = f"{did}#{identifier}"
    contexts: list[JSONValue] = [DID_CONTEXT, *_CONTEXTS[method_type]]
    methods: list[JSONValue] = [_ed25519_method(key, method_id, did, method_type)]
    document: dict[str, JSONValue] = {"@context": contexts, "id": did}
    for relationship in AUTHORIZED_RELATIONSHIPS:
        document[relationship] = [method_id]
    if derive_key_agreement:
        # TWIN-IDENTITY-005 "A resolver MAY add an X25519 keyAgreement method derived from the
        # Ed25519 key by the RFC 7748 birational map."
        x25519 = x25519_public_key(key)
        x_identifier = "z" + base58btc_encode(add_prefix(Multicodec.X25519_PUB, x25519))
        x_method_id = f"{did}#{x_identifier}"
        methods.append(_x25519_method(x25519, x_identifier, x_method_id, did, method_type))
        document["keyAgreement"] = [x_method_id]
        if method_type is DidKeyMethodType.ED25519_2018:
            contexts.append(_X25519_2019_CONTEXT)
    document["verificationMethod"] = methods
    return document


def resolve_did_key(
    did: str,
    *,
    method_type: DidKeyMethodType = DidKeyMethodType.MULTIKEY,
    derive_key_agreement: bool = False,
) -> dict[str, JSONValue]:
    """Resolve a did:key to a DID Core resolution result; errors go in the metadata."""
    try:
        document = did_key_document(
            did, method_type=method_type, derive_key_agreement=derive_key_agreement
        )
    except DidError as exc:
        return {
            "didResolutionMetadata": {"error": exc.code.value, "errorMessage": exc.message},
            "didDocument": None,
            "didDocumentMetadata": {},
        }
    return {
        "didResolutionMetadata": {"contentType": "application/did+ld+json"},
        "didDocument": document,
        "didDocumentMetadata": {},
    }


def _ed25519_method(
    key: Ed25519PublicKey, method_id: str, did: str, method_type: DidKeyMethodType
) -> dict[str, JSONValue]:
    method: dict[str, JSONValue] = {"id": method_id, "type": method_type.value, "controller": did}
    if method_type is DidKeyMethodType.MULTIKEY:
        method["publicKeyMultibase"] = did.removeprefix("did:key:")
    elif method_type is DidKeyMethodType.JSON_WEB_KEY:
        # The TWIN node's form: with alg and the thumbprint as kid.
        method["publicKeyJwk"] = jwk_from_public_key(key)
    elif method_type is DidKeyMethodType.JSON_WEB_KEY_2020:
        method["publicKeyJwk"] = {"kty": "OKP", "crv": "Ed25519", "x": base64url_encode(key.raw)}
    else:
        method["publicKeyBase58"] = base58btc_encode(key.raw)
    return method


def _x25519_method(
    raw: bytes, identifier: str, method_id: str, did: str, method_type: DidKeyMethodType
) -> dict[str, JSONValue]:
    if method_type is DidKeyMethodType.MULTIKEY:
        return {
            "id": method_id,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": identifier,
        }
    if method_type in (DidKeyMethodType.JSON_WEB_KEY, DidKeyMethodType.JSON_WEB_KEY_2020):
        jwk: dict[str, JSONValue] = {"kty": "OKP", "crv": "X25519", "x": base64url_encode(raw)}
        return {
            "id": method_id,
            "type": method_type.value,
            "controller": did,
            "publicKeyJwk": jwk,
        }
    return {
        "id": method_id,
        "type": "X25519KeyAgreementKey2019",
        "controller": did,
        "publicKeyBase58": base58btc_encode(raw),
    }
