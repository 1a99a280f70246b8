"""A validator the harness plays: blocks, commits and checkpoint signatures made by the spec core.

The harness joins a committee of vendors' nodes as one or more validators of its own. Every
block it signs, every receive rule it applies, every commit it makes and every checkpoint
signature it sends comes from ``twin_spec`` (``sign_block``, ``validate_block``,
``CommitSequencer``, ``next_commit``, ``make_checkpoint_summary``, ``sign_checkpoint``), so a
harness validator is right, or wrong, exactly as its behaviour says:

- ``honest``: proposes a block of round r once it holds a quorum at r - 1 and the leader of
  r - 1 (or a leader timeout has passed), referencing the first block it received of each
  slot; signs the checkpoint of each commit it makes, sends its signature again while the
  checkpoint stays uncertified, and takes a checkpoint certified by its peers when the
  summary is its own and the signatures verify (as a node does, TWIN-CONSENSUS-112), so that
  a signature lost in a partition leaves no checkpoint uncertified, on its side or a client's;
- ``crashed``: from :meth:`HarnessValidator.crash` on it sends and serves nothing;
- ``silent-leader``: proposes no block in the rounds it leads (the others must move on after
  their leader timeout);
- ``withholding``: sends its blocks to some peers only (the others must fetch them when a
  block they receive names one, TWIN-CONSENSUS-112);
- ``equivocating``: after :meth:`HarnessValidator.equivocate_next`, it signs two different
  blocks for its next round and sends one to some peers and the other to the rest, then
  each peer the block it did not get first, so that every peer has received both.

This module is the validator's state, guarded by one lock; ``_harness_peer.py`` carries it
over HTTP. Its DAG grows for the length of a run (an interop run is minutes long).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from twin_spec import (
    BlockRef,
    BlockRejectedError,
    BlockRejection,
    CommitSequencer,
    Committee,
    Dag,
    Ed25519SigningKey,
    LedgerError,
    MessageKind,
    TwinSpecError,
    block_digest,
    block_ref,
    certify_checkpoint,
    check_certified_checkpoint,
    checkpoint_digest,
    commit_digest,
    genesis_blocks,
    make_checkpoint_summary,
    make_equivocation_evidence,
    multibase_decode,
    next_commit,
    read_certified_checkpoint,
    sign_block,
    sign_checkpoint,
    transaction_digest,
    validate_block,
    verify_message,
)

ZERO_DIGEST = bytes(32)
MAX_HELD_BLOCKS = 2048
"""Blocks kept aside while their ancestors are fetched; more are refused."""
MAX_EARLY_SEQUENCES = 1024
"""Checkpoint sequences beyond its last commit whose signatures it keeps until it commits."""
STALL_SECONDS = 1.0
"""How long its quorum round may stand still before it asks its peers (TWIN-CONSENSUS-118)."""
STALL_ROUNDS_BELOW = 1
STALL_ROUNDS_ABOVE = 2
MAX_STALL_ROUNDS = 8
"""The rounds a stall probe asks each peer for: around its own, at most this many."""
RESEND_BLOCKS = 4
"""Its own latest blocks a stall probe sends every peer again, at most."""
STALE_CHECKPOINT_SECONDS = 1.0
"""How long a checkpoint it signed may stay uncertified before it acts (the reference node's)."""
MAX_RESENT_SIGNATURES = 64
"""Its own signatures sent again in one pass, at most (the oldest uncertified first)."""


class Behaviour(StrEnum):
    """What a harness validator does."""

    HONEST = "honest"
    CRASHED = "crashed"
    EQUIVOCATING = "equivocating"
    SILENT_LEADER = "silent-leader"
    WITHHOLDING = "withholding"


@dataclass(frozen=True)
class Outgoing:
    """One message to send: to which peers, the path, and the JSON body as bytes."""

    peers: frozenset[int]
    path: str
    body: bytes


@dataclass
class _Checkpoint:
    summary: dict[str, Any]
    signed_at: float
    """When it signed the summary (its clock)."""
    sent_at: float
    """When it last sent its signature to its peers."""
    signatures: dict[int, dict[str, Any]] = field(default_factory=dict)
    certified: dict[str, Any] | None = None


class HarnessValidator:
    """One validator of the committee, played by the harness with the spec core's rules."""

    def __init__(
        self,
        committee: Committee,
        index: int,
        key: Ed25519SigningKey,
        send: Callable[[Outgoing], None],
        *,
        leader_timeout_seconds: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        if committee.validator(index).public_key != key.public_key:
            raise ValueError(f"the key is not validator {index}'s key in the committee")
        self.committee = committee
        self.index = index
        self.behaviour = Behaviour.HONEST
        self._key = key
        self._send = send
        self._leader_timeout = leader_timeout_seconds
        self._clock = clock
        self._wall_ms = wall_ms
        self._lock = threading.RLock()
        self._dag = Dag(committee)
        self._by_digest: dict[bytes, dict[str, Any]] = {}
        for block in genesis_blocks(committee):
            self._by_digest[block_digest(block)] = dict(block)
        self._first_in_slot: dict[tuple[int, int], BlockRef] = {}
        self._quorum_at: dict[int, float] = {0: clock()}
        self._held: dict[BlockRef, dict[str, Any]] = {}
        self._own_last = next(ref for ref in self._dag.blocks_at(0) if ref.author == index)
        self._own_last_ts = 0
        self.last_round = 0
        self._sequencer = CommitSequencer(committee)
        self._executed: set[bytes] = set()
        self.commits: list[dict[str, Any]] = []
        self._checkpoints: dict[int, _Checkpoint] = {}
        self._early_signatures: dict[int, dict[int, dict[str, Any]]] = {}
        self.equivocations: list[dict[str, Any]] = []
        self.fault: str | None = None
        self._equivocate: tuple[frozenset[int], frozenset[int]] | None = None
        self._withheld: frozenset[int] = frozenset()
        self.equivocated: tuple[dict[str, Any], dict[str, Any]] | None = None
        """The two blocks it signed for one round, once it has equivocated."""
        self._stall_round = 0
        self._stall_since = clock()
        self.stall_probes = True
        """Whether it probes its peers when stalled, and sends its checkpoint signatures again or
        fetches certified checkpoints; a scenario turns it off to see whether the clients
        alone resume a stalled committee (then nothing the harness does rescues them)."""

    # -- behaviours ----------------------------------------------------------------------------

    def crash(self) -> None:
        """Stop for good: no more blocks, signatures or answers (the peer side closes)."""
        with self._lock:
            self.behaviour = Behaviour.CRASHED

    def equivocate_next(self, first: frozenset[int], second: frozenset[int]) -> None:
        """Sign two blocks for the next round: one for the peers ``first``, one for ``second``.

        Each peer then also gets the other block, after the one meant for it: a peer keeps
        the first it received as the slot's block, and every peer has received both (the
        condition under which TWIN-CONSENSUS-107 obliges it to record the evidence).
        """
        with self._lock:
            self.behaviour = Behaviour.EQUIVOCATING
            self._equivocate = (first, second)

    def be_silent_leader(self) -> None:
        """From now on, propose nothing in the rounds it leads."""
        with self._lock:
            self.behaviour = Behaviour.SILENT_LEADER

    def withhold_from(self, peers: frozenset[int]) -> None:
        """From now on, send its blocks to every peer but ``peers``."""
        with self._lock:
            self.behaviour = Behaviour.WITHHOLDING
            self._withheld = peers

    def be_honest(self) -> None:
        """Back to honest (not after a crash)."""
        with self._lock:
            if self.alive:
                self.behaviour = Behaviour.HONEST
                self._withheld = frozenset()

    def conflicting_signature(self, sequence: int) -> dict[str, Any] | None:
        """Its signature over another summary than the one of checkpoint ``sequence``."""
        with self._lock:
            checkpoint = self._checkpoints.get(sequence)
            if checkpoint is None:
                return None
            other = {**checkpoint.summary, "transactionsRoot": "ab" * 32}
            return sign_checkpoint(self._key, self.index, other)

    def sign_again(self, copies: int) -> list[dict[str, Any]]:
        """Sign ``copies`` more blocks of its latest round and send them to every peer.

        An equivocation after the fact (interop's ``test_equivocation_quorum.py``): each names
        the ancestors of the block it sent, with a later timestamp.
        """
        with self._lock:
            if not self.alive or self._own_last.round == 0:
                return []
            sent = self._dag.get(self._own_last)
            unsigned = {name: value for name, value in sent.items() if name != "signature"}
            others = frozenset(range(self.committee.size)) - {self.index}
            made = []
            stamp = int(sent["timestampMs"])
            for copy in range(1, copies + 1):
                twin = sign_block(self._key, {**unsigned, "timestampMs": stamp + copy})
                self._accept(BlockRef(self._own_last.round, self.index, block_digest(twin)), twin)
                self._send(Outgoing(others, "/consensus/blocks", _dump(twin)))
                made.append(twin)
            return made

    @property
    def alive(self) -> bool:
        """Whether the validator still takes part (it has not crashed)."""
        return self.behaviour is not Behaviour.CRASHED

    # -- receiving -----------------------------------------------------------------------------

    def receive_block(self, block: object) -> tuple[int, dict[str, Any]]:
        """A peer's block through the receive rules: (HTTP status, answer body)."""
        with self._lock:
            if not isinstance(block, dict):
                return 400, _rejection(BlockRejection.MALFORMED, "the body is not a JSON object")
            try:
                ref = validate_block(block, self.committee, self._dag)
            except BlockRejectedError as exc:
                if (
                    exc.code is BlockRejection.MISSING_ANCESTOR
                    and len(self._held) < MAX_HELD_BLOCKS
                ):
                    try:
                        held = block_ref(block)
                    except TwinSpecError:
                        held = None
                    if held is not None and held.author != self.index:
                        self._held[held] = block
                return 400, _rejection(exc.code, exc.message, exc.field)
            except TwinSpecError as exc:
                return 400, _rejection(BlockRejection.MALFORMED, str(exc))
            if ref.author == self.index and ref not in self._dag:
                return 409, {"name": "ConflictError", "message": "a block in this validator's name"}
            self._accept(ref, block)
            self._release_held()
            self._advance()
            return 202, {"block": ref.to_json()}

    def missing(self) -> list[tuple[bytes, int]]:
        """Digests of ancestors the held blocks wait for, with the author that named them."""
        with self._lock:
            wanted: dict[bytes, int] = {}
            for ref, block in self._held.items():
                for item in block.get("ancestors", []):
                    try:
                        ancestor = BlockRef.from_json(item)
                    except TwinSpecError:
                        continue
                    if ancestor not in self._dag and ancestor not in self._held:
                        wanted.setdefault(ancestor.digest, ref.author)
            return list(wanted.items())

    def _accept(self, ref: BlockRef, block: dict[str, Any]) -> None:
        if ref in self._dag:
            return
        self._dag.add(block, ref)
        self._by_digest[ref.digest] = block
        first = self._first_in_slot.setdefault((ref.round, ref.author), ref)
        if first != ref and not any(
            e["author"] == ref.author and e["round"] == ref.round for e in self.equivocations
        ):
            self.equivocations.append(make_equivocation_evidence(self._dag.get(first), block))
        authors = {r.author for r in self._dag.blocks_at(ref.round)}
        if ref.round not in self._quorum_at and self.committee.is_quorum(authors):
            self._quorum_at[ref.round] = self._clock()

    def _release_held(self) -> None:
        progress = True
        while progress:
            progress = False
            for ref, block in list(self._held.items()):
                if ref in self._dag:
                    del self._held[ref]
                    continue
                try:
                    validate_block(block, self.committee, self._dag)
                except BlockRejectedError as exc:
                    if exc.code is not BlockRejection.MISSING_ANCESTOR:
                        del self._held[ref]
                    continue
                del self._held[ref]
                self._accept(ref, block)
                progress = True

    def receive_signature(self, sequence: int, entry: object) -> tuple[int, dict[str, Any]]:
        """A peer's checkpoint signature: counted, pending, or refused with its code."""
        with self._lock:
            if not isinstance(entry, dict) or set(entry) != {"signer", "signature"}:
                return 400, _error("malformed", "the body must be {signer, signature}")
            signer = entry["signer"]
            if not isinstance(signer, int) or isinstance(signer, bool):
                return 400, _error("malformed", "signer must be an integer")
            if not 0 <= signer < self.committee.size:
                return 400, _error("unknownSigner", f"{signer} is not a committee index")
            checkpoint = self._checkpoints.get(sequence)
            if checkpoint is None:
                # Kept for the next sequences only, one per signer: a peer cannot make it grow.
                if not len(self.commits) < sequence <= len(self.commits) + MAX_EARLY_SEQUENCES:
                    return 202, {"sequence": sequence, "signer": signer, "status": "ignored"}
                self._early_signatures.setdefault(sequence, {})[signer] = entry
                return 202, {"sequence": sequence, "signer": signer, "status": "pending"}
            if not self._count(checkpoint, signer, entry):
                return 400, _error("badSignature", "the signature does not verify")
            return 202, {"sequence": sequence, "signer": signer, "status": "counted"}

    def _count(self, checkpoint: _Checkpoint, signer: int, entry: Mapping[str, Any]) -> bool:
        try:
            signature = multibase_decode(str(entry["signature"]))
            verify_message(
                self.committee.validator(signer).public_key,
                MessageKind.CHECKPOINT,
                checkpoint.summary,
                signature,
            )
        except (TwinSpecError, ValueError):
            return False
        checkpoint.signatures[signer] = dict(entry)
        if checkpoint.certified is None and self.committee.is_quorum(checkpoint.signatures):
            checkpoint.certified = certify_checkpoint(
                checkpoint.summary, list(checkpoint.signatures.values())
            )
        return True

    def stale_checkpoint(self) -> int | None:
        """The lowest sequence it signed :data:`STALE_CHECKPOINT_SECONDS` ago, uncertified."""
        with self._lock:
            if not self.alive or not self.stall_probes:
                return None
            now = self._clock()
            return next(
                (
                    sequence
                    for sequence, checkpoint in sorted(self._checkpoints.items())
                    if checkpoint.certified is None
                    and now - checkpoint.signed_at >= STALE_CHECKPOINT_SECONDS
                ),
                None,
            )

    def signatures_to_resend(self) -> list[Outgoing]:
        """Its signature again, for checkpoints uncertified since it last sent it, oldest first.

        Each goes out at most every :data:`STALE_CHECKPOINT_SECONDS`, and at most
        :data:`MAX_RESENT_SIGNATURES` in one pass, to every peer.
        """
        with self._lock:
            if not self.alive or not self.stall_probes:
                return []
            now = self._clock()
            others = frozenset(range(self.committee.size)) - {self.index}
            resent: list[Outgoing] = []
            for sequence, checkpoint in sorted(self._checkpoints.items()):
                if len(resent) == MAX_RESENT_SIGNATURES:
                    break
                if checkpoint.certified is not None:
                    continue
                if now - checkpoint.sent_at < STALE_CHECKPOINT_SECONDS:
                    continue
                checkpoint.sent_at = now
                own = checkpoint.signatures[self.index]
                path = f"/consensus/checkpoints/{sequence}/signatures"
                resent.append(Outgoing(others, path, _dump(own)))
            return resent

    def offer_certified(self, certified: object) -> bool:
        """Take a certified checkpoint a peer served, for a summary still uncertified here.

        Taken only when the summary is the one it committed for that sequence and the
        signatures verify under the committee (TWIN-CONSENSUS-112); return whether it was.
        """
        with self._lock:
            try:
                parsed = read_certified_checkpoint(certified, max_signers=self.committee.size)
            except TwinSpecError:
                return False
            checkpoint = self._checkpoints.get(parsed.fields.sequence)
            if checkpoint is None or checkpoint.certified is not None:
                return False
            if checkpoint_digest(parsed.summary) != checkpoint_digest(checkpoint.summary):
                return False
            try:
                check_certified_checkpoint(parsed, self.committee)
            except TwinSpecError:
                return False
            assert isinstance(certified, dict)  # noqa: S101 - read above as an object
            for entry in certified["signatures"]:
                checkpoint.signatures.setdefault(int(entry["signer"]), dict(entry))
            checkpoint.certified = certify_checkpoint(
                checkpoint.summary, list(checkpoint.signatures.values())
            )
            return True

    # -- proposing -----------------------------------------------------------------------------

    def propose_if_ready(self) -> float:
        """Propose when the round is ready; return how long to wait before asking again."""
        with self._lock:
            if not self.alive:
                return 0.5
            quorum_round = max(self._quorum_at)
            round_ = quorum_round + 1
            if round_ <= self.last_round:
                return 0.01
            previous = round_ - 1
            leader_of = self._sequencer.schedule.leader_of
            silent = self.behaviour is Behaviour.SILENT_LEADER
            if (
                previous > self.last_round
                and previous >= 1
                and leader_of(previous) == self.index
                and not silent
            ):
                # Leading the round the others reached without it: its leader block, late.
                self._propose(previous)
                return 0.0
            if previous >= 1:
                leader = leader_of(previous)
                has_leader = leader == self.index or any(
                    ref.author == leader
                    for ref in (*self._dag.blocks_at(previous), *self._dag.blocks_at(round_))
                )
                waited = self._clock() - self._quorum_at[previous]
                if not has_leader and waited < self._leader_timeout:
                    return min(0.01, self._leader_timeout - waited)
            self._propose(round_)
            return 0.0

    def _propose(self, round_: int) -> None:
        leads = self._sequencer.schedule.leader_of(round_) == self.index
        if self.behaviour is Behaviour.SILENT_LEADER and leads:
            self.last_round = round_  # the round passes without its leader block
            return
        parents: dict[int, BlockRef] = {}
        for ref in self._dag.blocks_at(round_ - 1):
            if ref.author != self.index:
                parents.setdefault(
                    ref.author, self._first_in_slot.get((ref.round, ref.author), ref)
                )
        ancestors = [self._own_last, *(parents[author] for author in sorted(parents))]
        timestamp = max(
            self._wall_ms(), self._own_last_ts, *(self._dag.timestamp(ref) for ref in ancestors)
        )
        unsigned: dict[str, Any] = {
            "epoch": self.committee.epoch,
            "round": round_,
            "author": self.index,
            "timestampMs": timestamp,
            "ancestors": [ref.to_json() for ref in ancestors],
            "transactions": [],
        }
        block = sign_block(self._key, unsigned)
        ref = BlockRef(round_, self.index, block_digest(block))
        self._accept(ref, block)
        self._own_last, self._own_last_ts, self.last_round = ref, timestamp, round_
        others = frozenset(range(self.committee.size)) - {self.index}
        if self._equivocate is not None:
            first, second = self._equivocate
            self._equivocate = None
            twin = sign_block(self._key, {**unsigned, "timestampMs": timestamp + 1})
            self._accept(BlockRef(round_, self.index, block_digest(twin)), twin)
            self.equivocated = (block, twin)
            self._send(Outgoing(first & others, "/consensus/blocks", _dump(block)))
            self._send(Outgoing(second & others, "/consensus/blocks", _dump(twin)))
            self._send(Outgoing(first & others, "/consensus/blocks", _dump(twin)))
            self._send(Outgoing(second & others, "/consensus/blocks", _dump(block)))
        else:
            self._send(Outgoing(others - self._withheld, "/consensus/blocks", _dump(block)))
        self._advance()

    # -- committing and certifying -------------------------------------------------------------

    def _advance(self) -> None:
        if self.fault is not None:
            return
        try:
            output = self._sequencer.advance(self._dag)
        except LedgerError as exc:
            # TWIN-CONSENSUS-027: two certified blocks in one slot; nothing more is committed.
            self.fault = exc.message
            return
        for subdag in output.commits:
            previous = self.commits[-1] if self.commits else None
            commit = next_commit(
                previous, self._dag.timestamp(subdag.leader), subdag.leader, subdag.blocks
            )
            digests: list[bytes] = []
            for ref in subdag.blocks:
                for transaction in self._dag.get(ref)["transactions"]:
                    digest = transaction_digest(transaction)
                    if digest not in self._executed:
                        self._executed.add(digest)
                        digests.append(digest)
            sequence = int(commit["index"])  # type: ignore[arg-type]
            before = self._checkpoints.get(sequence - 1)
            summary = make_checkpoint_summary(
                self.committee.epoch,
                sequence,
                sequence,
                commit_digest(commit),
                digests,
                checkpoint_digest(before.summary) if before else ZERO_DIGEST,
                int(commit["timestampMs"]),  # type: ignore[arg-type]
            )
            self.commits.append(commit)
            now = self._clock()
            checkpoint = _Checkpoint(summary, signed_at=now, sent_at=now)
            self._checkpoints[sequence] = checkpoint
            own = sign_checkpoint(self._key, self.index, summary)
            self._count(checkpoint, self.index, own)
            for signer, entry in self._early_signatures.pop(sequence, {}).items():
                self._count(checkpoint, signer, entry)
            others = frozenset(range(self.committee.size)) - {self.index}
            self._send(
                Outgoing(others, f"/consensus/checkpoints/{sequence}/signatures", _dump(own))
            )

    def rule_breaking_blocks(self) -> list[tuple[str, dict[str, Any], str]]:
        """Variants of its latest block, each breaking one receive rule, with the rule's code."""
        from twin_conformance._rule_breaking import rule_breaking_blocks

        with self._lock:
            if self._own_last.round == 0:
                return []
            base = self._dag.get(self._own_last)
            return rule_breaking_blocks(base, self.committee, self._key, self._dag)

    # -- a stalled quorum round (a healed partition) -------------------------------------------

    def stalled_rounds(self) -> tuple[int, int] | None:
        """The rounds to ask every peer for once its quorum round stood still, else None.

        After a partition heals each side may hold top-round blocks the other never received,
        and no new block names them; like a node (TWIN-CONSENSUS-118), a harness validator
        then asks its peers for the rounds around its own and sends its own blocks again.
        """
        with self._lock:
            now = self._clock()
            quorum_round = max(self._quorum_at)
            if quorum_round != self._stall_round or not self.alive or not self.stall_probes:
                self._stall_round, self._stall_since = quorum_round, now
                return None
            if now - self._stall_since < STALL_SECONDS:
                return None
            low = max(1, quorum_round - STALL_ROUNDS_BELOW)
            high = max(self._dag.highest_round, quorum_round) + STALL_ROUNDS_ABOVE
            return low, min(high, low + MAX_STALL_ROUNDS - 1)

    def blocks_to_resend(self, from_round: int) -> list[Outgoing]:
        """Its own latest blocks from ``from_round`` up, to every peer it sends blocks to."""
        with self._lock:
            if not self.alive:
                return []
            own = [
                ref
                for round_ in range(max(1, from_round), self._dag.highest_round + 1)
                for ref in self._dag.blocks_at(round_)
                if ref.author == self.index
            ]
            others = frozenset(range(self.committee.size)) - {self.index} - self._withheld
            return [
                Outgoing(others, "/consensus/blocks", _dump(self._dag.get(ref)))
                for ref in own[-RESEND_BLOCKS:]
            ]

    @property
    def block_count(self) -> int:
        """How many blocks it holds (genesis included): grows as it learns new ones."""
        with self._lock:
            return len(self._by_digest)

    # -- reading -------------------------------------------------------------------------------

    def block(self, digest: bytes) -> dict[str, Any] | None:
        """A block it holds (genesis included), by digest."""
        with self._lock:
            return self._by_digest.get(digest)

    def blocks_at(self, round_: int) -> list[dict[str, Any]]:
        """Every block it holds at ``round_``, ordered by author and digest."""
        with self._lock:
            return [self._dag.get(ref) for ref in self._dag.blocks_at(round_)]

    def certified(self, start: int, limit: int) -> list[dict[str, Any]]:
        """Its certified checkpoints from ``start``, in order, up to the first it lacks."""
        with self._lock:
            found = []
            for sequence in range(max(1, start), max(1, start) + limit):
                checkpoint = self._checkpoints.get(sequence)
                if checkpoint is None or checkpoint.certified is None:
                    break
                found.append(checkpoint.certified)
            return found

    def snapshot(self) -> dict[str, Any]:
        """Its commits, equivocation evidence, fault and highest round, for the scenarios."""
        with self._lock:
            return {
                "commits": list(self.commits),
                "equivocations": list(self.equivocations),
                "fault": self.fault,
                "round": self._dag.highest_round,
                "behaviour": str(self.behaviour),
            }


def _dump(value: object) -> bytes:
    """A message body: compact JSON in UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _error(code: str, message: str, field_name: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"code": code}
    if field_name:
        properties["field"] = field_name
    return {"name": "ValidationError", "message": message, "properties": properties}


def _rejection(code: BlockRejection, message: str, field_name: str | None = None) -> dict[str, Any]:
    return _error(str(code), message, field_name)
