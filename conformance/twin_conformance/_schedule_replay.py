"""The leader each committed slot must have, replayed from a commit sequence with the spec core.

A node's leader schedule is round-robin up to commit N, then, every N commits, the swap table
made from the reputation scores over the N commits before (TWIN-CONSENSUS-115 to 117). The
harness replays it from the commits a node serves; scoring a window needs the ancestors of its
blocks, which the caller fetches (``ancestors``), so only the windows in ``scored`` are scored
and the leaders of a window whose previous window was not scored are not judged.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass

from twin_spec import (
    BAD_NODES_STAKE_THRESHOLD,
    COMMITS_PER_SCHEDULE,
    CommittedSubDag,
    Committee,
    Dag,
    LeaderSchedule,
    VoteTally,
    next_leader_schedule,
)


@dataclass(frozen=True)
class LeaderMismatch:
    """A committed leader that is not the one the schedule in force names."""

    index: int
    round: int
    author: int
    expected: int
    after_commit: int
    """The commit whose making brought the schedule in force in (0: round-robin)."""

    @property
    def requirement(self) -> str:
        """The rule broken: round-robin's (020) before the first change, the swap's (117) after."""
        return "TWIN-CONSENSUS-020" if self.after_commit == 0 else "TWIN-CONSENSUS-117"

    def describe(self) -> str:
        """The mismatch in words, for a failure message."""
        return (
            f"commit {self.index} commits a leader of round {self.round} by validator "
            f"{self.author}; the leader schedule in force (after commit {self.after_commit}) "
            f"names validator {self.expected}"
        )


def first_leader_mismatch(
    commits: Sequence[CommittedSubDag],
    committee: Committee,
    ancestors: Dag,
    scored: Container[int],
    *,
    per_schedule: int = COMMITS_PER_SCHEDULE,
    bad_nodes_stake_threshold: int = BAD_NODES_STAKE_THRESHOLD,
) -> LeaderMismatch | None:
    """Return the first committed leader the schedule does not name, or None.

    ``commits`` run from index 1; ``scored`` holds the windows (0 for commits 1..N) whose scores
    are computed, reading ``ancestors.ancestors(ref)`` for each of their blocks.
    """
    schedule: LeaderSchedule | None = LeaderSchedule.round_robin(committee)
    tally = VoteTally(committee)
    for position, commit in enumerate(commits):
        window = position // per_schedule
        leader = commit.leader
        if schedule is not None:
            expected = schedule.leader_of(leader.round)
            if leader.author != expected:
                return LeaderMismatch(
                    commit.index, leader.round, leader.author, expected, schedule.after_commit
                )
        if window in scored:
            tally.add(ancestors, commit)
        if (position + 1) % per_schedule == 0:
            schedule = (
                next_leader_schedule(
                    committee, tally.scores, commit.index, leader.round, bad_nodes_stake_threshold
                )
                if window in scored
                else None
            )
            tally = VoteTally(committee)
    return None
