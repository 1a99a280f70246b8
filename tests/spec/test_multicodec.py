"""Multicodec varint prefixes for the key types TWIN carries."""

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
    Multicodec,
    add_prefix,
    decode_varint,
    encode_varint,
    split_prefix,
)


def _table_rows(path: Path) -> list[tuple[str, Any]]:
    rows = list(csv.reader(io.StringIO(path.read_text()), skipinitialspace=True))
    by_name = {row[0].strip(): int(row[2].strip(), 16) for row in rows[1:] if len(row) >= 3}
    return [
        (codec.name, (codec, by_name.get(codec.name.lower().replace("_", "-"))))
        for codec in Multicodec
    ]


@pytest.mark.external_vectors("multiformats-multicodec")
@pytest.mark.requirement("TWIN-CORE-032")
@pytest.mark.parametrize("row", vector_cases("multiformats/multicodec_table.csv", _table_rows))
def test_our_codes_match_the_multicodec_table(row: tuple[Multicodec, int | None]) -> None:
    codec, published = row
    assert published == int(codec)


@pytest.mark.requirement("TWIN-CORE-032")
def test_the_prefixes_twin_uses() -> None:
    assert add_prefix(Multicodec.ED25519_PUB, b"k") == b"\xed\x01k"
    assert add_prefix(Multicodec.X25519_PUB, b"") == b"\xec\x01"
    assert add_prefix(Multicodec.ED25519_PRIV, b"") == b"\x80\x26"
    assert split_prefix(b"\xed\x01key") == (0xED, b"key")


@pytest.mark.requirement("TWIN-CORE-032")
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "multicodec data is empty"),
        (b"\xed\x81\x00", "not minimal"),
        (b"\xff\xff\xff\xff", "unterminated within 3 bytes"),
        (b"\x80", "unterminated"),
    ],
)
def test_bad_varints_are_named_errors(data: bytes, message: str) -> None:
    with pytest.raises(EncodingError, match=message) as caught:
        split_prefix(data)
    assert caught.value.requirement == "TWIN-CORE-032"


def test_negative_varint_is_refused() -> None:
    with pytest.raises(EncodingError, match="negative"):
        encode_varint(-1)


@pytest.mark.requirement("TWIN-CORE-032")
@given(st.integers(min_value=0, max_value=2**21 - 1))
def test_varints_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded + b"rest") == (value, len(encoded))
