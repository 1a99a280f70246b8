"""Compact JWS / JWT with EdDSA: round trips, a real TWIN node token, and every refusal."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519 as crypto_ed25519
from hypothesis import given
from hypothesis import strategies as st

from tests.support import upstream_file
from twin_spec import (
    MAX_JWT_LENGTH,
    Ed25519SigningKey,
    JwtError,
    JwtFailure,
    base64url_encode,
    canonicalize,
    check_jwt_times,
    decode_jwt,
    encode_jwt,
    verification_key,
    verify_jwt,
)

KEY = Ed25519SigningKey(bytes(range(32)))
OTHER_KEY = Ed25519SigningKey(bytes(range(1, 33)))
HEADER = {"alg": "EdDSA", "typ": "JWT"}
PAYLOAD: dict[str, Any] = {"sub": "did:twin:0x" + "ab" * 32, "iat": 1000, "exp": 2000, "jti": "01"}


def _b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64url_encode(raw)


def _token(header: object = HEADER, payload: object = PAYLOAD, key: Ed25519SigningKey = KEY) -> str:
    """A token signed over whatever header and payload text is given (not only valid ones)."""
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    return f"{signing_input}.{base64url_encode(key.sign(signing_input.encode()))}"


def _refused(token: str, reason: JwtFailure, requirement: str) -> JwtError:
    with pytest.raises(JwtError) as caught:
        verify_jwt(token, KEY.public_key)
    assert caught.value.reason is reason, caught.value.message
    assert caught.value.requirement == requirement
    return caught.value


def upstream_json(relative: str) -> Any:
    """A captured response body: the JSON after the status line or HTTP headers."""
    text = upstream_file(relative).read_text(encoding="utf-8")
    return json.loads(text[text.index("{") :])


@pytest.mark.requirement("TWIN-IDENTITY-035", "TWIN-IDENTITY-038")
def test_encode_then_verify_round_trips() -> None:
    token = encode_jwt(HEADER, PAYLOAD, KEY)
    decoded = verify_jwt(token, KEY.public_key)
    assert decoded.header == HEADER
    assert decoded.payload == PAYLOAD
    head, body, _ = token.split(".")
    assert decoded.signing_input == f"{head}.{body}".encode()
    assert len(decoded.signature) == 64
    assert base64.urlsafe_b64decode(head + "==") == canonicalize(HEADER)
    assert base64.urlsafe_b64decode(body + "==") == canonicalize(PAYLOAD)
    assert encode_jwt(dict(reversed(HEADER.items())), PAYLOAD, KEY) == token


@pytest.mark.requirement("TWIN-IDENTITY-038")
@given(st.dictionaries(st.text(max_size=8), st.integers(0, 2**53 - 1) | st.text(), max_size=5))
def test_any_payload_round_trips(payload: dict[str, Any]) -> None:
    assert verify_jwt(encode_jwt(HEADER, payload, KEY), KEY.public_key).payload == payload


@pytest.mark.requirement("TWIN-IDENTITY-038")
def test_the_signature_cross_checks_with_the_cryptography_package() -> None:
    token = encode_jwt(HEADER, PAYLOAD, KEY)
    head, body, signature = token.split(".")
    other = crypto_ed25519.Ed25519PublicKey.from_public_bytes(KEY.public_key.raw)
    other.verify(base64.urlsafe_b64decode(signature + "=="), f"{head}.{body}".encode())
    with pytest.raises(InvalidSignature):
        other.verify(base64.urlsafe_b64decode(signature + "=="), f"{head}.{body}x".encode())
    # And a token the other library signs, with the header in the TWIN node's member order.
    private = crypto_ed25519.Ed25519PrivateKey.from_private_bytes(OTHER_KEY.seed)
    signing_input = f"{_b64({'kid': 'did:x:y#k', 'typ': 'JWT', 'alg': 'EdDSA'})}.{_b64(PAYLOAD)}"
    foreign = f"{signing_input}.{base64url_encode(private.sign(signing_input.encode()))}"
    assert verify_jwt(foreign, OTHER_KEY.public_key).header["kid"] == "did:x:y#k"


@pytest.mark.requirement("TWIN-IDENTITY-035", "TWIN-IDENTITY-036", "TWIN-IDENTITY-038")
def test_a_jwt_from_a_running_twin_node_verifies_against_its_did_document() -> None:
    token = upstream_file("samples/attestation-jwt.txt").read_text(encoding="utf-8").strip()
    document = upstream_json("samples/node-identity.txt")
    kid = decode_jwt(token).header["kid"]
    assert isinstance(kid, str)
    assert kid.endswith("#attestation-assertion")
    decoded = verify_jwt(token, verification_key(document, kid, "assertionMethod"))
    assert list(decoded.header) == ["kid", "typ", "alg"]
    assert decoded.payload["iss"] == document["id"]
    immutable_key = verification_key(
        document, document["id"] + "#immutable-proof-assertion", "assertionMethod"
    )
    with pytest.raises(JwtError) as caught:
        verify_jwt(token, immutable_key)
    assert caught.value.reason is JwtFailure.SIGNATURE_MISMATCH


@pytest.mark.requirement("TWIN-IDENTITY-035")
def test_an_over_long_token_is_too_large() -> None:
    token = _token(payload={"pad": "x" * MAX_JWT_LENGTH})
    error = _refused(token, JwtFailure.TOO_LARGE, "TWIN-IDENTITY-035")
    assert "longer than the 65536" in error.message


@pytest.mark.requirement("TWIN-IDENTITY-035")
@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda t: t.rsplit(".", 1)[0], "this token has 2"),
        (lambda t: t + ".", "this token has 4"),
        (lambda t: t + ".a.b", "five parts is a JWE"),
        (lambda t: "", "this token has 1"),
        (lambda t: t + "=", "padding"),
        (lambda t: "=" + t, "padding"),
        (lambda t: t.replace(".", " .", 1), "not a base64url character"),
        (lambda t: t.replace("-", "+").replace("_", "/") + "+", "not a base64url character"),
        (lambda t: t[:-1], "cannot encode whole bytes"),
        (lambda t: t.rsplit(".", 1)[0] + "." + base64url_encode(bytes(63)), "63 bytes"),
    ],
)
def test_structural_errors_are_malformed(mutate: Any, says: str) -> None:
    error = _refused(
        mutate(encode_jwt(HEADER, PAYLOAD, KEY)), JwtFailure.MALFORMED, "TWIN-IDENTITY-035"
    )
    assert says in error.message


@pytest.mark.requirement("TWIN-IDENTITY-035")
def test_base64url_with_spare_bits_is_malformed() -> None:
    head, body, signature = encode_jwt(HEADER, PAYLOAD, KEY).split(".")
    # 64 bytes leave 4 spare bits in the last of 86 characters, all zero; set the lowest one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    altered = signature[:-1] + alphabet[alphabet.index(signature[-1]) | 1]
    error = _refused(f"{head}.{body}.{altered}", JwtFailure.MALFORMED, "TWIN-IDENTITY-035")
    assert "spare bits" in error.message


@pytest.mark.requirement("TWIN-IDENTITY-035")
@pytest.mark.parametrize(
    ("header", "payload", "says"),
    [
        (b"not json", PAYLOAD, "header is not I-JSON"),
        (["EdDSA"], PAYLOAD, "header is a JSON list"),
        (b'{"alg":"EdDSA","alg":"EdDSA"}', PAYLOAD, "duplicate"),
        (HEADER, b"\xff\xfe", "not UTF-8"),
        (HEADER, b'{"exp": NaN}', "payload is not I-JSON"),
        (HEADER, b'{"exp": 1' + b"0" * 400 + b"}", "too large for an IEEE-754 double"),
        (HEADER, b'"a string"', "payload is a JSON str"),
        (HEADER, b"", "payload is not I-JSON"),
    ],
)
def test_header_and_payload_must_be_i_json_objects(header: Any, payload: Any, says: str) -> None:
    error = _refused(_token(header, payload), JwtFailure.MALFORMED, "TWIN-IDENTITY-035")
    assert says in error.message


@pytest.mark.requirement("TWIN-IDENTITY-036")
@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "typ": "JWT"},
        {"alg": "HS256"},
        {"alg": "ES256"},
        {"alg": "RS256"},
        {"alg": "Ed25519"},
        {"alg": "eddsa"},
        {"alg": None},
        {"alg": ["EdDSA"]},
        {"typ": "JWT"},
    ],
)
def test_every_algorithm_but_eddsa_is_refused(header: dict[str, Any]) -> None:
    error = _refused(_token(header), JwtFailure.UNSUPPORTED_ALGORITHM, "TWIN-IDENTITY-036")
    assert "accepts 'EdDSA' (Ed25519) only" in error.message


@pytest.mark.requirement("TWIN-IDENTITY-036")
def test_an_unsigned_alg_none_token_is_refused() -> None:
    token = f"{_b64({'alg': 'none'})}.{_b64(PAYLOAD)}."
    _refused(token, JwtFailure.UNSUPPORTED_ALGORITHM, "TWIN-IDENTITY-036")


@pytest.mark.requirement("TWIN-IDENTITY-037")
@pytest.mark.parametrize("crit", [["b64"], [], ["exp"]])
def test_a_crit_header_is_refused(crit: list[str]) -> None:
    _refused(
        _token({**HEADER, "crit": crit, "b64": False}),
        JwtFailure.CRITICAL_HEADER,
        "TWIN-IDENTITY-037",
    )


@pytest.mark.requirement("TWIN-IDENTITY-036", "TWIN-IDENTITY-037")
def test_encode_refuses_what_decode_would_refuse() -> None:
    with pytest.raises(JwtError) as caught:
        encode_jwt({"alg": "HS256"}, PAYLOAD, KEY)
    assert caught.value.reason is JwtFailure.UNSUPPORTED_ALGORITHM
    with pytest.raises(JwtError) as caught:
        encode_jwt({**HEADER, "crit": ["x"]}, PAYLOAD, KEY)
    assert caught.value.reason is JwtFailure.CRITICAL_HEADER
    with pytest.raises(JwtError) as caught:
        encode_jwt(HEADER, {"exp": float("nan")}, KEY)
    assert caught.value.reason is JwtFailure.MALFORMED
    with pytest.raises(JwtError, match="is a JSON object"):
        encode_jwt(HEADER, ["x"], KEY)  # type: ignore[arg-type]


@pytest.mark.requirement("TWIN-IDENTITY-038")
def test_a_signature_that_does_not_verify_is_signature_mismatch() -> None:
    _refused(_token(key=OTHER_KEY), JwtFailure.SIGNATURE_MISMATCH, "TWIN-IDENTITY-038")
    head, _, signature = encode_jwt(HEADER, PAYLOAD, KEY).split(".")
    tampered = f"{head}.{_b64({**PAYLOAD, 'sub': 'did:twin:0x' + 'cd' * 32})}.{signature}"
    error = _refused(tampered, JwtFailure.SIGNATURE_MISMATCH, "TWIN-IDENTITY-038")
    assert "does not verify" in error.message
    # The same claims re-serialized differently are different signed bytes.
    respaced = f"{head}.{_b64(PAYLOAD)}.{signature}"
    _refused(respaced, JwtFailure.SIGNATURE_MISMATCH, "TWIN-IDENTITY-038")


@pytest.mark.requirement("TWIN-IDENTITY-039")
def test_times_are_checked_against_the_given_clock() -> None:
    check_jwt_times({"iat": 1000, "nbf": 1000, "exp": 2000}, 1000)
    check_jwt_times({"iat": 1000, "nbf": 1000, "exp": 2000}, 1999)
    check_jwt_times({}, 0)
    with pytest.raises(JwtError) as caught:
        check_jwt_times({"exp": 2000}, 2000)
    assert caught.value.reason is JwtFailure.EXPIRED
    assert caught.value.requirement == "TWIN-IDENTITY-039"
    check_jwt_times({"exp": 2000}, 2004, leeway_seconds=5)
    with pytest.raises(JwtError) as caught:
        check_jwt_times({"exp": 2000}, 2005, leeway_seconds=5)
    assert caught.value.reason is JwtFailure.EXPIRED
    for claim in ("nbf", "iat"):
        with pytest.raises(JwtError) as caught:
            check_jwt_times({claim: 1001}, 1000)
        assert caught.value.reason is JwtFailure.NOT_YET_VALID
        assert claim in caught.value.message
        check_jwt_times({claim: 1001}, 1000, leeway_seconds=1)


@pytest.mark.requirement("TWIN-IDENTITY-039")
def test_an_exp_beyond_the_safe_integers_is_not_an_integer() -> None:
    # I-JSON reads 9007199254740993 as the double 9007199254740992.0, which is not an integer.
    decoded = decode_jwt(_token(payload=b'{"exp":9007199254740993}'))
    assert decoded.payload["exp"] == 9007199254740992.0
    with pytest.raises(JwtError) as caught:
        check_jwt_times(decoded.payload, 0)
    assert caught.value.reason is JwtFailure.MALFORMED


@pytest.mark.requirement("TWIN-IDENTITY-039")
@pytest.mark.parametrize("value", [2000.0, 2000.5, "2000", True, None, [2000]])
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_time_claims_must_be_integers(claim: str, value: object) -> None:
    with pytest.raises(JwtError) as caught:
        check_jwt_times({claim: value}, 1500)
    assert caught.value.reason is JwtFailure.MALFORMED
    assert f"claim {claim}" in caught.value.message
