"""The commit sequence: the garbage-collection round and the sequencer that keeps it."""

from __future__ import annotations

from typing import Any

import pytest

from twin_spec import (
    GC_DEPTH,
    CommitSequencer,
    LeaderScheduleParameters,
    LedgerError,
    TwoCertifiedBlocksError,
    gc_round_after,
    linearize,
    try_commit,
)
from twin_vectors.commit_rule_cases import CASES
from twin_vectors.dag_notation import parse_dag

REQ = pytest.mark.requirement


def _case_text(name: str) -> str:
    (found,) = [item for item in CASES if item.name == name]
    return found.text


@REQ("TWIN-CONSENSUS-108")
def test_the_gc_round_is_the_leader_round_minus_the_depth_and_never_negative() -> None:
    assert GC_DEPTH == 50
    assert gc_round_after(0) == 0
    assert gc_round_after(50) == 0
    assert gc_round_after(51) == 1
    assert gc_round_after(120) == 70
    assert gc_round_after(7, 3) == 4
    assert gc_round_after(2, 3) == 0


@REQ("TWIN-CONSENSUS-108")
@pytest.mark.parametrize("depth", [0, -1, True, 2.0, "5", None])
def test_a_gc_depth_must_be_a_positive_integer(depth: Any) -> None:
    with pytest.raises(LedgerError, match="garbage-collection depth") as caught:
        gc_round_after(10, depth)
    assert (caught.value.requirement, caught.value.field) == ("TWIN-CONSENSUS-108", "gcDepth")
    members = parse_dag("committee: 1").committee
    with pytest.raises(LedgerError, match="garbage-collection depth"):
        CommitSequencer(members, gc_depth=depth)


@REQ("TWIN-CONSENSUS-108", "TWIN-CONSENSUS-029")
def test_linearize_leaves_out_blocks_at_or_below_the_gc_round() -> None:
    notation = parse_dag(_case_text("gc-depth-1-leaves-out-a-block-no-commit-took"))
    refs, dag = notation.refs, notation.dag
    committed = {refs["B1"], refs["A1"], refs["C1"], refs["C2"]}
    names = [notation.name_of(ref) for ref in linearize(dag, refs["D3"], committed, 1)]
    assert names == ["A2", "B2", "D2", "D3"]
    names = [notation.name_of(ref) for ref in linearize(dag, refs["D3"], committed, 0)]
    assert names == ["D1", "A2", "B2", "D2", "D3"]
    assert linearize(dag, refs["D3"], committed, 2) == [refs["D3"]]
    with pytest.raises(LedgerError, match="at or below the garbage-collection round") as caught:
        linearize(dag, refs["D3"], committed, 3)
    assert caught.value.requirement == "TWIN-CONSENSUS-108"
    with pytest.raises(LedgerError, match="negative"):
        linearize(dag, refs["D3"], committed, -1)


@REQ("TWIN-CONSENSUS-108", "TWIN-CONSENSUS-028")
def test_a_sequencer_keeps_the_gc_round_and_only_the_committed_blocks_above_it() -> None:
    text = "committee: 1\n" + "".join(f"r{r}: A\n" for r in range(1, 41))
    notation = parse_dag(text)
    sequencer = CommitSequencer(notation.committee, gc_depth=5)
    assert (sequencer.gc_round, sequencer.commit_count, sequencer.last_decided_round) == (0, 0, 0)
    output = sequencer.advance(notation.dag)
    assert [commit.index for commit in output.commits] == list(range(1, 39))
    assert [commit.blocks for commit in output.commits] == [
        (notation.refs[f"A{r}"],) for r in range(1, 39)
    ]
    assert (sequencer.commit_count, sequencer.last_decided_round) == (38, 38)
    assert sequencer.gc_round == 33
    assert {ref.round for ref in sequencer.committed} == set(range(34, 39))
    assert sequencer.advance(notation.dag).decisions == ()  # nothing new


