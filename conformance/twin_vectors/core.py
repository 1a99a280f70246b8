"""Offline vectors of the ``core`` profile: JCS, Ed25519, encodings, signing domains, errors.

Each family pairs cases (an input) with an oracle that computes the expected answer from the
spec core; a vendor's own code must give the same answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from twin_spec import (
    CanonicalizationError,
    Ed25519PublicKey,
    Ed25519SigningKey,
    EncodingError,
    KeyFormatError,
    MessageKind,
    SignatureError,
    TwinSpecError,
    base58btc_decode,
    base58btc_encode,
    base64url_decode,
    base64url_encode,
    canonical_text,
    check_error_body,
    decode_varint,
    encode_varint,
    multibase_decode,
    parse_json,
    sign_message,
    signing_input,
    verify_message,
    verify_signature,
)
from twin_vectors import _edwards as edwards
from twin_vectors._format import (
    Family,
    Vector,
    make_vector,
    vector_test_key,
    vector_test_seed,
    with_expected,
)

JCS = "core/jcs"
ED25519 = "core/ed25519"
ENCODINGS = "core/encodings"
SIGNING_DOMAINS = "core/signing-domains"
ERROR_FORMAT = "core/error-format"

# --- core/jcs ---------------------------------------------------------------------------------

_PARSE_CODES = {"TWIN-CORE-003": "notIJson", "TWIN-CORE-002": "notCanonicalizable"}


def decode_tagged(value: object) -> object:
    """Turn the tagged forms of a ``core/jcs`` value into the values JSON cannot spell.

    ``{"$number": "NaN" | "Infinity" | "-Infinity"}`` is that double and ``{"$integer":
    "<digits>"}`` an integer of any size; everything else is itself.
    """
    if isinstance(value, dict):
        if set(value) == {"$number"}:
            return float(str(value["$number"]))
        if set(value) == {"$integer"}:
            return int(str(value["$integer"]))
        return {name: decode_tagged(item) for name, item in value.items()}
    if isinstance(value, list):
        return [decode_tagged(item) for item in value]
    return value


def jcs_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Parse ``json`` (text) or ``jsonHex`` (bytes) as I-JSON, or take ``value``; canonicalize."""
    try:
        if "value" in input_:
            text = canonical_text(decode_tagged(input_["value"]))
        else:
            raw = bytes.fromhex(input_["jsonHex"]) if "jsonHex" in input_ else input_["json"]
            text = canonical_text(parse_json(raw))
    except CanonicalizationError as exc:
        return {"result": "invalid", "error": _PARSE_CODES[str(exc.requirement)]}
    return {"result": "valid", "canonical": text}


