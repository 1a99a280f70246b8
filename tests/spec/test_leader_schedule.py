"""The reputation-based leader schedule: scores, swap tables, draws, and schedule changes."""

from __future__ import annotations

import hashlib

import pytest

from twin_spec import (
    BAD_NODES_STAKE_THRESHOLD,
    COMMITS_PER_SCHEDULE,
    CommitSequencer,
    CommittedSubDag,
    LeaderDecision,
    LeaderDecisionKind,
    LeaderSchedule,
    LeaderScheduleParameters,
    LedgerError,
    VoteTally,
    decide_leader_slot,
    leader_of,
    next_leader_schedule,
    reputation_scores,
    swap_draw,
    tie_break_key,
    try_commit,
)
from twin_vectors.commit_rule_cases import SCHEDULE_CASES, ScheduleCase
from twin_vectors.dag_notation import LETTERS, NotationDag, make_committee, parse_dag

REQ = pytest.mark.requirement


def _letters(indices: tuple[int, ...]) -> str:
    return " ".join(LETTERS[index] for index in indices)


def _describe(notation: NotationDag, decision: LeaderDecision) -> str:
    assert decision.kind is not LeaderDecisionKind.UNDECIDED
    if decision.block is not None:
        text = f"commit {notation.name_of(decision.block)}"
    else:
        text = f"skip {LETTERS[decision.leader]}"
    return text if decision.direct else f"{text} indirect"


@REQ("TWIN-CONSENSUS-115")
def test_the_parameters_are_the_protocols_unless_given_and_are_checked() -> None:
    assert (COMMITS_PER_SCHEDULE, BAD_NODES_STAKE_THRESHOLD) == (300, 33)
    default = LeaderScheduleParameters()
    assert default.to_json() == {"commitsPerSchedule": 300, "badNodesStakeThreshold": 33}
    assert LeaderScheduleParameters.from_json({}) == default
    assert LeaderScheduleParameters.from_json({"commitsPerSchedule": 3}).commits_per_schedule == 3
    for value, field in [
        ({"commitsPerSchedule": 0}, "leaderSchedule.commitsPerSchedule"),
        ({"commitsPerSchedule": True}, "leaderSchedule.commitsPerSchedule"),
        ({"badNodesStakeThreshold": 34}, "leaderSchedule.badNodesStakeThreshold"),
        ({"badNodesStakeThreshold": -1}, "leaderSchedule.badNodesStakeThreshold"),
        ({"badNodesStakeThreshold": 2.5}, "leaderSchedule.badNodesStakeThreshold"),
        ({"other": 1}, "leaderSchedule.other"),
        ([], "leaderSchedule"),
    ]:
        with pytest.raises(LedgerError) as caught:
            LeaderScheduleParameters.from_json(value)
        assert (caught.value.field, caught.value.requirement) == (field, "TWIN-CONSENSUS-115")


@REQ("TWIN-CONSENSUS-116", "TWIN-CONSENSUS-117")
def test_the_draws_are_sha256_of_a_domain_and_big_endian_integers() -> None:
    tie = hashlib.sha256(
        b"TWIN-LEADER-SCHEDULE/v1/tie-break" + (3).to_bytes(8, "big") + (2).to_bytes(4, "big")
    ).digest()
    assert tie_break_key(3, 2) == tie
    assert tie.hex().startswith("f15e3b9a")
    swap = hashlib.sha256(b"TWIN-LEADER-SCHEDULE/v1/swap" + (19).to_bytes(8, "big")).digest()
    assert swap_draw(19) == int.from_bytes(swap, "big")
    assert (swap_draw(19) % 2, swap_draw(5) % 2) == (1, 0)
    with pytest.raises(LedgerError, match="does not fit"):
        tie_break_key(2**64, 0)


