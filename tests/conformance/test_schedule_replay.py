"""The harness's replay of the leader schedule: it passes the spec's commits, names a departure."""

from __future__ import annotations

import dataclasses

import pytest

from twin_conformance._schedule_replay import first_leader_mismatch
from twin_spec import CommitSequencer, LeaderScheduleParameters
from twin_vectors.dag_notation import NotationDag, parse_dag

PER_SCHEDULE = 3


def crashed_d() -> NotationDag:
    """Four validators; D stops after round 10, so each change swaps its slots away."""
    return parse_dag(
        "committee: 4\n" + "".join(f"r{r}: A B C{' D' if r <= 10 else ''}\n" for r in range(1, 41))
    )


@pytest.mark.requirement("TWIN-CONSENSUS-115", "TWIN-CONSENSUS-117", "TWIN-CONSENSUS-020")
def test_the_spec_sequencers_commits_pass_and_round_robin_ones_fail_at_the_first_swap() -> None:
    notation = crashed_d()
    committee, dag = notation.committee, notation.dag
    everything = range(100)
    spec = CommitSequencer(committee, schedule=LeaderScheduleParameters(PER_SCHEDULE))
    output = spec.advance(dag)
    assert any(3 in table.bad for table in output.schedules)
    commits = list(output.commits)
    replayed = first_leader_mismatch(commits, committee, dag, everything, per_schedule=PER_SCHEDULE)
    assert replayed is None
    # A node that never changes its schedule: its commits differ from the first slot of D
    # that a swap table gave to a good node.
    stuck = CommitSequencer(committee, schedule=LeaderScheduleParameters(10_000)).advance(dag)
    mismatch = first_leader_mismatch(
        list(stuck.commits), committee, dag, everything, per_schedule=PER_SCHEDULE
    )
    assert mismatch is not None
    assert mismatch.requirement == "TWIN-CONSENSUS-117"
    assert mismatch.after_commit % PER_SCHEDULE == 0
    assert mismatch.after_commit > 0
    assert f"commit {mismatch.index}" in mismatch.describe()
    # A wrong leader before the first change breaks round-robin itself.
    first = commits[0]
    wrong = dataclasses.replace(
        first, leader=dataclasses.replace(first.leader, author=(first.leader.author + 1) % 4)
    )
    early = first_leader_mismatch(
        [wrong, *commits[1:]], committee, dag, everything, per_schedule=PER_SCHEDULE
    )
    assert early is not None
    assert (early.index, early.requirement) == (1, "TWIN-CONSENSUS-020")


def test_windows_not_scored_leave_the_next_windows_leaders_unjudged() -> None:
    notation = crashed_d()
    committee, dag = notation.committee, notation.dag
    stuck = CommitSequencer(committee, schedule=LeaderScheduleParameters(10_000)).advance(dag)
    commits = list(stuck.commits)
    assert len(commits) >= 4 * PER_SCHEDULE
    # Scoring no window judges only the first window, which round-robin governs.
    assert first_leader_mismatch(commits, committee, dag, (), per_schedule=PER_SCHEDULE) is None