def _jcs_cases() -> list[tuple[str, str, list[str], dict[str, Any]]]:
    valid = ["TWIN-CORE-001"]
    parse = ["TWIN-CORE-003"]
    refuse = ["TWIN-CORE-002"]
    return [
        (
            "member-names-sort-by-utf16-code-units",
            "names beyond the BMP sort by their surrogates, before U+FB01 (not by code point)",
            valid,
            {"json": '{"\ufb01": 1, "\U0001f600": 2, "a": 3, "A": 4, "\u00e9": 5, "": 6}'},
        ),
        (
            "nested-members-sorted-at-every-level",
            "objects inside arrays and objects are sorted too; arrays keep their order",
            valid,
            {"json": '{"b": [{"z": 1, "y": 2}, 3], "a": {"d": {"f": 0, "e": 1}, "c": []}}'},
        ),
        (
            "whitespace-removed",
            "insignificant whitespace of every kind disappears",
            valid,
            {"json": ' {\n\t"a" : [ 1 ,\r\n 2 ] , "b" :\ttrue } '},
        ),
        (
            "literals",
            "true, false and null as they are",
            valid,
            {"json": '{"t": true, "f": false, "n": null, "e": {}, "l": []}'},
        ),
        (
            "numbers-integers",
            "integers, negative zero and exponents written as ECMAScript writes them",
            valid,
            {"json": "[0, -0, 1, -1, 100, 1e2, 1E+2, 9007199254740991, -9007199254740991]"},
        ),
        (
            "numbers-fractions",
            "fractions: shortest round-trip digits, trailing zeros dropped",
            valid,
            {"json": "[0.0, -0.0, 1.0, 0.1, 0.5, 1.5, 4.35, 123.456, 333333333.3333333, 2.5e-8]"},
        ),
        (
            "numbers-exponent-boundaries",
            "1e21 and beyond use an exponent, 1e20 does not; 1e-7 does, 1e-6 does not",
            valid,
            {"json": "[1e21, 1e20, 999999999999999900000, 1e-6, 1e-7, 0.000001, 0.0000001]"},
        ),
        (
            "numbers-extremes",
            "the smallest subnormal and the largest double",
            valid,
            {"json": "[5e-324, 1.7976931348623157e308, -1.7976931348623157e308]"},
        ),
        (
            "numbers-beyond-the-safe-integers",
            "integer literals beyond 2^53 read as the nearest double, as I-JSON readers do",
            [*valid, *parse],
            {"json": "[9007199254740992, 9007199254740993, 123456789012345678901234567890]"},
        ),
        (
            "string-control-characters",
            "control characters use the short escapes where JSON has them, else lowercase \\u00xx",
            valid,
            {"json": '["\\u0000\\u0001\\u001f", "\\b\\f\\n\\r\\t", "\\u007f"]'},
        ),
        (
            "string-minimal-escapes",
            "only quote and backslash are escaped; solidus, U+2028 and non-ASCII are not",
            valid,
            {"json": '["\\"\\\\\\/", "\\u2028\\u2029", "\\u00e9\\u20ac\\ud83d\\ude00", "é€😀"]'},
        ),
        (
            "names-are-not-normalized",
            "precomposed and decomposed e-acute are different names",
            valid,
            {"json": '{"e\\u0301": 1, "\\u00e9": 2}'},
        ),
        (
            "top-level-scalars",
            "a bare string is a JSON text too",
            valid,
            {"json": '"text"'},
        ),
        (
            "top-level-number",
            "a bare number is a JSON text too",
            valid,
            {"json": "1E21"},
        ),
        ("nan-refused", "NaN is not a JSON number", parse, {"json": "[NaN]"}),
        ("infinity-refused", "Infinity is not a JSON number", parse, {"json": "[Infinity]"}),
        (
            "negative-infinity-refused",
            "-Infinity is not a JSON number",
            parse,
            {"json": '{"a": -Infinity}'},
        ),
        (
            "duplicate-member-refused",
            "an object names a member twice",
            parse,
            {"json": '{"a": 1, "b": 2, "a": 3}'},
        ),
        (
            "duplicate-member-nested-refused",
            "a nested object names a member twice with the same value",
            parse,
            {"json": '{"outer": [{"x": 1, "x": 1}]}'},
        ),
        (
            "not-utf8-refused",
            "the text holds the byte 0xff",
            parse,
            {"jsonHex": b'["\xff"]'.hex()},
        ),
        (
            "overlong-utf8-refused",
            "an overlong two-byte form of '/'",
            parse,
            {"jsonHex": b'["\xc0\xaf"]'.hex()},
        ),
        (
            "utf8-encoded-surrogate-refused",
            "UTF-8 bytes of the surrogate U+D800 are not UTF-8",
            parse,
            {"jsonHex": b'["\xed\xa0\x80"]'.hex()},
        ),
        ("trailing-comma-refused", "a comma after the last item", parse, {"json": "[1, 2,]"}),
        ("single-quotes-refused", "a string in single quotes", parse, {"json": "['a']"}),
        ("comment-refused", "a comment", parse, {"json": "[1 /* one */]"}),
        (
            "number-too-large-for-a-double-refused",
            "1e400 has no double; no JCS text represents it",
            [*refuse, *parse],
            {"json": "[1e400]"},
        ),
        (
            "lone-surrogate-refused",
            "an escaped lone high surrogate has no UTF-8 form",
            refuse,
            {"json": '["a\\ud800b"]'},
        ),
        (
            "lone-low-surrogate-name-refused",
            "a member name holding a lone low surrogate",
            refuse,
            {"json": '{"\\udc00": 1}'},
        ),
        (
            "nesting-too-deep-refused",
            "arrays nested 300 deep, beyond the 256 levels JCS output is written for",
            refuse,
            {"json": "[" * 300 + "]" * 300},
        ),
        ("value-nan-refused", "the double NaN", refuse, {"value": [{"$number": "NaN"}]}),
        (
            "value-infinity-refused",
            "the double Infinity as a member value",
            refuse,
            {"value": {"a": {"$number": "Infinity"}}},
        ),
        (
            "value-integer-2-53-refused",
            "the integer 2^53, which a double does not hold exactly beside 2^53 + 1",
            refuse,
            {"value": [{"$integer": "9007199254740992"}]},
        ),
        (
            "value-negative-integer-2-53-refused",
            "the integer -2^53",
            refuse,
            {"value": {"$integer": "-9007199254740992"}},
        ),
        (
            "value-largest-safe-integer",
            "the integer 2^53 - 1 is exact",
            valid,
            {"value": [{"$integer": "9007199254740991"}, {"$integer": "-9007199254740991"}]},
        ),
    ]


