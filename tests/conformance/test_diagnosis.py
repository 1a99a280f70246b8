"""The harness names the rule a node broke when what it made fails: domains, trees, slips."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.conformance.test_vector_replay import BY_ID
from twin_conformance._diagnosis import (
    block_domain_misuse,
    checkpoint_domain_misuse,
    commit_rule_slip,
    inclusion_misuse,
)
from twin_spec import (
    Committee,
    Ed25519SigningKey,
    MessageKind,
    Validator,
    canonicalize,
    certify_checkpoint,
    domain_prefix,
    make_checkpoint_summary,
    make_receipt,
    multibase_encode,
    sign_checkpoint,
)

KEY = Ed25519SigningKey(hashlib.sha256(b"diagnosis").digest())
COMMITTEE = Committee(0, (Validator(0, KEY.public_key, 1),))
DIGESTS = [bytes([n]) * 32 for n in (1, 2, 3)]


def _certified(signer: Callable[[Any], bytes] | None = None) -> dict[str, Any]:
    """A certified checkpoint over three transactions, signed by ``signer`` (default: rightly)."""
    summary = make_checkpoint_summary(0, 1, 1, bytes(32), DIGESTS, bytes(32), 0)
    if signer is None:
        return certify_checkpoint(summary, [sign_checkpoint(KEY, 0, summary)])
    entry = {"signer": 0, "signature": multibase_encode(signer(summary))}
    return certify_checkpoint(summary, [entry])


@pytest.mark.requirement("TWIN-CORE-020", "TWIN-ANCHORING-024")
def test_a_checkpoint_signed_without_or_in_another_domain_names_the_signing_rule() -> None:
    assert checkpoint_domain_misuse(_certified(), COMMITTEE) is None
    bare = _certified(lambda summary: KEY.sign(canonicalize(summary)))
    assert checkpoint_domain_misuse(bare, COMMITTEE) == (
        "TWIN-CORE-020",
        "the checkpoint signature was made over the bare JCS message, without the "
        "signing-domain prefix",
    )
    vote = _certified(
        lambda summary: KEY.sign(domain_prefix(MessageKind.COMMIT_VOTE) + canonicalize(summary))
    )
    found = checkpoint_domain_misuse(vote, COMMITTEE)
    assert found is not None
    assert found[0] == "TWIN-ANCHORING-024"
    assert "commit-vote" in found[1]


@pytest.mark.requirement("TWIN-CONSENSUS-005")
def test_a_block_signed_in_another_domain_names_the_block_signing_rule() -> None:
    unsigned = {
        "epoch": 0,
        "round": 1,
        "author": 0,
        "timestampMs": 1,
        "ancestors": [],
        "transactions": [],
    }
    wrong = KEY.sign(domain_prefix(MessageKind.CHECKPOINT) + canonicalize(unsigned))
    block = {**unsigned, "signature": multibase_encode(wrong)}
    found = block_domain_misuse(block, COMMITTEE)
    assert found is not None
    assert found[0] == "TWIN-CONSENSUS-005"


@pytest.mark.requirement("TWIN-ANCHORING-010", "TWIN-ANCHORING-011", "TWIN-ANCHORING-022")
def test_an_inclusion_proof_built_another_way_names_the_tree_rule() -> None:
    receipt: dict[str, Any] = make_receipt(DIGESTS[1], DIGESTS, _certified())
    assert inclusion_misuse(receipt) is None
    beyond = copy.deepcopy(receipt)
    beyond["inclusionProof"]["leafIndex"] = 3
    found = inclusion_misuse(beyond)
    assert found is not None
    assert found[0] == "TWIN-ANCHORING-011"
    # A receipt of a tree hashed without prefixes: the root and the path both without them.
    plain = [hashlib.sha256(digest).digest() for digest in DIGESTS]
    left = hashlib.sha256(plain[0] + plain[1]).digest()
    root = hashlib.sha256(left + plain[2]).digest()
    unprefixed = copy.deepcopy(receipt)
    unprefixed["checkpoint"]["summary"]["transactionsRoot"] = root.hex()
    unprefixed["inclusionProof"]["auditPath"] = [plain[0].hex(), plain[2].hex()]
    found = inclusion_misuse(unprefixed)
    assert found is not None
    assert found[0] == "TWIN-ANCHORING-010"


@pytest.mark.requirement("TWIN-CONSENSUS-003")
def test_decisions_of_a_stake_slip_name_the_stake_rule() -> None:
    vector = BY_ID["consensus/commit-rule/equivocating-blamer-counted-once"]
    inputs = vector["input"]
    right = [
        (d["round"], d["leader"], d["decision"], d["direct"], d.get("block"))
        for d in vector["expected"]["decisions"]
        if d["decision"] != "undecided"
    ]
    assert commit_rule_slip(inputs["committee"], inputs["blocks"], right, fault=False) is None
    # The slot's leader skipped: what a node that counts the equivocator twice decides.
    skipped = [(1, 1, "skip", True, None)]
    slipped = commit_rule_slip(inputs["committee"], inputs["blocks"], skipped, fault=False)
    assert slipped is not None
    assert slipped[0] == "TWIN-CONSENSUS-003"
