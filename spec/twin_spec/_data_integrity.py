"""Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (W3C vc-di-eddsa, section 3.3).

The signed bytes are SHA-256(JCS(proof configuration)) || SHA-256(JCS(document without proof)),
where the proof configuration is the proof without ``proofValue`` and with the document's
``@context``. The TWIN node emits the proof without ``@context``; the W3C test vectors include
it. Both verify the same, because the hash always takes the document's context.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import TypeAlias

from twin_spec._ed25519 import SIGNATURE_LENGTH, Ed25519PublicKey, Ed25519SigningKey
from twin_spec._errors import (
    EncodingError,
    ProofFailureReason,
    ProofVerificationError,
    SignatureError,
    TwinSpecError,
)
from twin_spec._jcs import JSONValue, canonicalize
from twin_spec._multibase import multibase_decode, multibase_encode

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
# XML Schema dateTime as Data Integrity uses it: a date, a time, optional fraction, a zone.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\Z")

KeyResolver: TypeAlias = Callable[[str, str], Ed25519PublicKey]
"""Maps (verificationMethod, proofPurpose) to the key the verifier's own resolution found."""


def hash_data(document: Mapping[str, object], proof_options: Mapping[str, object]) -> bytes:
    """Return the 64 bytes that eddsa-jcs-2022 signs for a document and its proof options."""
    # TWIN-IDENTITY-020 "eddsa-jcs-2022 signs SHA-256(JCS(proof configuration)) followed by
    # SHA-256(JCS(document without proof)); the configuration carries the document's @context."
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    config = {name: value for name, value in proof_options.items() if name != "proofValue"}
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    return (
        hashlib.sha256(canonicalize(config)).digest()
        + hashlib.sha256(canonicalize(unsecured)).digest()
    )


def create_proof(
    document: Mapping[str, object],
    signing_key: Ed25519SigningKey,
    *,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
    include_context: bool = False,
) -> dict[str, JSONValue]:
    """Create an eddsa-jcs-2022 DataIntegrityProof for ``document`` (which must carry none).

    ``created`` is passed in, not read from a clock, so the spec core stays deterministic.
    ``include_context`` copies the document's @context into the proof, as the W3C vectors do.
    """
    if "proof" in document:
        raise TwinSpecError(
            "the document already carries a proof; sign the document without it",
            requirement="TWIN-IDENTITY-020",
        )
    if not _DATETIME.match(created):
        raise TwinSpecError(
            f"created {created!r} is not an XML Schema dateTime with a time zone",
            requirement="TWIN-IDENTITY-028",
        )
    proof: dict[str, JSONValue] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if include_context and "@context" in document:
        context = document["@context"]
        proof["@context"] = list(context) if isinstance(context, list) else str(context)
    signature = signing_key.sign(hash_data(document, proof))
    # TWIN-IDENTITY-021 "proofValue is the 64-byte signature as base58btc multibase ('z')."
    proof["proofValue"] = multibase_encode(signature)
    return proof


def sign_document(
    document: Mapping[str, object],
    signing_key: Ed25519SigningKey,
    *,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
    include_context: bool = False,
) -> dict[str, object]:
    """Return a copy of ``document`` with an eddsa-jcs-2022 proof attached."""
    proof = create_proof(
        document,
        signing_key,
        verification_method=verification_method,
        created=created,
        proof_purpose=proof_purpose,
        include_context=include_context,
    )
    return {**document, "proof": proof}


def verify_proof(
    secured_document: Mapping[str, object],
    resolve_key: KeyResolver,
    *,
    expected_purpose: str | None = None,
) -> None:
    """Verify the document's eddsa-jcs-2022 proof or raise :class:`ProofVerificationError`.

    The key comes from ``resolve_key(verificationMethod, proofPurpose)``: the verifier's own
    resolution of the controller's DID document, never from the document being verified.
    Errors that ``resolve_key`` raises (an unknown DID, an unauthorized method) propagate.
    """
    proof = _single_proof(secured_document)
    _check_proof_members(proof)
    purpose = str(proof["proofPurpose"])
    if expected_purpose is not None and purpose != expected_purpose:
        raise ProofVerificationError(
            ProofFailureReason.PROOF_PURPOSE_MISMATCH,
            f"proofPurpose is {purpose!r}, the verifier expected {expected_purpose!r}",
            requirement="TWIN-IDENTITY-026",
        )
    unsecured = _unsecured_document(secured_document, proof)
    signature = _signature_bytes(proof["proofValue"])
    # TWIN-IDENTITY-026 "A verifier MUST take the key by resolving verificationMethod itself and
    # MUST reject a method the controller has not authorized for the proof's purpose."
    public_key = resolve_key(str(proof["verificationMethod"]), purpose)
    try:
        public_key.verify(hash_data(unsecured, proof), signature)
    except SignatureError as exc:
        # TWIN-IDENTITY-025 "A signature that does not verify is signatureMismatch."
        raise ProofVerificationError(
            ProofFailureReason.SIGNATURE_MISMATCH,
            f"the proof's signature does not verify: {exc.message}",
            requirement="TWIN-IDENTITY-025",
        ) from None


