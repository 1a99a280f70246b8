"""Identity vectors about DIDs: did-key-resolve (live), did-syntax, did-key, did-document, jwk."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from twin_spec import (
    DidError,
    DidErrorCode,
    DidKeyMethodType,
    Ed25519PublicKey,
    KeyFormatError,
    Multicodec,
    TwinSpecError,
    base58btc_encode,
    base64url_encode,
    did_key_document,
    did_key_from_public_key,
    jwk_from_public_key,
    jwk_thumbprint,
    parse_did,
    parse_did_twin,
    parse_did_url,
    public_key_from_jwk,
    verification_key,
)
from twin_vectors import _edwards as edwards
from twin_vectors._format import (
    Family,
    Vector,
    vector_test_key,
    with_expected,
)
from twin_vectors._keys import (
    UNKNOWN_DID_TWIN,
    Case,
    did_key_of,
)

DID_KEY_RESOLVE = "identity/did-key-resolve"


DID_SYNTAX = "identity/did-syntax"


DID_KEY = "identity/did-key"


DID_DOCUMENT = "identity/did-document"


JWK = "identity/jwk"


DID_ERROR_STATUS = {"invalidDid": 400, "notFound": 404, "methodNotSupported": 501}


"""The HTTP status of each resolution error (TWIN-IDENTITY-061); other did:key codes are 400."""


def did_key_resolve_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """What GET /identity/{did} answers for a did:key or a DID no node knows."""
    did = input_["did"]
    try:
        parsed = parse_did(did)
        if parsed.method == "twin":
            parse_did_twin(did)
            # The vectors only use a did:twin that no ledger holds (see UNKNOWN_DID_TWIN).
            raise DidError(DidErrorCode.NOT_FOUND, f"{did} is on no ledger")
        if parsed.method != "key":
            raise DidError(DidErrorCode.METHOD_NOT_SUPPORTED, f"{did} is not did:key or did:twin")
        document = did_key_document(did)
    except DidError as exc:
        code = exc.code.value
        return {"result": "invalid", "error": code, "status": DID_ERROR_STATUS.get(code, 400)}
    return {"result": "valid", "document": document}


def _did_key_resolve_cases() -> list[Case]:
    resolve = ["TWIN-IDENTITY-004", "TWIN-IDENTITY-014", "TWIN-IDENTITY-061"]
    errors = ["TWIN-IDENTITY-003", "TWIN-IDENTITY-061", "TWIN-CORE-052", "TWIN-CORE-054"]
    result = ["TWIN-IDENTITY-060"]
    key = vector_test_key("did-key-resolve/key")
    did = did_key_from_public_key(key.public_key)
    second = did_key_from_public_key(vector_test_key("did-key-resolve/second").public_key)
    x25519 = did_key_of(key.public_key.raw, Multicodec.X25519_PUB)
    cases: list[Case] = [
        ("did-key", "an Ed25519 did:key", [*resolve, "TWIN-IDENTITY-002"], {"did": did}),
        ("did-key-second", "another Ed25519 did:key", resolve, {"did": second}),
        (
            "did-key-resolution-result",
            "the same DID, asked for as a DID resolution result",
            [*resolve, *result],
            {"did": did, "accept": "application/did-resolution"},
        ),
    ]
    invalid = [
        ("not-a-did", "a string that is not a DID", "not-a-did", ["TWIN-IDENTITY-001"]),
        ("uppercase-method", "the method name in capitals", "did:KEY:z6Mk", ["TWIN-IDENTITY-001"]),
        ("empty-identifier", "no method-specific identifier", "did:key:", ["TWIN-IDENTITY-001"]),
        (
            "base58-bad-character",
            "'0' is not a base58btc character",
            "did:key:z6Mk0OIl",
            ["TWIN-CORE-030"],
        ),
        (
            "base16-multibase",
            "the identifier is base16 multibase",
            "did:key:fed01" + key.public_key.raw.hex(),
            ["TWIN-CORE-030"],
        ),
        ("x25519-key", "an X25519 did:key", x25519, []),
        ("31-byte-key", "an ed25519-pub of 31 bytes", did_key_of(bytes(range(1, 32))), []),
        (
            "33-byte-key",
            "an ed25519-pub of 33 bytes",
            did_key_of(key.public_key.raw + b"\x00"),
            [],
        ),
        (
            "small-order-key",
            "the identity point as an ed25519-pub",
            did_key_of((1).to_bytes(32, "little")),
            ["TWIN-CORE-013"],
        ),
        (
            "non-canonical-key",
            "a non-canonical point encoding (y = p + 2)",
            did_key_of((edwards.P + 2).to_bytes(32, "little")),
            ["TWIN-CORE-012"],
        ),
        (
            "unterminated-varint",
            "the multicodec prefix never ends",
            "did:key:z" + base58btc_encode(b"\xed\x81\x81" + bytes(32)),
            ["TWIN-CORE-032"],
        ),
        (
            "method-not-supported",
            "a did:example, which no TWIN node resolves",
            "did:example:123456789abcdefghi",
            [],
        ),
        (
            "did-twin-uppercase-hex",
            "a did:twin spelled in uppercase hex",
            UNKNOWN_DID_TWIN.upper().replace("DID:TWIN:0X", "did:twin:0x"),
            ["TWIN-IDENTITY-030"],
        ),
        (
            "did-twin-short",
            "a did:twin of 8 hex digits",
            "did:twin:0x22133d90",
            ["TWIN-IDENTITY-030"],
        ),
        (
            "did-twin-unknown",
            "a well-formed did:twin that no ledger holds",
            UNKNOWN_DID_TWIN,
            ["TWIN-IDENTITY-030"],
        ),
    ]
    for name, description, value, extra in invalid:
        cases.append((name, description, [*errors, *extra], {"did": value}))
    for name in ("not-a-did", "x25519-key", "method-not-supported", "did-twin-unknown"):
        value = next(item[2] for item in invalid if item[0] == name)
        cases.append(
            (
                f"{name}-resolution-result",
                "the resolution error as a DID resolution result",
                [*errors, *result],
                {"did": value, "accept": "application/did-resolution"},
            )
        )
    return cases


def did_key_resolve_vectors() -> list[Vector]:
    """DIDs to resolve at GET /identity/{did}: did:keys, and malformed or unknown DIDs."""
    return with_expected(DID_KEY_RESOLVE, did_key_resolve_oracle, _did_key_resolve_cases())


def did_syntax_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Parse a DID, a DID URL or a did:twin."""
    text, kind = input_["did"], input_["as"]
    try:
        if kind == "didUrl":
            url = parse_did_url(text)
            return {
                "result": "valid",
                "method": url.did.method,
                "methodSpecificId": url.did.method_specific_id,
                "path": url.path,
                "query": url.query,
                "fragment": url.fragment,
            }
        if kind == "didTwin":
            return {"result": "valid", "identifier": parse_did_twin(text).hex()}
        did = parse_did(text)
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    return {"result": "valid", "method": did.method, "methodSpecificId": did.method_specific_id}


