"""Faults of the consensus profile inside the node's ledger: what it signs, commits, certifies.

Each is a patch of the ledger engine in the variant's own process: blocks signed or named
another way, commits built or stamped another way, transactions certified in another order,
a second block per round, a stale block committed after the garbage-collection round,
checkpoints naming the next commit, blocks synced without the receive rules, a stalled
validator that never probes its peers, transactions applied in reverse. The faults of what
the node serves and its routes are in ``_consensus_faults.py``; those of the rules as
evaluation applies them in ``_consensus_rule_faults.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from typing import Any

from tests.broken_variants._fault import fault
from tests.broken_variants._patching import patched_copy, rebind
from twin_reference._ledger_codec import unpack_text
from twin_spec import (
    Ed25519SigningKey,
    MessageKind,
    TwinSpecError,
    block_digest,
    canonicalize,
    multibase_encode,
    sign_block,
    sign_message,
)

GATHER_SECONDS = 0.3
"""How long the batching variant gathers queued transactions into one block."""


def patch_block_signed_with_signature_member() -> None:
    """Make the node sign its blocks with an empty signature member in the signed bytes."""
    from twin_reference import _proposing

    def sign(key: Ed25519SigningKey, unsigned: dict[str, Any]) -> dict[str, Any]:
        signature = sign_message(key, MessageKind.BLOCK, {**unsigned, "signature": ""})
        return {**unsigned, "signature": multibase_encode(signature)}

    rebind(_proposing, "sign_block", sign)


def patch_block_digest_without_signature() -> None:
    """Make the node name its blocks by SHA-256 of the block without its signature."""
    from twin_reference import _proposing

    def digest(block: dict[str, Any]) -> bytes:
        unsigned = {name: value for name, value in block.items() if name != "signature"}
        return hashlib.sha256(canonicalize(unsigned)).digest()

    rebind(_proposing, "block_digest", digest)


def patch_commit_blocks_without_leader() -> None:
    """Make the node's commits list the leader's history in blocks, without the leader."""
    from twin_reference import _committing

    def make(index: int, previous: bytes, timestamp: int, leader: Any, refs: Any) -> Any:
        return {
            "index": index,
            "previousDigest": previous.hex(),
            "timestampMs": timestamp,
            "leader": leader.to_json(),
            "blocks": [ref.to_json() for ref in refs if ref != leader],
        }

    rebind(_committing, "make_commit", make)


def patch_commit_timestamp_wall_clock() -> None:
    """Make the node stamp each commit with its wall clock, not its leader's timestamp."""
    from twin_reference import _committing

    original = getattr(_committing, "make_commit")  # noqa: B009 - a name it imports

    def make(index: int, previous: bytes, timestamp: int, leader: Any, refs: Any) -> Any:
        return original(index, previous, max(timestamp, time.time_ns() // 1_000_000), leader, refs)

    rebind(_committing, "make_commit", make)


def patch_commit_index_off_by_one() -> None:
    """Make each checkpoint name the commit after the one it certifies as commitIndex."""
    from twin_reference import _committing

    original = getattr(_committing, "make_checkpoint_summary")  # noqa: B009 - a name it imports

    def summary(*args: Any) -> Any:
        return original(*args[:2], args[2] + 1, *args[3:])

    rebind(_committing, "make_checkpoint_summary", summary)


def patch_batch_and_sort_transactions() -> None:
    """Gather queued transactions for 300 ms and certify each commit's in digest order."""
    from twin_reference import _committing, _proposing

    proposer = _proposing.Proposer
    propose_when_ready = proposer.propose_when_ready

    def gathering(self: Any, now: float) -> float | None:
        # The transactions wait in the mempool (pending) while the block gathers them.
        since = getattr(self, "_gathering_since", None)
        if self._mempool:
            if since is None:
                self._gathering_since = since = now
            if now - since < GATHER_SECONDS:
                return float(GATHER_SECONDS - (now - since))
        self._gathering_since = None
        return propose_when_ready(self, now)

    # The commit's transactions are certified, applied and recorded in digest order, so the
    # node's receipts agree with its checkpoints: only the order breaks the rule.
    committing = patched_copy(
        "twin_reference._committing",
        {
            "        sequence, previous_checkpoint = self._certifier.last_summary\n": (
                "        transactions.sort(key=lambda item: item[0])\n"
                "        sequence, previous_checkpoint = self._certifier.last_summary\n"
            )
        },
    )
    setattr(proposer, "propose_when_ready", gathering)  # noqa: B010 - replaced on purpose
    setattr(_committing.Committer, "_commit", committing.Committer._commit)  # noqa: B010


def patch_second_block_per_round() -> None:
    """Make the node sign and store a second block for every round it proposes in."""
    from twin_reference import _proposing
    from twin_spec import BlockRef

    proposer = _proposing.Proposer
    propose = proposer.propose

    def propose_twice(self: Any, round_: int, now: float) -> None:
        propose(self, round_, now)
        first = self._ledger.block(self._last_block.digest)
        if first is None or first["round"] != round_:
            return  # Nothing was proposed (its transactions were dropped).
        unsigned = {name: value for name, value in first.items() if name != "signature"}
        twin = sign_block(self._key, {**unsigned, "timestampMs": first["timestampMs"] + 1})
        ref = BlockRef(round_, first["author"], block_digest(twin))
        with self._ledger.write(durable=False) as connection:
            self._ledger.insert_block(connection, ref, json.dumps(twin), or_ignore=True)

    setattr(proposer, "propose", propose_twice)  # noqa: B010 - the method is replaced on purpose


def _stale_round_two_block(engine: Any) -> Any:
    """A second block of round 2 the node signs and stores but never adds to its DAG."""
    from twin_spec import BlockRef

    ledger = engine._ledger
    row = ledger.store.one("SELECT body FROM blocks WHERE round = 2 AND author = ?", engine._own)
    first = json.loads(unpack_text(row[0]))
    unsigned = {name: value for name, value in first.items() if name != "signature"}
    stale = sign_block(engine._proposer._key, {**unsigned, "transactions": [], "timestampMs": 1})
    ref = BlockRef(2, first["author"], block_digest(stale))
    with ledger.write(durable=False) as connection:
        ledger.insert_block(connection, ref, json.dumps(stale), or_ignore=True)
    return ref


def patch_stale_block_committed_late() -> None:
    """Make the node run 60 rounds at start, then commit a round-2 block below the GC round."""
    from twin_reference import _committing, _ledger
    from twin_reference._node import now_ms
    from twin_reference._transactions import new_transaction

    engine = _ledger.LedgerEngine
    start = engine.start
    original = getattr(_committing, "make_commit")  # noqa: B009 - a name it imports
    state: dict[str, Any] = {}

    async def pump(self: Any) -> None:
        state["engine"] = self
        for position in range(25):
            transaction = new_transaction("conformance.pump", "did:example:pump", {}, now_ms())
            transaction["payload"] = {"position": position}
            with contextlib.suppress(Exception):
                await self.submit(transaction)

    async def start_and_pump(self: Any) -> None:
        await start(self)
        state["pump"] = asyncio.get_running_loop().create_task(pump(self))

    def make(index: int, previous: bytes, timestamp: int, leader: Any, refs: Any) -> Any:
        if "engine" in state and "stale" not in state and leader.round >= 60:
            state["stale"] = _stale_round_two_block(state["engine"])
            refs = [state["stale"], *refs]
        return original(index, previous, timestamp, leader, refs)

    setattr(engine, "start", start_and_pump)  # noqa: B010 - the method is replaced on purpose
    rebind(_committing, "make_commit", make)


def patch_synced_blocks_unchecked() -> None:
    """Make the node put the blocks it fetches from peers in its DAG without the receive rules."""
    from twin_reference import _sync
    from twin_spec import block_ref

    def offer(self: Any, block: Any, *, held_counts: bool = False) -> Any:
        try:
            ref = block_ref(block)
            self._engine.dag.add(block, ref)
        except (TwinSpecError, KeyError, TypeError):
            return None
        return ref

    setattr(_sync.Synchronizer, "_offer", offer)  # noqa: B010 - the method is replaced on purpose


def patch_stall_never_probed() -> None:
    """Make the node never probe its peers, nor send its blocks again, when its rounds stall."""
    from twin_reference import _sync

    def watch_stall(self: Any) -> None:
        return None

    setattr(_sync.Synchronizer, "_watch_stall", watch_stall)  # noqa: B010 - replaced on purpose


def patch_commit_applied_in_reverse() -> None:
    """Make the node apply each commit's transactions last to first."""
    from twin_reference import _committing

    committing = patched_copy(
        "twin_reference._committing",
        {
            "for position, (tx_digest, transaction) in enumerate(transactions):": (
                # Applied last to first, each still recorded at its place in the commit.
                "for position, (tx_digest, transaction) in reversed(list(enumerate(transactions))):"
            )
        },
    )
    setattr(_committing.Committer, "_commit", committing.Committer._commit)  # noqa: B010


FAULTS = (
    fault(
        "block-signed-with-signature-member",
        "consensus",
        "TWIN-CONSENSUS-005",
        "the node signs its blocks over the block with an empty signature member in it",
        patch=patch_block_signed_with_signature_member,
    ),
    fault(
        "block-digest-without-signature",
        "consensus",
        "TWIN-CONSENSUS-006",
        "the node names its blocks by SHA-256 of the block without its signature",
        patch=patch_block_digest_without_signature,
    ),
    fault(
        "commit-without-leader-block",
        "consensus",
        "TWIN-CONSENSUS-010",
        "the node's commits list the leader's history in blocks without the leader itself; "
        "a validator of a committee of one mostly commits its leader alone, so its commits "
        "list no block, which the schema refuses (TWIN-CORE-056)",
        patch=patch_commit_blocks_without_leader,
        also=("TWIN-CORE-056",),
    ),
    fault(
        "commit-timestamp-wall-clock",
        "consensus",
        "TWIN-CONSENSUS-011",
        "the node stamps each commit with its wall clock, not the leader block's timestamp",
        patch=patch_commit_timestamp_wall_clock,
    ),
    fault(
        "transactions-sorted-in-commit",
        "consensus",
        "TWIN-CONSENSUS-012",
        "the node gathers queued transactions for 300 ms and certifies each commit's "
        "transactions in digest order, not in block order",
        patch=patch_batch_and_sort_transactions,
    ),
    fault(
        "checkpoint-commit-index-ahead",
        "anchoring",
        "TWIN-ANCHORING-021",
        "each checkpoint names as commitIndex the commit after the one it certifies",
        patch=patch_commit_index_off_by_one,
        run_profile="consensus",
    ),
    fault(
        "second-block-per-round",
        "consensus",
        "TWIN-CONSENSUS-107",
        "the node signs and stores a second block for every round it proposes in, and records "
        "no evidence of it",
        patch=patch_second_block_per_round,
    ),
    fault(
        "stale-block-committed-late",
        "consensus",
        "TWIN-CONSENSUS-108",
        "the node runs 60 rounds at start, then commits a block of round 2, below its "
        "garbage-collection round; a one-validator node holds no uncommitted block of round 2 "
        "but one it signs beside its own, so it equivocates too (TWIN-CONSENSUS-107)",
        patch=patch_stale_block_committed_late,
        also=("TWIN-CONSENSUS-107",),
    ),
    fault(
        "synced-blocks-unchecked",
        "consensus",
        "TWIN-CONSENSUS-112",
        "blocks fetched from peers join the DAG without the receive rules",
        patch=patch_synced_blocks_unchecked,
        interop="a validator fetches only from the peers of its committee and a node judged "
        "alone has none: interop (issue 14) catches it, with harness validators offering it "
        "blocks that break a receive rule",
    ),
    fault(
        "stall-never-probed",
        "consensus",
        "TWIN-CONSENSUS-118",
        "a validator whose quorum round stalls never asks its peers for the rounds around its "
        "own and never sends its own blocks again, so a committee split without a quorum "
        "stays stalled once healed",
        patch=patch_stall_never_probed,
        interop="needs a committee partitioned and healed, which a node judged alone is not: "
        "interop_checks/test_partitions.py catches it as the one client beside three harness "
        "validators split {0,2} | {1,3}",
    ),
    fault(
        "commit-applied-in-reverse",
        "consensus",
        "TWIN-CONSENSUS-113",
        "each commit's transactions are applied last to first, each recorded at its place (a "
        "commit of one transaction is the same either way)",
        patch=patch_commit_applied_in_reverse,
    ),
)
