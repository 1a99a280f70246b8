"""The TWIN immutable-proof object hash, byte-compatible with the upstream node.

``proofObjectHash`` is ``"sha256:"`` + standard base64 of SHA-256 over the UTF-8 bytes of the
JCS text *written as a JSON string literal* (the upstream node JSON-encodes the canonical string
once more before hashing). The quoting is kept on purpose: a hash that differed from the
deployed nodes' would make every anchored document fail to verify across vendors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from twin_spec._errors import TwinSpecError
from twin_spec._jcs import canonical_text

HASH_PREFIX = "sha256:"
_HASH_PATTERN = re.compile(r"sha256:[A-Za-z0-9+/]{43}=\Z")


def proof_object_hash(document: object) -> str:
    """Return the ``proofObjectHash`` of a JSON document, as the TWIN node computes it."""
    # TWIN-ANCHORING-001 "proofObjectHash is 'sha256:' + base64(SHA-256(UTF-8(the JSON string
    # literal of JCS(object))))."
    # JSON.stringify of a string escapes only '"', '\\' and control characters; JCS text holds
    # no raw control characters, and ensure_ascii=False leaves other characters as they are.
    quoted = json.dumps(canonical_text(document), ensure_ascii=False)
    digest = hashlib.sha256(quoted.encode("utf-8")).digest()
    return HASH_PREFIX + base64.b64encode(digest).decode("ascii")


def check_proof_object_hash(document: object, claimed: str) -> None:
    """Raise :class:`TwinSpecError` unless ``claimed`` is the document's proofObjectHash."""
    if not isinstance(claimed, str) or not _HASH_PATTERN.match(claimed):
        raise TwinSpecError(
            f"proofObjectHash {claimed!r} is not 'sha256:' followed by 44 base64 characters",
            requirement="TWIN-ANCHORING-001",
        )
    actual = proof_object_hash(document)
    if actual != claimed:
        raise TwinSpecError(
            f"proofObjectHash is {claimed}, but the document hashes to {actual}",
            requirement="TWIN-ANCHORING-001",
        )