@REQ("TWIN-CONSENSUS-108")
def test_a_sequencer_fed_in_steps_makes_the_commits_of_one_fed_at_once() -> None:
    text = _case_text("gc-depth-1-leaves-out-a-block-no-commit-took")
    whole = parse_dag(text)
    at_once = CommitSequencer(whole.committee, gc_depth=1).advance(whole.dag).commits
    lines = text.strip().splitlines()
    growing = parse_dag("\n".join(lines[:3]))
    stepwise = CommitSequencer(growing.committee, gc_depth=1)
    made = list(stepwise.advance(growing.dag).commits)
    for line in lines[3:]:
        growing.extend(line)
        made += stepwise.advance(growing.dag).commits
    assert made == list(at_once)
    assert [growing.name_of(ref) for ref in made[-1].blocks] == ["A2", "B2", "D2", "D3"]


@REQ("TWIN-CONSENSUS-027")
def test_a_fault_leaves_the_sequencer_unchanged() -> None:
    notation = parse_dag(_case_text("two-certified-leader-blocks-are-a-fault"))
    sequencer = CommitSequencer(notation.committee)
    with pytest.raises(TwoCertifiedBlocksError):
        sequencer.advance(notation.dag)
    assert (sequencer.commit_count, sequencer.last_decided_round) == (0, 0)
    with pytest.raises(TwoCertifiedBlocksError):
        try_commit(notation.dag, notation.committee, 0)


def _crash_dag() -> Any:
    """Four validators; D stops after round 10, so schedule changes swap its slots away."""
    text = "committee: 4\n" + "".join(
        f"r{r}: A B C{' D' if r <= 10 else ''}\n" for r in range(1, 61)
    )
    return parse_dag(text)


@REQ("TWIN-CONSENSUS-115", "TWIN-CONSENSUS-108")
@pytest.mark.parametrize("per_schedule", [1, 3, 7])
def test_a_resumed_sequencer_makes_the_commits_the_uninterrupted_one_makes(
    per_schedule: int,
) -> None:
    notation = _crash_dag()
    committee, dag = notation.committee, notation.dag
    parameters = LeaderScheduleParameters(per_schedule)
    depth = 4
    whole = CommitSequencer(committee, gc_depth=depth, schedule=parameters).advance(dag)
    commits = list(whole.commits)
    assert len(commits) > 3 * per_schedule
    assert any(table.bad == (3,) for table in whole.schedules), "D was never swapped out"
    for cut in range(1, len(commits)):
        last = commits[cut - 1]
        needed = max(1, (last.index // per_schedule - 1) * per_schedule + 1)
        floor = gc_round_after(last.leader.round, depth)
        below = [c.index for c in commits[:cut] if c.leader.round <= floor]
        start = min(needed, max(below) if below else 1)
        resumed = CommitSequencer.resume(
            committee,
            commits[start - 1 : cut],
            dag,
            last.leader.round,
            gc_depth=depth,
            schedule=parameters,
        )
        assert resumed.commit_count == cut
        assert resumed.gc_round == gc_round_after(last.leader.round, depth)
        assert resumed.advance(dag).commits == tuple(commits[cut:]), f"resumed after {cut}"


@REQ("TWIN-CONSENSUS-115")
def test_resuming_from_too_few_commits_is_refused_with_what_is_needed() -> None:
    notation = _crash_dag()
    committee, dag = notation.committee, notation.dag
    parameters = LeaderScheduleParameters(3)
    commits = CommitSequencer(committee, gc_depth=4, schedule=parameters).advance(dag).commits
    with pytest.raises(LedgerError, match="needs the commits from 7"):
        CommitSequencer.resume(committee, commits[7:9], dag, 99, gc_depth=4, schedule=parameters)
    with pytest.raises(LedgerError, match="at or below 0, not from 7"):
        CommitSequencer.resume(committee, commits[6:9], dag, 99, schedule=parameters)
    with pytest.raises(LedgerError, match="follows commit"):
        CommitSequencer.resume(committee, commits[:2] + commits[3:5], dag, 99, schedule=parameters)
    with pytest.raises(LedgerError, match="last decided round"):
        CommitSequencer.resume(committee, commits[:3], dag, 1, schedule=parameters)
