"""Faults of the core profile's cryptography: JCS, Ed25519, signing domains, encodings.

Each is a patch of the node's process that relaxes or bends one rule where the node looks it
up (its proof verifier, its did:key reader, its checkpoint signer), so that the node signs and
verifies consistently with its own bug, as a real implementation would. The vectors and checks
that catch them run on the identity, anchoring and consensus routes.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tests.broken_variants._fault import fault
from tests.broken_variants._lenient_crypto import lenient_did_key_reader, tolerant_verifier
from tests.broken_variants._patching import mark_scope, rebind, scoped
from twin_spec import (
    EncodingError,
    MessageKind,
    SignatureRejection,
    find_signing_domain,
)

VERIFIER_SCOPE = "proof-and-credential-verifier"


def python_json_canonical(value: object) -> bytes:
    """A canonical form that is not JCS: Python's own number formatting and key order."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def patch_jcs_python_numbers() -> None:
    """Make the node hash proofs over Python's JSON text instead of JCS (TWIN-CORE-001)."""
    from twin_spec import _data_integrity

    rebind(_data_integrity, "canonicalize", python_json_canonical)


def patch_ed25519_verifier(tolerated: SignatureRejection, cofactor: int = 1) -> None:
    """Make every Ed25519 verification of the node tolerate one rejection reason."""
    from twin_spec import _ed25519

    rebind(
        _ed25519,
        "verify_signature",
        tolerant_verifier(_ed25519.verify_signature, tolerated, cofactor=cofactor),
    )


def patch_verifier_did_key_reader(relax: str) -> None:
    """Make the node's proof and credential verifier read did:key keys with one check off."""
    from twin_reference import _proofs
    from twin_spec import _did_key

    mark_scope(_proofs, "verification_document", VERIFIER_SCOPE)
    scoped(_did_key, "public_key_from_did_key", VERIFIER_SCOPE, lenient_did_key_reader(relax))


def patch_checkpoint_domain_empty() -> None:
    """Make the node sign (and check) checkpoints over bare JCS, with no domain prefix."""
    from twin_spec import _signing_domains

    original = _signing_domains.domain_prefix

    def prefix(kind: MessageKind) -> bytes:
        return b"" if MessageKind(kind) is MessageKind.CHECKPOINT else original(kind)

    rebind(_signing_domains, "domain_prefix", prefix)


def patch_block_signature_any_domain() -> None:
    """Make the node accept a block signature made in any signing domain (TWIN-CORE-021)."""
    from twin_spec import _blocks

    strict = getattr(_blocks, "verify_message")  # noqa: B009 - a name it imports, not exports

    def verify_any(public_key: Any, kind: MessageKind, message: object, signature: bytes) -> None:
        if find_signing_domain(public_key, message, signature) is None:
            strict(public_key, kind, message, signature)

    rebind(_blocks, "verify_message", verify_any)


def patch_proof_value_any_multibase() -> None:
    """Make the node's proof verifier decode proofValue in any multibase it knows ('u' too)."""
    from twin_spec import _data_integrity

    strict = _data_integrity._signature_bytes

    def signature_bytes(proof_value: object) -> bytes:
        if isinstance(proof_value, str) and proof_value.startswith("u"):
            try:
                return base64.urlsafe_b64decode(proof_value[1:] + "==")
            except (binascii.Error, ValueError):
                pass
        return strict(proof_value)

    rebind(_data_integrity, "_signature_bytes", signature_bytes)


def lenient_base64url_decode(text: str) -> bytes:
    """base64url that ignores spare bits and padding, as most libraries decode it."""
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise EncodingError(f"not base64url: {exc}") from None


def patch_jwt_base64url_lenient() -> None:
    """Make the node's JWT reader decode base64url parts leniently (TWIN-CORE-031)."""
    from twin_spec import _jws

    rebind(_jws, "base64url_decode", lenient_base64url_decode)


def patch_varint_non_minimal() -> None:
    """Make the node's multicodec reader accept non-minimal varints (TWIN-CORE-032)."""
    from twin_spec import _multicodec

    def decode_varint(data: bytes) -> tuple[int, int]:
        value, shift = 0, 0
        for position, byte in enumerate(data[:9]):
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value, position + 1
            shift += 7
        raise EncodingError("an unterminated varint", requirement="TWIN-CORE-032")

    rebind(_multicodec, "decode_varint", decode_varint)


FAULTS = (
    fault(
        "jcs-python-numbers",
        "core",
        "TWIN-CORE-001",
        "proofs are hashed over Python's JSON text (1e-07, 1e+21, -0.0, code-point key order), "
        "not JCS",
        patch=patch_jcs_python_numbers,
        run_profile="identity",
    ),
    fault(
        "did-key-any-key-length",
        "core",
        "TWIN-CORE-010",
        "the proof verifier pads a did:key's key of the wrong length to 32 bytes",
        patch=lambda: patch_verifier_did_key_reader("length"),
        run_profile="identity",
    ),
    fault(
        "ed25519-malleable-s",
        "core",
        "TWIN-CORE-011",
        "Ed25519 verification accepts S at or above L when the group equation holds",
        patch=lambda: patch_ed25519_verifier(SignatureRejection.NON_CANONICAL_S),
        run_profile="identity",
    ),
    fault(
        "did-key-non-canonical-key",
        "core",
        "TWIN-CORE-012",
        "the proof verifier reads a did:key whose key encodes y >= p as y mod p",
        patch=lambda: patch_verifier_did_key_reader("canonical"),
        run_profile="identity",
    ),
    fault(
        "did-key-small-order-key",
        "core",
        "TWIN-CORE-013",
        "the proof and credential verifier take a did:key holding a small-order point",
        patch=lambda: patch_verifier_did_key_reader("small-order"),
        run_profile="identity",
    ),
    fault(
        "ed25519-cofactored",
        "core",
        "TWIN-CORE-014",
        "Ed25519 verification falls back to the cofactored equation [8][S]B = [8]R + [8][k]A",
        patch=lambda: patch_ed25519_verifier(SignatureRejection.EQUATION, cofactor=8),
        run_profile="identity",
    ),
    fault(
        "checkpoint-without-domain",
        "core",
        "TWIN-CORE-020",
        "checkpoints are signed (and checked) over the bare JCS summary, with no domain prefix",
        patch=patch_checkpoint_domain_empty,
        run_profile="anchoring",
    ),
    fault(
        "block-signature-any-domain",
        "core",
        "TWIN-CORE-021",
        "a block signature verifies when it was made in any signing domain, a checkpoint's too",
        patch=patch_block_signature_any_domain,
        run_profile="consensus",
    ),
    fault(
        "proof-value-any-multibase",
        "core",
        "TWIN-CORE-030",
        "the proof verifier decodes proofValue in base64url multibase ('u') as well",
        patch=patch_proof_value_any_multibase,
        run_profile="identity",
    ),
    fault(
        "jwt-base64url-spare-bits",
        "core",
        "TWIN-CORE-031",
        "JWT parts decode with non-zero spare bits; TWIN-IDENTITY-035 asks canonical base64url "
        "of JWTs in particular, so it breaks too",
        patch=patch_jwt_base64url_lenient,
        also=("TWIN-IDENTITY-035",),
        run_profile="identity",
    ),
    fault(
        "varint-non-minimal",
        "core",
        "TWIN-CORE-032",
        "multicodec varints are read without the minimal-encoding check (0xed 0x81 0x00 is "
        "ed25519-pub)",
        patch=patch_varint_non_minimal,
        run_profile="identity",
    ),
)