def _did_syntax_cases() -> list[Case]:
    syntax = ["TWIN-IDENTITY-001"]
    twin = ["TWIN-IDENTITY-030"]
    hex64 = hashlib.sha256(b"did-syntax").hexdigest()
    table: list[tuple[str, str, str, str, list[str]]] = [
        (
            "did-key",
            "a did:key",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "did",
            syntax,
        ),
        (
            "colons-in-identifier",
            "a method-specific id with colons",
            "did:web:example.com:user:alice",
            "did",
            syntax,
        ),
        ("percent-encoding", "a percent-encoded octet", "did:example:a%20b", "did", syntax),
        (
            "entity-storage",
            "the TWIN node's method name",
            f"did:entity-storage:0x{hex64}",
            "did",
            syntax,
        ),
        ("digits-in-method", "method names may hold digits", "did:web3:abc", "did", syntax),
        ("no-did-prefix", "no 'did:'", "key:z6Mk", "did", syntax),
        ("uppercase-did", "'DID:' in capitals", "DID:key:z6Mk", "did", syntax),
        ("uppercase-method", "a method in capitals", "did:Key:z6Mk", "did", syntax),
        ("hyphen-method", "a hyphen in another method name", "did:my-method:abc", "did", syntax),
        ("empty-identifier", "nothing after the method", "did:key:", "did", syntax),
        ("trailing-colon", "an identifier ending with ':'", "did:example:abc:", "did", syntax),
        ("bad-percent", "a '%' not followed by two hex digits", "did:example:a%2g", "did", syntax),
        ("space", "a space in the identifier", "did:example:a b", "did", syntax),
        (
            "fragment-in-did",
            "a DID does not carry a fragment",
            "did:example:abc#key-1",
            "did",
            syntax,
        ),
        ("url-fragment", "a DID URL with a fragment", "did:example:abc#key-1", "didUrl", syntax),
        (
            "url-path-query-fragment",
            "path, query and fragment",
            "did:example:abc/path/x?versionId=2#frag",
            "didUrl",
            syntax,
        ),
        ("url-relative", "a relative reference is not a DID URL", "#key-1", "didUrl", syntax),
        ("did-twin", "a did:twin", f"did:twin:0x{hex64}", "didTwin", [*twin, *syntax]),
        ("did-twin-uppercase", "uppercase hex", f"did:twin:0x{hex64.upper()}", "didTwin", twin),
        ("did-twin-no-0x", "no '0x'", f"did:twin:{hex64}", "didTwin", twin),
        ("did-twin-short", "63 hex digits", f"did:twin:0x{hex64[:63]}", "didTwin", twin),
        ("did-twin-long", "66 hex digits", f"did:twin:0x{hex64}00", "didTwin", twin),
        ("did-twin-non-hex", "a 'g'", f"did:twin:0x{hex64[:63]}g", "didTwin", twin),
        (
            "did-twin-of-did-key",
            "a did:key is not a did:twin",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "didTwin",
            ["TWIN-IDENTITY-031"],
        ),
        (
            "did-twin-of-entity-storage",
            "the upstream method is another method",
            f"did:entity-storage:0x{hex64}",
            "didTwin",
            ["TWIN-IDENTITY-031"],
        ),
    ]
    return [
        (name, description, requirements, {"did": text, "as": kind})
        for name, description, text, kind, requirements in table
    ]


