"""The commit sequence: decided leader slots turned into numbered commits, as a validator does.

:func:`try_commit` decides leader slots; :class:`CommitSequencer` keeps what a validator keeps
between two calls (the last decided round, the commits made, the garbage-collection round,
the leader schedule in force and the reputation scores of the current window) and turns each
committed leader into the sub-DAG of its commit, leaving out the blocks at or below the
garbage-collection round (TWIN-CONSENSUS-108). Every N commits it changes the leader schedule
(TWIN-CONSENSUS-115), as IOTA's ``Core::try_commit`` does. Feeding it the same DAG in any
number of steps gives the same commits.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from twin_spec._blocks import BlockRef
from twin_spec._commit_rule import LeaderDecision, LeaderDecisionKind, linearize, try_commit
from twin_spec._commits import CommittedSubDag
from twin_spec._committee import Committee
from twin_spec._dag import Dag
from twin_spec._errors import LedgerError
from twin_spec._leader_schedule import (
    LeaderSchedule,
    LeaderScheduleParameters,
    VoteTally,
    next_leader_schedule,
)

GC_DEPTH = 50
"""Rounds a validator keeps below the last commit's leader round (TWIN-CONSENSUS-108)."""

_GC = "TWIN-CONSENSUS-108"
_RESUME = "TWIN-CONSENSUS-115"


def gc_round_after(leader_round: int, gc_depth: int = GC_DEPTH) -> int:
    """Return the garbage-collection round once a leader of ``leader_round`` is committed."""
    # TWIN-CONSENSUS-108 "The garbage-collection round MUST be the previous commit's leader
    # round minus the garbage-collection depth, and 0 before the first commit or below 0."
    _check_gc_depth(gc_depth)
    return max(0, leader_round - gc_depth)


def _check_gc_depth(gc_depth: int) -> None:
    """Refuse a garbage-collection depth that is not a positive integer."""
    if isinstance(gc_depth, bool) or not isinstance(gc_depth, int) or gc_depth < 1:
        raise LedgerError(
            f"the garbage-collection depth must be a positive integer, not {gc_depth!r}",
            field="gcDepth",
            requirement=_GC,
        )


@dataclass(frozen=True)
class SequencedOutput:
    """What one :meth:`CommitSequencer.advance` call added.

    ``decisions`` are the slots decided, in round order; ``commits`` the commits made, in index
    order; ``schedules`` the leader schedules brought in meanwhile, in order.
    """

    decisions: tuple[LeaderDecision, ...] = ()
    commits: tuple[CommittedSubDag, ...] = ()
    schedules: tuple[LeaderSchedule, ...] = ()


@dataclass
class _Progress:
    """What a sequencer keeps between calls; copied first, so a fault changes nothing."""

    schedule: LeaderSchedule
    tally: VoteTally
    last_decided_round: int = 0
    commit_count: int = 0
    last_leader_round: int = 0
    committed: set[BlockRef] = field(default_factory=set)

    def copy(self) -> _Progress:
        return _Progress(
            self.schedule,
            self.tally.copy(),
            self.last_decided_round,
            self.commit_count,
            self.last_leader_round,
            set(self.committed),
        )


