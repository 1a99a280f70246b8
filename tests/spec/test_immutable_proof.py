"""The TWIN immutable-proof object hash, byte for byte as the upstream node computes it."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given

from tests.spec.test_jcs import json_values
from twin_spec import TwinSpecError, canonical_text, check_proof_object_hash, proof_object_hash

# The test value FACTS.md gives for the upstream node (@twin.org/immutable-proof-service).
UPSTREAM_DOCUMENT = {
    "@context": "https://schema.org",
    "type": "Person",
    "id": "123",
    "name": "John Smith",
}
UPSTREAM_HASH = "sha256:Z5k43EVM3eOBqcK6vt2ohwtJDUsjZXzZuWZFh2K3zvc="


@pytest.mark.requirement("TWIN-ANCHORING-001")
def test_matches_the_upstream_node() -> None:
    assert proof_object_hash(UPSTREAM_DOCUMENT) == UPSTREAM_HASH
    check_proof_object_hash(UPSTREAM_DOCUMENT, UPSTREAM_HASH)


@pytest.mark.requirement("TWIN-ANCHORING-001")
def test_the_hash_is_over_the_quoted_canonical_text_not_the_text_itself() -> None:
    canonical = canonical_text(UPSTREAM_DOCUMENT)
    plain = "sha256:" + base64.b64encode(hashlib.sha256(canonical.encode()).digest()).decode()
    assert plain != UPSTREAM_HASH
    quoted = '"' + canonical.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert "sha256:" + base64.b64encode(hashlib.sha256(quoted.encode()).digest()).decode() == (
        UPSTREAM_HASH
    )


@pytest.mark.requirement("TWIN-ANCHORING-001")
def test_non_ascii_text_is_hashed_as_utf8_not_escaped() -> None:
    # JSON.stringify leaves non-ASCII characters as they are; so must we.
    document = {"name": "Zoë Ndlovu", "city": "Nairobi"}
    quoted = json.dumps(canonical_text(document), ensure_ascii=False).encode("utf-8")
    assert b"\\u" not in quoted
    expected = "sha256:" + base64.b64encode(hashlib.sha256(quoted).digest()).decode()
    assert proof_object_hash(document) == expected


@pytest.mark.requirement("TWIN-ANCHORING-001")
@pytest.mark.parametrize(
    ("claimed", "message"),
    [
        ("sha256:Z5k43EVM3eOBqcK6vt2ohwtJDUsjZXzZuWZFh2K3zvc", "is not 'sha256:' followed by 44"),
        ("sha512:Z5k43EVM3eOBqcK6vt2ohwtJDUsjZXzZuWZFh2K3zvc=", "is not 'sha256:'"),
        ("sha256:" + "A" * 43 + "=", "but the document hashes to " + UPSTREAM_HASH),
    ],
)
def test_a_wrong_or_malformed_hash_is_named(claimed: str, message: str) -> None:
    with pytest.raises(TwinSpecError) as caught:
        check_proof_object_hash(UPSTREAM_DOCUMENT, claimed)
    assert message in str(caught.value)
    assert caught.value.requirement == "TWIN-ANCHORING-001"


@pytest.mark.requirement("TWIN-ANCHORING-001")
@given(json_values)
def test_member_order_never_changes_the_hash(value: object) -> None:
    if isinstance(value, dict):
        reordered = dict(reversed(list(value.items())))
        assert proof_object_hash(reordered) == proof_object_hash(value)
    check_proof_object_hash(value, proof_object_hash(value))
