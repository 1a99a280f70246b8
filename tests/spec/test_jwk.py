"""Ed25519 JWKs (RFC 8037) and RFC 7638 thumbprints, as TWIN's verification methods carry them."""

from __future__ import annotations

import pytest

from tests.support import read_json, upstream_file
from twin_spec import (
    Ed25519PublicKey,
    Ed25519SigningKey,
    KeyFormatError,
    jwk_from_public_key,
    jwk_thumbprint,
    public_key_from_jwk,
)

# RFC 8037 appendix A.2 and A.3: the Ed25519 example key and its RFC 7638 thumbprint.
RFC8037_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


@pytest.mark.requirement("TWIN-IDENTITY-011")
def test_rfc8037_example_thumbprint() -> None:
    assert jwk_thumbprint(RFC8037_JWK) == RFC8037_THUMBPRINT
    # Members outside crv, kty and x do not change the thumbprint.
    assert jwk_thumbprint({**RFC8037_JWK, "alg": "EdDSA", "kid": "anything"}) == RFC8037_THUMBPRINT


@pytest.mark.requirement("TWIN-IDENTITY-010", "TWIN-IDENTITY-012")
def test_the_jwk_twin_publishes_for_a_key() -> None:
    key = Ed25519SigningKey(bytes.fromhex(RFC8037_SEED)).public_key
    assert jwk_from_public_key(key) == {**RFC8037_JWK, "alg": "EdDSA", "kid": RFC8037_THUMBPRINT}
    assert public_key_from_jwk(jwk_from_public_key(key)) == key


@pytest.mark.requirement("TWIN-IDENTITY-011", "TWIN-IDENTITY-012")
def test_upstream_node_kids_are_rfc7638_thumbprints() -> None:
    document = read_json(upstream_file("samples/node-did.json"))
    methods = document["assertionMethod"]
    assert len(methods) == 2
    for method in methods:
        jwk = method["publicKeyJwk"]
        assert jwk_thumbprint(jwk) == jwk["kid"]
        assert jwk_from_public_key(public_key_from_jwk(jwk)) == jwk


@pytest.mark.requirement("TWIN-IDENTITY-010")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kty": "EC"}, "JWK kty is 'EC', expected 'OKP'"),
        ({"crv": "X25519"}, "JWK crv is 'X25519', expected 'Ed25519'"),
        ({"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}, "holds the private member 'd'"),
        ({"alg": "ES256"}, "JWK alg is 'ES256', expected one of EdDSA, Ed25519"),
        ({"x": None}, "JWK member x is missing or not a string"),
        ({"x": "A" * 42}, "decodes to 31 bytes"),
        ({"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="}, "'=' at position 43 is padding"),
        ({"x": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"}, "not a base64url character"),
    ],
)
def test_a_jwk_that_is_not_an_ed25519_public_key_is_refused(
    change: dict[str, object], message: str
) -> None:
    jwk = {**RFC8037_JWK, **change}
    with pytest.raises(KeyFormatError) as caught:
        public_key_from_jwk(jwk)
    assert message in str(caught.value)
    assert caught.value.requirement == "TWIN-IDENTITY-010"


def test_a_jwk_must_be_an_object() -> None:
    with pytest.raises(KeyFormatError, match="a JWK is a JSON object, got list"):
        public_key_from_jwk([])  # type: ignore[arg-type]


def test_thumbprint_refuses_a_jwk_it_cannot_read() -> None:
    with pytest.raises(KeyFormatError):
        jwk_thumbprint({"kty": "OKP", "crv": "Ed25519"})


def test_a_key_round_trips_through_its_jwk() -> None:
    key = Ed25519PublicKey(bytes(range(32)))
    assert public_key_from_jwk(jwk_from_public_key(key)) == key
