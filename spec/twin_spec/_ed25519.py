"""Ed25519 keys, signing, and verification under TWIN's strict, cofactorless policy.

Implementations disagree on edge cases (non-canonical S, small-order and non-canonical points,
cofactored versus cofactorless equations). A ledger cannot live with that: two validators must
give the same verdict on every signature. TWIN fixes one policy; ``spec/prose/ed25519.md``
records the verdict for every case of the CCTV and ed25519-speccheck sets and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

from twin_spec import _curve25519 as curve
from twin_spec._errors import KeyFormatError, SignatureError, SignatureRejection

PUBLIC_KEY_LENGTH = 32
SEED_LENGTH = 32
SIGNATURE_LENGTH = 64


@dataclass(frozen=True)
class Ed25519PublicKey:
    """A 32-byte Ed25519 public key, as encoded on the wire (the point A)."""

    raw: bytes

    def __post_init__(self) -> None:
        # TWIN-CORE-010 "Ed25519 public keys are 32 bytes and signatures 64 bytes."
        _check_key_bytes(self.raw, PUBLIC_KEY_LENGTH, "an Ed25519 public key")

    def verify(self, message: bytes, signature: bytes) -> None:
        """Verify ``signature`` on ``message``; raise :class:`SignatureError` if it fails."""
        verify_signature(self.raw, message, signature)

    def is_valid_point(self) -> bool:
        """Tell whether this key would pass the policy's checks on A (canonical, not small)."""
        return _public_key_rejection(self.raw) is None and curve.decode_point(self.raw) is not None


class Ed25519SigningKey:
    """An Ed25519 private key held as its 32-byte seed (RFC 8032 5.1.5)."""

    __slots__ = ("_public_key", "_seed")

    def __init__(self, seed: bytes) -> None:
        _check_key_bytes(seed, SEED_LENGTH, "an Ed25519 private key seed")
        self._seed = seed
        public, _secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        self._public_key = Ed25519PublicKey(public)

    @classmethod
    def generate(cls) -> Ed25519SigningKey:
        """Make a new key from the operating system's random source."""
        return cls(nacl.bindings.randombytes(SEED_LENGTH))

    @property
    def seed(self) -> bytes:
        """The 32-byte seed; whoever reads it holds the key."""
        return self._seed

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public key that verifies this key's signatures."""
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        """Sign ``message``; the same key and message always give the same 64 bytes."""
        # TWIN-CORE-015 "Signatures are deterministic RFC 8032 Ed25519 signatures."
        secret = self._seed + self._public_key.raw
        signed: bytes = nacl.bindings.crypto_sign(message, secret)
        return signed[:SIGNATURE_LENGTH]

    def __repr__(self) -> str:
        return f"Ed25519SigningKey(public_key={self._public_key.raw.hex()})"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Verify an Ed25519 signature under the TWIN policy, or raise :class:`SignatureError`.

    The checks run in a fixed order so the reported reason is deterministic too: length, S,
    then A, then R, then the cofactorless group equation.
    """
    Ed25519PublicKey(public_key)  # Raises KeyFormatError for a key of the wrong length.
    if len(signature) != SIGNATURE_LENGTH:
        raise SignatureError(
            SignatureRejection.SIGNATURE_LENGTH,
            f"an Ed25519 signature is {SIGNATURE_LENGTH} bytes, got {len(signature)}",
            requirement="TWIN-CORE-010",
        )
    r_encoding, s_encoding = signature[:32], signature[32:]
    # TWIN-CORE-011 "A verifier MUST reject a signature whose S is not below the group order L."
    if int.from_bytes(s_encoding, "little") >= curve.L:
        raise SignatureError(
            SignatureRejection.NON_CANONICAL_S,
            "signature scalar S is not below the group order L (a malleated signature)",
            requirement="TWIN-CORE-011",
        )
    rejection = _public_key_rejection(public_key)
    if rejection is not None:
        raise rejection
    rejection = _point_rejection(
        r_encoding, "R", SignatureRejection.NON_CANONICAL_R, SignatureRejection.SMALL_ORDER_R
    )
    if rejection is not None:
        raise rejection
    # TWIN-CORE-014 "The group equation is the cofactorless [S]B = R + [k]A, compared on the
    # encoding of R." libsodium computes exactly this once the checks above have passed.
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except nacl.exceptions.BadSignatureError:
        raise _diagnose_equation_failure(public_key, r_encoding) from None


def is_valid_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Return whether the signature verifies under the TWIN policy (key length still raises)."""
    try:
        verify_signature(public_key, message, signature)
    except SignatureError:
        return False
    return True


def _check_key_bytes(value: object, length: int, what: str) -> None:
    """Raise :class:`KeyFormatError` unless ``value`` is ``length`` bytes."""
    if not isinstance(value, bytes):
        raise KeyFormatError(
            f"{what} is bytes, got {type(value).__name__}", requirement="TWIN-CORE-010"
        )
    if len(value) != length:
        raise KeyFormatError(
            f"{what} is {length} bytes, got {len(value)} bytes", requirement="TWIN-CORE-010"
        )


def _public_key_rejection(public_key: bytes) -> SignatureError | None:
    return _point_rejection(
        public_key,
        "public key A",
        SignatureRejection.NON_CANONICAL_A,
        SignatureRejection.SMALL_ORDER_A,
    )


def _point_rejection(
    encoding: bytes,
    name: str,
    non_canonical: SignatureRejection,
    small_order: SignatureRejection,
) -> SignatureError | None:
    # TWIN-CORE-012 "A verifier MUST reject non-canonical encodings of A and of R."
    if not curve.is_canonical_encoding(encoding):
        return SignatureError(
            non_canonical,
            f"{name} is a non-canonical point encoding ({encoding.hex()})",
            requirement="TWIN-CORE-012",
        )
    # TWIN-CORE-013 "A verifier MUST reject A and R of small order."
    if encoding in curve.SMALL_ORDER_ENCODINGS:
        return SignatureError(
            small_order,
            f"{name} is a point of small order ({encoding.hex()})",
            requirement="TWIN-CORE-013",
        )
    return None


def _diagnose_equation_failure(public_key: bytes, r_encoding: bytes) -> SignatureError:
    """Name why libsodium rejected a signature that passed the encoding checks."""
    if curve.decode_point(public_key) is None:
        return SignatureError(
            SignatureRejection.INVALID_POINT_A,
            f"public key A ({public_key.hex()}) is not a point on edwards25519",
            requirement="TWIN-CORE-012",
        )
    if curve.decode_point(r_encoding) is None:
        return SignatureError(
            SignatureRejection.INVALID_POINT_R,
            f"R ({r_encoding.hex()}) is not a point on edwards25519",
            requirement="TWIN-CORE-012",
        )
    return SignatureError(
        SignatureRejection.EQUATION,
        "the signature does not satisfy [S]B = R + [k]A for this key and message",
        requirement="TWIN-CORE-014",
    )
