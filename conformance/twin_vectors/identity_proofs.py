"""Identity vectors about Data Integrity proofs: ``proof-verify`` (live) and ``data-integrity``.

Every key is a did:key, which any node resolves from the DID alone, so the live vectors need
no state on the node.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from twin_spec import (
    DidError,
    Ed25519SigningKey,
    Multicodec,
    ProofVerificationError,
    TwinSpecError,
    create_proof,
    did_key_from_public_key,
    hash_data,
    multibase_decode,
    multibase_encode,
    verify_proof,
)
from twin_vectors import _edwards as edwards
from twin_vectors._format import (
    Family,
    Vector,
    vector_test_key,
    with_expected,
)
from twin_vectors._keys import (
    CREATED,
    VC_CONTEXT,
    Case,
    did_key_of,
    method_of,
    resolve_did_key_method,
)

PROOF_VERIFY = "identity/proof-verify"


DATA_INTEGRITY = "identity/data-integrity"


def _signed_proof(
    document: Mapping[str, Any],
    key: Ed25519SigningKey,
    *,
    purpose: str = "assertionMethod",
    include_context: bool = False,
    did: str | None = None,
) -> dict[str, Any]:
    did = did or did_key_from_public_key(key.public_key)
    return create_proof(
        document,
        key,
        verification_method=method_of(did),
        created=CREATED,
        proof_purpose=purpose,
        include_context=include_context,
    )


def _with_signature(proof: Mapping[str, Any], signature: bytes) -> dict[str, Any]:
    return {**proof, "proofValue": multibase_encode(signature)}


def _signature_of(proof: Mapping[str, Any]) -> bytes:
    return multibase_decode(str(proof["proofValue"]), allowed="z")


def proof_verify_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """What POST /identity/proof/verify answers: verified, or the failure reason."""
    secured = {**input_["document"], "proof": input_["proof"]}
    return _verify_secured(secured, None)


def _verify_secured(secured: Mapping[str, Any], expected_purpose: str | None) -> dict[str, Any]:
    try:
        verify_proof(secured, resolve_did_key_method, expected_purpose=expected_purpose)
    except ProofVerificationError as exc:
        return {"result": "invalid", "error": exc.reason.value}
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    except TwinSpecError:
        return {"result": "invalid", "error": "proofMalformed"}
    return {"result": "valid"}


def _document(**extra: object) -> dict[str, Any]:
    return {
        "@context": [VC_CONTEXT, "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:0b7d0a8e-7f3c-4c59-9d3f-3f1d8f9b2a11",
        "type": ["VerifiableCredential", "ExampleCertificateOfOrigin"],
        "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "validFrom": "2026-11-21T00:00:00Z",
        "credentialSubject": {"id": "urn:example:shipment:KE-2026-4471", "origin": "KE"},
        **extra,
    }


def _naive_hash(document: Mapping[str, Any], proof: Mapping[str, Any]) -> bytes:
    """What a verifier that sorts keys by code point and prints numbers as Python does signs."""

    def text(value: object) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = document["@context"]
    return hashlib.sha256(text(config)).digest() + hashlib.sha256(text(document)).digest()


def _proof_cases() -> list[Case]:
    key = vector_test_key("proof-verify/signer")
    other = vector_test_key("proof-verify/other")
    did = did_key_from_public_key(key.public_key)
    seed = key.seed.hex()
    cases: list[Case] = []
    verify = ["TWIN-IDENTITY-064", "TWIN-IDENTITY-020"]

    def add(
        name: str,
        description: str,
        requirements: list[str],
        document: Mapping[str, Any],
        proof: Mapping[str, Any],
    ) -> None:
        cases.append(
            (
                name,
                description,
                [*verify, *requirements],
                {"document": dict(document), "proof": dict(proof), "signerSeed": seed},
            )
        )

    doc = _document()
    proof = _signed_proof(doc, key)
    signature = _signature_of(proof)
    add("valid", "a credential-like document signed by a did:key, TWIN node style", [], doc, proof)
    add(
        "valid-proof-with-context",
        "the proof carries the document's @context (W3C style)",
        ["TWIN-IDENTITY-027"],
        doc,
        _signed_proof(doc, key, include_context=True),
    )
    no_context = {"id": "urn:example:1", "note": "no @context at all"}
    add(
        "valid-document-without-context",
        "neither the document nor the proof has @context",
        [],
        no_context,
        _signed_proof(no_context, key),
    )
    string_context = {**doc, "@context": VC_CONTEXT}
    add(
        "valid-context-as-string",
        "@context is a single string, copied into the proof",
        ["TWIN-IDENTITY-027"],
        string_context,
        _signed_proof(string_context, key, include_context=True),
    )
    numbers = _document(
        measurements=[1e21, 1e20, 1e-7, 0.000001, 0.1, -0.0, 5e-324, 1.7976931348623157e308],
        counts=[0, -1, 9007199254740991, 100, 4.35, 333333333.3333333],
    )
    add(
        "valid-jcs-numbers",
        "numbers whose JCS form differs from other serializations",
        ["TWIN-CORE-001"],
        numbers,
        _signed_proof(numbers, key),
    )
    unicode_doc = _document(
        names={"\ufb01": 1, "\U0001f600": 2, "\u00e9": 3, "e\u0301": 4, "": 5, "A": 6},
        text='quote " backslash \\ controls \u0001\u001f line\u2028sep \u20ac',
    )
    add(
        "valid-jcs-unicode",
        "member names beyond the BMP sort by UTF-16 code units; escapes are minimal",
        ["TWIN-CORE-001"],
        unicode_doc,
        _signed_proof(unicode_doc, key),
    )
    nested = _document(empty={}, list=[], deep={"z": [{"b": None, "a": True}], "y": False})
    add(
        "valid-jcs-nesting",
        "empty and nested objects and arrays, true, false and null",
        ["TWIN-CORE-001"],
        nested,
        _signed_proof(nested, key),
    )
    add(
        "valid-authentication-purpose",
        "proofPurpose authentication, which a did:key authorizes",
        ["TWIN-IDENTITY-026"],
        doc,
        _signed_proof(doc, key, purpose="authentication"),
    )
    offset = create_proof(
        doc,
        key,
        verification_method=method_of(did),
        created="2026-11-21T10:12:03.118+02:00",
    )
    add(
        "valid-created-with-offset",
        "created with a fraction and a +02:00 zone",
        ["TWIN-IDENTITY-028"],
        doc,
        offset,
    )
    bare = {k: v for k, v in proof.items() if k not in ("created", "proofValue")}
    add(
        "valid-without-created",
        "created is optional",
        ["TWIN-IDENTITY-028"],
        doc,
        _with_signature(bare, key.sign(hash_data(doc, bare))),
    )
    add(
        "tampered-document",
        "a credentialSubject value changed after signing",
        ["TWIN-IDENTITY-025"],
        {**doc, "credentialSubject": {"id": "urn:example:shipment:KE-2026-4471", "origin": "UG"}},
        proof,
    )
    add(
        "document-member-added",
        "a member added to the document after signing",
        ["TWIN-IDENTITY-025"],
        {**doc, "extra": "member"},
        proof,
    )
    add(
        "tampered-proof-created",
        "the proof's created changed after signing (it is part of the signed configuration)",
        ["TWIN-IDENTITY-025"],
        doc,
        {**proof, "created": "2026-11-21T08:00:01Z"},
    )
    flipped = bytearray(signature)
    flipped[10] ^= 0x01
    add(
        "proof-value-flipped-bit",
        "one bit of the signature flipped",
        ["TWIN-IDENTITY-025"],
        doc,
        _with_signature(proof, bytes(flipped)),
    )
    add(
        "proof-value-base64url-multibase",
        "the right signature as 'u' (base64url) multibase",
        ["TWIN-IDENTITY-021", "TWIN-CORE-030"],
        doc,
        {**proof, "proofValue": multibase_encode(signature, "u")},
    )
    add(
        "proof-value-63-bytes",
        "proofValue decodes to 63 bytes",
        ["TWIN-IDENTITY-021", "TWIN-CORE-010"],
        doc,
        _with_signature(proof, signature[:63]),
    )
    add(
        "proof-value-bad-base58",
        "proofValue holds '0', outside the base58btc alphabet",
        ["TWIN-IDENTITY-021", "TWIN-CORE-030"],
        doc,
        {
            **proof,
            "proofValue": str(proof["proofValue"])[:20] + "0" + str(proof["proofValue"])[21:],
        },
    )
    r, s = signature[:32], int.from_bytes(signature[32:], "little")
    add(
        "s-not-below-l",
        "S + L in place of S: the same group equation, a malleated signature",
        ["TWIN-IDENTITY-025", "TWIN-CORE-011"],
        doc,
        _with_signature(proof, r + (s + edwards.L).to_bytes(32, "little")),
    )
    add(
        "small-order-r",
        "R is the identity point",
        ["TWIN-IDENTITY-025", "TWIN-CORE-013"],
        doc,
        _with_signature(proof, (1).to_bytes(32, "little") + signature[32:]),
    )
    add(
        "non-canonical-r",
        "R's y coordinate is p + 1",
        ["TWIN-IDENTITY-025", "TWIN-CORE-012"],
        doc,
        _with_signature(proof, (edwards.P + 1).to_bytes(32, "little") + signature[32:]),
    )
    scalar, _ = edwards.secret_scalar(key.seed)
    cofactored = edwards.sign_with(
        scalar,
        key.public_key.raw,
        int.from_bytes(hashlib.sha512(b"twin-vectors/proof-cofactored").digest()) % edwards.L,
        hash_data(doc, proof),
        r_offset=edwards.torsion_point_of_order_8(),
    )
    add(
        "cofactored-only-signature",
        "R moved by a point of order 8: valid only under the cofactored equation",
        ["TWIN-IDENTITY-025", "TWIN-CORE-014"],
        doc,
        _with_signature(proof, cofactored),
    )
    small_did = did_key_of((1).to_bytes(32, "little"))
    small_proof = {**proof, "verificationMethod": method_of(small_did)}
    add(
        "small-order-did-key",
        "the did:key holds the identity point, a key of small order",
        ["TWIN-IDENTITY-003", "TWIN-CORE-013", "TWIN-IDENTITY-026"],
        doc,
        small_proof,
    )
    non_canonical_did = did_key_of((edwards.P + 2).to_bytes(32, "little"))
    add(
        "non-canonical-did-key",
        "the did:key holds a non-canonical point encoding (y = p + 2)",
        ["TWIN-IDENTITY-003", "TWIN-CORE-012", "TWIN-IDENTITY-026"],
        doc,
        {**proof, "verificationMethod": method_of(non_canonical_did)},
    )
    short_did = did_key_of(key.public_key.raw[:31])
    add(
        "did-key-31-byte-key",
        "the did:key holds a 31-byte key",
        ["TWIN-IDENTITY-003", "TWIN-CORE-010", "TWIN-IDENTITY-026"],
        doc,
        {**proof, "verificationMethod": method_of(short_did)},
    )
    x25519_did = did_key_of(key.public_key.raw, Multicodec.X25519_PUB)
    add(
        "did-key-x25519",
        "the did:key holds an X25519 key, which cannot verify signatures",
        ["TWIN-IDENTITY-003", "TWIN-IDENTITY-026"],
        doc,
        {**proof, "verificationMethod": method_of(x25519_did)},
    )
    add(
        "wrong-cryptosuite",
        "cryptosuite eddsa-rdfc-2022",
        ["TWIN-IDENTITY-024"],
        doc,
        {**proof, "cryptosuite": "eddsa-rdfc-2022"},
    )
    add(
        "wrong-proof-type",
        "type Ed25519Signature2020",
        ["TWIN-IDENTITY-023"],
        doc,
        {**proof, "type": "Ed25519Signature2020"},
    )
    add(
        "missing-verification-method",
        "no verificationMethod",
        ["TWIN-IDENTITY-028"],
        doc,
        {k: v for k, v in proof.items() if k != "verificationMethod"},
    )
    add(
        "missing-proof-value",
        "no proofValue",
        ["TWIN-IDENTITY-028"],
        doc,
        {k: v for k, v in proof.items() if k != "proofValue"},
    )
    add(
        "created-without-zone",
        "created has no time zone",
        ["TWIN-IDENTITY-028"],
        doc,
        {**proof, "created": "2026-11-21T08:00:00"},
    )
    add(
        "proof-context-not-a-prefix",
        "the proof's @context is not where the document's @context begins",
        ["TWIN-IDENTITY-027"],
        doc,
        {**_signed_proof(doc, key, include_context=True), "@context": ["https://example.com/x"]},
    )
    add(
        "purpose-not-authorized",
        "proofPurpose keyAgreement, under which a did:key lists no Ed25519 method",
        ["TWIN-IDENTITY-026", "TWIN-IDENTITY-013"],
        doc,
        _signed_proof(doc, key, purpose="keyAgreement"),
    )
    add(
        "unknown-method-fragment",
        "verificationMethod names a fragment the did:key document lacks",
        ["TWIN-IDENTITY-026", "TWIN-IDENTITY-013"],
        doc,
        {**proof, "verificationMethod": f"{did}#key-1"},
    )
    other_did = did_key_from_public_key(other.public_key)
    add(
        "method-of-another-did",
        "the fragment names another did:key's method",
        ["TWIN-IDENTITY-026", "TWIN-IDENTITY-013"],
        doc,
        {**proof, "verificationMethod": f"{did}#{other_did.removeprefix('did:key:')}"},
    )
    forged = _signed_proof(doc, other, did=did)
    add(
        "signed-by-another-key",
        "the proof names the signer's did:key but another key signed it",
        ["TWIN-IDENTITY-025", "TWIN-IDENTITY-026"],
        doc,
        forged,
    )
    carrying = {
        **doc,
        "verificationMethod": [
            {
                "id": method_of(did),
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": other_did.removeprefix("did:key:"),
            }
        ],
    }
    add(
        "key-carried-by-the-document",
        "the document carries the attacker's key under the signer's method id; the attacker signed",
        ["TWIN-IDENTITY-026"],
        carrying,
        _signed_proof(carrying, other, did=did),
    )
    naive_doc = unicode_doc
    naive = {k: v for k, v in _signed_proof(naive_doc, key).items() if k != "proofValue"}
    add(
        "signed-over-a-non-jcs-serialization",
        "signed over JSON sorted by code point, not by UTF-16 code units as JCS sorts",
        ["TWIN-CORE-001", "TWIN-IDENTITY-025"],
        naive_doc,
        _with_signature(naive, key.sign(_naive_hash(naive_doc, naive))),
    )
    return cases


def proof_verify_vectors() -> list[Vector]:
    """Documents and detached eddsa-jcs-2022 proofs by did:key methods, for the live route."""
    return with_expected(PROOF_VERIFY, proof_verify_oracle, _proof_cases())


def data_integrity_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The bytes eddsa-jcs-2022 signs, or the verdict on a secured document."""
    if "proofOptions" in input_:
        return {
            "result": "valid",
            "hashData": hash_data(input_["document"], input_["proofOptions"]).hex(),
        }
    return _verify_secured(input_["securedDocument"], input_.get("expectedPurpose"))


