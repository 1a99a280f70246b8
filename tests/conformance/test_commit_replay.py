"""The served commits against the spec core's commit rule replayed over the served blocks.

``_commit_replay.first_commit_mismatch`` is how interop judges a client's commits where the
DAG stops growing; these DAGs (``twin_vectors.dag_notation``) are the cases it meets: an honest
sequence, a slot committed on two validators' certificates, one committed on an equivocator's
three blocks, and a node that no longer serves the blocks of its commits.
"""

from __future__ import annotations

from typing import Any

from twin_conformance._commit_replay import first_commit_mismatch
from twin_spec import BlockRef, CommitSequencer
from twin_vectors.dag_notation import NotationDag, parse_dag

HONEST = """
committee: 4
r1: A B C D
r2: A B C D
r3: A B C D
r4: A B C D
r5: A B C D
"""


def _blocks(notation: NotationDag) -> list[dict[str, Any]]:
    """Every non-genesis block of the DAG, by round (as a node serves them)."""
    named = [(ref, notation.blocks[name]) for name, ref in notation.refs.items() if ref.round]
    return [block for _, block in sorted(named, key=lambda item: item[0])]


def _commits(leaders: list[BlockRef]) -> list[dict[str, Any]]:
    """Served commits reduced to what the replay reads: their leaders, from index 1."""
    return [{"index": i + 1, "leader": ref.to_json()} for i, ref in enumerate(leaders)]


def _honest_leaders(notation: NotationDag) -> list[BlockRef]:
    return [c.leader for c in CommitSequencer(notation.committee).advance(notation.dag).commits]


def test_an_honest_sequence_and_any_prefix_of_it_match() -> None:
    notation = parse_dag(HONEST)
    leaders = _honest_leaders(notation)
    assert len(leaders) >= 2
    for length in range(len(leaders) + 1):
        mismatch = first_commit_mismatch(
            notation.committee, _blocks(notation), _commits(leaders[:length])
        )
        assert mismatch is None


def test_a_slot_committed_on_two_certificates_of_four_names_the_quorum_rule() -> None:
    # Round 3 holds the blocks of A and B only: the slot of round 1 (leader B) has two
    # certificates, not a quorum, and stays undecided.
    notation = parse_dag("committee: 4\nr1: A B C D\nr2: A B C D\nr3: A B\n")
    assert _honest_leaders(notation) == []
    mismatch = first_commit_mismatch(
        notation.committee, _blocks(notation), _commits([notation.refs["B1"]])
    )
    assert mismatch is not None
    assert (mismatch.index, mismatch.requirement) == (1, "TWIN-CONSENSUS-024")
    assert "a third of the stake" in mismatch.message


def test_a_slot_committed_on_one_equivocators_blocks_names_stake_counted_once() -> None:
    # C alone signs three blocks of round 3, each a certificate of B's round-1 block: one
    # validator's stake however many blocks, so the slot stays undecided.
    notation = parse_dag("committee: 4\nr1: A B C D\nr2: A B C D\nr3: C C' C''\n")
    assert _honest_leaders(notation) == []
    mismatch = first_commit_mismatch(
        notation.committee, _blocks(notation), _commits([notation.refs["B1"]])
    )
    assert mismatch is not None
    assert mismatch.requirement == "TWIN-CONSENSUS-003"


def test_commits_whose_blocks_are_no_longer_served_are_not_judged() -> None:
    notation = parse_dag(HONEST)
    leaders = _honest_leaders(notation)
    # A validator may forget blocks below its garbage-collection round: it serves none here.
    assert first_commit_mismatch(notation.committee, [], _commits(leaders)) is None
