"""Multicodec prefixes (unsigned varints) for the key types TWIN carries in multibase form."""

from __future__ import annotations

from enum import IntEnum

from twin_spec._errors import EncodingError

# A multicodec code of ours never needs more than three varint bytes.
_MAX_VARINT_BYTES = 3


class Multicodec(IntEnum):
    """Codes from the multicodec table (multiformats/multicodec table.csv)."""

    X25519_PUB = 0xEC
    ED25519_PUB = 0xED
    ED25519_PRIV = 0x1300


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint (multiformats unsigned-varint)."""
    if value < 0:
        raise EncodingError(f"a varint cannot encode the negative number {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes) -> tuple[int, int]:
    """Decode a minimal unsigned varint at the start of ``data``; return (value, bytes used)."""
    # TWIN-CORE-032 "Multicodec prefixes are minimal unsigned varints."
    value = 0
    for index, byte in enumerate(data[:_MAX_VARINT_BYTES]):
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if index and byte == 0:
                raise EncodingError(
                    "multicodec varint is not minimal (a trailing zero byte)",
                    requirement="TWIN-CORE-032",
                )
            return value, index + 1
    raise EncodingError(
        f"multicodec varint is unterminated within {_MAX_VARINT_BYTES} bytes",
        requirement="TWIN-CORE-032",
    )


def add_prefix(codec: Multicodec, payload: bytes) -> bytes:
    """Prefix ``payload`` with the varint of ``codec``."""
    return encode_varint(codec) + payload


def split_prefix(data: bytes) -> tuple[int, bytes]:
    """Split multicodec-prefixed bytes into (code, payload); the code may be one we don't know."""
    if not data:
        raise EncodingError("multicodec data is empty", requirement="TWIN-CORE-032")
    code, used = decode_varint(data)
    return code, data[used:]


def codec_name(code: int) -> str:
    """Name a multicodec code for messages ('ed25519-pub'), or give it in hex if unknown."""
    try:
        return Multicodec(code).name.lower().replace("_", "-")
    except ValueError:
        return f"0x{code:x}"