def jcs_vectors() -> list[Vector]:
    """JSON text or values, and their canonical text or why they are refused."""
    return with_expected(JCS, jcs_oracle, _jcs_cases())


# --- core/ed25519 -----------------------------------------------------------------------------

_SIGNATURE_REQUIREMENTS = {
    "signatureLength": "TWIN-CORE-010",
    "nonCanonicalS": "TWIN-CORE-011",
    "nonCanonicalPublicKey": "TWIN-CORE-012",
    "smallOrderPublicKey": "TWIN-CORE-013",
    "nonCanonicalR": "TWIN-CORE-012",
    "smallOrderR": "TWIN-CORE-013",
    "publicKeyNotOnCurve": "TWIN-CORE-012",
    "rNotOnCurve": "TWIN-CORE-012",
    "equationMismatch": "TWIN-CORE-014",
    "invalidKeyLength": "TWIN-CORE-010",
}
SIGNATURE_REJECTION_REQUIREMENTS: Mapping[str, str] = _SIGNATURE_REQUIREMENTS
"""The requirement behind each Ed25519 rejection reason (and a key of the wrong length)."""


def ed25519_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Sign (``seed``, ``message``) or verify (``publicKey``, ``message``, ``signature``)."""
    message = bytes.fromhex(input_["message"])
    if "seed" in input_:
        key = Ed25519SigningKey(bytes.fromhex(input_["seed"]))
        return {
            "result": "valid",
            "publicKey": key.public_key.raw.hex(),
            "signature": key.sign(message).hex(),
        }
    try:
        verify_signature(
            bytes.fromhex(input_["publicKey"]), message, bytes.fromhex(input_["signature"])
        )
    except KeyFormatError:
        return {"result": "invalid", "error": "invalidKeyLength"}
    except SignatureError as exc:
        return {"result": "invalid", "error": exc.reason.value}
    return {"result": "valid"}


def _nonce(label: str) -> int:
    return int.from_bytes(hashlib.sha512(b"twin-vectors/nonce/" + label.encode()).digest()) % (
        edwards.L
    )


def _non_curve_y(start: int) -> bytes:
    """The encoding of the first y from ``start`` for which no curve point exists."""
    y = start
    while edwards.decode(y.to_bytes(32, "little")) is not None:
        y += 1
    return y.to_bytes(32, "little")


def _mixed_order_case() -> tuple[bytes, bytes, bytes]:
    """A key with a torsion component and a message whose signature passes cofactorless."""
    seed = vector_test_seed("ed25519/mixed-order")
    scalar, _ = edwards.secret_scalar(seed)
    torsion = edwards.torsion_point_of_order_8()
    a_point = edwards.add(edwards.multiply(scalar, edwards.BASE), torsion)
    a_encoding = edwards.encode(a_point)
    counter = 0
    while True:
        message = f"mixed-order key, message {counter}".encode()
        nonce = _nonce(f"mixed-{counter}")
        r_encoding = edwards.encode(edwards.multiply(nonce, edwards.BASE))
        if edwards.challenge(r_encoding, a_encoding, message) % 8 == 0:
            return a_encoding, message, edwards.sign_with(scalar, a_encoding, nonce, message)
        counter += 1


def _ed25519_cases() -> list[tuple[str, str, list[str], dict[str, Any]]]:
    cases: list[tuple[str, str, list[str], dict[str, Any]]] = []

    def add(name: str, description: str, requirements: list[str], **fields: bytes) -> None:
        cases.append((name, description, requirements, {k: v.hex() for k, v in fields.items()}))

    for label, message in [
        ("empty", b""),
        ("abc", b"abc"),
        ("one-kib", bytes(range(256)) * 4),
    ]:
        add(
            f"sign-{label}",
            f"the deterministic signature of a {len(message)}-byte message",
            ["TWIN-CORE-015", "TWIN-CORE-010"],
            seed=vector_test_seed(f"ed25519/sign-{label}"),
            message=message,
        )
    key = vector_test_key("ed25519/signer")
    public = key.public_key.raw
    message = b"TWIN conformance vector"
    signature = key.sign(message)
    r, s = signature[:32], int.from_bytes(signature[32:], "little")
    small = edwards.small_order_encodings()
    identity = (1).to_bytes(32, "little")
    add(
        "valid",
        "a signature by the key over the message",
        ["TWIN-CORE-014"],
        publicKey=public,
        message=message,
        signature=signature,
    )
    add(
        "wrong-message",
        "the message differs in its last byte",
        ["TWIN-CORE-014"],
        publicKey=public,
        message=message[:-1] + b"!",
        signature=signature,
    )
    add(
        "wrong-key",
        "another key's signature",
        ["TWIN-CORE-014"],
        publicKey=vector_test_key("ed25519/other").public_key.raw,
        message=message,
        signature=signature,
    )
    add(
        "s-plus-l",
        "S replaced by S + L: the same point equation, a malleated signature",
        ["TWIN-CORE-011"],
        publicKey=public,
        message=message,
        signature=r + (s + edwards.L).to_bytes(32, "little"),
    )
    add(
        "s-equal-l",
        "S is exactly L",
        ["TWIN-CORE-011"],
        publicKey=public,
        message=message,
        signature=r + edwards.L.to_bytes(32, "little"),
    )
    add(
        "s-all-ones",
        "S is 2^256 - 1",
        ["TWIN-CORE-011"],
        publicKey=public,
        message=message,
        signature=r + b"\xff" * 32,
    )
    add(
        "s-non-canonical-before-small-order-key",
        "S is not below L and A has small order: S is checked first",
        ["TWIN-CORE-011", "TWIN-CORE-013"],
        publicKey=identity,
        message=message,
        signature=r + (s + edwards.L).to_bytes(32, "little"),
    )
    for position, encoding in enumerate(small):
        add(
            f"small-order-public-key-{position}",
            f"A is the small-order point {encoding.hex()[:16]}...",
            ["TWIN-CORE-013"],
            publicKey=encoding,
            message=message,
            signature=signature,
        )
    non_canonical_keys = [
        ("y-is-p-plus-1", (edwards.P + 1).to_bytes(32, "little")),
        ("y-is-p-plus-4", (edwards.P + 4).to_bytes(32, "little")),
        ("x-zero-sign-set", (1 | 1 << 255).to_bytes(32, "little")),
        ("y-minus-1-sign-set", (edwards.P - 1 | 1 << 255).to_bytes(32, "little")),
    ]
    for label, encoding in non_canonical_keys:
        add(
            f"non-canonical-public-key-{label}",
            f"A is a non-canonical encoding ({label})",
            ["TWIN-CORE-012"],
            publicKey=encoding,
            message=message,
            signature=signature,
        )
    add(
        "public-key-not-on-curve",
        "no curve point has A's y",
        ["TWIN-CORE-012"],
        publicKey=_non_curve_y(2),
        message=message,
        signature=signature,
    )
    add(
        "small-order-r-identity",
        "R is the identity point",
        ["TWIN-CORE-013"],
        publicKey=public,
        message=message,
        signature=identity + signature[32:],
    )
    add(
        "small-order-r-order-8",
        "R is a point of order 8",
        ["TWIN-CORE-013"],
        publicKey=public,
        message=message,
        signature=small[-2] + signature[32:],
    )
    add(
        "non-canonical-r",
        "R's y is p + 1",
        ["TWIN-CORE-012"],
        publicKey=public,
        message=message,
        signature=(edwards.P + 1).to_bytes(32, "little") + signature[32:],
    )
    add(
        "r-not-on-curve",
        "no curve point has R's y",
        ["TWIN-CORE-012"],
        publicKey=public,
        message=message,
        signature=_non_curve_y(100) + signature[32:],
    )
    scalar, _ = edwards.secret_scalar(key.seed)
    add(
        "cofactored-only",
        "R moved by a point of order 8: only [8][S]B = [8]R + [8][k]A holds",
        ["TWIN-CORE-014"],
        publicKey=public,
        message=message,
        signature=edwards.sign_with(
            scalar,
            public,
            _nonce("cofactored"),
            message,
            r_offset=edwards.torsion_point_of_order_8(),
        ),
    )
    mixed_key, mixed_message, mixed_signature = _mixed_order_case()
    add(
        "mixed-order-key-cofactorless-valid",
        "A has a torsion component (not small order) and k is a multiple of 8: valid",
        ["TWIN-CORE-013", "TWIN-CORE-014"],
        publicKey=mixed_key,
        message=mixed_message,
        signature=mixed_signature,
    )
    add(
        "signature-63-bytes",
        "the signature is one byte short",
        ["TWIN-CORE-010"],
        publicKey=public,
        message=message,
        signature=signature[:63],
    )
    add(
        "signature-65-bytes",
        "the signature has one byte more",
        ["TWIN-CORE-010"],
        publicKey=public,
        message=message,
        signature=signature + b"\x00",
    )
    add(
        "public-key-31-bytes",
        "the key is one byte short",
        ["TWIN-CORE-010"],
        publicKey=public[:31],
        message=message,
        signature=signature,
    )
    add(
        "public-key-33-bytes",
        "the key has one byte more",
        ["TWIN-CORE-010"],
        publicKey=public + b"\x00",
        message=message,
        signature=signature,
    )
    return cases


def ed25519_vectors() -> list[Vector]:
    """Deterministic signing, and verification under TWIN's strict cofactorless policy."""
    vectors = []
    for name, description, requirements, input_ in _ed25519_cases():
        expected = ed25519_oracle(input_)
        reason = expected.get("error")
        extra = [_SIGNATURE_REQUIREMENTS[reason]] if isinstance(reason, str) else []
        vectors.append(
            make_vector(ED25519, name, description, [*requirements, *extra], input_, expected)
        )
    return vectors


