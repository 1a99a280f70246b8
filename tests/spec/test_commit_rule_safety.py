"""Safety of the commit rule, as a property: validators that see one DAG agree on its commits.

Hypothesis builds random committees (1 to 10 validators, unequal stakes) and random DAGs in the
notation of ``twin_vectors.dag_notation``: honest validators that are sometimes absent, name a
random quorum of the round below and sometimes an older block, or send a block late (after the
next round); equivocators, up to f by stake, that sign zero, one or two blocks a round with
any ancestors the receive rules allow. Several simulated validators then receive the blocks in
different orders (a few blocks last, some never, or all shuffled) and run the commit sequence
at different points, with a drawn garbage-collection depth and leader schedule (a change every
1, 2, 3 or 300 commits, a bad-node threshold of 33, 20 or 0 percent).

Every validator's commits must be a prefix of every other's (TWIN-CONSENSUS-113), what it
outputs must never change (the commits and schedule changes it output step by step are those a
fresh run over its final DAG makes), and no slot may hold two certified blocks while the faulty
stake is at most f (TWIN-CONSENSUS-027). A failure prints the DAG in the notation, ready to
become a case in ``twin_vectors.commit_rule_cases``.

CI (the derandomized default profile) checks 500 DAGs; ``HYPOTHESIS_PROFILE=explore`` checks
20,000 random ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from twin_spec import (
    BAD_NODES_STAKE_THRESHOLD,
    COMMITS_PER_SCHEDULE,
    GC_DEPTH,
    BlockRef,
    CommitSequencer,
    CommittedSubDag,
    Dag,
    LeaderDecision,
    LeaderSchedule,
    LeaderScheduleParameters,
)
from twin_vectors.dag_notation import LETTERS, NotationDag, parse_dag

SAFETY_EXAMPLES = 20_000 if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else 500
"""DAGs checked: 500 in CI, 20,000 with the explore profile."""


@dataclass(frozen=True)
class Delivery:
    """How one simulated validator receives the DAG's blocks and when it runs the sequencer."""

    order: tuple[int, ...]
    """Positions (in the notation's order) of the blocks it receives, in the order received."""
    every: int
    """It runs the sequencer after every ``every`` blocks received, and at the end."""


@dataclass(frozen=True)
class Scenario:
    """A DAG in the notation, its faulty validators, the deliveries, the sequencer's settings."""

    text: str
    faulty: frozenset[int]
    deliveries: tuple[Delivery, ...]
    gc_depth: int
    schedule: LeaderScheduleParameters