def did_syntax_vectors() -> list[Vector]:
    """DIDs, DID URLs and did:twins, parsed or refused with the DID Core code."""
    return with_expected(DID_SYNTAX, did_syntax_oracle, _did_syntax_cases())


def did_key_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The did:key of a key, or the document of a did:key in a given method type."""
    if "publicKey" in input_:
        return {
            "result": "valid",
            "did": did_key_from_public_key(Ed25519PublicKey(bytes.fromhex(input_["publicKey"]))),
        }
    agreement = bool(input_.get("keyAgreement", False))
    try:
        document = did_key_document(
            input_["did"],
            method_type=DidKeyMethodType(input_.get("methodType", "Multikey")),
            derive_key_agreement=agreement,
        )
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    if agreement:
        return {"result": "acceptable", "flags": ["MayDeriveKeyAgreement"], "document": document}
    return {"result": "valid", "document": document}


def _did_key_cases() -> list[Case]:
    cases: list[Case] = []
    for index in range(3):
        key = vector_test_key(f"did-key/key-{index}")
        cases.append(
            (
                f"encode-{index}",
                "the did:key of an Ed25519 public key",
                ["TWIN-IDENTITY-002", "TWIN-CORE-030", "TWIN-CORE-032"],
                {"publicKey": key.public_key.raw.hex()},
            )
        )
    did = did_key_from_public_key(vector_test_key("did-key/key-0").public_key)
    for method_type in DidKeyMethodType:
        cases.append(
            (
                f"document-{method_type.value.lower()}",
                f"the document with a {method_type.value} method",
                ["TWIN-IDENTITY-004", "TWIN-IDENTITY-014"],
                {"did": did, "methodType": method_type.value},
            )
        )
    for method_type in (DidKeyMethodType.MULTIKEY, DidKeyMethodType.JSON_WEB_KEY):
        cases.append(
            (
                f"key-agreement-{method_type.value.lower()}",
                "a resolver MAY add the X25519 key derived from the Ed25519 key",
                ["TWIN-IDENTITY-005", "TWIN-IDENTITY-004"],
                {"did": did, "methodType": method_type.value, "keyAgreement": True},
            )
        )
    cases.append(
        (
            "key-agreement-of-small-order-key",
            "no X25519 key is derived from a key of small order",
            ["TWIN-IDENTITY-003", "TWIN-IDENTITY-005"],
            {"did": did_key_of((1).to_bytes(32, "little")), "keyAgreement": True},
        )
    )
    return cases


def did_key_vectors() -> list[Vector]:
    """did:key encoding, and resolution in each method type, with key agreement if asked."""
    return with_expected(DID_KEY, did_key_oracle, _did_key_cases())


def did_document_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The key a DID document authorizes for a relationship, or why it authorizes none."""
    try:
        key = verification_key(input_["document"], input_["methodId"], input_["relationship"])
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    except (KeyFormatError, TwinSpecError):
        return {"result": "invalid", "error": "invalidVerificationMethod"}
    return {"result": "valid", "publicKey": key.raw.hex()}