# --- core/encodings ---------------------------------------------------------------------------


def encodings_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Encode or decode base58btc, base64url, multibase or a multicodec varint."""
    encoding = input_["encoding"]
    try:
        if "encode" in input_:
            if encoding == "varint":
                return {"result": "valid", "hex": encode_varint(int(input_["encode"])).hex()}
            data = bytes.fromhex(input_["encode"])
            text = base58btc_encode(data) if encoding == "base58btc" else base64url_encode(data)
            return {"result": "valid", "text": text}
        text = input_["decode"]
        if encoding == "varint":
            value, used = decode_varint(bytes.fromhex(text))
            return {"result": "valid", "value": value, "length": used}
        if encoding == "base58btc":
            decoded = base58btc_decode(text)
        elif encoding == "base64url":
            decoded = base64url_decode(text)
        else:
            decoded = multibase_decode(text, allowed=input_["allowed"])
    except EncodingError:
        return {"result": "invalid", "error": "invalidEncoding"}
    return {"result": "valid", "hex": decoded.hex()}


def _encoding_cases() -> list[tuple[str, str, list[str], dict[str, Any]]]:
    b58 = ["TWIN-CORE-030"]
    b64 = ["TWIN-CORE-031"]
    varint = ["TWIN-CORE-032"]
    cases: list[tuple[str, str, list[str], dict[str, Any]]] = []
    for label, data in [
        ("empty", b""),
        ("one-zero-byte", b"\x00"),
        ("two-zero-bytes", b"\x00\x00"),
        ("zeros-then-one", b"\x00\x00\x01"),
        ("hello-world", b"hello world"),
        ("32-bytes-ff", b"\xff" * 32),
        ("ed25519-pub-prefix-and-key", bytes.fromhex("ed01") + bytes(range(32))),
    ]:
        cases.append(
            (
                f"base58btc-encode-{label}",
                f"base58btc of {label}",
                b58,
                {"encoding": "base58btc", "encode": data.hex()},
            )
        )
    cases.append(
        (
            "base58btc-decode-leading-ones",
            "each leading '1' is a zero byte",
            b58,
            {"encoding": "base58btc", "decode": "11StV1DL6CwTryKyV"},
        )
    )
    for char in ["0", "O", "I", "l", "+", " "]:
        label = {
            " ": "space",
            "+": "plus",
            "0": "zero",
            "O": "capital-o",
            "I": "capital-i",
            "l": "small-l",
        }[char]
        cases.append(
            (
                f"base58btc-decode-refuses-{label}",
                f"{char!r} is not in the alphabet",
                b58,
                {"encoding": "base58btc", "decode": f"2N{char}x"},
            )
        )
    for label, data in [("f", b"f"), ("fo", b"fo"), ("foo", b"foo"), ("fbff", b"\xfb\xff")]:
        cases.append(
            (
                f"base64url-encode-{label}",
                "unpadded base64url",
                b64,
                {"encoding": "base64url", "encode": data.hex()},
            )
        )
    for label, text, description in [
        ("valid", "Zm9vYg", "canonical unpadded text"),
        ("padding", "Zg==", "padding is refused"),
        ("one-pad", "Zm8=", "a single pad character is refused"),
        ("plus", "Z+8", "'+' is base64, not base64url"),
        ("slash", "Z/8", "'/' is base64, not base64url"),
        ("spare-bits", "Zh", "non-zero spare bits ('Zg' is the canonical spelling)"),
        ("spare-bits-two-bytes", "Zm9", "non-zero spare bits in a two-byte group"),
        ("one-char", "Z", "one character cannot encode a byte"),
        ("whitespace", "Zm9v Yg", "whitespace is refused"),
    ]:
        cases.append(
            (
                f"base64url-decode-{label}",
                description,
                b64,
                {"encoding": "base64url", "decode": text},
            )
        )
    for label, text, allowed, description in [
        ("z", "z2NEpo7TZRRrLZSi2U", "zu", "base58btc multibase"),
        ("u", "uaGVsbG8", "zu", "base64url multibase"),
        ("u-not-allowed", "uaGVsbG8", "z", "base64url where only base58btc is accepted"),
        ("base16", "f68656c6c6f", "zu", "base16 ('f') is not accepted"),
        ("base58flickr", "Z2NEpo7TZRRrLZSi2U", "zu", "base58flickr ('Z') is not accepted"),
        ("base64pad", "MaGVsbG8=", "zu", "padded base64 ('M') is not accepted"),
        ("empty", "", "zu", "empty text has no prefix"),
        ("z-bad-character", "z2NEpo7TZRRrLZSi0U", "zu", "'0' inside base58btc multibase"),
    ]:
        cases.append(
            (
                f"multibase-decode-{label}",
                description,
                b58 if "u" not in label else [*b58, *b64],
                {"encoding": "multibase", "decode": text, "allowed": allowed},
            )
        )
    for value in [0, 127, 128, 0xEC, 0xED, 0x1300]:
        cases.append(
            (
                f"varint-encode-{value:x}",
                f"the minimal varint of 0x{value:x}",
                varint,
                {"encoding": "varint", "encode": value},
            )
        )
    for label, hex_text, description in [
        ("ed25519-pub", "ed01", "ed25519-pub, 0xed"),
        ("x25519-pub", "ec01", "x25519-pub, 0xec"),
        ("ed25519-priv", "8026", "ed25519-priv, 0x1300"),
        ("with-payload", "ed01" + "00" * 32, "a prefix followed by key bytes"),
        ("zero", "00", "zero in one byte"),
        ("non-minimal-two-bytes", "8000", "zero in two bytes is not minimal"),
        ("non-minimal-ed", "ed8100", "0xed in three bytes is not minimal"),
        ("unterminated", "8080", "every byte has its continuation bit"),
        ("too-long", "ffffff01", "more than three bytes"),
    ]:
        cases.append(
            (
                f"varint-decode-{label}",
                description,
                varint,
                {"encoding": "varint", "decode": hex_text},
            )
        )
    return cases


def encodings_vectors() -> list[Vector]:
    """base58btc, base64url, multibase prefixes and multicodec varints, both ways."""
    return with_expected(ENCODINGS, encodings_oracle, _encoding_cases())


# --- core/signing-domains ---------------------------------------------------------------------


def signing_domains_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The signing input and signature of a message kind, or a cross-kind verification."""
    message = input_["message"]
    if "seed" in input_:
        key = Ed25519SigningKey(bytes.fromhex(input_["seed"]))
        kind = MessageKind(input_["kind"])
        return {
            "result": "valid",
            "signingInput": signing_input(kind, message).hex(),
            "signature": sign_message(key, kind, message).hex(),
        }
    try:
        verify_message(
            Ed25519PublicKey(bytes.fromhex(input_["publicKey"])),
            MessageKind(input_["expectedKind"]),
            message,
            bytes.fromhex(input_["signature"]),
        )
    except SignatureError as exc:
        return {"result": "invalid", "error": exc.reason.value}
    return {"result": "valid"}