def _name(author: int, round_: int, copy: int, below: int) -> str:
    """An ancestor entry: ``B`` or ``B'`` for round ``below``, ``B3`` for an older round."""
    primes = "'" * copy
    if round_ == below:
        return f"{LETTERS[author]}{primes}"
    return f"{LETTERS[author]}{round_}{primes}"


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A committee, a DAG its validators could have built, and several ways of receiving it."""
    size = draw(st.integers(1, 10))
    stakes = draw(st.lists(st.integers(1, 5), min_size=size, max_size=size))
    total = sum(stakes)
    quorum, tolerated = 2 * total // 3 + 1, (total - 1) // 3
    faulty: set[int] = set()
    for author in range(size):
        if draw(st.booleans()) and sum(stakes[a] for a in faulty) + stakes[author] <= tolerated:
            faulty.add(author)
    # copies[(round, author)]: how many blocks the author has at that round, already written.
    copies: dict[tuple[int, int], int] = {(0, author): 1 for author in range(size)}
    late: dict[int, str] = {}
    lines = [f"stakes: {' '.join(map(str, stakes))}"]
    honest = [author for author in range(size) if author not in faulty]
    for round_ in range(1, draw(st.integers(4, 10)) + 1):
        # Honest validators are absent, or late, only while those left carry a quorum, as a
        # committee with at most f faulty stake keeps going (rare events take the highest
        # value of a draw: Hypothesis favours low ones).
        able = [author for author in honest if author not in late]
        present = sum(stakes[author] for author in able)
        absent: set[int] = set()
        for author in able:
            if draw(st.integers(0, 7)) == 7 and present - stakes[author] >= quorum:
                absent.add(author)
                present -= stakes[author]
        written: list[str] = []
        held_back: dict[int, str] = {}
        for author in range(size):
            if author in late or author in absent:
                continue  # a late validator sits the round after its late block out
            count = draw(st.sampled_from([2, 1, 0])) if author in faulty else 1
            first_named: set[int] = set()
            for copy in range(count):
                entry = _block(
                    draw, author, round_, copy, stakes, quorum, copies, faulty, first_named
                )
                if entry is None:
                    break
                copies[(round_, author)] = copy + 1
                if (
                    author not in faulty
                    and round_ > 1
                    and present - stakes[author] >= quorum
                    and draw(st.integers(0, 5)) == 5
                ):
                    held_back[author] = entry
                    present -= stakes[author]
                    del copies[(round_, author)]
                else:
                    written.append(entry)
        lines.append(f"r{round_}: {' '.join(written)}")
        lines.extend(f"r{round_ - 1}: {entry}" for entry in late.values())
        for author in late:
            copies[(round_ - 1, author)] = 1
        late = held_back
    text = "\n".join(lines)
    blocks = len(parse_dag(text).blocks)
    deliveries = [Delivery(tuple(range(blocks)), draw(st.integers(1, 12)))]
    for _ in range(draw(st.integers(1, 3))):
        # A few blocks reach this validator last, and some of those never do; the rest arrive
        # in the order they were made. (A shuffled order would delay most blocks a little,
        # which rarely shows what one missing block changes.)
        positions = st.integers(0, blocks - 1)
        delayed = draw(st.lists(positions, unique=True, max_size=min(6, blocks)))
        kept = len(delayed) - draw(st.integers(0, len(delayed)))
        order = [position for position in range(blocks) if position not in delayed]
        deliveries.append(Delivery((*order, *delayed[:kept]), draw(st.integers(1, 12))))
    if draw(st.booleans()):
        order = draw(st.permutations(range(blocks)))
        deliveries.append(Delivery(tuple(order), draw(st.integers(1, 12))))
    gc_depth = draw(st.sampled_from([GC_DEPTH, 1, 2, 3]))
    commits_per_schedule = draw(st.sampled_from([2, 1, 3, COMMITS_PER_SCHEDULE]))
    threshold = draw(st.sampled_from([BAD_NODES_STAKE_THRESHOLD, 20, 0]))
    schedule = LeaderScheduleParameters(commits_per_schedule, threshold)
    return Scenario(text, frozenset(faulty), tuple(deliveries), gc_depth, schedule)


def _block(
    draw: st.DrawFn,
    author: int,
    round_: int,
    copy: int,
    stakes: list[int],
    quorum: int,
    copies: dict[tuple[int, int], int],
    faulty: set[int],
    first_named: set[int],
) -> str | None:
    """One block's notation entry, ``A<-[...]``, or None when no quorum of round-1 is at hand."""
    below = round_ - 1
    size = len(stakes)
    named: dict[int, str] = {}
    stake = 0
    if (below, author) in copies:
        # The notation puts the author's own previous block first: name which one.
        own_copy = draw(st.integers(0, copies[(below, author)] - 1)) if author in faulty else 0
        named[author] = _name(author, below, own_copy, below)
        stake += stakes[author]
    others = [a for a in range(size) if a != author and (below, a) in copies]
    # The blocks of the round below it has not received (yet): it names all the others. An
    # equivocator's second block leaves out what its first named, so the two vote apart.
    if copy and author in faulty:
        unseen = [other for other in others if other in first_named]
    else:
        unseen = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
    for other in others:
        if other not in unseen:
            chosen = draw(st.integers(0, copies[(below, other)] - 1))
            named[other] = _name(other, below, chosen, below)
            stake += stakes[other]
    for other in unseen:  # it waits for a quorum of the round below
        if stake >= quorum:
            break
        named[other] = _name(other, below, 0, below)
        stake += stakes[other]
    if stake < quorum:
        return None
    for other in range(size):
        older = [r for r in range(below) if (r, other) in copies]
        if other not in named and other != author and older and draw(st.integers(0, 3)) == 3:
            named[other] = _name(other, older[-1], 0, below)
    if not copy:
        first_named.clear()
        first_named.update(named)
    primes = "'" * copy
    return f"{LETTERS[author]}{primes}<-[{' '.join(named.values())}]"


