"""base58btc, unpadded base64url and the multibase prefixes TWIN uses ('z' and 'u').

Decoders are strict: one byte string has exactly one accepted text form, so that a key or a
signature cannot travel under two spellings that hash differently.
"""

from __future__ import annotations

import base64
import binascii

from twin_spec._errors import EncodingError

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(BASE58_ALPHABET)}
_BASE58_SET = frozenset(BASE58_ALPHABET)
# Two digits at a time (58 * 58 = 3364 pairs), and ten per division of the big number: a
# signature's 88 digits take 9 big divisions instead of 88 (about five times faster).
_BASE58_PAIRS = [high + low for high in BASE58_ALPHABET for low in BASE58_ALPHABET]
_BASE58_PAIR_VALUES = {pair: value for value, pair in enumerate(_BASE58_PAIRS)}
_BASE58_CHUNK = 58**10
_BASE64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# Base58 decoding is quadratic in the length; nothing TWIN encodes this way comes near this.
MAX_BASE58_LENGTH = 4096

MULTIBASE_BASE58BTC = "z"
MULTIBASE_BASE64URL = "u"
# Names of the multibase prefixes we recognise but do not accept, for clearer errors.
_OTHER_MULTIBASE_PREFIXES = {
    "0": "base2",
    "7": "base8",
    "9": "base10",
    "f": "base16",
    "F": "base16upper",
    "b": "base32",
    "B": "base32upper",
    "c": "base32pad",
    "v": "base32hex",
    "h": "base32z",
    "k": "base36",
    "K": "base36upper",
    "Z": "base58flickr",
    "m": "base64",
    "M": "base64pad",
    "U": "base64urlpad",
    "\N{ROCKET}": "base256emoji",
}


def base58btc_encode(data: bytes) -> str:
    """Encode bytes in the Bitcoin base58 alphabet; each leading zero byte becomes '1'."""
    # TWIN-CORE-030 "base58btc uses the Bitcoin alphabet; each leading zero byte is one '1'."
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    pairs = []
    while number:
        number, chunk = divmod(number, _BASE58_CHUNK)
        for _ in range(5):
            chunk, pair = divmod(chunk, 3364)
            pairs.append(_BASE58_PAIRS[pair])
    # The last chunk is padded with zero digits ('1') above the number's first digit.
    return "1" * zeros + "".join(reversed(pairs)).lstrip("1")


def base58btc_decode(text: str) -> bytes:
    """Decode base58btc text; characters outside the alphabet raise :class:`EncodingError`."""
    if len(text) > MAX_BASE58_LENGTH:
        raise EncodingError(
            f"base58btc text is {len(text)} characters, over the {MAX_BASE58_LENGTH} allowed",
            requirement="TWIN-CORE-030",
        )
    if not _BASE58_SET.issuperset(text):
        position, char = next((i, c) for i, c in enumerate(text) if c not in _BASE58_SET)
        raise EncodingError(
            f"{char!r} at position {position} is not a base58btc character "
            "(the alphabet omits 0, O, I and l)",
            requirement="TWIN-CORE-030",
        )
    odd = len(text) % 2
    number = _BASE58_INDEX[text[0]] if odd else 0
    for start in range(odd, len(text), 2):
        number = number * 3364 + _BASE58_PAIR_VALUES[text[start : start + 2]]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * zeros + body


def base64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def base64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly: no padding, no other characters, zero spare bits."""
    # TWIN-CORE-031 "base64url values are unpadded and in their one canonical spelling."
    for position, char in enumerate(text):
        if char not in _BASE64URL_ALPHABET:
            what = "padding" if char == "=" else "not a base64url character"
            raise EncodingError(
                f"{char!r} at position {position} is {what} (unpadded base64url expected)",
                requirement="TWIN-CORE-031",
            )
    if len(text) % 4 == 1:
        raise EncodingError(
            f"base64url text of {len(text)} characters cannot encode whole bytes",
            requirement="TWIN-CORE-031",
        )
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the checks above leave no such case
        raise EncodingError(f"not base64url: {exc}", requirement="TWIN-CORE-031") from None
    if base64url_encode(data) != text:
        raise EncodingError(
            f"base64url text {text!r} has non-zero spare bits in its last character; "
            f"the canonical spelling is {base64url_encode(data)!r}",
            requirement="TWIN-CORE-031",
        )
    return data


def multibase_encode(data: bytes, prefix: str = MULTIBASE_BASE58BTC) -> str:
    """Encode bytes as multibase text, base58btc ('z') unless base64url ('u') is asked for."""
    if prefix == MULTIBASE_BASE58BTC:
        return prefix + base58btc_encode(data)
    if prefix == MULTIBASE_BASE64URL:
        return prefix + base64url_encode(data)
    raise EncodingError(
        f"multibase prefix {prefix!r} is not one TWIN writes ('z' or 'u')",
        requirement="TWIN-CORE-030",
    )


def multibase_decode(text: str, *, allowed: str = "zu") -> bytes:
    """Decode multibase text whose prefix is one of ``allowed`` ('z' base58btc, 'u' base64url)."""
    if not text:
        raise EncodingError("multibase text is empty", requirement="TWIN-CORE-030")
    prefix, body = text[0], text[1:]
    if prefix not in allowed:
        name = {"z": "base58btc", "u": "base64url"}.get(prefix) or _OTHER_MULTIBASE_PREFIXES.get(
            prefix, "unknown"
        )
        expected = " or ".join(repr(p) for p in allowed)
        raise EncodingError(
            f"multibase prefix {prefix!r} ({name}) is not accepted here; expected {expected}",
            requirement="TWIN-CORE-030",
        )
    if prefix == MULTIBASE_BASE58BTC:
        return base58btc_decode(body)
    return base64url_decode(body)
