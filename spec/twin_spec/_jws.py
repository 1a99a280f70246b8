"""Compact JWS and JWT (RFC 7515, RFC 7519) with EdDSA over Ed25519 only (RFC 8037).

Parsing is strict: exactly three parts, each in its one canonical unpadded base64url spelling,
header and payload I-JSON objects, alg "EdDSA" and no "crit". Every other algorithm, "none"
included, is refused, so a token can never choose how it is verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from twin_spec._ed25519 import SIGNATURE_LENGTH, Ed25519PublicKey, Ed25519SigningKey
from twin_spec._errors import (
    CanonicalizationError,
    EncodingError,
    JwtError,
    JwtFailure,
    SignatureError,
)
from twin_spec._jcs import JSONValue, canonicalize, parse_json
from twin_spec._multibase import base64url_decode, base64url_encode

JWT_ALGORITHM = "EdDSA"
# Tokens longer than this are refused before any decoding (64 KiB).
MAX_JWT_LENGTH = 65536


@dataclass(frozen=True)
class DecodedJwt:
    """A parsed compact JWS: its header and payload objects, the signed bytes, the signature."""

    header: dict[str, JSONValue]
    payload: dict[str, JSONValue]
    signing_input: bytes
    signature: bytes


def encode_jwt(
    header: Mapping[str, object], payload: Mapping[str, object], key: Ed25519SigningKey
) -> str:
    """Sign a JWT; header and payload are written as JCS so the same input gives the same token."""
    header_part = _part(header, "header")
    _check_header(header)
    signing_input = header_part + "." + _part(payload, "payload")
    signature = key.sign(signing_input.encode("ascii"))
    return signing_input + "." + base64url_encode(signature)


def decode_jwt(token: str) -> DecodedJwt:
    """Parse a compact JWS strictly, without verifying it; raise :class:`JwtError` if malformed."""
    # TWIN-IDENTITY-035 "A JWT MUST be at most 65536 characters and exactly three parts, each
    # canonical unpadded base64url; header and payload are I-JSON objects; else malformed."
    if not isinstance(token, str):
        raise JwtError(
            JwtFailure.MALFORMED,
            f"a JWT is a string, got {type(token).__name__}",
            requirement="TWIN-IDENTITY-035",
        )
    if len(token) > MAX_JWT_LENGTH:
        raise JwtError(
            JwtFailure.TOO_LARGE,
            f"JWT of {len(token)} characters is longer than the {MAX_JWT_LENGTH} accepted",
            requirement="TWIN-IDENTITY-035",
        )
    parts = token.split(".")
    if len(parts) != 3:
        extra = " (five parts is a JWE, which TWIN does not accept)" if len(parts) == 5 else ""
        raise JwtError(
            JwtFailure.MALFORMED,
            f"a compact JWS has 3 dot-separated parts, this token has {len(parts)}{extra}",
            requirement="TWIN-IDENTITY-035",
        )
    header = _json_object(parts[0], "header")
    _check_header(header)
    payload = _json_object(parts[1], "payload")
    signature = _decode_part(parts[2], "signature")
    if len(signature) != SIGNATURE_LENGTH:
        raise JwtError(
            JwtFailure.MALFORMED,
            f"JWT signature is {len(signature)} bytes, an Ed25519 signature is {SIGNATURE_LENGTH}",
            requirement="TWIN-IDENTITY-035",
        )
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return DecodedJwt(header, payload, signing_input, signature)


def verify_jwt(token: str, public_key: Ed25519PublicKey) -> DecodedJwt:
    """Parse a JWT and verify its signature with ``public_key`` (times are not checked here)."""
    decoded = decode_jwt(token)
    verify_decoded_jwt(decoded, public_key)
    return decoded


def verify_decoded_jwt(decoded: DecodedJwt, public_key: Ed25519PublicKey) -> None:
    """Verify the signature of an already parsed JWT, for callers that read the kid first."""
    # TWIN-IDENTITY-038 "A JWT whose Ed25519 signature over the ASCII of header.payload does not
    # verify under the TWIN policy MUST be refused as signatureMismatch."
    try:
        public_key.verify(decoded.signing_input, decoded.signature)
    except SignatureError as exc:
        raise JwtError(
            JwtFailure.SIGNATURE_MISMATCH,
            f"the JWT signature does not verify: {exc.message}",
            requirement="TWIN-IDENTITY-038",
        ) from None


def check_jwt_times(
    payload: Mapping[str, object], now_seconds: int, leeway_seconds: int = 0
) -> None:
    """Check exp, nbf and iat against ``now_seconds`` (passed in, the spec core has no clock)."""
    # TWIN-IDENTITY-039 "exp, nbf and iat, when present, MUST be integers; a JWT is expired when
    # now >= exp + leeway and not yet valid when nbf or iat > now + leeway."
    times: dict[str, int] = {}
    for claim in ("exp", "nbf", "iat"):
        if claim not in payload:
            continue
        value = payload[claim]
        if not isinstance(value, int) or isinstance(value, bool):
            raise JwtError(
                JwtFailure.MALFORMED,
                f"JWT claim {claim} is {value!r}; it must be an integer count of seconds",
                requirement="TWIN-IDENTITY-039",
            )
        times[claim] = value
    if "exp" in times and now_seconds >= times["exp"] + leeway_seconds:
        raise JwtError(
            JwtFailure.EXPIRED,
            f"the JWT expired at {times['exp']}; it is now {now_seconds}",
            requirement="TWIN-IDENTITY-039",
        )
    for claim in ("nbf", "iat"):
        if claim in times and times[claim] > now_seconds + leeway_seconds:
            raise JwtError(
                JwtFailure.NOT_YET_VALID,
                f"the JWT {claim} is {times[claim]}, later than now ({now_seconds})",
                requirement="TWIN-IDENTITY-039",
            )


def _check_header(header: Mapping[str, object]) -> None:
    # TWIN-IDENTITY-036 "alg MUST be EdDSA; 'none' and every other algorithm are refused as
    # unsupportedAlgorithm."
    alg = header.get("alg")
    if alg != JWT_ALGORITHM:
        raise JwtError(
            JwtFailure.UNSUPPORTED_ALGORITHM,
            f"JWT alg is {alg!r}; TWIN accepts {JWT_ALGORITHM!r} (Ed25519) only",
            requirement="TWIN-IDENTITY-036",
        )
    # TWIN-IDENTITY-037 "A JWT header MUST NOT carry crit; one that does is criticalHeader."
    if "crit" in header:
        raise JwtError(
            JwtFailure.CRITICAL_HEADER,
            "the JWT header carries crit; TWIN understands no header extensions",
            requirement="TWIN-IDENTITY-037",
        )


def _part(value: Mapping[str, object], what: str) -> str:
    if not isinstance(value, Mapping):
        raise JwtError(
            JwtFailure.MALFORMED,
            f"the JWT {what} is a JSON object, got {type(value).__name__}",
            requirement="TWIN-IDENTITY-035",
        )
    try:
        return base64url_encode(canonicalize(value))
    except CanonicalizationError as exc:
        raise JwtError(
            JwtFailure.MALFORMED, f"JWT {what}: {exc.message}", requirement="TWIN-IDENTITY-035"
        ) from None


def _decode_part(text: str, what: str) -> bytes:
    try:
        return base64url_decode(text)
    except EncodingError as exc:
        raise JwtError(
            JwtFailure.MALFORMED, f"JWT {what}: {exc.message}", requirement="TWIN-IDENTITY-035"
        ) from None


def _json_object(text: str, what: str) -> dict[str, JSONValue]:
    try:
        value = parse_json(_decode_part(text, what))
    except CanonicalizationError as exc:
        raise JwtError(
            JwtFailure.MALFORMED,
            f"JWT {what} is not I-JSON: {exc.message}",
            requirement="TWIN-IDENTITY-035",
        ) from None
    if not isinstance(value, dict):
        raise JwtError(
            JwtFailure.MALFORMED,
            f"JWT {what} is a JSON {type(value).__name__}, not an object",
            requirement="TWIN-IDENTITY-035",
        )
    return value
