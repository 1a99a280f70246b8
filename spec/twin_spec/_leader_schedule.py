"""The leader schedule: round-robin, then reputation-based swaps derived from the commits made.

A fixed round-robin schedule makes a crashed validator cost a leader timeout every n rounds.
Like IOTA's ``LeaderSchedule`` and ``LeaderSwapTable`` (``consensus/core/src/leader_schedule.rs``,
``leader_scoring.rs``), the schedule changes every N commits: each validator is scored by the
votes it gave to the leaders committed in those N commits, the lowest scorers up to a stake
threshold become bad nodes, as many top scorers good nodes, and a bad node's slot goes to a
good node drawn from the round. Everything is computed from the committed sequence alone, so
every honest validator computes the same table; IOTA's tie-breaks and draws use Rust's
``StdRng``, which no other language reproduces, so TWIN draws from SHA-256 instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from twin_spec._blocks import BlockRef
from twin_spec._commits import CommittedSubDag
from twin_spec._committee import Committee
from twin_spec._dag import Dag
from twin_spec._errors import LedgerError
from twin_spec._jcs import JSONValue
from twin_spec._ledger_json import ledger_fail, read_int, read_object

COMMITS_PER_SCHEDULE = 300
"""N: commits scored by one schedule change, and between two changes (IOTA: 300)."""
BAD_NODES_STAKE_THRESHOLD = 33
"""P: the stake, in percent of the total, that the bad nodes (and the good nodes) stay within."""
MAX_BAD_NODES_STAKE_THRESHOLD = 33
"""IOTA's bound on P: a protocol setting in [0, 33]."""
TIE_BREAK_DOMAIN = b"TWIN-LEADER-SCHEDULE/v1/tie-break"
"""Hashed with a commit index and a validator index to order validators of equal score."""
SWAP_DOMAIN = b"TWIN-LEADER-SCHEDULE/v1/swap"
"""Hashed with a round to draw the good node that takes a bad node's slot."""

_PARAMETERS = "TWIN-CONSENSUS-115"
_MEMBERS = ("commitsPerSchedule", "badNodesStakeThreshold")


@dataclass(frozen=True)
class LeaderScheduleParameters:
    """N, the commits per schedule, and P, the bad-node stake threshold in percent.

    Both are protocol parameters of this spec (300 and 33); tests, vectors and
    POST /consensus/evaluate may choose others, such as a small N.
    """

    commits_per_schedule: int = COMMITS_PER_SCHEDULE
    bad_nodes_stake_threshold: int = BAD_NODES_STAKE_THRESHOLD

    def __post_init__(self) -> None:
        _check_parameter("commitsPerSchedule", self.commits_per_schedule, 1, 2**53 - 1)
        _check_threshold(self.bad_nodes_stake_threshold)

    @classmethod
    def from_json(cls, value: object) -> LeaderScheduleParameters:
        """Read ``{"commitsPerSchedule", "badNodesStakeThreshold"}`` (both optional)."""
        body = read_object(value, "leaderSchedule", ledger_fail, _PARAMETERS, (), _MEMBERS)
        commits, threshold = (
            read_int(body.get(name, default), f"leaderSchedule.{name}", ledger_fail, _PARAMETERS)
            for name, default in zip(
                _MEMBERS, (COMMITS_PER_SCHEDULE, BAD_NODES_STAKE_THRESHOLD), strict=True
            )
        )
        return cls(commits, threshold)

    def to_json(self) -> dict[str, JSONValue]:
        """The parameters as JSON, as vectors and POST /consensus/evaluate carry them."""
        return {
            "commitsPerSchedule": self.commits_per_schedule,
            "badNodesStakeThreshold": self.bad_nodes_stake_threshold,
        }