def _data_integrity_cases() -> list[Case]:
    key = vector_test_key("data-integrity/signer")
    doc = _document()
    proof = _signed_proof(doc, key)
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    hashing = ["TWIN-IDENTITY-020"]
    return [
        (
            "hash-with-document-context",
            "the configuration takes the document's @context",
            hashing,
            {"document": doc, "proofOptions": options},
        ),
        (
            "hash-without-context",
            "a document without @context: the configuration has none",
            hashing,
            {"document": {"b": 1, "a": [True]}, "proofOptions": options},
        ),
        (
            "hash-ignores-proof-value-and-proof",
            "proofValue and the document's own proof member are left out",
            hashing,
            {"document": {**doc, "proof": proof}, "proofOptions": proof},
        ),
        (
            "verify-valid",
            "a secured document whose proof verifies",
            ["TWIN-IDENTITY-020", "TWIN-IDENTITY-026"],
            {"securedDocument": {**doc, "proof": proof}},
        ),
        (
            "verify-expected-purpose",
            "the verifier expects assertionMethod, which the proof states",
            ["TWIN-IDENTITY-026"],
            {"securedDocument": {**doc, "proof": proof}, "expectedPurpose": "assertionMethod"},
        ),
        (
            "verify-purpose-mismatch",
            "the verifier expects authentication, the proof states assertionMethod",
            ["TWIN-IDENTITY-026"],
            {"securedDocument": {**doc, "proof": proof}, "expectedPurpose": "authentication"},
        ),
        (
            "verify-proof-missing",
            "the document has no proof",
            ["TWIN-IDENTITY-022"],
            {"securedDocument": doc},
        ),
        (
            "verify-proof-null",
            "proof is null",
            ["TWIN-IDENTITY-022"],
            {"securedDocument": {**doc, "proof": None}},
        ),
        (
            "verify-proof-set",
            "a proof set of two proofs; TWIN verifies a single proof",
            ["TWIN-IDENTITY-028"],
            {"securedDocument": {**doc, "proof": [proof, proof]}},
        ),
        (
            "verify-proof-not-an-object",
            "proof is a string",
            ["TWIN-IDENTITY-028"],
            {"securedDocument": {**doc, "proof": str(proof["proofValue"])}},
        ),
    ]


def data_integrity_vectors() -> list[Vector]:
    """The eddsa-jcs-2022 hash, and verdicts on secured documents the live route cannot take."""
    return with_expected(DATA_INTEGRITY, data_integrity_oracle, _data_integrity_cases())


FAMILIES = [
    Family(
        "identity",
        "proof-verify",
        True,
        proof_verify_vectors,
        proof_verify_oracle,
        "a document and a detached eddsa-jcs-2022 proof by a did:key method: verified, or "
        "the failure reason (POST /identity/proof/verify)",
    ),
    Family(
        "identity",
        "data-integrity",
        False,
        data_integrity_vectors,
        data_integrity_oracle,
        "the bytes eddsa-jcs-2022 signs, and verdicts on secured documents",
    ),
]
