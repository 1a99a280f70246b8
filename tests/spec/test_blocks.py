"""Transactions, blocks, genesis and commits: JSON forms, digests, signatures, acceptance."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
import rfc8785

from tests.spec.ledger_support import KEYS, committee, make_block, ref_of, round_one, transaction
from twin_spec import (
    ZERO_DIGEST,
    BlockRef,
    LedgerError,
    MessageKind,
    block_digest,
    block_ref,
    check_block,
    check_commit_follows,
    check_transaction,
    commit_digest,
    commit_transactions,
    genesis_blocks,
    genesis_refs,
    make_commit,
    multibase_encode,
    next_commit,
    sign_block,
    sign_message,
    transaction_digest,
    verify_block_signature,
)

FOUR = committee()


@pytest.mark.requirement("TWIN-ANCHORING-020")
def test_a_transaction_digest_is_sha256_of_its_jcs() -> None:
    tx = {**transaction(1), "extra": ["members", "are", "allowed"]}
    assert transaction_digest(tx) == hashlib.sha256(rfc8785.dumps(tx)).digest()


@pytest.mark.requirement("TWIN-ANCHORING-020")
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("type", None, "transaction.type: is missing"),
        ("sender", 7, "transaction.sender: must be a string"),
        ("nonce", ["1"], "transaction.nonce: must be a string"),
        ("timestampMs", "1", "transaction.timestampMs: must be an integer"),
        ("payload", "x", "transaction.payload: must be a JSON object"),
    ],
)
def test_a_transaction_needs_its_members(name: str, value: object, message: str) -> None:
    tx = transaction(1)
    if value is None:
        del tx[name]
    else:
        tx[name] = value
    with pytest.raises(LedgerError, match=message) as caught:
        transaction_digest(tx)
    assert caught.value.field == f"transaction.{name}"
    with pytest.raises(LedgerError):
        check_transaction([tx])


@pytest.mark.requirement("TWIN-CONSENSUS-004", "TWIN-CONSENSUS-006")
def test_block_refs_round_trip_and_are_strict() -> None:
    ref = BlockRef(3, 1, bytes(range(32)))
    assert ref.to_json() == {"round": 3, "author": 1, "digest": bytes(range(32)).hex()}
    assert BlockRef.from_json(ref.to_json()) == ref
    with pytest.raises(LedgerError, match=r"ref\.digest: must be 64 lowercase hex") as caught:
        BlockRef.from_json({**ref.to_json(), "digest": "AB" * 32})
    assert caught.value.field == "ref.digest"
    with pytest.raises(LedgerError, match=r"ref\.round: is missing"):
        BlockRef.from_json({"author": 1, "digest": "00" * 32})


@pytest.mark.requirement("TWIN-CONSENSUS-005", "TWIN-CONSENSUS-006")
def test_a_block_is_signed_in_the_block_domain_and_its_digest_covers_the_signature() -> None:
    block = round_one(FOUR)[2]
    verify_block_signature(block, FOUR)
    unsigned = {name: value for name, value in block.items() if name != "signature"}
    expected = sign_message(KEYS[2], MessageKind.BLOCK, unsigned)
    assert block["signature"] == multibase_encode(expected)
    assert block_digest(block) == hashlib.sha256(rfc8785.dumps(block)).digest()
    assert block_ref(block) == BlockRef(1, 2, block_digest(block))
    # Another (valid) signature over the same content gives another digest.
    resigned = sign_block(KEYS[2], {**unsigned, "timestampMs": unsigned["timestampMs"]})
    assert block_digest(resigned) == block_digest(block)  # Ed25519 is deterministic
    assert block_digest({**block, "signature": "z1"}) != block_digest(block)


@pytest.mark.requirement("TWIN-CONSENSUS-005")
def test_a_block_signature_fails_under_another_domain_key_or_content() -> None:
    block = round_one(FOUR)[2]
    unsigned = {name: value for name, value in block.items() if name != "signature"}
    as_checkpoint = multibase_encode(sign_message(KEYS[2], MessageKind.CHECKPOINT, unsigned))
    for bad in (
        {**block, "signature": as_checkpoint},
        {**block, "author": 1},
        {**block, "timestampMs": 1},
    ):
        with pytest.raises(LedgerError, match=r"block\.signature: does not verify") as caught:
            verify_block_signature(bad, FOUR)
        assert caught.value.requirement == "TWIN-CONSENSUS-005"
    with pytest.raises(LedgerError, match="already has a signature"):
        sign_block(KEYS[2], block)


@pytest.mark.requirement("TWIN-CONSENSUS-007")
def test_genesis_is_fixed_by_the_committee() -> None:
    blocks = genesis_blocks(committee((1, 1, 1, 1), epoch=5))
    assert blocks[3] == {
        "epoch": 5,
        "round": 0,
        "author": 3,
        "timestampMs": 0,
        "ancestors": [],
        "transactions": [],
        "signature": "",
    }
    text = (
        b'{"ancestors":[],"author":3,"epoch":5,"round":0,"signature":"",'
        b'"timestampMs":0,"transactions":[]}'
    )
    assert block_ref(blocks[3]) == BlockRef(0, 3, hashlib.sha256(text).digest())
    assert genesis_refs(committee((1, 1, 1, 1), epoch=5))[3] == block_ref(blocks[3])
    assert len(genesis_refs(committee((1,)))) == 1


@pytest.mark.requirement("TWIN-CONSENSUS-008", "TWIN-CONSENSUS-009")
def test_well_formed_blocks_are_accepted() -> None:
    first = round_one(FOUR)
    for block in first:
        assert check_block(block, FOUR) == block_ref(block)
    refs = [ref_of(block) for block in first]
    second = make_block(1, 2, [refs[1], refs[0], refs[2]], transactions=[transaction(1)])
    assert check_block(second, FOUR).round == 2
    # A committee of one: each block's only ancestor is the author's previous block.
    one = committee((1,))
    block = make_block(0, 1, genesis_refs(one))
    assert check_block(block, one) == block_ref(block)
    assert check_block(make_block(0, 2, [ref_of(block)]), one).round == 2


def _round_two(author: int, parents: list[int], **fields: Any) -> dict[str, Any]:
    refs = [ref_of(block) for block in round_one(FOUR)]
    block = make_block(author, 2, [refs[i] for i in parents])
    unsigned = {name: value for name, value in block.items() if name != "signature"}
    unsigned.update(fields)
    return sign_block(KEYS[author], unsigned)


@pytest.mark.requirement("TWIN-CONSENSUS-004", "TWIN-CONSENSUS-008", "TWIN-CONSENSUS-009")
@pytest.mark.parametrize(
    ("block", "field", "requirement"),
    [
        (_round_two(0, [0, 1, 2], epoch=1), "block.epoch", "TWIN-CONSENSUS-008"),
        (_round_two(0, [0, 1, 2], round=0), "block.round", "TWIN-CONSENSUS-008"),
        (_round_two(0, [0, 1, 2], round=1), "block.ancestors[0].round", "TWIN-CONSENSUS-009"),
        (
            _round_two(0, [0, 1, 2], transactions=[{"type": 1}]),
            "block.transactions[0].sender",
            "TWIN-ANCHORING-020",
        ),
        (_round_two(0, [0, 1, 2], transactions={}), "block.transactions", "TWIN-CONSENSUS-004"),
        (_round_two(0, [0, 1, 2], extra=1), "block.extra", "TWIN-CONSENSUS-004"),
        (_round_two(0, [0, 1, 2], timestampMs=-1), "block.timestampMs", "TWIN-CONSENSUS-004"),
        (_round_two(0, [0, 1, 2], ancestors=[]), "block.ancestors", "TWIN-CONSENSUS-009"),
        (_round_two(0, [1, 0, 2]), "block.ancestors[0]", "TWIN-CONSENSUS-009"),
        (_round_two(0, [0, 1]), "block.ancestors", "TWIN-CONSENSUS-009"),
        (_round_two(0, [0, 1, 2, 3, 3]), "block.ancestors", "TWIN-CONSENSUS-004"),
        (_round_two(0, [0, 1, 2, 1]), "block.ancestors[3].author", "TWIN-CONSENSUS-009"),
    ],
)
def test_blocks_breaking_a_rule_are_rejected_naming_the_field(
    block: dict[str, Any], field: str, requirement: str
) -> None:
    with pytest.raises(LedgerError) as caught:
        check_block(block, FOUR)
    assert (caught.value.field, caught.value.requirement) == (field, requirement)


@pytest.mark.requirement("TWIN-CONSENSUS-008", "TWIN-CONSENSUS-009")
def test_rejections_that_need_their_own_block() -> None:
    genesis = genesis_refs(FOUR)
    cases = [
        (make_block(0, 0, genesis), "block.round"),
        (
            make_block(0, 1, [genesis[0], genesis[1], BlockRef(0, 2, bytes(32))]),
            "block.ancestors[2].digest",
        ),
        (
            make_block(0, 1, [genesis[0], genesis[1], BlockRef(1, 2, bytes(32))]),
            "block.ancestors[2].round",
        ),
        (
            make_block(0, 1, [genesis[0], genesis[1], BlockRef(0, 9, bytes(32))]),
            "block.ancestors[2].author",
        ),
        ({**make_block(0, 1, genesis), "author": 4}, "block.author"),
        ({**make_block(0, 1, genesis), "signature": "zz"}, "block.signature"),
    ]
    for block, field in cases:
        with pytest.raises(LedgerError) as caught:
            check_block(block, FOUR)
        assert caught.value.field == field, caught.value.message


def _chain() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    blocks = round_one(FOUR)
    refs = [ref_of(block) for block in blocks]
    first = next_commit(None, 1_700_000_000_005, refs[1], [refs[0], refs[1]])
    second = next_commit(first, 1_700_000_000_001, refs[3], [refs[2], refs[3]])
    return first, second, blocks


@pytest.mark.requirement("TWIN-CONSENSUS-010", "TWIN-CONSENSUS-011")
def test_commits_chain_by_index_digest_and_time() -> None:
    first, second, blocks = _chain()
    assert first == make_commit(
        1, ZERO_DIGEST, 1_700_000_000_005, ref_of(blocks[1]), [ref_of(blocks[0]), ref_of(blocks[1])]
    )
    assert first["previousDigest"] == "0" * 64
    assert commit_digest(first) == hashlib.sha256(rfc8785.dumps(first)).digest()
    assert second["index"] == 2
    assert second["previousDigest"] == commit_digest(first).hex()
    assert second["timestampMs"] == 1_700_000_000_005  # the leader's time is earlier
    check_commit_follows(None, first)
    check_commit_follows(first, second)


@pytest.mark.requirement("TWIN-CONSENSUS-010", "TWIN-CONSENSUS-011")
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"index": 3}, "commit.index"),
        ({"previousDigest": "11" * 32}, "commit.previousDigest"),
        ({"timestampMs": 1}, "commit.timestampMs"),
        ({"leader": {"round": 9, "author": 0, "digest": "00" * 32}}, "commit.leader"),
        ({"blocks": "all"}, "commit.blocks"),
        ({"index": 0}, "commit.index"),
    ],
)
def test_a_commit_that_does_not_follow_is_rejected(change: dict[str, Any], field: str) -> None:
    first, second, _ = _chain()
    with pytest.raises(LedgerError) as caught:
        check_commit_follows(first, {**second, **change})
    assert caught.value.field == field
    with pytest.raises(LedgerError, match=r"commit\.index: is 2, expected 1"):
        check_commit_follows(None, second)
    with pytest.raises(LedgerError, match="leader is not among"):
        make_commit(1, ZERO_DIGEST, 0, BlockRef(1, 0, bytes(32)), [])


@pytest.mark.requirement("TWIN-CONSENSUS-012")
def test_a_commits_transactions_follow_block_order_then_block_contents() -> None:
    refs = [ref_of(block) for block in round_one(FOUR)]
    late = make_block(
        2, 2, [refs[2], refs[0], refs[1]], transactions=[transaction(3), transaction(4)]
    )
    early = make_block(
        1, 2, [refs[1], refs[0], refs[2]], transactions=[transaction(1), transaction(2)]
    )
    by_ref = {ref_of(block): block for block in (late, early)}
    commit = make_commit(1, ZERO_DIGEST, 0, ref_of(late), [ref_of(early), ref_of(late)])
    assert commit_transactions(commit, by_ref) == [transaction(n) for n in (1, 2, 3, 4)]
    with pytest.raises(LedgerError, match="is not known"):
        commit_transactions(commit, {ref_of(late): late})


def test_blocks_are_not_shared_between_tests() -> None:
    # round_one builds fresh dicts; a test changing one must not change another's.
    first = round_one(FOUR)
    changed = copy.deepcopy(first)
    changed[0]["round"] = 9
    assert round_one(FOUR) == first
