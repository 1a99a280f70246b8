"""BitstringStatusList: bit order, the data: URL, the TWIN node's own value, and bad input."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import upstream_file
from twin_spec import (
    STATUS_LIST_BITS,
    STATUS_LIST_PREFIX,
    StatusListError,
    base64url_encode,
    decode_status_list,
    encode_status_list,
    new_status_list,
    status_bit,
    status_list_service,
    with_status_bit,
)

LENGTH = STATUS_LIST_BITS // 8


def _endpoint(compressed: bytes) -> str:
    return STATUS_LIST_PREFIX + base64url_encode(compressed)


def _refused(endpoint: str, says: str) -> None:
    with pytest.raises(StatusListError) as caught:
        decode_status_list(endpoint)
    assert says in caught.value.message
    assert caught.value.requirement == "TWIN-IDENTITY-052"


@pytest.mark.requirement("TWIN-IDENTITY-050")
def test_a_new_list_is_16384_zero_bytes_and_encodes_deterministically() -> None:
    bits = new_status_list()
    assert bits == bytes(LENGTH)
    assert STATUS_LIST_BITS == 131072
    endpoint = encode_status_list(bits)
    assert endpoint.startswith("data:application/octet-stream;base64,H4sI")
    assert encode_status_list(bits) == endpoint
    assert decode_status_list(endpoint) == bits
    compressed = base64.urlsafe_b64decode(endpoint[len(STATUS_LIST_PREFIX) :] + "==")
    assert compressed[4:8] == bytes(4), "gzip mtime is 0"
    assert gzip.decompress(compressed) == bits


@pytest.mark.requirement("TWIN-IDENTITY-050")
def test_the_service_entry_has_the_twin_shape() -> None:
    did = "did:twin:0x" + "ab" * 32
    assert status_list_service(did, new_status_list()) == {
        "id": did + "#revocation",
        "type": "BitstringStatusList",
        "serviceEndpoint": encode_status_list(new_status_list()),
    }


@pytest.mark.requirement("TWIN-IDENTITY-050", "TWIN-IDENTITY-052")
def test_the_value_a_running_twin_node_publishes_decodes() -> None:
    text = upstream_file("samples/identity-create.txt").read_text(encoding="utf-8")
    document = json.loads(text[text.index("{") :])
    (service,) = document["service"]
    assert service["id"] == document["id"] + "#revocation"
    assert service["type"] == "BitstringStatusList"
    assert decode_status_list(service["serviceEndpoint"]) == new_status_list()
    # The node's gzip differs from ours only in the header's extra-flags byte.
    ours = encode_status_list(new_status_list())
    theirs = service["serviceEndpoint"]
    assert len(ours) == len(theirs)
    assert sum(a != b for a, b in zip(ours, theirs, strict=True)) == 1


@pytest.mark.requirement("TWIN-IDENTITY-051")
@pytest.mark.parametrize(
    ("index", "byte", "value"),
    [(0, 0, 0x80), (1, 0, 0x40), (7, 0, 0x01), (8, 1, 0x80), (131071, LENGTH - 1, 0x01)],
)
def test_entry_i_is_the_most_significant_bit_first(index: int, byte: int, value: int) -> None:
    bits = with_status_bit(new_status_list(), index, True)
    assert bits[byte] == value
    assert sum(bits) == value
    assert status_bit(bits, index)
    assert not status_bit(bits, index ^ 1)
    assert with_status_bit(bits, index, False) == new_status_list()


@pytest.mark.requirement("TWIN-IDENTITY-051", "TWIN-IDENTITY-050")
@given(st.sets(st.integers(0, STATUS_LIST_BITS - 1), max_size=40), st.data())
def test_status_bits_round_trip(revoked: set[int], data: st.DataObject) -> None:
    bits = new_status_list()
    for index in revoked:
        bits = with_status_bit(bits, index, True)
    decoded = decode_status_list(encode_status_list(bits))
    assert decoded == bits
    probes = data.draw(st.lists(st.integers(0, STATUS_LIST_BITS - 1), max_size=20))
    for index in [*revoked, *probes]:
        assert status_bit(decoded, index) is (index in revoked)
    assert sum(bin(byte).count("1") for byte in decoded) == len(revoked)


@pytest.mark.requirement("TWIN-IDENTITY-051")
@pytest.mark.parametrize("index", [-1, STATUS_LIST_BITS, 2**64, True, 1.0, "5"])
def test_an_index_outside_the_list_is_refused(index: object) -> None:
    for call in (
        lambda: status_bit(new_status_list(), index),  # type: ignore[arg-type]
        lambda: with_status_bit(new_status_list(), index, True),  # type: ignore[arg-type]
    ):
        with pytest.raises(StatusListError) as caught:
            call()
        assert "is not an integer from 0 to 131071" in caught.value.message
        assert caught.value.requirement == "TWIN-IDENTITY-051"


@pytest.mark.requirement("TWIN-IDENTITY-052")
def test_a_longer_list_is_accepted_up_to_the_limit() -> None:
    longer = bytes(LENGTH * 16)
    assert status_bit(decode_status_list(encode_status_list(longer)), LENGTH * 128 - 1) is False
    with pytest.raises(StatusListError, match="16384 to 262144 bytes"):
        encode_status_list(bytes(LENGTH * 16 + 1))


@pytest.mark.requirement("TWIN-IDENTITY-052")
def test_any_valid_gzip_is_accepted_including_several_members() -> None:
    bits = with_status_bit(new_status_list(), 5, True)
    assert decode_status_list(_endpoint(gzip.compress(bits, compresslevel=1, mtime=7))) == bits
    halves = gzip.compress(bits[:100], mtime=0) + gzip.compress(bits[100:], mtime=0)
    assert decode_status_list(_endpoint(halves)) == bits


@pytest.mark.requirement("TWIN-IDENTITY-052")
@pytest.mark.parametrize(
    "prefix",
    [
        "data:application/octet-stream;base64;",
        "data:application/gzip;base64,",
        "DATA:application/octet-stream;base64,",
        "data:application/octet-stream,",
        " data:application/octet-stream;base64,",
        "https://example.org/status/",
        "",
    ],
)
def test_the_prefix_must_be_exact(prefix: str) -> None:
    body = encode_status_list(new_status_list())[len(STATUS_LIST_PREFIX) :]
    _refused(prefix + body, "does not start with 'data:application/octet-stream;base64,'")


@pytest.mark.requirement("TWIN-IDENTITY-052")
def test_the_data_must_be_canonical_unpadded_base64url() -> None:
    compressed = gzip.compress(new_status_list(), mtime=0)
    standard = base64.b64encode(compressed).decode()
    assert "=" in standard or "+" in standard or "/" in standard
    _refused(STATUS_LIST_PREFIX + standard, "not unpadded base64url")
    _refused(_endpoint(compressed) + "==", "padding")
    _refused(_endpoint(compressed) + " ", "not a base64url character")


@pytest.mark.requirement("TWIN-IDENTITY-052")
@pytest.mark.parametrize(
    ("compressed", "says"),
    [
        (b"", "truncated"),
        (zlib.compress(bytes(LENGTH)), "not valid gzip"),
        (bytes(LENGTH), "not valid gzip"),
        (gzip.compress(bytes(LENGTH), mtime=0)[:-4], "truncated"),
        (gzip.compress(bytes(LENGTH), mtime=0)[:30], "truncated"),
        (gzip.compress(bytes(LENGTH), mtime=0) + b"\0", "the data after a complete gzip member"),
        (gzip.compress(bytes(LENGTH), mtime=0) + b"trailing", "not valid gzip"),
        (gzip.compress(bytes(100), mtime=0), "this one is 100"),
        (gzip.compress(bytes(LENGTH - 1), mtime=0), "this one is 16383"),
    ],
)
def test_bad_gzip_and_short_lists_are_refused(compressed: bytes, says: str) -> None:
    _refused(_endpoint(compressed), says)


@pytest.mark.requirement("TWIN-IDENTITY-052")
def test_a_wrong_checksum_is_refused() -> None:
    compressed = bytearray(gzip.compress(new_status_list()))
    compressed[-8] ^= 1  # the CRC-32 of the trailer
    _refused(_endpoint(bytes(compressed)), "not valid gzip")


@pytest.mark.requirement("TWIN-IDENTITY-052")
def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024), mtime=0)  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 100_000
    _refused(_endpoint(bomb), "inflates to more than 262144 bytes")
    _refused(_endpoint(gzip.compress(bytes(LENGTH * 16 + 1))), "inflates to more than 262144")
    many_members = gzip.compress(bytes(LENGTH), mtime=0) * 17
    _refused(_endpoint(many_members), "inflates to more than 262144 bytes")


@pytest.mark.requirement("TWIN-IDENTITY-052")
def test_over_long_text_and_non_strings_are_refused() -> None:
    _refused(STATUS_LIST_PREFIX + "A" * 400_000, "characters is longer than")
    _refused(5, "is a string")  # type: ignore[arg-type]
    with pytest.raises(StatusListError, match="is bytes"):
        encode_status_list("00" * LENGTH)  # type: ignore[arg-type]