def _did_document_cases() -> list[Case]:
    key = vector_test_key("did-document/assertion")
    login = vector_test_key("did-document/login")
    did = "did:twin:0x" + hashlib.sha256(b"did-document").hexdigest()
    stranger = "did:twin:0x" + hashlib.sha256(b"did-document/stranger").hexdigest()
    assertion: dict[str, Any] = {
        "id": f"{did}#my-assertion",
        "controller": did,
        "type": "JsonWebKey",
        "publicKeyJwk": jwk_from_public_key(key.public_key),
    }
    login_method = {
        "id": f"{did}#login",
        "controller": did,
        "type": "Multikey",
        "publicKeyMultibase": did_key_from_public_key(login.public_key).removeprefix("did:key:"),
    }
    document = {
        "@context": "https://www.w3.org/ns/did/v1",
        "id": did,
        "verificationMethod": [login_method],
        "assertionMethod": [assertion, "#listed-not-defined"],
        "authentication": [f"{did}#login"],
    }
    base = ["TWIN-IDENTITY-013"]
    table: list[tuple[str, str, list[str], Any, str, str]] = [
        (
            "embedded-assertion-method",
            "a JsonWebKey method embedded under assertionMethod",
            [*base, "TWIN-IDENTITY-010"],
            document,
            f"{did}#my-assertion",
            "assertionMethod",
        ),
        (
            "referenced-authentication",
            "a Multikey method referenced from authentication",
            base,
            document,
            f"{did}#login",
            "authentication",
        ),
        (
            "relative-reference",
            "the method asked for as '#login'",
            base,
            document,
            "#login",
            "authentication",
        ),
        (
            "not-listed-for-purpose",
            "the login key is not an assertion method",
            base,
            document,
            f"{did}#login",
            "assertionMethod",
        ),
        (
            "assertion-not-for-authentication",
            "the assertion key is not an authentication method",
            base,
            document,
            f"{did}#my-assertion",
            "authentication",
        ),
        (
            "reference-without-definition",
            "assertionMethod names a method nobody defines",
            base,
            document,
            f"{did}#listed-not-defined",
            "assertionMethod",
        ),
        ("unknown-method", "no such method", base, document, f"{did}#nothing", "assertionMethod"),
        (
            "method-of-another-did",
            "a method of another DID",
            base,
            document,
            f"{stranger}#my-assertion",
            "assertionMethod",
        ),
        (
            "unknown-relationship",
            "'signing' is not a verification relationship",
            base,
            document,
            f"{did}#my-assertion",
            "signing",
        ),
        (
            "document-without-id",
            "the document has no id",
            ["TWIN-IDENTITY-014"],
            {k: v for k, v in document.items() if k != "id"},
            f"{did}#login",
            "authentication",
        ),
        (
            "jwk-with-private-member",
            "the method's JWK holds d",
            [*base, "TWIN-IDENTITY-010"],
            {
                **document,
                "assertionMethod": [
                    {
                        **assertion,
                        "publicKeyJwk": {
                            **assertion["publicKeyJwk"],
                            "d": base64url_encode(key.seed),
                        },
                    }
                ],
            },
            f"{did}#my-assertion",
            "assertionMethod",
        ),
        (
            "unsupported-method-type",
            "a secp256k1 method type",
            ["TWIN-IDENTITY-014"],
            {
                **document,
                "assertionMethod": [{**assertion, "type": "EcdsaSecp256k1VerificationKey2019"}],
            },
            f"{did}#my-assertion",
            "assertionMethod",
        ),
    ]
    return [
        (
            name,
            description,
            requirements,
            {"document": doc, "methodId": method, "relationship": relationship},
        )
        for name, description, requirements, doc, method, relationship in table
    ]


def did_document_vectors() -> list[Vector]:
    """Which key a DID document authorizes for which verification relationship."""
    return with_expected(DID_DOCUMENT, did_document_oracle, _did_document_cases())


