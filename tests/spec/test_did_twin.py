"""did:twin: the one spelling of a 32-byte identifier, and every way to get it wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin_spec import (
    DID_TWIN_METHOD,
    DidError,
    DidErrorCode,
    did_twin_from_bytes,
    parse_did,
    parse_did_twin,
)

IDENTIFIER = bytes(range(32))
DID = "did:twin:0x" + IDENTIFIER.hex()


@pytest.mark.requirement("TWIN-IDENTITY-030")
def test_a_did_twin_is_0x_and_64_lowercase_hex() -> None:
    assert did_twin_from_bytes(IDENTIFIER) == DID
    assert DID == "did:twin:0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    assert parse_did(DID).method == DID_TWIN_METHOD
    assert parse_did_twin(DID) == IDENTIFIER


@pytest.mark.requirement("TWIN-IDENTITY-030")
@given(st.binary(min_size=32, max_size=32))
def test_did_twin_round_trips(identifier: bytes) -> None:
    did = did_twin_from_bytes(identifier)
    assert did == did.lower()
    assert parse_did_twin(did) == identifier


@pytest.mark.requirement("TWIN-IDENTITY-030")
@pytest.mark.parametrize(
    ("did", "says"),
    [
        ("did:twin:0x" + "AB" * 32, "lowercase"),
        ("did:twin:0x" + "aB" * 32, "lowercase"),
        ("did:twin:" + "ab" * 32, "must start with '0x'"),
        ("did:twin:0X" + "ab" * 32, "must start with '0x'"),
        ("did:twin:0x" + "ab" * 31, "62 hex digits"),
        ("did:twin:0x" + "ab" * 32 + "a", "65 hex digits"),
        ("did:twin:0x", "0 hex digits"),
        ("did:twin:0x" + "g" * 64, "other than hex digits"),
        ("did:twin:0x" + "ab" * 31 + ".b", "other than hex digits"),
        ("did:twin:0x" + "ab" * 32 + ":x", "other than hex digits"),
    ],
)
def test_other_spellings_are_invalid_did(did: str, says: str) -> None:
    with pytest.raises(DidError) as caught:
        parse_did_twin(did)
    assert caught.value.code is DidErrorCode.INVALID_DID
    assert caught.value.requirement == "TWIN-IDENTITY-030"
    assert says in caught.value.message


@pytest.mark.requirement("TWIN-IDENTITY-030", "TWIN-IDENTITY-001")
@pytest.mark.parametrize("text", ["", "twin:0x00", "did:twin:", "did:TWIN:0x" + "00" * 32, 7])
def test_strings_that_are_not_dids_are_invalid_did(text: object) -> None:
    with pytest.raises(DidError) as caught:
        parse_did_twin(text)  # type: ignore[arg-type]
    assert caught.value.code is DidErrorCode.INVALID_DID


@pytest.mark.requirement("TWIN-IDENTITY-031")
@pytest.mark.parametrize(
    "did",
    [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:entity-storage:0x" + "ab" * 32,
        "did:twins:0x" + "ab" * 32,
    ],
)
def test_other_methods_are_method_not_supported(did: str) -> None:
    with pytest.raises(DidError) as caught:
        parse_did_twin(did)
    assert caught.value.code is DidErrorCode.METHOD_NOT_SUPPORTED
    assert caught.value.requirement == "TWIN-IDENTITY-031"
    assert "not a did:twin" in caught.value.message


@pytest.mark.requirement("TWIN-IDENTITY-030")
@pytest.mark.parametrize("identifier", [b"", bytes(31), bytes(33), "00" * 32])
def test_only_32_bytes_make_a_did_twin(identifier: object) -> None:
    with pytest.raises(DidError, match="is 32 bytes") as caught:
        did_twin_from_bytes(identifier)  # type: ignore[arg-type]
    assert caught.value.code is DidErrorCode.INVALID_DID
