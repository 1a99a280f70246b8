"""The leader-schedule vectors: swap tables made from scores, and the leaders they give.

``consensus/leader-schedule`` (offline): a committee, the reputation scores of a window, the
commit after which the table comes in, that commit's leader round and the bad-node stake
threshold; the swap table (good and bad nodes, TWIN-CONSENSUS-116) and the leader of each
round listed (TWIN-CONSENSUS-117). The scores themselves, and the schedule changes of a
running committee, are in the commit-rule vectors that set ``leaderSchedule``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from twin_spec import Committee, JSONValue, next_leader_schedule
from twin_vectors._format import Family, Vector, with_expected
from twin_vectors.consensus import PROFILE, committee_input
from twin_vectors.dag_notation import make_committee

LEADER_SCHEDULE = "leader-schedule"
_TABLE = ("TWIN-CONSENSUS-116", "TWIN-CONSENSUS-117", "TWIN-CONSENSUS-020")


def leader_schedule_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The swap table and the leaders of the listed rounds, computed by the spec core."""
    committee = Committee.from_json(input_["committee"])
    table = next_leader_schedule(
        committee,
        input_["scores"],
        input_["commitIndex"],
        input_["leaderRound"],
        input_["badNodesStakeThreshold"],
    )
    leaders: list[JSONValue] = [[round_, table.leader_of(round_)] for round_ in input_["rounds"]]
    return {"result": "valid", "schedule": table.to_json(), "leaders": leaders}


def _case(
    name: str,
    description: str,
    stakes: Sequence[int],
    scores: Sequence[int],
    commit_index: int,
    threshold: int,
    rounds: Sequence[int],
) -> tuple[str, str, tuple[str, ...], dict[str, Any]]:
    inputs: dict[str, Any] = {
        **committee_input(make_committee(list(stakes))),
        "scores": list(scores),
        "commitIndex": commit_index,
        "leaderRound": commit_index + 1,
        "badNodesStakeThreshold": threshold,
        "rounds": list(rounds),
    }
    return name, description, _TABLE, inputs


def leader_schedule_vectors() -> list[Vector]:
    """One vector per table: ties, thresholds, unequal stakes, the draw between good nodes."""
    cases = [
        _case(
            "four-equal-scores-tie-broken-by-hash",
            "A B C tie at 2; tie-break keys of commit 3 order them A B C: good A, bad D",
            [1, 1, 1, 1],
            [2, 2, 2, 0],
            3,
            33,
            range(5, 13),
        ),
        _case(
            "four-at-20-percent-swaps-nothing",
            "IOTA's protocol setting of 20 percent allows stake 0 of 4: no good or bad node",
            [1, 1, 1, 1],
            [2, 2, 2, 0],
            3,
            20,
            range(5, 13),
        ),
        _case(
            "threshold-0-swaps-nothing",
            "a threshold of 0 percent makes no good or bad node",
            [1, 2, 3],
            [0, 5, 9],
            300,
            0,
            range(301, 307),
        ),
        _case(
            "seven-two-good-two-bad",
            "33 percent of 7 is stake 2: good D E, bad F G; rounds 19 and 20 draw the second",
            [1] * 7,
            [1, 1, 1, 2, 1, 0, 0],
            3,
            33,
            [5, 6, 7, 12, 13, 19, 20, 26, 27, 33, 34],
        ),
        _case(
            "heavy-best-validator-means-no-good-node",
            "the best validator alone holds 5 of 10, above 33 percent: nothing is swapped",
            [5, 1, 1, 1, 2],
            [9, 1, 1, 0, 0],
            3,
            33,
            range(4, 12),
        ),
        _case(
            "unequal-stakes-bound-the-bad-nodes",
            "stakes 3 1 2 1 2 1: 33 percent of 10 is 3; the worst two carry 3, a third would pass",
            [3, 1, 2, 1, 2, 1],
            [5, 4, 3, 0, 0, 1],
            600,
            33,
            range(601, 613),
        ),
        _case(
            "ten-all-equal-scores",
            "ten equal scores: the tie-break keys of commit 900 alone order them",
            [1] * 10,
            [7] * 10,
            900,
            33,
            range(901, 921),
        ),
    ]
    return with_expected(f"{PROFILE}/{LEADER_SCHEDULE}", leader_schedule_oracle, cases)


FAMILIES = [
    Family(
        PROFILE,
        LEADER_SCHEDULE,
        False,
        leader_schedule_vectors,
        leader_schedule_oracle,
        "a committee, a window's reputation scores, the commit and threshold: the swap table "
        "and the leaders of some rounds",
    ),
]