def jwk_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Read an Ed25519 JWK and its thumbprint, or publish a key as the TWIN node does."""
    if "publicKey" in input_:
        jwk = jwk_from_public_key(Ed25519PublicKey(bytes.fromhex(input_["publicKey"])))
        return {"result": "valid", "jwk": jwk}
    try:
        key = public_key_from_jwk(input_["jwk"])
        thumbprint = jwk_thumbprint(input_["jwk"])
    except (KeyFormatError, TwinSpecError):
        return {"result": "invalid", "error": "invalidJwk"}
    return {"result": "valid", "publicKey": key.raw.hex(), "thumbprint": thumbprint}


def _jwk_cases() -> list[Case]:
    key = vector_test_key("jwk/key")
    x = base64url_encode(key.public_key.raw)
    minimal = {"kty": "OKP", "crv": "Ed25519", "x": x}
    read = ["TWIN-IDENTITY-010", "TWIN-IDENTITY-011"]
    refuse = ["TWIN-IDENTITY-010"]
    table: list[tuple[str, str, list[str], dict[str, Any]]] = [
        ("minimal", "kty, crv and x only", read, minimal),
        (
            "alg-eddsa-and-kid",
            "alg EdDSA and a kid; the thumbprint ignores both",
            read,
            {**minimal, "alg": "EdDSA", "kid": "anything", "use": "sig"},
        ),
        ("alg-ed25519", "alg Ed25519 (RFC 9864)", read, {**minimal, "alg": "Ed25519"}),
        ("kty-ec", "kty EC", refuse, {**minimal, "kty": "EC"}),
        ("crv-x25519", "crv X25519", refuse, {**minimal, "crv": "X25519"}),
        ("alg-es256", "alg ES256", refuse, {**minimal, "alg": "ES256"}),
        ("private-member", "d is present", refuse, {**minimal, "d": base64url_encode(key.seed)}),
        ("x-missing", "no x", refuse, {"kty": "OKP", "crv": "Ed25519"}),
        ("x-number", "x is a number", refuse, {**minimal, "x": 7}),
        ("x-padded", "x with '=' padding", [*refuse, "TWIN-CORE-031"], {**minimal, "x": x + "="}),
        (
            "x-base64",
            "x in base64 with '+' and '/'",
            [*refuse, "TWIN-CORE-031"],
            {**minimal, "x": "+/" + x[2:]},
        ),
        (
            "x-31-bytes",
            "x decodes to 31 bytes",
            refuse,
            {**minimal, "x": base64url_encode(key.public_key.raw[:31])},
        ),
    ]
    cases: list[Case] = [
        (name, description, requirements, {"jwk": jwk})
        for name, description, requirements, jwk in table
    ]
    cases.append(
        (
            "publish",
            "the JWK a node publishes for a key: alg EdDSA and the thumbprint as kid",
            ["TWIN-IDENTITY-010", "TWIN-IDENTITY-011", "TWIN-IDENTITY-012"],
            {"publicKey": key.public_key.raw.hex()},
        )
    )
    return cases


def jwk_vectors() -> list[Vector]:
    """Ed25519 JWKs read or refused, with RFC 7638 thumbprints."""
    return with_expected(JWK, jwk_oracle, _jwk_cases())


FAMILIES = [
    Family(
        "identity",
        "did-key-resolve",
        True,
        did_key_resolve_vectors,
        did_key_resolve_oracle,
        "a DID to resolve (GET /identity/{did}): the did:key document, or the DID error "
        "code and HTTP status",
    ),
    Family(
        "identity",
        "did-syntax",
        False,
        did_syntax_vectors,
        did_syntax_oracle,
        "DIDs, DID URLs and did:twins parsed, or refused with the DID Core code",
    ),
    Family(
        "identity",
        "did-key",
        False,
        did_key_vectors,
        did_key_oracle,
        "did:key encoding and resolution in each verification method type",
    ),
    Family(
        "identity",
        "did-document",
        False,
        did_document_vectors,
        did_document_oracle,
        "the key a DID document authorizes for a verification relationship",
    ),
    Family(
        "identity",
        "jwk",
        False,
        jwk_vectors,
        jwk_oracle,
        "Ed25519 JWKs read or refused, with their RFC 7638 thumbprints",
    ),
]
