"""Commit-rule cases (``twin_vectors.commit_rule_cases``) checked here.

The cases are written in the DAG notation; every expectation was worked out by hand from the
rules (spec/prose/consensus.md). Leaders are fixed: round r is led by validator r mod n, so
with four validators B leads round 1, C round 2, D round 3, A round 4, B round 5. Quorum: 1 of
1, 3 of 4, 5 of 7, 7 of 10 (equal stakes).

A decision is written ``commit B1`` (direct), ``commit B1 indirect``, ``skip``, ``skip
indirect``, ``undecided`` or ``fault`` (two certified blocks in the slot). Every slot from round 1
to (highest round - 2) is listed. ``commits`` lists the leaders ``try_commit`` outputs from round
0, in order; ``linear`` gives, for some of them, the blocks of their commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from twin_spec import (
    GC_DEPTH,
    BlockRef,
    CommitSequencer,
    LeaderDecision,
    LeaderDecisionKind,
    LedgerError,
    decide_leader_slot,
    linearize,
    try_commit,
)
from twin_vectors.commit_rule_cases import CASES, LATE_CASES
from twin_vectors.dag_notation import NotationDag, parse_dag

REQ = pytest.mark.requirement


def _describe(notation: NotationDag, decision: LeaderDecision) -> str:
    if decision.kind is LeaderDecisionKind.UNDECIDED:
        return "undecided"
    if decision.kind is LeaderDecisionKind.COMMIT:
        assert decision.block is not None
        text = f"commit {notation.name_of(decision.block)}"
    else:
        assert decision.block is None
        text = "skip"
    return text if decision.direct else f"{text} indirect"


def _all_decisions(notation: NotationDag) -> dict[int, str]:
    """Decide every slot from (highest round - 2) down to 1, each using the ones above it."""
    found: dict[int, str] = {}
    later: list[LeaderDecision] = []
    for round_ in range(notation.dag.highest_round - 2, 0, -1):
        try:
            decision = decide_leader_slot(notation.dag, notation.committee, round_, later)
        except LedgerError as exc:
            if exc.requirement != "TWIN-CONSENSUS-027":
                raise
            found[round_] = "fault"
            break
        assert decision.round == round_
        assert decision.leader == round_ % notation.committee.size
        later.insert(0, decision)
        found[round_] = _describe(notation, decision)
    return dict(sorted(found.items()))


def _check(
    notation: NotationDag,
    decisions: Mapping[int, str],
    commits: str,
    linear: Mapping[str, str],
    last_decided: int = 0,
    gc_depth: int = GC_DEPTH,
) -> list[LeaderDecision]:
    assert _all_decisions(notation) == dict(decisions)
    if "fault" in decisions.values():
        with pytest.raises(LedgerError, match="certified blocks") as caught:
            try_commit(notation.dag, notation.committee, 0)
        assert caught.value.requirement == "TWIN-CONSENSUS-027"
        return []
    output = try_commit(notation.dag, notation.committee, 0)
    # The output is the longest run of decided slots from round 1, in round order.
    expected_run = []
    for round_, text in sorted(decisions.items()):
        if text == "undecided":
            break
        expected_run.append((round_, text))
    assert [(d.round, _describe(notation, d)) for d in output] == expected_run
    committed = [d.block for d in output if d.kind is LeaderDecisionKind.COMMIT]
    assert [notation.name_of(ref) for ref in committed if ref is not None] == commits.split()
    # A later call continues after the last decided round with the same decisions.
    assert try_commit(notation.dag, notation.committee, last_decided) == [
        d for d in output if d.round > last_decided
    ]
    # The sequencer makes the same decisions and one commit per committed leader.
    sequencer = CommitSequencer(notation.committee, gc_depth=gc_depth)
    sequenced = sequencer.advance(notation.dag)
    assert list(sequenced.decisions) == output
    assert [commit.leader for commit in sequenced.commits] == committed
    done: set[BlockRef] = set()
    for index, commit in enumerate(sequenced.commits, start=1):
        blocks = list(commit.blocks)
        assert commit.index == index
        assert blocks[-1] == commit.leader
        assert blocks == sorted(blocks)
        assert not done & set(blocks)
        name = notation.name_of(commit.leader)
        if name in linear:
            assert " ".join(notation.name_of(ref) for ref in blocks) == linear[name]
        done |= set(blocks)
    if gc_depth == GC_DEPTH and notation.dag.highest_round < GC_DEPTH:
        # Without garbage collection at work, a commit is the whole uncommitted history.
        done = set()
        for commit in sequenced.commits:
            assert list(commit.blocks) == linearize(notation.dag, commit.leader, done)
            done |= set(commit.blocks)
    return output


def _params() -> list[Any]:
    return [
        pytest.param(
            item.text,
            item.decisions,
            item.commits,
            item.linear,
            item.gc_depth or GC_DEPTH,
            id=item.name,
            marks=REQ(*item.requirements),
        )
        for item in CASES
    ]


def _late_params() -> list[Any]:
    return [
        pytest.param(item.stages, id=item.name, marks=REQ(*item.requirements))
        for item in LATE_CASES
    ]


@pytest.mark.parametrize(("text", "decisions", "commits", "linear", "gc_depth"), _params())
def test_commit_rule_case(
    text: str,
    decisions: Mapping[int, str],
    commits: str,
    linear: Mapping[str, str],
    gc_depth: int,
) -> None:
    _check(parse_dag(text), decisions, commits, linear, gc_depth=gc_depth)


# Each stage adds blocks (the first builds the DAG); after it, the decisions and the leaders
# committed from round 0 are as given, and try_commit from the previous stage's last decided
# round outputs just the newly decided slots.
@pytest.mark.parametrize("stages", _late_params())
def test_commit_rule_late_blocks(stages: list[tuple[str, dict[int, str], str]]) -> None:
    (first, decisions, commits), *rest = stages
    notation = parse_dag(first)
    output = _check(notation, decisions, commits, {})
    stepwise = CommitSequencer(notation.committee)
    made = list(stepwise.advance(notation.dag).commits)
    for text, decisions, commits in rest:
        last_decided = output[-1].round if output else 0
        notation.extend(text)
        output = _check(notation, decisions, commits, {}, last_decided)
        made += stepwise.advance(notation.dag).commits
    # A sequencer fed stage by stage makes the commits of one fed the whole DAG at once.
    assert made == list(CommitSequencer(notation.committee).advance(notation.dag).commits)


def test_notation_names_blocks_and_puts_the_own_block_first() -> None:
    notation = parse_dag(
        "committee: 4\nr1: A B C D\nr2: A<-[A B C] B<-[A B C] C<-* D<-[D A B]\n"
        "r3: A B C D\nr3: A'<-[B C D]"
    )
    refs = notation.refs
    assert notation.dag.ancestors(refs["B2"]) == (refs["B1"], refs["A1"], refs["C1"])
    assert notation.dag.ancestors(refs["A3'"])[0] == refs["A2"]
    assert refs["A3'"] != refs["A3"]
    assert len(notation.dag.blocks_at(3)) == 5
    notation.extend("r4: A<-[B C D] B C\nr5: D<-[A B C]")
    assert notation.dag.ancestors(refs["A4"]) == (refs["A3"], refs["B3"], refs["C3"], refs["D3"])
    assert notation.dag.ancestors(refs["D5"])[0] == refs["D3"]  # D's latest block


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the notation is empty"),
        ("r1: A", "line 1: the first line must be"),
        ("committee: 4\nr1: A E", "line 2: E is not in a committee of 4"),
        ("committee: 4\nr1: A B C D\nr2: A<-[A B]", "line 3: block A2 is refused"),
        ("committee: 4\nr1: A B C D\nr2: A<-[A b]", "line 3: cannot read ancestor 'b'"),
        ("committee: 4\nr1: A B C D\nr2: A<-[A B C3]", "line 3: ancestor C3 is not below"),
        ("committee: 4\nr1: A A", "line 2: block A1 is given twice"),
        ("committee: 4\nr1: A''", "line 2: A1'' comes before A1'"),
        ("committee: 4\nr1: A B C D\nr2: A<-[A B' C]", "line 3: ancestor B1' does not exist"),
        ("committee: 4\nr1: A\nnonsense", "line 3: expected 'rK: blocks"),
        ("stakes: 1 x", "line 1: invalid literal"),
    ],
)
def test_notation_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_dag(text)
