"""A checkpoint's transactions, as a node serves them, checked against the certified summary.

``check_checkpoint_transactions`` is what an auditor, or a validator catching up past its
peers' block retention, trusts instead of the node: the transactions' digests in the order
served must be the summary's ``transactionsRoot`` leaves, and their number its count.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from twin_spec import (
    LedgerError,
    check_checkpoint_transactions,
    make_checkpoint_summary,
    merkle_tree_hash,
    transaction_digest,
)

TRANSACTIONS = [
    {"type": "t", "sender": "did:key:z6Mk", "nonce": f"{n:02x}", "timestampMs": n, "payload": {}}
    for n in range(4)
]


def summary_of(transactions: list[dict[str, Any]]) -> dict[str, Any]:
    digests = [transaction_digest(transaction) for transaction in transactions]
    commit = hashlib.sha256(b"commit").digest()
    return make_checkpoint_summary(0, 1, 1, commit, digests, bytes(32), 1)


@pytest.mark.requirement("TWIN-CONSENSUS-134")
def test_the_transactions_in_commit_order_give_their_digests() -> None:
    summary = summary_of(TRANSACTIONS)
    digests = check_checkpoint_transactions(summary, TRANSACTIONS)
    assert digests == [transaction_digest(transaction) for transaction in TRANSACTIONS]
    assert merkle_tree_hash(digests).hex() == summary["transactionsRoot"]
    assert check_checkpoint_transactions(summary_of([]), []) == []


@pytest.mark.requirement("TWIN-CONSENSUS-134")
@pytest.mark.parametrize(
    ("served", "field"),
    [
        (TRANSACTIONS[:3], "transactions"),
        ([*TRANSACTIONS, TRANSACTIONS[0]], "transactions"),
        ([TRANSACTIONS[1], TRANSACTIONS[0], *TRANSACTIONS[2:]], "transactions"),
        ([TRANSACTIONS[0], TRANSACTIONS[0], *TRANSACTIONS[2:]], "transactions"),
        ([*TRANSACTIONS[:3], {**TRANSACTIONS[3], "nonce": "ff"}], "transactions"),
        ([*TRANSACTIONS[:3], "a transaction"], "transactions[3]"),
        ([*TRANSACTIONS[:3], {"type": "t"}], "transactions[3]"),
    ],
    ids=["one-missing", "one-more", "reordered", "one-twice", "changed", "string", "incomplete"],
)
def test_other_transactions_or_another_order_are_refused_naming_the_rule(
    served: list[Any], field: str
) -> None:
    with pytest.raises(LedgerError) as raised:
        check_checkpoint_transactions(summary_of(TRANSACTIONS), served)
    assert raised.value.requirement == "TWIN-CONSENSUS-134"
    assert raised.value.field == field


def test_a_malformed_summary_is_refused_before_any_transaction() -> None:
    summary = {**summary_of(TRANSACTIONS), "transactionCount": -1}
    with pytest.raises(LedgerError) as raised:
        check_checkpoint_transactions(summary, TRANSACTIONS)
    assert raised.value.requirement == "TWIN-ANCHORING-021"