def _single_proof(document: Mapping[str, object]) -> Mapping[str, object]:
    # TWIN-IDENTITY-022 "A document without a proof is proofMissing."
    if "proof" not in document or document["proof"] is None:
        raise ProofVerificationError(
            ProofFailureReason.PROOF_MISSING,
            "the document has no proof member",
            requirement="TWIN-IDENTITY-022",
        )
    proof = document["proof"]
    if isinstance(proof, list):
        raise ProofVerificationError(
            ProofFailureReason.PROOF_MALFORMED,
            f"the document carries a proof set of {len(proof)}; TWIN verifies a single proof",
            requirement="TWIN-IDENTITY-028",
        )
    if not isinstance(proof, Mapping):
        raise ProofVerificationError(
            ProofFailureReason.PROOF_MALFORMED,
            f"proof is a {type(proof).__name__}, not a JSON object",
            requirement="TWIN-IDENTITY-028",
        )
    # TWIN-IDENTITY-023 "A proof whose type is not DataIntegrityProof is proofTypeMismatch."
    if proof.get("type") != PROOF_TYPE:
        raise ProofVerificationError(
            ProofFailureReason.PROOF_TYPE_MISMATCH,
            f"proof type is {proof.get('type')!r}, expected {PROOF_TYPE!r}",
            requirement="TWIN-IDENTITY-023",
        )
    # TWIN-IDENTITY-024 "A proof whose cryptosuite is not eddsa-jcs-2022 is cryptoSuiteMismatch."
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofVerificationError(
            ProofFailureReason.CRYPTOSUITE_MISMATCH,
            f"proof cryptosuite is {proof.get('cryptosuite')!r}, expected {CRYPTOSUITE!r}",
            requirement="TWIN-IDENTITY-024",
        )
    return proof


def _check_proof_members(proof: Mapping[str, object]) -> None:
    # TWIN-IDENTITY-028 "A proof carries string verificationMethod, proofPurpose and proofValue,
    # and a created, if present, is an XML Schema dateTime."
    for member in ("verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(member), str) or not proof[member]:
            raise ProofVerificationError(
                ProofFailureReason.PROOF_MALFORMED,
                f"proof member {member} is missing or not a non-empty string",
                requirement="TWIN-IDENTITY-028",
            )
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and _DATETIME.match(created)):
        raise ProofVerificationError(
            ProofFailureReason.PROOF_MALFORMED,
            f"proof created {created!r} is not an XML Schema dateTime with a time zone",
            requirement="TWIN-IDENTITY-028",
        )


def _unsecured_document(
    document: Mapping[str, object], proof: Mapping[str, object]
) -> dict[str, object]:
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    if "@context" not in proof:
        return unsecured
    # TWIN-IDENTITY-027 "When the proof carries @context, the document's @context MUST start
    # with the same values; the proof's context is then the one hashed."
    proof_context = _as_list(proof["@context"])
    document_context = _as_list(unsecured.get("@context"))
    if document_context[: len(proof_context)] != proof_context:
        raise ProofVerificationError(
            ProofFailureReason.PROOF_MALFORMED,
            "the document's @context does not start with the proof's @context",
            requirement="TWIN-IDENTITY-027",
        )
    unsecured["@context"] = proof["@context"]
    return unsecured


def _as_list(context: object) -> list[object]:
    if context is None:
        return []
    return list(context) if isinstance(context, list) else [context]


def _signature_bytes(proof_value: object) -> bytes:
    try:
        signature = multibase_decode(str(proof_value), allowed="z")
    except EncodingError as exc:
        raise ProofVerificationError(
            ProofFailureReason.SIGNATURE_MISMATCH,
            f"proofValue is not base58btc multibase: {exc.message}",
            requirement="TWIN-IDENTITY-021",
        ) from None
    if len(signature) != SIGNATURE_LENGTH:
        raise ProofVerificationError(
            ProofFailureReason.SIGNATURE_MISMATCH,
            f"proofValue decodes to {len(signature)} bytes, an Ed25519 signature is "
            f"{SIGNATURE_LENGTH}",
            requirement="TWIN-IDENTITY-021",
        )
    return signature