def _outcome(decision: LeaderDecision) -> tuple[int, int, str, BlockRef | None]:
    """What a decision decides: the slot, skip or commit, and the block committed."""
    return decision.round, decision.leader, decision.kind.value, decision.block


def _sequencer(notation: NotationDag, scenario: Scenario) -> CommitSequencer:
    return CommitSequencer(
        notation.committee, gc_depth=scenario.gc_depth, schedule=scenario.schedule
    )


def _run(notation: NotationDag, delivery: Delivery, scenario: Scenario) -> list[CommittedSubDag]:
    """Deliver blocks to a fresh validator, running the sequencer now and then; its commits."""
    blocks = list(notation.blocks.values())
    refs = [notation.refs[name] for name in notation.blocks]
    dag = Dag(notation.committee)
    sequencer = _sequencer(notation, scenario)
    schedules: list[LeaderSchedule] = []
    waiting: list[int] = []
    decided: list[LeaderDecision] = []
    commits: list[CommittedSubDag] = []
    for count, position in enumerate(delivery.order, start=1):
        waiting.append(position)
        added = True
        while added:  # a block joins once its ancestors have (TWIN-CONSENSUS-013)
            added = False
            for item in list(waiting):
                if all(ref in dag for ref in notation.dag.ancestors(refs[item])):
                    dag.add(blocks[item], refs[item])
                    waiting.remove(item)
                    added = True
        if count % delivery.every == 0 or count == len(delivery.order):
            output = sequencer.advance(dag)
            decided.extend(output.decisions)
            commits.extend(output.commits)
            schedules.extend(output.schedules)
    # What it output step by step is what a fresh run over its final DAG outputs at once. Only
    # how a slot was decided may differ: one decided through an anchor may be decided directly
    # once more of its voting and deciding rounds have arrived.
    fresh = _sequencer(notation, scenario).advance(dag)
    assert [_outcome(decision) for decision in fresh.decisions] == [
        _outcome(decision) for decision in decided
    ]
    assert list(fresh.commits) == commits
    assert list(fresh.schedules) == schedules
    assert len({ref for commit in commits for ref in commit.blocks}) == sum(
        len(commit.blocks) for commit in commits
    )
    return commits


@pytest.mark.requirement(
    "TWIN-CONSENSUS-023",
    "TWIN-CONSENSUS-027",
    "TWIN-CONSENSUS-028",
    "TWIN-CONSENSUS-113",
    "TWIN-CONSENSUS-115",
)
@settings(max_examples=SAFETY_EXAMPLES)
@given(scenarios())
def test_safety_validators_commit_prefixes_of_one_sequence(scenario: Scenario) -> None:
    note(scenario.text)
    note(
        f"faulty: {sorted(LETTERS[a] for a in scenario.faulty)}, gcDepth {scenario.gc_depth}, "
        f"leaderSchedule {scenario.schedule.to_json()}"
    )
    notation = parse_dag(scenario.text)
    sequences = [_run(notation, delivery, scenario) for delivery in scenario.deliveries]
    for one in sequences:
        for other in sequences:
            shorter, longer = sorted((one, other), key=len)
            assert longer[: len(shorter)] == shorter


def test_the_generated_dags_are_varied() -> None:
    # The generator must reach the cases safety is about: equivocation, skips and commits.
    seen: set[str] = set()

    @settings(max_examples=150, database=None)
    @given(scenarios())
    def look(scenario: Scenario) -> None:
        notation = parse_dag(scenario.text)
        if scenario.faulty and "'" in scenario.text:
            seen.add("equivocation")
        if any(
            ancestor.round < ref.round - 1 and ancestor.author != ref.author
            for ref in notation.dag
            if ref.round > 0
            for ancestor in notation.dag.ancestors(ref)
        ):
            seen.add("old ancestor")
        output = CommitSequencer(notation.committee).advance(notation.dag)
        kinds = {decision.kind.value for decision in output.decisions}
        seen.update(kinds)
        if len(notation.committee.validators) >= 7:
            seen.add("large committee")

    look()
    assert {"equivocation", "commit", "skip", "large committee", "old ancestor"} <= seen