def _signing_domain_cases() -> list[tuple[str, str, list[str], dict[str, Any]]]:
    message = {"epoch": 0, "round": 7, "note": "same JSON, every kind"}
    key = vector_test_key("signing-domains/signer")
    cases: list[tuple[str, str, list[str], dict[str, Any]]] = []
    for kind in MessageKind:
        cases.append(
            (
                f"sign-{kind.value}",
                f"the signing input and signature of a {kind.value}",
                ["TWIN-CORE-020"],
                {"kind": kind.value, "message": message, "seed": key.seed.hex()},
            )
        )
    signature = sign_message(key, MessageKind.BLOCK, message)
    for kind in MessageKind:
        same = kind is MessageKind.BLOCK
        cases.append(
            (
                f"block-signature-verified-as-{kind.value}",
                "a block signature, verified as " + ("a block" if same else f"a {kind.value}"),
                ["TWIN-CORE-021", "TWIN-CORE-020"],
                {
                    "expectedKind": kind.value,
                    "message": message,
                    "publicKey": key.public_key.raw.hex(),
                    "signature": signature.hex(),
                },
            )
        )
    return cases


def signing_domains_vectors() -> list[Vector]:
    """Domain-separated protocol signatures, and signatures replayed across domains."""
    return with_expected(SIGNING_DOMAINS, signing_domains_oracle, _signing_domain_cases())


