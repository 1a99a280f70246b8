"""The BitstringStatusList that every did:twin document publishes as its #revocation service.

The list is 131072 bits; a credential's ``revocationBitmapIndex`` names one bit, 1 = revoked.
The service endpoint is a data: URL holding unpadded base64url of the gzip of the bitstring.
"""

from __future__ import annotations

import zlib

from twin_spec._errors import EncodingError, StatusListError
from twin_spec._jcs import JSONValue
from twin_spec._multibase import base64url_decode, base64url_encode

STATUS_LIST_BITS = 131072
STATUS_LIST_TYPE = "BitstringStatusList"
STATUS_LIST_FRAGMENT = "revocation"
STATUS_LIST_PREFIX = "data:application/octet-stream;base64,"
_LENGTH = STATUS_LIST_BITS // 8
# A decoded list may be longer than TWIN's, up to this; more is refused as a gzip bomb.
MAX_STATUS_LIST_BYTES = _LENGTH * 16
# Incompressible data grows a little under gzip and by 4/3 under base64; more text is refused.
_MAX_ENDPOINT_LENGTH = len(STATUS_LIST_PREFIX) + (MAX_STATUS_LIST_BYTES + 4096) * 4 // 3
_GZIP_WBITS = 31  # zlib's window bits for the gzip wrapper (16 + 15)


def new_status_list() -> bytes:
    """Return an empty list: 131072 bits, none revoked."""
    return bytes(_LENGTH)


def encode_status_list(bits: bytes) -> str:
    """Return the data: URL of a status list; gzip with mtime 0, so the text is deterministic."""
    _check_list(bits)
    # TWIN-IDENTITY-050 "The #revocation service endpoint MUST be the data: URL
    # 'data:application/octet-stream;base64,' followed by unpadded base64url of the gzip of the
    # bitstring."
    compressor = zlib.compressobj(9, zlib.DEFLATED, _GZIP_WBITS)
    compressed = compressor.compress(bytes(bits)) + compressor.flush()
    return STATUS_LIST_PREFIX + base64url_encode(compressed)


def decode_status_list(endpoint: str) -> bytes:
    """Decode a #revocation service endpoint to the bitstring, refusing bad text and bombs."""
    # TWIN-IDENTITY-052 "A status list decoder MUST refuse an endpoint without the exact prefix,
    # text that is not canonical unpadded base64url, data that is not complete gzip, and a list
    # shorter than 16384 bytes or longer than 262144 bytes."
    if not isinstance(endpoint, str):
        raise StatusListError(
            f"a status list endpoint is a string, got {type(endpoint).__name__}",
            requirement="TWIN-IDENTITY-052",
        )
    if not endpoint.startswith(STATUS_LIST_PREFIX):
        raise StatusListError(
            f"status list endpoint {endpoint[:60]!r} does not start with {STATUS_LIST_PREFIX!r}",
            requirement="TWIN-IDENTITY-052",
        )
    if len(endpoint) > _MAX_ENDPOINT_LENGTH:
        raise StatusListError(
            f"status list endpoint of {len(endpoint)} characters is longer than the "
            f"{_MAX_ENDPOINT_LENGTH} a list of at most {MAX_STATUS_LIST_BYTES} bytes needs",
            requirement="TWIN-IDENTITY-052",
        )
    try:
        compressed = base64url_decode(endpoint[len(STATUS_LIST_PREFIX) :])
    except EncodingError as exc:
        raise StatusListError(
            f"status list data is not unpadded base64url: {exc.message}",
            requirement="TWIN-IDENTITY-052",
        ) from None
    bits = _gunzip(compressed)
    _check_list(bits)
    return bits


def status_bit(bits: bytes, index: int) -> bool:
    """Tell whether entry ``index`` is set (revoked)."""
    _check_index(bits, index)
    # TWIN-IDENTITY-051 "Entry i MUST be bit (7 - i mod 8) of byte i div 8: the first entry is
    # the most significant bit of the first byte; 1 means revoked."
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


def with_status_bit(bits: bytes, index: int, value: bool) -> bytes:
    """Return a copy of the list with entry ``index`` set to ``value``."""
    _check_index(bits, index)
    updated = bytearray(bits)
    mask = 1 << (7 - index % 8)  # TWIN-IDENTITY-051
    if value:
        updated[index // 8] |= mask
    else:
        updated[index // 8] &= ~mask & 0xFF
    return bytes(updated)


def status_list_service(did: str, bits: bytes) -> dict[str, JSONValue]:
    """Return the #revocation service entry of a DID document for its status list."""
    # TWIN-IDENTITY-050 "The service has id DID#revocation and type BitstringStatusList."
    return {
        "id": f"{did}#{STATUS_LIST_FRAGMENT}",
        "type": STATUS_LIST_TYPE,
        "serviceEndpoint": encode_status_list(bits),
    }


def _gunzip(compressed: bytes) -> bytes:
    """Inflate every gzip member, reading at most one byte past the cap."""
    out = bytearray()
    data = compressed
    while True:
        inflater = zlib.decompressobj(_GZIP_WBITS)
        try:
            out += inflater.decompress(data, MAX_STATUS_LIST_BYTES + 1 - len(out))
        except zlib.error as exc:
            raise StatusListError(
                f"status list data is not valid gzip: {exc}", requirement="TWIN-IDENTITY-052"
            ) from None
        if len(out) > MAX_STATUS_LIST_BYTES:
            raise StatusListError(
                f"status list inflates to more than {MAX_STATUS_LIST_BYTES} bytes; refused",
                requirement="TWIN-IDENTITY-052",
            )
        if not inflater.eof:
            what = "the data after a complete gzip member" if out and data is not compressed else ""
            raise StatusListError(
                f"status list gzip stream is truncated: {what or 'no end of stream and trailer'}",
                requirement="TWIN-IDENTITY-052",
            )
        data = inflater.unused_data
        if not data:
            return bytes(out)


def _check_list(bits: bytes) -> None:
    if not isinstance(bits, bytes | bytearray):
        raise StatusListError(
            f"a status list is bytes, got {type(bits).__name__}", requirement="TWIN-IDENTITY-052"
        )
    if not _LENGTH <= len(bits) <= MAX_STATUS_LIST_BYTES:
        raise StatusListError(
            f"a status list is {_LENGTH} to {MAX_STATUS_LIST_BYTES} bytes, this one is {len(bits)}",
            requirement="TWIN-IDENTITY-052",
        )


def _check_index(bits: bytes, index: int) -> None:
    _check_list(bits)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(bits) * 8:
        raise StatusListError(
            f"status index {index!r} is not an integer from 0 to {len(bits) * 8 - 1}",
            requirement="TWIN-IDENTITY-051",
        )
