"""The DAG, the leader schedule and the commit rule, on small hand-built DAGs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.spec.ledger_support import committee, make_block, transaction
from twin_spec import (
    BlockRef,
    Committee,
    Dag,
    LeaderDecision,
    LeaderDecisionKind,
    LedgerError,
    TwoCertifiedBlocksError,
    check_block,
    decide_leader_slot,
    genesis_blocks,
    genesis_refs,
    is_blame,
    is_certificate,
    is_vote,
    leader_of,
    linearize,
    try_commit,
)

COMMIT, SKIP, UNDECIDED = (
    LeaderDecisionKind.COMMIT,
    LeaderDecisionKind.SKIP,
    LeaderDecisionKind.UNDECIDED,
)


class Builder:
    """Builds a DAG block by block; every block passes check_block before it joins."""

    def __init__(self, members: Committee) -> None:
        self.members = members
        self.dag = Dag(members)
        self.at: dict[tuple[int, int], BlockRef] = {
            (0, ref.author): ref for ref in genesis_refs(members)
        }
        self._salt = 0

    def block(self, author: int, round_: int, parents: Sequence[int | BlockRef]) -> BlockRef:
        """Add author's block at round_; ``parents`` are authors (their round_-1 block) or refs."""
        refs = [
            parent if isinstance(parent, BlockRef) else self.at[(round_ - 1, parent)]
            for parent in parents
        ]
        if all(ref.author != author for ref in refs):
            own = max(ref for (r, a), ref in self.at.items() if a == author and r < round_)
            refs.insert(0, own)
        self._salt += 1
        block = make_block(author, round_, refs, transactions=[transaction(self._salt)])
        ref = check_block(block, self.members)
        assert self.dag.add(block) == ref
        self.at[(round_, author)] = ref
        return ref

    def full_round(self, round_: int) -> None:
        """Every validator's block at round_, each naming every block of round_-1."""
        for author in range(self.members.size):
            parents = [author, *(a for a in range(self.members.size) if a != author)]
            self.block(author, round_, parents)

    def kinds(self, last_decided: int = 0) -> list[tuple[int, LeaderDecisionKind]]:
        return [(d.round, d.kind) for d in try_commit(self.dag, self.members, last_decided)]


@pytest.mark.requirement("TWIN-CONSENSUS-020")
def test_the_leader_of_round_r_is_r_mod_n() -> None:
    four = committee()
    assert [leader_of(r, four) for r in range(1, 9)] == [1, 2, 3, 0, 1, 2, 3, 0]
    assert leader_of(7, committee((1,))) == 0
    with pytest.raises(LedgerError, match="round 0 has no leader slot"):
        leader_of(0, four)


@pytest.mark.requirement("TWIN-CONSENSUS-013")
def test_the_dag_holds_genesis_and_only_blocks_whose_ancestors_it_holds() -> None:
    four = committee()
    dag = Dag(four)
    assert dag.blocks_at(0) == genesis_refs(four)
    assert dag.highest_round == 0
    assert dag.add(genesis_blocks(four)[2]) == genesis_refs(four)[2]  # idempotent
    first = make_block(0, 1, genesis_refs(four))
    second = make_block(0, 2, [BlockRef(1, 0, bytes(32)), *genesis_refs(four)[1:]])
    with pytest.raises(LedgerError, match="is not in the DAG yet") as caught:
        dag.add(second)
    assert caught.value.field == "block.ancestors[0]"
    ref = dag.add(first)
    assert dag.add(first) == ref
    assert dag.blocks_at(1) == [ref]
    assert dag.get(ref) == first
    assert dag.timestamp(ref) == first["timestampMs"]
    early = make_block(1, 2, [genesis_refs(four)[1], ref], timestamp_ms=5)
    with pytest.raises(LedgerError, match="is below ancestor 1's") as caught:
        dag.add(early)
    assert caught.value.field == "block.timestampMs"
    with pytest.raises(LedgerError, match="must be a genesis block"):
        dag.add({**genesis_blocks(four)[0], "timestampMs": 1})
    with pytest.raises(LedgerError, match="not in the DAG"):
        dag.get(BlockRef(5, 0, bytes(32)))


