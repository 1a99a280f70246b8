"""base58btc, base64url and multibase: the multiformats test data and strict decoding."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import vector_cases
from twin_spec import (
    EncodingError,
    base58btc_decode,
    base58btc_encode,
    base64url_decode,
    base64url_encode,
    multibase_decode,
    multibase_encode,
)
from twin_spec._multibase import MAX_BASE58_LENGTH

MULTIBASE_TEST_FILES = (
    "multibase_basic.csv",
    "multibase_leading_zero.csv",
    "multibase_two_leading_zeros.csv",
    "multibase_case_insensitivity.csv",
)
ACCEPTED = {"base58btc", "base64url"}


def _multibase_rows(folder: Path) -> list[tuple[str, Any]]:
    cases = []
    for name in MULTIBASE_TEST_FILES:
        rows = list(csv.reader(io.StringIO((folder / name).read_text()), skipinitialspace=True))
        header, body = rows[0], rows[1:]
        # The header's second cell is the decoded text, with \x00 written as an escape.
        decoded = header[1].encode().decode("unicode_escape").encode("latin-1")
        for encoding, text in body:
            cases.append((f"{name[10:-4]}-{encoding}", (encoding, text, decoded)))
    return cases


@pytest.mark.external_vectors("multiformats-multibase")
@pytest.mark.requirement("TWIN-CORE-030")
@pytest.mark.parametrize("row", vector_cases("multiformats", _multibase_rows))
def test_multibase_test_rows(row: tuple[str, str, bytes]) -> None:
    encoding, text, decoded = row
    if encoding in ACCEPTED and text[0] in "zu":
        assert multibase_decode(text) == decoded
        assert multibase_encode(decoded, text[0]) == text
    else:
        # Every other base is refused by name, never misread as one of ours.
        with pytest.raises(EncodingError, match="is not accepted here"):
            multibase_decode(text)


@pytest.mark.requirement("TWIN-CORE-030")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("z0OIl", "'0' at position 0 is not a base58btc character"),
        ("zabc l", "' ' at position 3 is not a base58btc character"),
        ("", "multibase text is empty"),
        ("f00ff", "multibase prefix 'f' (base16) is not accepted here; expected 'z' or 'u'"),
        ("Qmabc", "multibase prefix 'Q' (unknown) is not accepted here"),
    ],
)
def test_bad_multibase_is_a_named_error(text: str, message: str) -> None:
    with pytest.raises(EncodingError) as caught:
        multibase_decode(text)
    assert message in str(caught.value)
    assert caught.value.requirement == "TWIN-CORE-030"


@pytest.mark.requirement("TWIN-CORE-030")
def test_oversized_base58_is_refused_before_decoding() -> None:
    with pytest.raises(EncodingError, match="over the 4096 allowed"):
        base58btc_decode("2" * (MAX_BASE58_LENGTH + 1))


@pytest.mark.requirement("TWIN-CORE-030")
def test_leading_zero_bytes_are_ones() -> None:
    assert base58btc_encode(b"\0\0\x01") == "112"
    assert base58btc_decode("112") == b"\0\0\x01"
    assert base58btc_encode(b"") == ""
    assert base58btc_decode("") == b""


@pytest.mark.requirement("TWIN-CORE-031")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AQ==", "'=' at position 2 is padding"),
        ("A+8", "'+' at position 1 is not a base64url character"),
        ("AQAB/", "'/' at position 4 is not a base64url character"),
        ("A", "base64url text of 1 characters cannot encode whole bytes"),
        ("AR", "non-zero spare bits in its last character; the canonical spelling is 'AQ'"),
    ],
)
def test_bad_base64url_is_a_named_error(text: str, message: str) -> None:
    with pytest.raises(EncodingError) as caught:
        base64url_decode(text)
    assert message in str(caught.value)


@pytest.mark.requirement("TWIN-CORE-030", "TWIN-CORE-031")
@given(st.binary(max_size=80))
def test_encodings_round_trip(data: bytes) -> None:
    assert base58btc_decode(base58btc_encode(data)) == data
    assert base64url_decode(base64url_encode(data)) == data
    assert multibase_decode(multibase_encode(data)) == data
    assert multibase_decode(multibase_encode(data, "u")) == data
