"""The did:twin method: ``did:twin:0x`` followed by 32 bytes as 64 lowercase hex characters.

One spelling per identifier, so that a DID used as a ledger key or in a signature cannot be
written two ways (uppercase hex, a missing ``0x``) that compare unequal.
"""

from __future__ import annotations

import re

from twin_spec._dids import parse_did
from twin_spec._errors import DidError, DidErrorCode

DID_TWIN_METHOD = "twin"
DID_TWIN_ID_LENGTH = 32
_PREFIX = f"did:{DID_TWIN_METHOD}:0x"
_IDENTIFIER = re.compile(r"0x[0-9a-f]{64}\Z")


def did_twin_from_bytes(identifier: bytes) -> str:
    """Return the did:twin of a 32-byte identifier."""
    # TWIN-IDENTITY-030 "A did:twin MUST be 'did:twin:0x' followed by the 32-byte identifier as
    # 64 lowercase hex characters."
    if not isinstance(identifier, bytes) or len(identifier) != DID_TWIN_ID_LENGTH:
        size = len(identifier) if isinstance(identifier, bytes) else type(identifier).__name__
        raise DidError(
            DidErrorCode.INVALID_DID,
            f"a did:twin identifier is {DID_TWIN_ID_LENGTH} bytes, got {size}",
            requirement="TWIN-IDENTITY-030",
        )
    return _PREFIX + identifier.hex()


def parse_did_twin(did: str) -> bytes:
    """Return the 32 identifier bytes of a did:twin; any other spelling raises DidError."""
    parsed = parse_did(did)
    # TWIN-IDENTITY-031 "Parsing a DID of another method as did:twin MUST fail with
    # methodNotSupported."
    if parsed.method != DID_TWIN_METHOD:
        raise DidError(
            DidErrorCode.METHOD_NOT_SUPPORTED,
            f"{did[:80]!r} is a did:{parsed.method}, not a did:{DID_TWIN_METHOD}",
            requirement="TWIN-IDENTITY-031",
        )
    # TWIN-IDENTITY-030 "Any other spelling of a did:twin is invalidDid."
    identifier = parsed.method_specific_id
    if not _IDENTIFIER.match(identifier):
        raise DidError(
            DidErrorCode.INVALID_DID,
            f"{did[:80]!r} is not a did:twin: {_explain(identifier)}",
            requirement="TWIN-IDENTITY-030",
        )
    return bytes.fromhex(identifier[2:])


def _explain(identifier: str) -> str:
    if not identifier.startswith("0x"):
        return "the identifier must start with '0x'"
    digits = identifier[2:]
    if not re.fullmatch(r"[0-9a-fA-F]*", digits):
        return "the identifier holds characters other than hex digits"
    if len(digits) != 2 * DID_TWIN_ID_LENGTH:
        return f"the identifier has {len(digits)} hex digits after '0x', expected 64"
    return "the hex digits must be lowercase"