@pytest.mark.requirement("TWIN-CONSENSUS-020", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028")
def test_a_committee_of_one_commits_round_r_once_round_r_plus_2_exists() -> None:
    one = Builder(committee((1,)))
    one.block(0, 1, [])
    one.block(0, 2, [0])
    assert one.kinds() == []
    one.block(0, 3, [0])
    decisions = try_commit(one.dag, one.members, 0)
    assert decisions == [LeaderDecision(1, 0, COMMIT, one.at[(1, 0)])]
    assert linearize(one.dag, one.at[(1, 0)], set()) == [one.at[(1, 0)]]
    one.block(0, 4, [0])
    assert one.kinds(1) == [(2, COMMIT)]
    assert linearize(one.dag, one.at[(2, 0)], {one.at[(1, 0)]}) == [one.at[(2, 0)]]


@pytest.mark.requirement(
    "TWIN-CONSENSUS-021", "TWIN-CONSENSUS-022", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028"
)
def test_direct_commit_in_a_full_dag_of_four() -> None:
    four = Builder(committee())
    for round_ in (1, 2, 3):
        four.full_round(round_)
    leader = four.at[(1, 1)]
    assert all(is_vote(four.dag, four.at[(2, a)], leader) for a in range(4))
    assert all(is_certificate(four.dag, four.members, four.at[(3, a)], leader) for a in range(4))
    assert not is_vote(four.dag, four.at[(3, 0)], leader)  # wrong round
    assert decide_leader_slot(four.dag, four.members, 1) == LeaderDecision(1, 1, COMMIT, leader)
    assert four.kinds() == [(1, COMMIT)]
    four.full_round(4)
    four.full_round(5)
    assert four.kinds() == [(1, COMMIT), (2, COMMIT), (3, COMMIT)]
    assert four.kinds(2) == [(3, COMMIT)]
    assert [d.leader for d in try_commit(four.dag, four.members, 0)] == [1, 2, 3]


@pytest.mark.requirement("TWIN-CONSENSUS-023")
def test_direct_skip_when_a_quorum_ignores_the_leader() -> None:
    four = Builder(committee())
    four.full_round(1)
    for author in (0, 2, 3):
        four.block(author, 2, [author, *(a for a in (0, 2, 3) if a != author)])
    four.block(1, 2, [1, 0, 2])  # The leader's own block names its round-1 block.
    four.full_round(3)
    decision = decide_leader_slot(four.dag, four.members, 1)
    assert (decision.kind, decision.block, decision.direct) == (SKIP, None, True)
    assert four.kinds() == [(1, SKIP)]


@pytest.mark.requirement("TWIN-CONSENSUS-023")
def test_only_a_voter_naming_no_block_of_the_leader_at_any_round_is_a_blame() -> None:
    four = Builder(committee())
    for author in (0, 2, 3):
        four.block(author, 1, [author, *(a for a in (0, 2, 3) if a != author)])
    own_old = four.block(1, 2, [0, 2, 3])  # B's round-2 block names B0: B led round 1 without one
    ignoring = [four.block(a, 2, [a, *(b for b in (0, 2, 3) if b != a)]) for a in (0, 2)]
    other_old = four.block(3, 2, [3, 0, 2, four.at[(0, 1)]])  # D2 names B0, an older B block
    assert four.dag.ancestors(own_old)[0] == four.at[(0, 1)]
    assert not is_blame(four.dag, own_old, 1)
    assert not is_blame(four.dag, other_old, 1)
    assert all(is_blame(four.dag, voter, 1) for voter in ignoring)
    assert not is_blame(four.dag, ignoring[0], 0)  # A2 names A1
    four.block(0, 3, [0, 1, 2])
    # Two blames (A2, C2) of the three needed: neither skipped nor committed.
    assert decide_leader_slot(four.dag, four.members, 1).kind is UNDECIDED


def _split_votes() -> Builder:
    """Round 2: validators 0 and 1 vote for leader 1's block, 2 and 3 do not."""
    four = Builder(committee())
    four.full_round(1)
    four.block(0, 2, [0, 1, 2])
    four.block(1, 2, [1, 0, 3])
    four.block(2, 2, [2, 0, 3])
    four.block(3, 2, [3, 0, 2])
    four.full_round(3)
    return four


@pytest.mark.requirement("TWIN-CONSENSUS-024", "TWIN-CONSENSUS-025", "TWIN-CONSENSUS-028")
def test_undecided_when_neither_votes_nor_blame_reach_quorum() -> None:
    four = _split_votes()
    decision = decide_leader_slot(four.dag, four.members, 1)
    assert decision.kind is UNDECIDED
    assert four.kinds() == []
    # Later full rounds certify nothing for slot 1; the run stops at the undecided slot.
    for round_ in (4, 5, 6):
        four.full_round(round_)
    assert decide_leader_slot(four.dag, four.members, 1, ()).kind is UNDECIDED


def _indirect() -> Builder:
    """Slot 1 has one certificate (0's round-3 block), slot 2 none; rounds 4-7 are full."""
    four = Builder(committee())
    four.full_round(1)
    four.block(0, 2, [0, 1, 2])
    four.block(1, 2, [1, 0, 2])
    four.block(2, 2, [2, 0, 1])
    four.block(3, 2, [3, 0, 2])
    four.block(0, 3, [0, 1, 2])
    four.block(1, 3, [1, 0, 3])
    four.block(2, 3, [2, 0, 3])
    four.block(3, 3, [3, 0, 1])
    for round_ in (4, 5, 6, 7):
        four.full_round(round_)
    return four


@pytest.mark.requirement("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-028")
def test_indirect_commit_and_indirect_skip_through_a_committed_anchor() -> None:
    four = _indirect()
    members, dag = four.members, four.dag
    assert decide_leader_slot(dag, members, 1).kind is UNDECIDED  # one certificate, not three
    assert decide_leader_slot(dag, members, 2).kind is UNDECIDED  # two votes, two blamers
    decisions = try_commit(dag, members, 0)
    assert [(d.round, d.kind, d.direct) for d in decisions] == [
        (1, COMMIT, False),
        (2, SKIP, False),
        (3, COMMIT, True),
        (4, COMMIT, True),
        (5, COMMIT, True),
    ]
    assert decisions[0].block == four.at[(1, 1)]


@pytest.mark.requirement("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026")
def test_anchor_choice_passes_skips_and_stops_at_undecided() -> None:
    four = _indirect()
    members, dag = four.members, four.dag
    anchor = LeaderDecision(4, 0, COMMIT, four.at[(4, 0)])
    # Decisions at r+1 and r+2 are never anchors, whatever they are.
    near = [LeaderDecision(2, 2, UNDECIDED), LeaderDecision(3, 3, UNDECIDED)]
    assert decide_leader_slot(dag, members, 1, [*near, anchor]).kind is COMMIT
    later_anchor = LeaderDecision(5, 1, COMMIT, four.at[(5, 1)])
    skipped = LeaderDecision(4, 0, SKIP)
    assert decide_leader_slot(dag, members, 1, [later_anchor, skipped]).kind is COMMIT
    stopped = LeaderDecision(4, 0, UNDECIDED)
    assert decide_leader_slot(dag, members, 1, [stopped, later_anchor]).kind is UNDECIDED
    assert decide_leader_slot(dag, members, 2, [anchor]).kind is UNDECIDED  # 4 < 2 + 3
    assert decide_leader_slot(dag, members, 2, [anchor, later_anchor]).kind is SKIP


def _equivocating_leader(votes_for_a: Sequence[int]) -> tuple[Builder, BlockRef, BlockRef]:
    """Validator 1 leads round 1 with two blocks, a and b; 1 votes for a, others as told."""
    four = Builder(committee())
    four.full_round(1)
    a = four.at[(1, 1)]
    b = four.block(1, 1, [1, 0, 2, 3])
    four.at[(1, 1)] = a
    four.block(1, 2, [1, 0, 2])  # its own block a comes first
    for author in (0, 2, 3):
        leader_block = a if author in votes_for_a else b
        others = [x for x in (0, 2, 3) if x != author]
        four.block(author, 2, [author, *others, leader_block])
    return four, a, b


@pytest.mark.requirement("TWIN-CONSENSUS-021", "TWIN-CONSENSUS-024")
def test_an_equivocating_leader_gets_at_most_one_block_committed() -> None:
    four, a, b = _equivocating_leader((0, 1, 3))
    assert a != b
    assert a in four.dag.blocks_at(1)
    assert b in four.dag.blocks_at(1)
    four.full_round(3)
    four.full_round(4)
    decision = decide_leader_slot(four.dag, four.members, 1)
    assert (decision.kind, decision.block) == (COMMIT, a)
    # Voters split between the two blocks: neither is certified and nobody blames the leader.
    split, _, _ = _equivocating_leader((0,))
    split.full_round(3)
    split.full_round(4)
    assert decide_leader_slot(split.dag, split.members, 1).kind is UNDECIDED


@pytest.mark.requirement("TWIN-CONSENSUS-027")
def test_two_certified_blocks_in_one_slot_are_reported_as_a_fault() -> None:
    four = Builder(committee())
    four.full_round(1)
    a = four.at[(1, 1)]
    b = four.block(1, 1, [1, 0, 2, 3])  # the leader of round 1 equivocates
    # Validators 0, 2 and 3 equivocate too: one round-2 block for each leader block.
    voters_a = [four.block(x, 2, [x, *(y for y in (0, 2, 3) if y != x), a]) for x in (0, 2, 3)]
    voters_b = [four.block(x, 2, [x, *(y for y in (0, 2, 3) if y != x), b]) for x in (0, 2, 3)]
    for voters in (voters_a, voters_b):
        for index, own in enumerate(voters):
            four.block(own.author, 3, [own, *(v for j, v in enumerate(voters) if j != index)])
    with pytest.raises(TwoCertifiedBlocksError, match="2 certified blocks") as caught:
        decide_leader_slot(four.dag, four.members, 1)
    assert caught.value.requirement == "TWIN-CONSENSUS-027"
    assert (caught.value.code, caught.value.round, caught.value.leader) == (
        "twoCertifiedBlocks",
        1,
        1,
    )
    assert isinstance(caught.value, LedgerError)


@pytest.mark.requirement("TWIN-CONSENSUS-029")
def test_linearize_takes_the_uncommitted_history_by_round_then_author() -> None:
    four = Builder(committee())
    for round_ in (1, 2, 3, 4):
        four.full_round(round_)
    first = four.at[(1, 1)]
    assert linearize(four.dag, first, set()) == [first]  # genesis never joins a commit
    committed = {first}
    second = linearize(four.dag, four.at[(2, 2)], committed)
    assert second == [four.at[(1, 0)], four.at[(1, 2)], four.at[(1, 3)], four.at[(2, 2)]]
    assert committed == {first}  # not changed
    third = linearize(four.dag, four.at[(3, 3)], committed | set(second))
    assert [(ref.round, ref.author) for ref in third] == [(2, 0), (2, 1), (2, 3), (3, 3)]


@pytest.mark.requirement("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-028")
@given(st.data())
def test_decisions_only_grow_as_the_dag_grows(data: st.DataObject) -> None:
    # With no equivocation, what try_commit outputs at any time is a prefix of what it outputs
    # later: a decided slot never changes its decision.
    four = Builder(committee())
    history: list[list[LeaderDecision]] = []
    for round_ in range(1, 9):
        below = sorted(author for (r, author) in four.at if r == round_ - 1)
        authors = data.draw(
            st.lists(st.sampled_from(range(4)), min_size=3, max_size=4, unique=True)
        )
        for author in sorted(authors):
            parents = data.draw(
                st.lists(st.sampled_from(below), min_size=3, max_size=4, unique=True)
            )
            own = [author] if author in parents else []
            four.block(author, round_, [*own, *(p for p in parents if p != author)])
        history.append(try_commit(four.dag, four.members, 0))
    for earlier, later in itertools.pairwise(history):
        assert later[: len(earlier)] == earlier
