"""Domain-separated signing of TWIN protocol messages.

A node key signs several kinds of message (blocks, checkpoints, receipts). Each kind gets its
own prefix, so that a signature made for one kind can never be replayed as another, even when
the JSON bodies happen to coincide.
"""

from __future__ import annotations

from enum import StrEnum

from twin_spec._ed25519 import Ed25519PublicKey, Ed25519SigningKey
from twin_spec._errors import SignatureError
from twin_spec._jcs import canonicalize

DOMAIN_TAG = b"TWIN-SIGNED-MESSAGE/v1/"


class MessageKind(StrEnum):
    """The kinds of protocol message a node key signs; each is its own signing domain."""

    BLOCK = "block"
    COMMIT_VOTE = "commit-vote"
    CHECKPOINT = "checkpoint"
    ANCHORING_RECEIPT = "anchoring-receipt"
    VECTOR_MANIFEST = "vector-manifest"


def domain_prefix(kind: MessageKind) -> bytes:
    """Return the prefix for ``kind``: the tag, the kind name, then one zero byte.

    No kind name holds a zero byte, so no prefix is a prefix of another and the pair
    (kind, message) is recoverable from the signed bytes.
    """
    return DOMAIN_TAG + MessageKind(kind).value.encode("ascii") + b"\x00"


def signing_input(kind: MessageKind, message: object) -> bytes:
    """Return the exact bytes signed for a message: prefix(kind) || JCS(message)."""
    # TWIN-CORE-020 "A protocol message MUST be signed over prefix(kind) || JCS(message)."
    return domain_prefix(kind) + canonicalize(message)


def sign_message(key: Ed25519SigningKey, kind: MessageKind, message: object) -> bytes:
    """Sign a protocol message of the given kind."""
    return key.sign(signing_input(kind, message))


def verify_message(
    public_key: Ed25519PublicKey, kind: MessageKind, message: object, signature: bytes
) -> None:
    """Verify a protocol message signature for the kind the verifier expects."""
    # TWIN-CORE-021 "A verifier MUST use the prefix of the kind it expects, so a signature made
    # for one kind is rejected as any other."
    public_key.verify(signing_input(kind, message), signature)


def find_signing_domain(
    public_key: Ed25519PublicKey, message: object, signature: bytes
) -> MessageKind | None:
    """Tell which kind's prefix a signature was made under, or None if under none of them.

    For diagnostics only (the harness explains a failure as a cross-domain replay); a
    verifier never uses this to accept a signature.
    """
    body = canonicalize(message)
    for kind in MessageKind:
        try:
            public_key.verify(domain_prefix(kind) + body, signature)
        except SignatureError:
            continue
        return kind
    return None
