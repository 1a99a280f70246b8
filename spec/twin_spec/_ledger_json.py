"""Strict readers and writers for the JSON members ledger objects share.

Every reader names the JSON field it rejects, and raises whatever error its caller's ``fail``
builds, so a committee reports a ``LedgerError`` and a receipt a ``receiptMalformed`` failure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from twin_spec._ed25519 import SIGNATURE_LENGTH, Ed25519PublicKey
from twin_spec._errors import EncodingError, KeyFormatError, LedgerError, TwinSpecError
from twin_spec._jcs import MAX_SAFE_INTEGER
from twin_spec._multibase import multibase_decode, multibase_encode
from twin_spec._multicodec import Multicodec, add_prefix, codec_name, split_prefix

HASH_LENGTH = 32
ZERO_DIGEST = bytes(HASH_LENGTH)
"""The previous digest of the first commit and of the first checkpoint."""
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}\Z")


class Fail(Protocol):
    """Builds the error a reader raises for a bad field."""

    def __call__(self, field: str, message: str, requirement: str) -> TwinSpecError:
        """Return the error for ``field``; the message does not repeat the field name."""


def ledger_fail(field: str, message: str, requirement: str) -> TwinSpecError:
    """The default ``fail``: a :class:`LedgerError` naming the field."""
    return LedgerError(f"{field}: {message}", field=field, requirement=requirement)


def read_object(
    value: object,
    field: str,
    fail: Fail,
    requirement: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> Mapping[str, object]:
    """Check that ``value`` is an object with every required member and no unknown one."""
    if not isinstance(value, Mapping):
        raise fail(field, f"must be a JSON object, got {_kind(value)}", requirement)
    for name in required:
        if name not in value:
            raise fail(f"{field}.{name}", "is missing", requirement)
    allowed = set(required) | set(optional)
    for name in value:
        if name not in allowed:
            raise fail(f"{field}.{name}", "is not a member this object may have", requirement)
    return value


def read_int(value: object, field: str, fail: Fail, requirement: str, *, minimum: int = 0) -> int:
    """Read an integer in ``minimum``..2**53-1 (a JSON true is not an integer)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(field, f"must be an integer, got {_kind(value)}", requirement)
    if not minimum <= value <= MAX_SAFE_INTEGER:
        raise fail(field, f"{value} is outside {minimum}..2**53-1", requirement)
    return value


def read_str(value: object, field: str, fail: Fail, requirement: str) -> str:
    """Read a string."""
    if not isinstance(value, str):
        raise fail(field, f"must be a string, got {_kind(value)}", requirement)
    return value


def read_list(
    value: object, field: str, fail: Fail, requirement: str, *, max_items: int
) -> list[object]:
    """Read an array of at most ``max_items`` items."""
    if not isinstance(value, list):
        raise fail(field, f"must be an array, got {_kind(value)}", requirement)
    if len(value) > max_items:
        raise fail(field, f"holds {len(value)} items, at most {max_items} allowed", requirement)
    return value


def read_digest(value: object, field: str, fail: Fail, requirement: str) -> bytes:
    """Read a SHA-256 digest written as 64 lowercase hex characters."""
    text = read_str(value, field, fail, requirement)
    if not _HEX_DIGEST.match(text):
        raise fail(field, "must be 64 lowercase hex characters (a SHA-256 digest)", requirement)
    return bytes.fromhex(text)


def encode_signature(signature: bytes) -> str:
    """Write a 64-byte signature as multibase base58btc ('z')."""
    return multibase_encode(signature)


def read_signature(value: object, field: str, fail: Fail, requirement: str) -> bytes:
    """Read a signature written as multibase base58btc of exactly 64 bytes."""
    text = read_str(value, field, fail, requirement)
    try:
        raw = multibase_decode(text, allowed="z")
    except EncodingError as exc:
        raise fail(field, exc.message, requirement) from None
    if len(raw) != SIGNATURE_LENGTH:
        raise fail(field, f"decodes to {len(raw)} bytes, a signature is 64", requirement)
    return raw


def encode_public_key(key: Ed25519PublicKey) -> str:
    """Write a public key as multibase base58btc of the ed25519-pub multicodec ('z6Mk...')."""
    return multibase_encode(add_prefix(Multicodec.ED25519_PUB, key.raw))


def read_public_key(value: object, field: str, fail: Fail, requirement: str) -> Ed25519PublicKey:
    """Read an ed25519-pub multibase key; small-order or non-canonical points are refused."""
    text = read_str(value, field, fail, requirement)
    try:
        code, raw = split_prefix(multibase_decode(text, allowed="z"))
        if code != Multicodec.ED25519_PUB:
            raise fail(field, f"is a {codec_name(code)} key, not ed25519-pub", requirement)
        key = Ed25519PublicKey(raw)
    except (EncodingError, KeyFormatError) as exc:
        raise fail(field, exc.message, requirement) from None
    if not key.is_valid_point():
        raise fail(
            field, "is not a valid Ed25519 public key (small order or off the curve)", requirement
        )
    return key


def _kind(value: object) -> str:
    """Name a JSON value's type for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