@REQ("TWIN-CONSENSUS-116")
def test_the_table_orders_by_score_then_tie_key_and_bounds_both_ends_by_stake() -> None:
    four = make_committee([1, 1, 1, 1])
    table = next_leader_schedule(four, [2, 2, 2, 0], 3, 4)
    # Keys of commit 3: A 893016c4 < B c694a206 < C f15e3b9a, so A is the best of equals.
    assert (table.good, table.bad, table.after_commit, table.from_round) == ((0,), (3,), 3, 5)
    assert table.to_json() == {
        "afterCommit": 3,
        "fromRound": 5,
        "scores": [2, 2, 2, 0],
        "goodNodes": [0],
        "badNodes": [3],
    }
    # 33 percent of 4 is stake 1 (integer division); 20 percent (IOTA's setting) is stake 0.
    assert next_leader_schedule(four, [2, 2, 2, 0], 3, 4, 20).good == ()
    assert next_leader_schedule(four, [2, 2, 2, 0], 3, 4, 0).bad == ()
    seven = make_committee([1] * 7)
    wide = next_leader_schedule(seven, [1, 1, 1, 2, 1, 0, 0], 3, 3)
    assert (wide.good, wide.bad) == ((3, 4), (5, 6))
    # The stake adds up: validator A alone holds 5 of 10, above 33 percent, so no good node.
    heavy = make_committee([5, 1, 1, 1, 2])
    table = next_leader_schedule(heavy, [9, 1, 1, 0, 0], 3, 4)
    # Order A (9), B C (1; keys c694a206 < f15e3b9a), E D (0; keys 590e1515 < f0c6b26d); the
    # bad nodes from the end: D (1), E (2) make 3 = 33 * 10 // 100, and C would pass it.
    assert (table.good, table.bad) == ((), (3, 4))
    with pytest.raises(LedgerError, match="3 scores for a committee of 4"):
        next_leader_schedule(four, [1, 2, 3], 3, 4)


@REQ("TWIN-CONSENSUS-020", "TWIN-CONSENSUS-117")
def test_a_bad_nodes_slot_goes_to_the_drawn_good_node_and_no_other_slot_moves() -> None:
    seven = make_committee([1] * 7)
    table = LeaderSchedule(7, 18, 19, (1, 1, 1, 1, 2, 0, 0), (4, 1), (6, 5))
    assert [table.leader_of(r) for r in range(14, 22)] == [0, 1, 2, 3, 4, 1, 1, 0]
    assert [table.leader_of(r) for r in (5, 6, 12, 13)] == [4, 4, 4, 4]  # draw 0: E
    assert leader_of(19, seven, table) == 1
    assert leader_of(19, seven) == 5
    without_good = LeaderSchedule(7, 18, 19, (0,) * 7, (), (5, 6))
    assert without_good.leader_of(19) == 5
    with pytest.raises(LedgerError, match="round 0 has no leader slot"):
        table.leader_of(0)
    with pytest.raises(LedgerError, match="a leader schedule of 7 validators"):
        leader_of(3, make_committee([1] * 4), table)


def _subdags(notation: NotationDag, commits: list[str]) -> list[CommittedSubDag]:
    found = []
    for index, text in enumerate(commits, start=1):
        names = text.split()
        refs = tuple(notation.refs[name] for name in names)
        found.append(CommittedSubDag(index, refs[-1], refs))
    return found


@REQ("TWIN-CONSENSUS-114")
def test_a_score_counts_votes_in_the_window_once_per_validator_and_leader() -> None:
    notation = parse_dag(
        "committee: 4\nr1: A B C D\nr2: A B C D A'<-[A B C D]\nr3: A B C D\nr4: A B C D"
    )
    committee, dag = notation.committee, notation.dag
    window = _subdags(notation, ["B1", "A1 C1 D1 A2 A2' B2 D2 C2", "B2' C3"][:2])
    # B1 is voted for by A2 and A2' (A once), B2, C2 and D2; C2's voters are not in the window.
    assert reputation_scores(dag, committee, window) == (1, 1, 1, 1)
    one = _subdags(notation, ["B1"])
    assert reputation_scores(dag, committee, one) == (0, 0, 0, 0)
    # A3 and C3 vote for C2, the leader a round below them; B1 is only in their history.
    later = [
        *window,
        CommittedSubDag(3, notation.refs["C3"], tuple(notation.refs[n] for n in ("A3", "C3"))),
    ]
    assert reputation_scores(dag, committee, later) == (2, 1, 2, 1)


