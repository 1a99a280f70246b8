"""The commit rule (Starfish variant of Mysticeti): which leader blocks commit, and in what order.

Every round r >= 1 has one leader slot, whose leader the leader schedule names
(``_leader_schedule``: round-robin unless a swap table is in force). A slot is decided directly
from the two rounds above it, or indirectly through a later committed leader; decided slots are
output in round order, and each committed leader brings its not-yet-committed causal history
with it.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from enum import StrEnum

from twin_spec._blocks import BlockRef
from twin_spec._committee import Committee
from twin_spec._dag import Dag
from twin_spec._errors import LedgerError, TwoCertifiedBlocksError
from twin_spec._leader_schedule import LeaderSchedule


class LeaderDecisionKind(StrEnum):
    """What was decided about a leader slot."""

    COMMIT = "commit"
    SKIP = "skip"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class LeaderDecision:
    """The decision about the slot of ``round``: its leader, the outcome, the committed block."""

    round: int
    leader: int
    kind: LeaderDecisionKind
    block: BlockRef | None = None
    direct: bool = True


def leader_of(round_: int, committee: Committee, schedule: LeaderSchedule | None = None) -> int:
    """Return the leader of a round under ``schedule`` (round-robin, ``round mod n``, if None).

    Round 0, genesis, has no leader slot.
    """
    return _schedule_for(committee, schedule).leader_of(round_)


def _schedule_for(committee: Committee, schedule: LeaderSchedule | None) -> LeaderSchedule:
    if schedule is None:
        return LeaderSchedule.round_robin(committee)
    if schedule.size != committee.size:
        raise LedgerError(
            f"a leader schedule of {schedule.size} validators for a committee of {committee.size}",
            requirement="TWIN-CONSENSUS-020",
        )
    return schedule


def is_vote(dag: Dag, voter: BlockRef, leader_block: BlockRef) -> bool:
    """Tell whether ``voter`` (at the next round) votes for ``leader_block``."""
    # TWIN-CONSENSUS-021 "A block of round r+1 MUST count as a vote for a leader block of round r
    # exactly when it lists that block among its ancestors."
    return voter.round == leader_block.round + 1 and leader_block in dag.ancestors(voter)


def is_blame(dag: Dag, voter: BlockRef, leader: int) -> bool:
    """Tell whether ``voter`` blames ``leader``: none of its ancestors, at any round, is by it.

    This is IOTA's ``enough_leader_blame`` test (``consensus/core/src/base_committer.rs``):
    ``voting_block.ancestors().iter().all(|a| a.author != leader)``. A voter that names an older
    block of the leader (the leader's own next block always does) is not a blame.
    """
    return all(ref.author != leader for ref in dag.ancestors(voter))


def is_certificate(
    dag: Dag, committee: Committee, certificate: BlockRef, leader_block: BlockRef
) -> bool:
    """Tell whether ``certificate`` (two rounds up) certifies ``leader_block``."""
    # TWIN-CONSENSUS-022 "A block of round r+2 MUST count as a certificate for a leader block
    # exactly when its ancestors include votes for that block whose authors carry quorum stake."
    if certificate.round != leader_block.round + 2:
        return False
    voters = [ref.author for ref in dag.ancestors(certificate) if is_vote(dag, ref, leader_block)]
    return committee.is_quorum(voters)


def decide_leader_slot(
    dag: Dag,
    committee: Committee,
    round_: int,
    later: Sequence[LeaderDecision] = (),
    schedule: LeaderSchedule | None = None,
) -> LeaderDecision:
    """Decide the slot of ``round_`` directly, else through ``later`` decisions (rounds above).

    ``schedule`` is the leader schedule in force (round-robin when None).
    """
    leader = leader_of(round_, committee, schedule)
    leader_blocks = [ref for ref in dag.blocks_at(round_) if ref.author == leader]
    # TWIN-CONSENSUS-023 "A slot MUST be skipped directly when the round r+1 blocks that list no
    # ancestor at all authored by the slot's leader have authors carrying quorum stake."
    blamers = [voter.author for voter in dag.blocks_at(round_ + 1) if is_blame(dag, voter, leader)]
    if committee.is_quorum(blamers):
        return LeaderDecision(round_, leader, LeaderDecisionKind.SKIP)
    # TWIN-CONSENSUS-024 "A slot MUST be committed directly when the certificates for one of its
    # leader blocks have authors carrying quorum stake; otherwise it is undecided directly."
    certifiers = dag.blocks_at(round_ + 2)
    supported = [
        block
        for block in leader_blocks
        if committee.is_quorum(
            ref.author for ref in certifiers if is_certificate(dag, committee, ref, block)
        )
    ]
    chosen = _one_certified(supported, round_, leader)
    if chosen is not None:
        return LeaderDecision(round_, leader, LeaderDecisionKind.COMMIT, chosen)
    return _decide_indirectly(dag, committee, round_, leader, leader_blocks, later)


def _decide_indirectly(
    dag: Dag,
    committee: Committee,
    round_: int,
    leader: int,
    leader_blocks: list[BlockRef],
    later: Sequence[LeaderDecision],
) -> LeaderDecision:
    # TWIN-CONSENSUS-025 "An undecided slot MUST take as anchor the lowest-round later decision at
    # round r+3 or above that is a commit, passing over skips and stopping at the first undecided;
    # with no anchor it stays undecided."
    anchor = None
    for decision in sorted(later, key=lambda item: item.round):
        if decision.round < round_ + 3 or decision.kind is LeaderDecisionKind.SKIP:
            continue
        if decision.kind is LeaderDecisionKind.UNDECIDED:
            break
        anchor = decision.block
        break
    if anchor is None:
        return LeaderDecision(round_, leader, LeaderDecisionKind.UNDECIDED, direct=False)
    # TWIN-CONSENSUS-026 "Through an anchor, the slot MUST commit the leader block that some round
    # r+2 block of the anchor's causal history certifies, and is skipped if none is certified."
    certifiers = _history_at(dag, anchor, round_ + 2)
    supported = [
        block
        for block in leader_blocks
        if any(is_certificate(dag, committee, ref, block) for ref in certifiers)
    ]
    chosen = _one_certified(supported, round_, leader)
    if chosen is None:
        return LeaderDecision(round_, leader, LeaderDecisionKind.SKIP, direct=False)
    return LeaderDecision(round_, leader, LeaderDecisionKind.COMMIT, chosen, direct=False)


def _one_certified(supported: list[BlockRef], round_: int, leader: int) -> BlockRef | None:
    # TWIN-CONSENSUS-027 "Two certified blocks in one slot mean more than a third of the stake is
    # faulty; an implementation MUST NOT commit either and MUST report the fault."
    if len(supported) > 1:
        raise TwoCertifiedBlocksError(round_, leader, len(supported))
    return supported[0] if supported else None


def _history_at(dag: Dag, start: BlockRef, round_: int) -> set[BlockRef]:
    """Return the blocks at ``round_`` in the causal history of ``start`` (itself included)."""
    found: set[BlockRef] = set()
    seen = {start}
    stack = [start]
    while stack:
        ref = stack.pop()
        if ref.round == round_:
            found.add(ref)
            continue
        for ancestor in dag.ancestors(ref):
            if ancestor.round >= round_ and ancestor not in seen:
                seen.add(ancestor)
                stack.append(ancestor)
    return found


def try_commit(
    dag: Dag,
    committee: Committee,
    last_decided_round: int,
    schedule: LeaderSchedule | None = None,
) -> list[LeaderDecision]:
    """Return the newly decided slots after ``last_decided_round``, in round order.

    The result is the longest run of decided (commit or skip) slots; it stops before the first
    undecided one, which a later call decides once more blocks have arrived. ``schedule`` is
    the leader schedule in force (round-robin when None); :class:`CommitSequencer` changes it
    every N commits (TWIN-CONSENSUS-115).
    """
    schedule = _schedule_for(committee, schedule)
    # TWIN-CONSENSUS-028 "Slots MUST be decided from round (highest round - 2) down to the one
    # after the last decided round, each using the decisions above it, and output as the longest
    # prefix of decided slots in round order."
    decisions: list[LeaderDecision] = []
    for round_ in range(dag.highest_round - 2, max(last_decided_round, 0), -1):
        decisions.insert(0, decide_leader_slot(dag, committee, round_, decisions, schedule))
    decided: list[LeaderDecision] = []
    for decision in decisions:
        if decision.kind is LeaderDecisionKind.UNDECIDED:
            break
        decided.append(decision)
    return decided


def linearize(
    dag: Dag, leader_ref: BlockRef, already_committed: Set[BlockRef], gc_round: int = 0
) -> list[BlockRef]:
    """Return the leader's causal history not yet committed, ordered by (round, author, digest).

    Genesis blocks are never part of a commit, nor blocks at or below ``gc_round``, the
    garbage-collection round of the previous commit (:func:`gc_round_after`; 0 before the
    first commit). ``already_committed`` is not changed.
    """
    # TWIN-CONSENSUS-029 "A committed leader MUST bring the blocks of its causal history that are
    # not genesis and not already committed, ordered by round, then author, then digest."
    # TWIN-CONSENSUS-108 "A commit MUST leave out every block at or below the garbage-collection
    # round, the previous commit's leader round minus the garbage-collection depth."
    if gc_round < 0:
        raise LedgerError(f"gc_round {gc_round} is negative", requirement="TWIN-CONSENSUS-108")
    if leader_ref.round <= gc_round:
        raise LedgerError(
            f"leader of round {leader_ref.round} is at or below the garbage-collection round "
            f"{gc_round}",
            requirement="TWIN-CONSENSUS-108",
        )
    found = {leader_ref}
    stack = [leader_ref]
    while stack:
        for ancestor in dag.ancestors(stack.pop()):
            if (
                ancestor.round > gc_round
                and ancestor.round > 0
                and ancestor not in already_committed
                and ancestor not in found
            ):
                found.add(ancestor)
                stack.append(ancestor)
    return sorted(found)
