"""Blocks that break one receive rule each, signed by a committee key with the spec core.

A single-node run cannot tell a node's receive rules apart past the signature (it holds no
committee key but the node's own); a harness validator can. From one of its own blocks that
every peer accepted, it makes one variant per rule (an epoch, round, author, ancestor list or
timestamp changed, then signed again by its own key, or the block signed by a key that is
not its own) and asks the spec core which rule each breaks first: that code, and only
that one, is what a conforming node answers (TWIN-CONSENSUS-101). A variant the spec core
would accept is never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twin_spec import (
    BlockRejectedError,
    Committee,
    Dag,
    Ed25519SigningKey,
    sign_block,
    validate_block,
)

Variant = Callable[[dict[str, Any], Committee], dict[str, Any]]


def _ancestors(
    unsigned: dict[str, Any], change: Callable[[list[Any]], list[Any]]
) -> dict[str, Any]:
    return {**unsigned, "ancestors": change([dict(a) for a in unsigned["ancestors"]])}


VARIANTS: dict[str, Variant] = {
    "wrong epoch": lambda u, c: {**u, "epoch": u["epoch"] + 1},
    "round zero": lambda u, c: {**u, "round": 0},
    "author outside the committee": lambda u, c: {**u, "author": c.size},
    "no ancestors": lambda u, c: {**u, "ancestors": []},
    "own previous block not first": lambda u, c: _ancestors(u, lambda a: [*a[1:], a[0]]),
    "more ancestors than validators": lambda u, c: _ancestors(
        u, lambda a: [*a, *([a[-1]] * (c.size + 1 - len(a)))]
    ),
    "an ancestor twice": lambda u, c: _ancestors(u, lambda a: [*a[:-1], a[1]]),
    "its own previous block again, last": lambda u, c: _ancestors(u, lambda a: [*a[:-1], a[0]]),
    "an ancestor by no validator": lambda u, c: _ancestors(
        u, lambda a: [*a[:-1], {**a[-1], "author": c.size}]
    ),
    "an ancestor at the block's round": lambda u, c: _ancestors(
        u, lambda a: [a[0], *({**x, "round": u["round"]} for x in a[1:])]
    ),
    "an ancestor nobody holds": lambda u, c: _ancestors(
        u, lambda a: [a[0], *({**x, "digest": "ab" * 32} for x in a[1:2]), *a[2:]]
    ),
    "timestamp before an ancestor's": lambda u, c: {**u, "timestampMs": 0},
    "transactions missing": lambda u, c: {k: v for k, v in u.items() if k != "transactions"},
}


def rule_breaking_blocks(
    base: Mapping[str, Any],
    committee: Committee,
    key: Ed25519SigningKey,
    dag: Dag,
) -> list[tuple[str, dict[str, Any], str]]:
    """(what was changed, the signed block, the code the spec core refuses it with)."""
    other_key = Ed25519SigningKey.generate()
    unsigned = {k: v for k, v in base.items() if k != "signature"}
    made: list[tuple[str, dict[str, Any]]] = [
        ("signed by a key not its own", sign_block(other_key, dict(unsigned)))
    ]
    for name, variant in VARIANTS.items():
        changed = variant(dict(unsigned), committee)
        try:
            made.append((name, sign_block(key, changed)))
        except Exception:  # noqa: S112 - the spec core refuses to sign what is unsignable
            continue
    found = []
    for name, block in made:
        try:
            validate_block(block, committee, dag)
        except BlockRejectedError as exc:
            found.append((name, block, str(exc.code)))
    return found