def _check_parameter(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LedgerError(
            f"leaderSchedule.{name} must be an integer from {low} to {high}, not {value!r}",
            field=f"leaderSchedule.{name}",
            requirement=_PARAMETERS,
        )


def _check_threshold(threshold: int) -> None:
    _check_parameter("badNodesStakeThreshold", threshold, 0, MAX_BAD_NODES_STAKE_THRESHOLD)


@dataclass(frozen=True)
class LeaderSchedule:
    """The leader swap table in force: which validators are swapped out, and for whom.

    ``after_commit`` is the commit whose making brought it in (0 for the initial round-robin
    schedule); it applies to every slot above ``from_round - 1``, the leader round of that
    commit. ``scores`` are the reputation scores it was made from, ``good`` the good nodes
    (best first) and ``bad`` the bad nodes (worst first).
    """

    size: int
    after_commit: int = 0
    from_round: int = 1
    scores: tuple[int, ...] = ()
    good: tuple[int, ...] = ()
    bad: tuple[int, ...] = ()
    _bad_set: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bad_set", frozenset(self.bad))

    @classmethod
    def round_robin(cls, committee: Committee) -> LeaderSchedule:
        """The schedule before the first change: no swaps, the leader of r is r mod n."""
        return cls(committee.size)

    def leader_of(self, round_: int) -> int:
        """Return the leader of ``round_`` under this table (round 0 has none)."""
        # TWIN-CONSENSUS-020 "The leader of round r >= 1 MUST be the validator of index r mod n
        # unless the leader swap table in force swaps it; round 0 has no leader slot."
        if round_ < 1:
            raise LedgerError(
                f"round {round_} has no leader slot", requirement="TWIN-CONSENSUS-020"
            )
        leader = round_ % self.size
        # TWIN-CONSENSUS-117 "A slot whose round-robin leader is a bad node of the table in
        # force MUST go to the good node at position SHA-256(swap domain || round) mod the
        # number of good nodes; a table without good nodes swaps nothing."
        if leader in self._bad_set and self.good:
            return self.good[swap_draw(round_) % len(self.good)]
        return leader

    def to_json(self) -> dict[str, JSONValue]:
        """The table as vectors and POST /consensus/evaluate show it."""
        return {
            "afterCommit": self.after_commit,
            "fromRound": self.from_round,
            "scores": list(self.scores),
            "goodNodes": list(self.good),
            "badNodes": list(self.bad),
        }


def swap_draw(round_: int) -> int:
    """Return SHA-256(SWAP_DOMAIN || round as 8 bytes big-endian) read as a big-endian integer."""
    return int.from_bytes(hashlib.sha256(SWAP_DOMAIN + _u64(round_)).digest(), "big")


def tie_break_key(commit_index: int, validator: int) -> bytes:
    """Return SHA-256(TIE_BREAK_DOMAIN || commit index (8 bytes) || validator (4 bytes))."""
    return hashlib.sha256(TIE_BREAK_DOMAIN + _u64(commit_index) + _u32(validator)).digest()


def _u64(value: int) -> bytes:
    if not 0 <= value < 2**64:
        raise LedgerError(f"{value} does not fit in 8 bytes", requirement="TWIN-CONSENSUS-116")
    return value.to_bytes(8, "big")


def _u32(value: int) -> bytes:
    if not 0 <= value < 2**32:
        raise LedgerError(f"{value} does not fit in 4 bytes", requirement="TWIN-CONSENSUS-116")
    return value.to_bytes(4, "big")


class VoteTally:
    """Reputation scores of one window, added up commit by commit (IOTA's vote scoring).

    A commit's blocks are read when it is added, so a validator that forgets old blocks can
    tally as it commits: a vote is always committed after the leader it votes for.
    """

    def __init__(self, committee: Committee) -> None:
        self._size = committee.size
        self._leaders: set[BlockRef] = set()
        self._votes: set[tuple[int, BlockRef]] = set()
        self._scores = [0] * committee.size

    @property
    def scores(self) -> tuple[int, ...]:
        """The score of each validator, by index, over the commits added so far."""
        return tuple(self._scores)

    def copy(self) -> VoteTally:
        """An independent tally holding the same counts."""
        twin = VoteTally.__new__(VoteTally)
        twin._size = self._size
        twin._leaders = set(self._leaders)
        twin._votes = set(self._votes)
        twin._scores = list(self._scores)
        return twin

    def add(self, dag: Dag, subdag: CommittedSubDag) -> None:
        """Count the votes in one commit's blocks for the window's leaders (its own included)."""
        # TWIN-CONSENSUS-114 "A validator's reputation score over a window MUST be the number of
        # the window's committed leaders for which a block of that validator in the window's
        # commits is a vote, each validator counted once per leader."
        self._leaders.add(subdag.leader)
        for ref in subdag.blocks:
            if ref.author >= self._size:
                raise LedgerError(
                    f"block {ref.to_json()} is by no validator of the committee",
                    requirement="TWIN-CONSENSUS-114",
                )
            for ancestor in dag.ancestors(ref):
                vote = (ref.author, ancestor)
                if (
                    ancestor.round == ref.round - 1
                    and ancestor in self._leaders
                    and vote not in self._votes
                ):
                    self._votes.add(vote)
                    self._scores[ref.author] += 1


def reputation_scores(
    dag: Dag, committee: Committee, window: Iterable[CommittedSubDag]
) -> tuple[int, ...]:
    """Return each validator's reputation score over ``window``, consecutive commits in order."""
    tally = VoteTally(committee)
    for subdag in window:
        tally.add(dag, subdag)
    return tally.scores


def next_leader_schedule(
    committee: Committee,
    scores: Sequence[int],
    commit_index: int,
    leader_round: int,
    bad_nodes_stake_threshold: int = BAD_NODES_STAKE_THRESHOLD,
) -> LeaderSchedule:
    """Return the swap table made from ``scores`` once commit ``commit_index`` is made.

    ``leader_round`` is that commit's leader round: the table applies to the slots above it.
    """
    _check_threshold(bad_nodes_stake_threshold)
    if len(scores) != committee.size:
        raise LedgerError(
            f"{len(scores)} scores for a committee of {committee.size}",
            requirement="TWIN-CONSENSUS-116",
        )
    # TWIN-CONSENSUS-116 "Validators MUST be ordered by score, highest first, ties broken by
    # ascending SHA-256(tie-break domain || commit index || validator index); the good nodes are
    # the longest prefix of that order whose stake is at most P percent of the total, the bad
    # nodes the longest such prefix of the reverse order."
    order = sorted(
        range(committee.size), key=lambda v: (-scores[v], tie_break_key(commit_index, v))
    )
    limit = bad_nodes_stake_threshold * committee.total_stake // 100
    good = _within(committee, order, limit)
    bad = _within(committee, list(reversed(order)), limit)
    return LeaderSchedule(
        committee.size, commit_index, leader_round + 1, tuple(scores), tuple(good), tuple(bad)
    )


def _within(committee: Committee, ordered: Sequence[int], limit: int) -> list[int]:
    """The longest prefix of ``ordered`` whose stake, added up, is at most ``limit``."""
    taken: list[int] = []
    stake = 0
    for validator in ordered:
        stake += committee.validators[validator].stake
        if stake > limit:
            break
        taken.append(validator)
    return taken
