"""The executable TWIN spec: the protocol's rules as pure Python functions.

No I/O and nothing else of ours is imported here; the reference node and the conformance
harness both build on these functions, and the harness uses them as the oracle for what a
vendor's node returns. Each rule carries its requirement ID (spec/requirements) in a comment
beside the code that enforces it.
"""

from twin_spec._data_integrity import (
    CRYPTOSUITE,
    KeyResolver,
    create_proof,
    hash_data,
    sign_document,
    verify_proof,
)
from twin_spec._data_integrity import PROOF_TYPE as DATA_INTEGRITY_PROOF_TYPE
from twin_spec._did_document import (
    VERIFICATION_RELATIONSHIPS,
    public_key_from_verification_method,
    verification_key,
    verification_method,
)
from twin_spec._did_key import (
    DidKeyMethodType,
    did_key_document,
    did_key_from_public_key,
    public_key_from_did_key,
    resolve_did_key,
    x25519_public_key,
)
from twin_spec._dids import Did, DidUrl, parse_did, parse_did_url
from twin_spec._ed25519 import (
    PUBLIC_KEY_LENGTH,
    SEED_LENGTH,
    SIGNATURE_LENGTH,
    Ed25519PublicKey,
    Ed25519SigningKey,
    is_valid_signature,
    verify_signature,
)
from twin_spec._error_format import check_error_body
from twin_spec._errors import (
    CanonicalizationError,
    DidError,
    DidErrorCode,
    EncodingError,
    KeyFormatError,
    MerkleProofError,
    ProofFailureReason,
    ProofVerificationError,
    SignatureError,
    SignatureRejection,
    TwinSpecError,
)
from twin_spec._immutable_proof import check_proof_object_hash, proof_object_hash
from twin_spec._jcs import (
    MAX_SAFE_INTEGER,
    JSONValue,
    canonical_text,
    canonicalize,
    format_number,
    parse_json,
)
from twin_spec._jwk import jwk_from_public_key, jwk_thumbprint, public_key_from_jwk
from twin_spec._merkle import (
    InclusionProof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_inclusion_proof,
)
from twin_spec._multibase import (
    base58btc_decode,
    base58btc_encode,
    base64url_decode,
    base64url_encode,
    multibase_decode,
    multibase_encode,
)
from twin_spec._multicodec import Multicodec, add_prefix, decode_varint, encode_varint, split_prefix
from twin_spec._signing_domains import (
    MessageKind,
    domain_prefix,
    find_signing_domain,
    sign_message,
    signing_input,
    verify_message,
)

SPEC_VERSION = "0.1.0"
"""The version of the TWIN conformance spec this package executes."""

__all__ = [
    "CRYPTOSUITE",
    "DATA_INTEGRITY_PROOF_TYPE",
    "MAX_SAFE_INTEGER",
    "PUBLIC_KEY_LENGTH",
    "SEED_LENGTH",
    "SIGNATURE_LENGTH",
    "SPEC_VERSION",
    "VERIFICATION_RELATIONSHIPS",
    "CanonicalizationError",
    "Did",
    "DidError",
    "DidErrorCode",
    "DidKeyMethodType",
    "DidUrl",
    "Ed25519PublicKey",
    "Ed25519SigningKey",
    "EncodingError",
    "InclusionProof",
    "JSONValue",
    "KeyFormatError",
    "KeyResolver",
    "MerkleProofError",
    "MessageKind",
    "Multicodec",
    "ProofFailureReason",
    "ProofVerificationError",
    "SignatureError",
    "SignatureRejection",
    "TwinSpecError",
    "add_prefix",
    "base58btc_decode",
    "base58btc_encode",
    "base64url_decode",
    "base64url_encode",
    "canonical_text",
    "canonicalize",
    "check_error_body",
    "check_proof_object_hash",
    "create_proof",
    "decode_varint",
    "did_key_document",
    "did_key_from_public_key",
    "domain_prefix",
    "encode_varint",
    "find_signing_domain",
    "format_number",
    "hash_data",
    "inclusion_proof",
    "is_valid_signature",
    "jwk_from_public_key",
    "jwk_thumbprint",
    "leaf_hash",
    "merkle_tree_hash",
    "multibase_decode",
    "multibase_encode",
    "node_hash",
    "parse_did",
    "parse_did_url",
    "parse_json",
    "proof_object_hash",
    "public_key_from_did_key",
    "public_key_from_jwk",
    "public_key_from_verification_method",
    "resolve_did_key",
    "root_from_inclusion_proof",
    "sign_document",
    "sign_message",
    "signing_input",
    "split_prefix",
    "verification_key",
    "verification_method",
    "verify_inclusion_proof",
    "verify_message",
    "verify_proof",
    "verify_signature",
    "x25519_public_key",
]
