"""Commits: the chained, numbered output of consensus, each naming a leader and its blocks.

Commits hash-chain through ``previousDigest`` so two nodes agree on the whole history, not
only on its latest step; a checkpoint certifies one commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from twin_spec._blocks import MAX_BLOCK_TRANSACTIONS, BlockRef
from twin_spec._errors import LedgerError
from twin_spec._jcs import JSONValue, canonicalize
from twin_spec._ledger_json import (
    ZERO_DIGEST,
    ledger_fail,
    read_digest,
    read_int,
    read_list,
    read_object,
)

_FORMAT = "TWIN-CONSENSUS-010"
_CHAIN = "TWIN-CONSENSUS-011"
_MEMBERS = ("index", "previousDigest", "timestampMs", "leader", "blocks")
MAX_COMMIT_BLOCKS = MAX_BLOCK_TRANSACTIONS * 64


@dataclass(frozen=True)
class CommittedSubDag:
    """One commit's content: its index (from 1), its leader and its linearized blocks.

    The commit JSON (:func:`next_commit`) adds the chain digest and the commit time.
    """

    index: int
    leader: BlockRef
    blocks: tuple[BlockRef, ...]


def make_commit(
    index: int,
    previous_digest: bytes,
    timestamp_ms: int,
    leader: BlockRef,
    blocks: Sequence[BlockRef],
) -> dict[str, JSONValue]:
    """Return commit JSON; ``blocks`` is the linearized sub-DAG, the leader last."""
    # TWIN-CONSENSUS-010 "A commit MUST be {index, previousDigest, timestampMs, leader, blocks}
    # with block references for leader and blocks, the leader among the blocks; its digest is
    # SHA-256 of its JCS form."
    if index < 1:
        raise LedgerError(f"commit index {index} is below 1", field="index", requirement=_FORMAT)
    if len(previous_digest) != 32:
        raise LedgerError("previousDigest must be 32 bytes", field="previousDigest")
    if leader not in blocks:
        raise LedgerError("the leader is not among the commit's blocks", field="leader")
    return {
        "index": index,
        "previousDigest": previous_digest.hex(),
        "timestampMs": timestamp_ms,
        "leader": leader.to_json(),
        "blocks": [ref.to_json() for ref in blocks],
    }


def commit_digest(commit: Mapping[str, object]) -> bytes:
    """Return SHA-256(JCS(commit))."""
    return hashlib.sha256(canonicalize(commit)).digest()


def read_commit(commit: object) -> tuple[int, bytes, int, BlockRef, list[BlockRef]]:
    """Read commit JSON strictly: (index, previous digest, timestamp, leader, blocks)."""
    body = read_object(commit, "commit", ledger_fail, _FORMAT, _MEMBERS)
    index = read_int(body["index"], "commit.index", ledger_fail, _FORMAT, minimum=1)
    previous = read_digest(body["previousDigest"], "commit.previousDigest", ledger_fail, _FORMAT)
    timestamp = read_int(body["timestampMs"], "commit.timestampMs", ledger_fail, _FORMAT)
    leader = BlockRef.from_json(body["leader"], "commit.leader", ledger_fail, _FORMAT)
    items = read_list(
        body["blocks"], "commit.blocks", ledger_fail, _FORMAT, max_items=MAX_COMMIT_BLOCKS
    )
    blocks = [
        BlockRef.from_json(item, f"commit.blocks[{position}]", ledger_fail, _FORMAT)
        for position, item in enumerate(items)
    ]
    if leader not in blocks:
        raise ledger_fail("commit.leader", "is not among the commit's blocks", _FORMAT)
    return index, previous, timestamp, leader, blocks


def next_commit(
    previous: Mapping[str, object] | None,
    leader_timestamp_ms: int,
    leader: BlockRef,
    blocks: Sequence[BlockRef],
) -> dict[str, JSONValue]:
    """Return the commit that follows ``previous`` (None before the first commit)."""
    # TWIN-CONSENSUS-011 "Commit indices MUST start at 1 and rise by one; previousDigest is the
    # previous commit's digest (64 zeros for index 1); timestampMs is the larger of the leader's
    # timestamp and the previous commit's."
    if previous is None:
        return make_commit(1, ZERO_DIGEST, leader_timestamp_ms, leader, blocks)
    index, _, timestamp, _, _ = read_commit(previous)
    return make_commit(
        index + 1, commit_digest(previous), max(leader_timestamp_ms, timestamp), leader, blocks
    )


def check_commit_follows(
    previous: Mapping[str, object] | None, commit: Mapping[str, object]
) -> None:
    """Check that ``commit`` chains onto ``previous`` (None: that it is the first commit)."""
    index, previous_digest, timestamp, _, _ = read_commit(commit)
    if previous is None:
        expected_index, expected_digest, floor = 1, ZERO_DIGEST, 0
    else:
        before, _, floor, _, _ = read_commit(previous)
        expected_index, expected_digest = before + 1, commit_digest(previous)
    if index != expected_index:
        raise ledger_fail("commit.index", f"is {index}, expected {expected_index}", _CHAIN)
    if previous_digest != expected_digest:
        raise ledger_fail(
            "commit.previousDigest", f"is not the previous commit's {expected_digest.hex()}", _CHAIN
        )
    if timestamp < floor:
        raise ledger_fail(
            "commit.timestampMs", f"{timestamp} is below the previous {floor}", _CHAIN
        )


def commit_transactions(
    commit: Mapping[str, object], blocks: Mapping[BlockRef, Mapping[str, object]]
) -> list[object]:
    """Return a commit's transactions: its blocks' in block order, each block's in its order."""
    # TWIN-CONSENSUS-012 "The transactions of a commit MUST be those of its blocks, in the
    # commit's block order and then in each block's own order."
    _, _, _, _, refs = read_commit(commit)
    transactions: list[object] = []
    for ref in refs:
        if ref not in blocks:
            raise LedgerError(f"block {ref.to_json()} of the commit is not known", field="blocks")
        items = blocks[ref]["transactions"]
        if not isinstance(items, list):
            raise LedgerError("a block's transactions must be an array", field="transactions")
        transactions.extend(items)
    return transactions
