"""A node's commits against the spec core's commit rule, replayed over the blocks it serves.

The DAG only grows, so every commit an honest validator made from the blocks it held then is
one the spec core's rule makes from the blocks it serves later (the commit rule is safe), in
the same order: the served commit sequence is a prefix of the replayed one. A served commit
the replay does not make (a slot the served blocks leave undecided, another leader) was made
by another rule; which one, when it is exactly one common slip, ``_diagnosis`` names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from twin_conformance._diagnosis import commits_slip
from twin_spec import (
    BlockRef,
    CommitSequencer,
    Committee,
    Dag,
    TwinSpecError,
    validate_block,
)

UNDECIDED_RULE = "TWIN-CONSENSUS-024"
"""Blamed for a commit the rule does not make, unless a slip names another rule."""


@dataclass(frozen=True)
class CommitMismatch:
    """A served commit the spec core's rule does not make from the served blocks."""

    index: int
    requirement: str
    message: str


def replay_dag(committee: Committee, blocks: Sequence[object]) -> Dag:
    """The served blocks that pass the receive rules, in a DAG (the others count for nothing)."""
    dag = Dag(committee)
    for block in blocks:
        try:
            dag.add(cast(Mapping[str, object], block), validate_block(block, committee, dag))
        except TwinSpecError:
            continue
    return dag


def first_commit_mismatch(
    committee: Committee, blocks: Sequence[object], commits: Sequence[Mapping[str, Any]]
) -> CommitMismatch | None:
    """The first served commit the spec core's rule does not make over ``blocks``, or None.

    ``blocks`` are every block the node serves, by round from 1; ``commits`` its commits from
    index 1. None also when the replay itself stops (two certified blocks in one slot, which
    the rule reports rather than decides), a commit names no leader, or its leader block is
    not among the blocks served: other checks judge those.
    """
    dag = replay_dag(committee, blocks)
    try:
        made = CommitSequencer(committee).advance(dag).commits
        leaders = [BlockRef.from_json(commit.get("leader")) for commit in commits]
    except TwinSpecError:
        return None
    for position, leader in enumerate(leaders):
        if position < len(made) and made[position].leader == leader:
            continue
        if leader not in dag:
            # It no longer serves that block (a validator MAY forget blocks below its
            # garbage-collection round, TWIN-CONSENSUS-108): what it serves cannot judge it.
            return None
        slip = commits_slip(committee, blocks, [ref.to_json() for ref in leaders[: position + 1]])
        requirement, why = slip or (UNDECIDED_RULE, "")
        expected = (
            f"commits leader {made[position].leader.to_json()} there"
            if position < len(made)
            else f"leaves the slot of round {leader.round} undecided (it makes {len(made)} commits)"
        )
        return CommitMismatch(
            position + 1,
            requirement,
            f"commit {position + 1} commits leader {leader.to_json()}, but the spec core's commit"
            f" rule over the {len(dag) - committee.size} blocks it serves {expected}"
            + (f"; {why}" if why else ""),
        )
    return None