class CommitSequencer:
    """Turn a growing DAG into the commit sequence, one :meth:`advance` call at a time.

    ``gc_depth`` is the garbage-collection depth (TWIN-CONSENSUS-108) and ``schedule`` the
    leader-schedule parameters (TWIN-CONSENSUS-115); both default to the protocol's values.
    """

    def __init__(
        self,
        committee: Committee,
        *,
        gc_depth: int = GC_DEPTH,
        schedule: LeaderScheduleParameters | None = None,
    ) -> None:
        _check_gc_depth(gc_depth)
        self._committee = committee
        self._gc_depth = gc_depth
        self._parameters = schedule or LeaderScheduleParameters()
        self._progress = _Progress(LeaderSchedule.round_robin(committee), VoteTally(committee))

    @classmethod
    def resume(
        cls,
        committee: Committee,
        commits: Sequence[CommittedSubDag],
        dag: Dag,
        last_decided_round: int,
        *,
        gc_depth: int = GC_DEPTH,
        schedule: LeaderScheduleParameters | None = None,
    ) -> CommitSequencer:
        """A sequencer that goes on after the commits a validator already made (a restart).

        ``commits`` are consecutive and end with the last commit made; they start at index 1,
        or no later than the first commit of the window before the current one (index
        (m - 1) * N + 1 with m = last index // N), on which the schedule in force and the
        current window's scores depend, and no later than a commit whose leader round is at or
        below the garbage-collection round, above which the committed blocks are kept.
        ``dag`` need only answer ``ancestors`` for their blocks.
        ``last_decided_round`` is the round of the last slot decided (at least the last
        commit's leader round). Raises :class:`LedgerError` naming what does not fit.
        """
        sequencer = cls(committee, gc_depth=gc_depth, schedule=schedule)
        per_schedule = sequencer.parameters.commits_per_schedule
        last = commits[-1].index if commits else 0
        first = commits[0].index if commits else 1
        needed = max(1, (last // per_schedule - 1) * per_schedule + 1)
        floor = gc_round_after(commits[-1].leader.round, gc_depth) if commits else 0
        if first > needed or (first > 1 and commits[0].leader.round > floor):
            raise LedgerError(
                f"resuming after commit {last} needs the commits from {needed} and from one whose"
                f" leader round is at or below {floor}, not from {first}",
                requirement=_RESUME,
            )
        progress = sequencer._progress
        for position, commit in enumerate(commits):
            if commit.index != first + position:
                raise LedgerError(
                    f"commit {commit.index} follows commit {first + position - 1}",
                    requirement=_RESUME,
                )
            if commit.leader.round <= progress.last_leader_round and position:
                raise LedgerError(
                    f"commit {commit.index}'s leader round does not rise", requirement=_RESUME
                )
            progress.last_leader_round = commit.leader.round
            if commit.index <= needed - 1:
                continue
            progress.tally.add(dag, commit)
            if commit.index % per_schedule == 0:
                sequencer._change_schedule(progress, commit)
        if last_decided_round < progress.last_leader_round:
            raise LedgerError(
                f"the last decided round {last_decided_round} is below the last commit's leader"
                f" round {progress.last_leader_round}",
                requirement=_RESUME,
            )
        progress.committed = {
            ref for commit in commits for ref in commit.blocks if ref.round > floor
        }
        progress.commit_count = last
        progress.last_decided_round = last_decided_round
        return sequencer

    @property
    def gc_depth(self) -> int:
        """Rounds kept below the last commit's leader round."""
        return self._gc_depth

    @property
    def parameters(self) -> LeaderScheduleParameters:
        """The leader-schedule parameters: commits per schedule and bad-node threshold."""
        return self._parameters

    @property
    def schedule(self) -> LeaderSchedule:
        """The leader schedule in force for the slots after the last decided round."""
        return self._progress.schedule

    @property
    def last_decided_round(self) -> int:
        """The round of the last slot decided (0 before any)."""
        return self._progress.last_decided_round

    @property
    def commit_count(self) -> int:
        """How many commits were made (the index of the last one)."""
        return self._progress.commit_count

    @property
    def gc_round(self) -> int:
        """The garbage-collection round the next commit uses: blocks at or below it are left out."""
        return gc_round_after(self._progress.last_leader_round, self._gc_depth)

    @property
    def committed(self) -> Set[BlockRef]:
        """The blocks committed so far above the garbage-collection round."""
        return frozenset(self._progress.committed)

    def advance(self, dag: Dag) -> SequencedOutput:
        """Decide what ``dag`` now decides after the last decided round, and make its commits.

        Raises :class:`TwoCertifiedBlocksError` (TWIN-CONSENSUS-027) and then changes nothing.
        """
        progress = self._progress.copy()
        decisions: list[LeaderDecision] = []
        commits: list[CommittedSubDag] = []
        schedules: list[LeaderSchedule] = []
        while True:
            decided = try_commit(
                dag, self._committee, progress.last_decided_round, progress.schedule
            )
            for decision in decided:
                decisions.append(decision)
                progress.last_decided_round = decision.round
                commit = self._commit(dag, progress, decision)
                if commit is None:
                    continue
                commits.append(commit)
                if commit.index % self._parameters.commits_per_schedule == 0:
                    schedules.append(self._change_schedule(progress, commit))
                    break  # the slots above are decided again under the new schedule
            else:
                break
        self._progress = progress
        return SequencedOutput(tuple(decisions), tuple(commits), tuple(schedules))

    def _commit(
        self, dag: Dag, progress: _Progress, decision: LeaderDecision
    ) -> CommittedSubDag | None:
        if decision.kind is not LeaderDecisionKind.COMMIT or decision.block is None:
            return None
        gc_round = gc_round_after(progress.last_leader_round, self._gc_depth)
        blocks = linearize(dag, decision.block, progress.committed, gc_round)
        progress.commit_count += 1
        progress.last_leader_round = decision.round
        # Blocks at or below the next garbage-collection round are left out by that round
        # anyway, so the set of committed blocks stays as small as the rounds kept.
        floor = gc_round_after(decision.round, self._gc_depth)
        progress.committed = {ref for ref in progress.committed if ref.round > floor}
        progress.committed.update(ref for ref in blocks if ref.round > floor)
        subdag = CommittedSubDag(progress.commit_count, decision.block, tuple(blocks))
        progress.tally.add(dag, subdag)
        return subdag

    def _change_schedule(self, progress: _Progress, commit: CommittedSubDag) -> LeaderSchedule:
        # TWIN-CONSENSUS-115 "Once commit k*N is made, a validator MUST make a new swap table
        # from the scores over commits (k-1)*N+1 to k*N and use it for every slot above that
        # commit's leader round, deciding again the slots above it decided with the old one."
        progress.schedule = next_leader_schedule(
            self._committee,
            progress.tally.scores,
            commit.index,
            commit.leader.round,
            self._parameters.bad_nodes_stake_threshold,
        )
        progress.tally = VoteTally(self._committee)
        return progress.schedule
