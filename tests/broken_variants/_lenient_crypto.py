"""Lenient Ed25519 and did:key readers, as buggy nodes have them, for the core faults.

Each reader is the spec core's strict one with one check relaxed: a malleated S accepted, the
cofactored equation used, or a did:key key taken without its length, canonical-encoding or
small-order check. The group arithmetic is the vector generators' plain-Python edwards25519
(``twin_vectors._edwards``), since libsodium refuses what these readers let through.
"""

from __future__ import annotations

from collections.abc import Callable

from twin_spec import (
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    SignatureError,
    SignatureRejection,
    multibase_decode,
    parse_did,
    split_prefix,
)
from twin_spec import _curve25519 as curve
from twin_vectors import _edwards as edwards

Verifier = Callable[[bytes, bytes, bytes], None]
ED25519_PUB = 0xED


def _equation_holds(public_key: bytes, message: bytes, signature: bytes, cofactor: int) -> bool:
    """Whether [c][S]B = [c]R + [c][k]A, with S taken as sent (not reduced)."""
    a_point, r_point = edwards.decode(public_key), edwards.decode(signature[:32])
    if a_point is None or r_point is None:
        return False
    scalar = int.from_bytes(signature[32:], "little")
    k = edwards.challenge(signature[:32], public_key, message)
    left = edwards.multiply(cofactor * scalar, edwards.BASE)
    right = edwards.multiply(cofactor, edwards.add(r_point, edwards.multiply(k, a_point)))
    return edwards.equal(left, right)


def tolerant_verifier(
    strict: Verifier, tolerated: SignatureRejection, *, cofactor: int = 1
) -> Verifier:
    """``strict``, except that a signature it refuses for ``tolerated`` alone is re-judged.

    The re-judging uses the group equation (times ``cofactor``) with no other check, as a
    verifier that skipped that one rule would.
    """

    def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
        try:
            strict(public_key, message, signature)
        except SignatureError as exc:
            if exc.reason is not tolerated or not _equation_holds(
                public_key, message, signature, cofactor
            ):
                raise

    return verify


def lenient_did_key_reader(relax: str) -> Callable[[str], Ed25519PublicKey]:
    """A did:key reader with one check relaxed: ``length``, ``canonical`` or ``small-order``.

    ``length`` pads or cuts the key to 32 bytes; ``canonical`` takes the bytes as a key whatever
    point they encode (non-canonical or none); ``small-order`` accepts the eight small-order
    points. The key then meets the signature check, which refuses it for another reason.
    """

    def read(did: str) -> Ed25519PublicKey:
        parsed = parse_did(did)
        if parsed.method != "key":
            raise DidError(DidErrorCode.METHOD_NOT_SUPPORTED, f"{did} is not a did:key")
        code, raw = split_prefix(multibase_decode(parsed.method_specific_id, allowed="z"))
        if code != ED25519_PUB:
            raise DidError(DidErrorCode.UNSUPPORTED_PUBLIC_KEY_TYPE, "not an ed25519-pub key")
        if len(raw) != 32:
            if relax != "length":
                raise DidError(DidErrorCode.INVALID_PUBLIC_KEY_LENGTH, f"{len(raw)} key bytes")
            raw = (raw + bytes(32))[:32]
        key = Ed25519PublicKey(raw)
        small = raw in curve.SMALL_ORDER_ENCODINGS
        on_curve = curve.is_canonical_encoding(raw) and curve.decode_point(raw) is not None
        if (not on_curve and relax != "canonical") or (small and relax != "small-order"):
            raise DidError(DidErrorCode.INVALID_PUBLIC_KEY, "not a usable Ed25519 key")
        return key

    return read
