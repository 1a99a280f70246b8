"""Checkpoints and TwinLedgerReceipts: certification by quorum and offline verification."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from tests.spec.ledger_support import KEYS, certified, committee, digests
from twin_spec import (
    ZERO_DIGEST,
    CanonicalizationError,
    LedgerError,
    MessageKind,
    ReceiptFailure,
    ReceiptVerificationError,
    certify_checkpoint,
    check_checkpoint_follows,
    checkpoint_digest,
    inclusion_proof,
    make_checkpoint_summary,
    make_receipt,
    merkle_tree_hash,
    multibase_encode,
    parse_json,
    sign_checkpoint,
    sign_message,
    verify_certified_checkpoint,
    verify_receipt,
)
from twin_spec._multibase import BASE58_ALPHABET

FOUR = committee()
DIGESTS = digests(5)
Part = ReceiptFailure


def _receipt(index: int = 3, signers: tuple[int, ...] = (0, 1, 3)) -> dict[str, Any]:
    return make_receipt(DIGESTS[index], DIGESTS, certified(FOUR, DIGESTS, signers))


def _part(receipt: object, expected: bytes | None = None) -> ReceiptFailure:
    with pytest.raises(ReceiptVerificationError) as caught:
        verify_receipt(receipt, FOUR, transaction_digest=expected)
    return caught.value.part


@pytest.mark.requirement("TWIN-ANCHORING-021", "TWIN-ANCHORING-022", "TWIN-ANCHORING-023")
def test_a_checkpoint_summary_commits_to_the_transactions_in_order() -> None:
    summary = make_checkpoint_summary(0, 1, 1, bytes([7]) * 32, DIGESTS, ZERO_DIGEST, 5)
    assert summary == {
        "epoch": 0,
        "sequence": 1,
        "commitIndex": 1,
        "commitDigest": "07" * 32,
        "transactionsRoot": merkle_tree_hash(DIGESTS).hex(),
        "transactionCount": 5,
        "previousDigest": "00" * 32,
        "timestampMs": 5,
        "nextCommittee": None,
    }
    reordered = make_checkpoint_summary(0, 1, 1, bytes([7]) * 32, DIGESTS[::-1], ZERO_DIGEST, 5)
    assert reordered["transactionsRoot"] != summary["transactionsRoot"]
    assert checkpoint_digest(summary) == hashlib.sha256(rfc8785.dumps(summary)).digest()
    empty = make_checkpoint_summary(0, 1, 1, bytes(32), [], ZERO_DIGEST, 5)
    assert empty["transactionsRoot"] == hashlib.sha256(b"").hexdigest()


@pytest.mark.requirement("TWIN-ANCHORING-023")
def test_checkpoints_chain() -> None:
    first = make_checkpoint_summary(0, 1, 1, bytes(32), DIGESTS, ZERO_DIGEST, 5)
    second = make_checkpoint_summary(0, 2, 2, bytes(32), [], checkpoint_digest(first), 5)
    check_checkpoint_follows(None, first)
    check_checkpoint_follows(first, second)
    bad = [
        ({**second, "sequence": 3}, "summary.sequence"),
        ({**second, "previousDigest": "00" * 32}, "summary.previousDigest"),
        ({**second, "timestampMs": 4}, "summary.timestampMs"),
    ]
    for summary, field in bad:
        with pytest.raises(LedgerError) as caught:
            check_checkpoint_follows(first, summary)
        assert (caught.value.field, caught.value.requirement) == (field, "TWIN-ANCHORING-023")
    with pytest.raises(LedgerError, match="expected 1"):
        check_checkpoint_follows(None, second)


@pytest.mark.requirement("TWIN-ANCHORING-024")
def test_a_checkpoint_signature_is_in_the_checkpoint_domain() -> None:
    summary = make_checkpoint_summary(0, 1, 1, bytes(32), DIGESTS, ZERO_DIGEST, 5)
    entry = sign_checkpoint(KEYS[2], 2, summary)
    assert entry == {
        "signer": 2,
        "signature": multibase_encode(sign_message(KEYS[2], MessageKind.CHECKPOINT, summary)),
    }


@pytest.mark.requirement("TWIN-ANCHORING-025", "TWIN-ANCHORING-026")
def test_four_validators_certify_with_three_signatures_not_two() -> None:
    three = certified(FOUR, DIGESTS, (3, 0, 2))
    assert [entry["signer"] for entry in three["signatures"]] == [0, 2, 3]
    assert verify_certified_checkpoint(three, FOUR) == three["summary"]
    two = certified(FOUR, DIGESTS, (0, 2))
    with pytest.raises(ReceiptVerificationError, match="stake 2, below the quorum 3") as caught:
        verify_certified_checkpoint(two, FOUR)
    assert caught.value.part is Part.CHECKPOINT_QUORUM
    assert caught.value.requirement == "TWIN-ANCHORING-026"


@pytest.mark.requirement("TWIN-ANCHORING-026")
def test_quorum_is_by_stake_not_by_count() -> None:
    unequal = committee((5, 1, 1, 1))
    assert verify_certified_checkpoint(certified(unequal, DIGESTS, (0, 1)), unequal)
    with pytest.raises(ReceiptVerificationError) as caught:
        verify_certified_checkpoint(certified(unequal, DIGESTS, (1, 2, 3)), unequal)
    assert caught.value.part is Part.CHECKPOINT_QUORUM
    one = committee((1,))
    assert verify_certified_checkpoint(certified(one, DIGESTS, (0,)), one)


def _signatures_case(name: str) -> dict[str, Any]:
    checkpoint = certified(FOUR, DIGESTS, (0, 1, 2))
    entries = checkpoint["signatures"]
    summary = checkpoint["summary"]
    if name == "duplicate":
        entries[2] = dict(entries[1])
    elif name == "unsorted":
        entries[0], entries[1] = entries[1], entries[0]
    elif name == "outside":
        entries.append({"signer": 4, "signature": entries[0]["signature"]})
        entries.pop(0)
    elif name == "other-domain":
        block_signature = sign_message(KEYS[2], MessageKind.BLOCK, summary)
        entries[2]["signature"] = multibase_encode(block_signature)
    elif name == "wrong-signer":
        entries[2]["signer"] = 3
    elif name == "extra-bad":
        entries.append({"signer": 3, "signature": entries[0]["signature"]})
    return checkpoint


@pytest.mark.requirement("TWIN-ANCHORING-025")
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("duplicate", r"signatures\[2\]\.signer: 1 is not above the previous 1"),
        ("unsorted", r"signatures\[1\]\.signer: 0 is not above the previous 1"),
        ("outside", r"signatures\[2\]\.signer: 4 is not a committee index"),
        ("other-domain", r"signatures\[2\]\.signature: does not verify"),
        ("wrong-signer", r"signatures\[2\]\.signature: does not verify"),
        ("extra-bad", r"signatures\[3\]\.signature: does not verify"),
    ],
)
def test_bad_signers_fail_as_checkpoint_signature(case: str, message: str) -> None:
    with pytest.raises(ReceiptVerificationError, match=message) as caught:
        verify_certified_checkpoint(_signatures_case(case), FOUR)
    assert caught.value.part is Part.CHECKPOINT_SIGNATURE
    assert caught.value.requirement == "TWIN-ANCHORING-025"


@pytest.mark.requirement("TWIN-ANCHORING-025")
def test_certify_refuses_two_signatures_by_one_signer() -> None:
    summary = make_checkpoint_summary(0, 1, 1, bytes(32), DIGESTS, ZERO_DIGEST, 5)
    entry = sign_checkpoint(KEYS[1], 1, summary)
    with pytest.raises(LedgerError, match="two signatures by signer 1"):
        certify_checkpoint(summary, [entry, entry])


@pytest.mark.requirement("TWIN-ANCHORING-027")
def test_a_checkpoint_of_another_epoch_is_refused() -> None:
    later = committee(epoch=1)
    with pytest.raises(ReceiptVerificationError, match="epoch is 0, the committee's") as caught:
        verify_certified_checkpoint(certified(FOUR, DIGESTS, (0, 1, 2)), later)
    assert caught.value.part is Part.CHECKPOINT_EPOCH_MISMATCH


@pytest.mark.requirement("TWIN-ANCHORING-028", "TWIN-ANCHORING-029", "TWIN-ANCHORING-030")
def test_a_receipt_verifies_offline_from_the_committee_alone() -> None:
    receipt = _receipt()
    assert set(receipt) == {"type", "transactionDigest", "inclusionProof", "checkpoint"}
    assert receipt["type"] == "TwinLedgerReceipt"
    assert receipt["transactionDigest"] == DIGESTS[3].hex()
    assert receipt["inclusionProof"] == inclusion_proof(DIGESTS, 3).to_json()
    # What a client would receive: JSON text, parsed strictly.
    received = parse_json(rfc8785.dumps(receipt))
    summary = verify_receipt(received, FOUR, transaction_digest=DIGESTS[3])
    assert summary == receipt["checkpoint"]["summary"]
    assert verify_receipt(received, FOUR) == summary


@pytest.mark.requirement("TWIN-ANCHORING-028")
def test_make_receipt_refuses_what_it_cannot_prove() -> None:
    checkpoint = certified(FOUR, DIGESTS, (0, 1, 2))
    with pytest.raises(LedgerError, match="not in the checkpoint"):
        make_receipt(bytes(32), DIGESTS, checkpoint)
    with pytest.raises(LedgerError, match="not the checkpoint's transactions"):
        make_receipt(DIGESTS[0], DIGESTS[:4], checkpoint)


@pytest.mark.requirement("TWIN-ANCHORING-032")
def test_a_receipt_for_another_transaction_is_a_mismatch() -> None:
    with pytest.raises(ReceiptVerificationError, match="expected " + DIGESTS[2].hex()) as caught:
        verify_receipt(_receipt(3), FOUR, transaction_digest=DIGESTS[2])
    assert caught.value.part is Part.TRANSACTION_MISMATCH


@pytest.mark.requirement("TWIN-ANCHORING-029")
def test_a_proof_that_misses_the_certified_root_fails_as_inclusion_proof() -> None:
    receipt = _receipt(3)
    receipt["inclusionProof"] = inclusion_proof(DIGESTS, 2).to_json()
    assert _part(receipt) is Part.INCLUSION_PROOF
    receipt = _receipt(3)
    receipt["inclusionProof"] = inclusion_proof(DIGESTS[:4], 3).to_json()
    with pytest.raises(ReceiptVerificationError, match="treeSize 4 is not the checkpoint's"):
        verify_receipt(receipt, FOUR)


def _set(receipt: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(receipt)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_DELETE = object()


@pytest.mark.requirement("TWIN-ANCHORING-031")
@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("type",), _DELETE, "receipt.type"),
        (("type",), "Receipt", "receipt.type"),
        (("extra",), 1, "receipt.extra"),
        (("transactionDigest",), "AB" * 32, "receipt.transactionDigest"),
        (("transactionDigest",), 5, "receipt.transactionDigest"),
        (("inclusionProof",), [], "receipt.inclusionProof"),
        (("inclusionProof", "auditPath"), ["xyz"], "receipt.inclusionProof"),
        (("inclusionProof", "leafIndex"), "3", "receipt.inclusionProof"),
        (("inclusionProof", "extra"), 0, "receipt.inclusionProof.extra"),
        (("checkpoint",), None, "receipt.checkpoint"),
        (("checkpoint", "summary", "epoch"), _DELETE, "receipt.checkpoint.summary.epoch"),
        (("checkpoint", "summary", "epoch"), 1.5, "receipt.checkpoint.summary.epoch"),
        (
            ("checkpoint", "summary", "nextCommittee"),
            {},
            "receipt.checkpoint.summary.nextCommittee",
        ),
        (
            ("checkpoint", "summary", "commitDigest"),
            "0x" + "0" * 62,
            "receipt.checkpoint.summary.commitDigest",
        ),
        (("checkpoint", "summary"), "summary", "receipt.checkpoint.summary"),
        (("checkpoint", "signatures"), {}, "receipt.checkpoint.signatures"),
        (("checkpoint", "signatures", 0), "z", "receipt.checkpoint.signatures[0]"),
        (("checkpoint", "signatures", 0, "signer"), -1, "receipt.checkpoint.signatures[0].signer"),
        (
            ("checkpoint", "signatures", 0, "signer"),
            None,
            "receipt.checkpoint.signatures[0].signer",
        ),
        (
            ("checkpoint", "signatures", 0, "signature"),
            "u" + "A" * 86,
            "receipt.checkpoint.signatures[0].signature",
        ),
        (
            ("checkpoint", "signatures", 0, "signature"),
            "z0",
            "receipt.checkpoint.signatures[0].signature",
        ),
        (
            ("checkpoint", "signatures", 0, "signature"),
            "z2",
            "receipt.checkpoint.signatures[0].signature",
        ),
        (
            ("checkpoint", "signatures", 0, "signature"),
            "",
            "receipt.checkpoint.signatures[0].signature",
        ),
        (("checkpoint", "signatures", 0, "extra"), 1, "receipt.checkpoint.signatures[0].extra"),
    ],
)
def test_a_malformed_receipt_fails_as_receipt_malformed_naming_the_field(
    path: tuple[str | int, ...], value: object, field: str
) -> None:
    with pytest.raises(ReceiptVerificationError) as caught:
        verify_receipt(_set(_receipt(), path, value), FOUR, transaction_digest=bytes(32))
    assert (caught.value.part, caught.value.field) == (Part.RECEIPT_MALFORMED, field)
    assert caught.value.message.startswith(field)


@pytest.mark.requirement("TWIN-ANCHORING-031")
@pytest.mark.parametrize("receipt", [None, [], "receipt", 3, {"checkpoint": {}}])
def test_a_receipt_that_is_not_even_an_object_is_malformed(receipt: object) -> None:
    assert _part(receipt) is Part.RECEIPT_MALFORMED
    with pytest.raises(ReceiptVerificationError):
        verify_certified_checkpoint(receipt, FOUR)


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _leaves(item, (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _nudge(value: object) -> object:
    """Change a value by one character (or one unit), keeping it well formed where possible."""
    if isinstance(value, int):
        return value + 1
    assert isinstance(value, str)
    last = value[-1]
    alphabet = "0123456789abcdef" if len(value) == 64 else BASE58_ALPHABET
    return value[:-1] + alphabet[(alphabet.index(last) + 1) % len(alphabet)]


def _expected_part(path: tuple[str | int, ...]) -> ReceiptFailure:
    if (
        path[0] == "type"
        or path[-1] in ("hashAlgorithm", "nextCommittee")
        or path
        == (
            "inclusionProof",
            "type",
        )
    ):
        return Part.RECEIPT_MALFORMED
    if path[0] == "transactionDigest":
        return Part.TRANSACTION_MISMATCH
    if path[0] == "inclusionProof":
        return Part.INCLUSION_PROOF
    if path[-1] == "epoch":
        return Part.CHECKPOINT_EPOCH_MISMATCH
    return Part.CHECKPOINT_SIGNATURE


@pytest.mark.requirement("TWIN-ANCHORING-030")
def test_every_one_value_change_is_caught_by_the_right_part() -> None:
    receipt = _receipt()
    paths = list(_leaves(receipt))
    assert len(paths) > 20
    for path in paths:
        target: Any = receipt
        for step in path:
            target = target[step]
        if (
            target is None
            or path in (("type",), ("inclusionProof", "type"))
            or (path[-1] == "hashAlgorithm")
        ):
            changed = _set(receipt, path, "x")
        else:
            changed = _set(receipt, path, _nudge(target))
        assert _part(changed, DIGESTS[3]) is _expected_part(path), path
    # Without an expected digest, a changed transactionDigest fails at the proof.
    changed = _set(receipt, ("transactionDigest",), _nudge(receipt["transactionDigest"]))
    assert _part(changed) is Part.INCLUSION_PROOF


@pytest.mark.requirement("TWIN-ANCHORING-030", "TWIN-ANCHORING-031")
def test_a_flipped_byte_anywhere_in_the_receipt_text_is_detected() -> None:
    text = rfc8785.dumps(_receipt())
    parsed_flips = 0
    for position in range(len(text)):
        flipped = text[:position] + bytes([text[position] ^ 0x01]) + text[position + 1 :]
        try:
            received = parse_json(flipped)
        except CanonicalizationError:
            continue  # Not JSON any more: the client's parser already refuses it.
        parsed_flips += 1
        with pytest.raises(ReceiptVerificationError):
            verify_receipt(received, FOUR, transaction_digest=DIGESTS[3])
    assert parsed_flips > len(text) // 2


@pytest.mark.requirement("TWIN-ANCHORING-022", "TWIN-ANCHORING-029")
@given(
    st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40),
    st.sampled_from([(1, 1, 1, 1), (5, 3, 1, 1), (1,)]),
)
def test_every_transaction_of_a_checkpoint_gets_a_receipt_that_verifies(
    transaction_digests: list[bytes], stakes: tuple[int, ...]
) -> None:
    members = committee(stakes)
    checkpoint = certified(members, transaction_digests, range(members.size))
    for digest in transaction_digests:
        receipt = make_receipt(digest, transaction_digests, checkpoint)
        verify_receipt(receipt, members, transaction_digest=digest)