# --- core/error-format ------------------------------------------------------------------------


def error_format_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Whether a response body is a well-formed TWIN error."""
    try:
        check_error_body(input_["body"])
    except TwinSpecError:
        return {"result": "invalid", "error": "malformedErrorBody"}
    return {"result": "valid"}


def _error_format_cases() -> list[tuple[str, str, list[str], dict[str, Any]]]:
    rule = ["TWIN-CORE-040"]
    bodies: list[tuple[str, str, object]] = [
        ("name-and-message", "the two required members", {"name": "NotFoundError", "message": "x"}),
        (
            "message-key",
            "a message key, a source and properties",
            {
                "name": "GuardError",
                "source": "IdentityService",
                "message": "guard.stringEmpty",
                "properties": {"property": "identity", "value": ""},
            },
        ),
        (
            "inner-error",
            "a cause nested twice",
            {
                "name": "GeneralError",
                "message": "a",
                "inner": {
                    "name": "NotFoundError",
                    "message": "b",
                    "inner": {"name": "GeneralError", "message": "c"},
                },
            },
        ),
        ("empty-message", "an empty message is still a string", {"name": "E", "message": ""}),
        ("with-stack", "a stack string", {"name": "E", "message": "m", "stack": "at x"}),
        ("missing-name", "no name", {"message": "m"}),
        ("empty-name", "an empty name", {"name": "", "message": "m"}),
        ("name-not-string", "a numeric name", {"name": 400, "message": "m"}),
        ("missing-message", "no message", {"name": "E"}),
        ("message-not-string", "a message object", {"name": "E", "message": {"key": "k"}}),
        (
            "extra-member",
            "a member outside the format",
            {"name": "E", "message": "m", "status": 400},
        ),
        (
            "properties-not-object",
            "properties is an array",
            {"name": "E", "message": "m", "properties": ["field"]},
        ),
        ("stack-not-string", "stack is an array", {"name": "E", "message": "m", "stack": []}),
        (
            "inner-malformed",
            "the nested error lacks its message",
            {"name": "E", "message": "m", "inner": {"name": "I"}},
        ),
        ("not-an-object", "an array body", [{"name": "E", "message": "m"}]),
        ("plain-string", "a string body", "Internal Server Error"),
    ]
    return [(name, description, rule, {"body": body}) for name, description, body in bodies]


def error_format_vectors() -> list[Vector]:
    """Error bodies that are, and are not, in the TWIN error format."""
    return with_expected(ERROR_FORMAT, error_format_oracle, _error_format_cases())


FAMILIES = [
    Family(
        "core",
        "jcs",
        False,
        jcs_vectors,
        jcs_oracle,
        "JSON text (or a tagged value): its JCS text, or notIJson / notCanonicalizable",
    ),
    Family(
        "core",
        "ed25519",
        False,
        ed25519_vectors,
        ed25519_oracle,
        "Ed25519 signing from a seed, and verification under the strict policy with the "
        "rejection reason",
    ),
    Family(
        "core",
        "encodings",
        False,
        encodings_vectors,
        encodings_oracle,
        "base58btc, base64url, multibase and multicodec varints, encoded and decoded",
    ),
    Family(
        "core",
        "signing-domains",
        False,
        signing_domains_vectors,
        signing_domains_oracle,
        "signing inputs of each protocol message kind, and cross-kind verification",
    ),
    Family(
        "core",
        "error-format",
        False,
        error_format_vectors,
        error_format_oracle,
        "response bodies that are or are not TWIN errors",
    ),
]