@REQ("TWIN-CONSENSUS-114")
def test_a_tally_added_commit_by_commit_equals_the_windows_scores() -> None:
    (case, *_) = SCHEDULE_CASES
    notation = parse_dag(case.text)
    output = CommitSequencer(notation.committee).advance(notation.dag)
    tally = VoteTally(notation.committee)
    for commit in output.commits[:6]:
        tally.add(notation.dag, commit)
    copy = tally.copy()
    assert tally.scores == reputation_scores(notation.dag, notation.committee, output.commits[:6])
    tally.add(notation.dag, output.commits[6])
    assert copy.scores != tally.scores  # the copy does not follow


def _check_schedule_case(case: ScheduleCase) -> None:
    notation = parse_dag(case.text)
    parameters = LeaderScheduleParameters(case.commits_per_schedule, case.bad_nodes_stake_threshold)
    sequencer = CommitSequencer(notation.committee, schedule=parameters)
    output = sequencer.advance(notation.dag)
    described = {d.round: _describe(notation, d) for d in output.decisions}
    assert described == dict(case.decisions)
    assert [d.round for d in output.decisions] == sorted(case.decisions)
    changes = [
        (
            table.after_commit,
            " ".join(f"{LETTERS[v]}{score}" for v, score in enumerate(table.scores)),
            _letters(table.good),
            _letters(table.bad),
        )
        for table in output.schedules
    ]
    assert changes == list(case.schedules)
    assert sequencer.schedule == output.schedules[-1]
    for table in output.schedules:
        commit = output.commits[table.after_commit - 1]
        assert table.from_round == commit.leader.round + 1
    # Fed a round at a time, a sequencer makes the same commits and the same tables.
    lines = case.text.strip().splitlines()
    growing = parse_dag("\n".join(lines[:2]))
    stepwise = CommitSequencer(growing.committee, schedule=parameters)
    made = list(stepwise.advance(growing.dag).commits)
    tables: list[LeaderSchedule] = []
    for line in lines[2:]:
        growing.extend(line)
        step = stepwise.advance(growing.dag)
        made += step.commits
        tables += step.schedules
    assert made == list(output.commits)
    assert tables == list(output.schedules)


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=case.name, marks=REQ(*case.requirements)) for case in SCHEDULE_CASES],
)
def test_schedule_case(case: ScheduleCase) -> None:
    _check_schedule_case(case)


@REQ("TWIN-CONSENSUS-115", "TWIN-CONSENSUS-117")
def test_slots_decided_under_the_old_table_are_decided_again_under_the_new() -> None:
    (case, *_) = SCHEDULE_CASES
    notation = parse_dag(case.text)
    committee, dag = notation.committee, notation.dag
    # Round-robin decides D's slot 7 as a skip in the same run that commits A4.
    plain = {d.round: d for d in try_commit(dag, committee, 0)}
    assert (plain[7].leader, plain[7].kind) == (3, LeaderDecisionKind.SKIP)
    parameters = LeaderScheduleParameters(3)
    output = CommitSequencer(committee, schedule=parameters).advance(dag)
    seven = next(d for d in output.decisions if d.round == 7)
    assert (seven.leader, seven.kind) == (0, LeaderDecisionKind.COMMIT)
    table = output.schedules[0]
    assert decide_leader_slot(dag, committee, 7, (), table).leader == 0
    # Without a schedule change (the protocol's 300 commits) nothing is swapped.
    protocol = CommitSequencer(committee).advance(dag)
    assert protocol.schedules == ()
    assert [d for d in protocol.decisions] == try_commit(dag, committee, 0)


@REQ("TWIN-CONSENSUS-115")
def test_every_commit_is_a_change_with_one_commit_per_schedule() -> None:
    text = "committee: 1\n" + "".join(f"r{r}: A\n" for r in range(1, 8))
    notation = parse_dag(text)
    output = CommitSequencer(notation.committee, schedule=LeaderScheduleParameters(1)).advance(
        notation.dag
    )
    assert [table.after_commit for table in output.schedules] == [1, 2, 3, 4, 5]
    assert all(table.good == () and table.bad == () for table in output.schedules)
    assert [commit.index for commit in output.commits] == [1, 2, 3, 4, 5]
