"""A compact text notation for block DAGs, for commit-rule cases and vectors (not spec core).

Validators are named by capital letters: A is index 0, B index 1, and so on (at most 26). One
directive per line; ``#`` starts a comment; blank lines are ignored.

``committee: N``
    N validators of stake 1 (must come first, once; or use ``stakes``).
``stakes: S0 S1 ...``
    One validator per stake, in index order.
``rK: BLOCK BLOCK ...``
    Blocks at round K >= 1, added to the DAG in the order written. A BLOCK is an author letter,
    optionally primed, optionally followed by ``<-`` and its ancestors:

    - ``A`` (no list): A's block naming every block of round K-1 (one per author; the unprimed
      one when an author equivocated). The same as ``A<-*``.
    - ``A<-[A B C]``: A's block naming the round K-1 blocks of A, B and C. An entry may be primed
      (``B'`` is B's second block at K-1) or carry an explicit round (``B3``, ``B3'``) to name an
      older block.
    - ``A'`` (``A''`` ...): A's second (third ...) block at round K, i.e. an equivocation.

    The first ancestor is always the author's own earlier block, as the block rules require: if
    the list names one of the author's blocks it is moved to the front; otherwise the author's
    block at K-1 is put first, or, when it has none there, its latest earlier block. Round 1
    blocks name genesis blocks (round 0), so ``r1: A B C D`` is the usual start.

    A round may have several lines, and a block may be added below the highest round (a late
    block), as long as every ancestor it names already exists.

Blocks are named by author, round and primes: ``A3``, ``A3'``; genesis blocks are ``A0``...
Every block is signed with a key derived from its author's index
(``sha256(b"twin-test-validator-" + str(index))``), has no transactions and the timestamp
1_700_000_000_000 + 1000 * K + (number of primes), passes ``check_block`` and joins the DAG;
a notation error, or a block the block rules refuse, raises ``ValueError`` naming the line.

Example (a committee of four; D ignores the round-1 leader B when voting)::

    committee: 4
    r1: A B C D
    r2: A B C D<-[A C D]
    r3: A B C D

``parse_dag(text)`` builds a fresh DAG; ``NotationDag.extend(text)`` adds further lines to an
existing one (for blocks that arrive late, after a first ``try_commit``).
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from typing import Any

from twin_spec import (
    BlockRef,
    Committee,
    Dag,
    Ed25519SigningKey,
    LedgerError,
    Validator,
    check_block,
    genesis_refs,
    sign_block,
)

LETTERS = string.ascii_uppercase
_COMMENT = re.compile(r"#.*")
_ROUND_LINE = re.compile(r"r(\d+)\s*:(.*)\Z")
_BLOCK = re.compile(r"\s*([A-Z])('*)\s*(?:<-\s*(\*|\[[^\]]*\]))?\s*")
_ENTRY = re.compile(r"([A-Z])(\d+)?('*)\Z")


def signing_key(index: int) -> Ed25519SigningKey:
    """The deterministic key of validator ``index``."""
    return Ed25519SigningKey(hashlib.sha256(b"twin-test-validator-" + str(index).encode()).digest())


def make_committee(stakes: list[int]) -> Committee:
    """A committee of epoch 0 with the given stakes and keys from :func:`signing_key`."""
    return Committee(
        0,
        tuple(
            Validator(index, signing_key(index).public_key, stake)
            for index, stake in enumerate(stakes)
        ),
    )


def block_name(author: int, round_: int, copy: int = 0) -> str:
    """The notation name of a block: ``A3``, or ``A3'`` for A's second block at round 3."""
    primes = "'" * copy
    return f"{LETTERS[author]}{round_}{primes}"


@dataclass
class NotationDag:
    """A DAG built from the notation, with its committee and the blocks by name."""

    committee: Committee
    dag: Dag
    refs: dict[str, BlockRef] = field(default_factory=dict)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: dict[BlockRef, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ref in genesis_refs(self.committee):
            self._record(block_name(ref.author, 0), ref)

    def _record(self, name: str, ref: BlockRef) -> None:
        self.refs[name] = ref
        self.names[ref] = name

    def name_of(self, ref: BlockRef) -> str:
        """The notation name of a block of this DAG."""
        return self.names[ref]

    def extend(self, text: str, first_line: int = 1) -> list[BlockRef]:
        """Add the blocks of further round lines; return their references in order."""
        added: list[BlockRef] = []
        for number, raw in enumerate(text.splitlines(), start=first_line):
            line = _COMMENT.sub("", raw).strip()
            if not line:
                continue
            match = _ROUND_LINE.match(line)
            if match is None:
                raise ValueError(f"line {number}: expected 'rK: blocks...', got {raw.strip()!r}")
            round_ = int(match.group(1))
            if round_ < 1:
                raise ValueError(f"line {number}: blocks start at round 1")
            added.extend(self._round(number, round_, match.group(2)))
        return added

    def _round(self, number: int, round_: int, body: str) -> list[BlockRef]:
        position = 0
        added: list[BlockRef] = []
        body = body.strip()
        if not body:
            raise ValueError(f"line {number}: round {round_} lists no blocks")
        while position < len(body):
            match = _BLOCK.match(body, position)
            if match is None or match.end() == position:
                raise ValueError(f"line {number}: cannot read {body[position:]!r}")
            position = match.end()
            author = self._author(number, match.group(1))
            copy = len(match.group(2))
            added.append(self._block(number, round_, author, copy, match.group(3)))
        return added

    def _author(self, number: int, letter: str) -> int:
        author = LETTERS.index(letter)
        if author >= self.committee.size:
            raise ValueError(
                f"line {number}: {letter} is not in a committee of {self.committee.size}"
            )
        return author

    def _block(
        self, number: int, round_: int, author: int, copy: int, spec: str | None
    ) -> BlockRef:
        name = block_name(author, round_, copy)
        if name in self.refs:
            raise ValueError(f"line {number}: block {name} is given twice")
        if copy and block_name(author, round_, copy - 1) not in self.refs:
            raise ValueError(
                f"line {number}: {name} comes before {block_name(author, round_, copy - 1)}"
            )
        if spec is None or spec == "*":
            previous = [
                self.refs[block_name(index, round_ - 1)]
                for index in range(self.committee.size)
                if block_name(index, round_ - 1) in self.refs
            ]
        else:
            previous = [self._entry(number, round_, item) for item in spec[1:-1].split()]
        ancestors = self._own_first(number, round_, author, previous)
        unsigned = {
            "epoch": self.committee.epoch,
            "round": round_,
            "author": author,
            # An equivocating block differs from the first even with the same ancestors.
            "timestampMs": 1_700_000_000_000 + 1000 * round_ + copy,
            "ancestors": [ref.to_json() for ref in ancestors],
            "transactions": [],
        }
        block = sign_block(signing_key(author), unsigned)
        try:
            ref = check_block(block, self.committee)
            self.dag.add(block)
        except LedgerError as exc:
            raise ValueError(f"line {number}: block {name} is refused: {exc}") from exc
        self._record(name, ref)
        self.blocks[name] = block
        return ref

    def _entry(self, number: int, round_: int, item: str) -> BlockRef:
        match = _ENTRY.match(item)
        if match is None:
            raise ValueError(f"line {number}: cannot read ancestor {item!r}")
        author = self._author(number, match.group(1))
        at = round_ - 1 if match.group(2) is None else int(match.group(2))
        if at >= round_:
            raise ValueError(f"line {number}: ancestor {item} is not below round {round_}")
        name = block_name(author, at, len(match.group(3)))
        if name not in self.refs:
            raise ValueError(f"line {number}: ancestor {name} does not exist yet")
        return self.refs[name]

    def _own_first(
        self, number: int, round_: int, author: int, previous: list[BlockRef]
    ) -> list[BlockRef]:
        authors = [ref.author for ref in previous]
        if len(set(authors)) != len(authors):
            raise ValueError(f"line {number}: two ancestors by one author")
        own = [ref for ref in previous if ref.author == author]
        others = [ref for ref in previous if ref.author != author]
        if not own:
            name = block_name(author, round_ - 1)
            if name in self.refs:
                own = [self.refs[name]]
            else:
                own = [
                    max(
                        (ref for ref in self.names if ref.author == author and ref.round < round_),
                        key=lambda ref: (ref.round, self.names[ref].count("'") == 0),
                    )
                ]
        return [*own, *others]


def parse_dag(text: str) -> NotationDag:
    """Build a DAG from the notation (a committee line, then round lines)."""
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        try:
            if key == "committee":
                stakes = [1] * int(value)
            elif key == "stakes":
                stakes = [int(item) for item in value.split()]
            else:
                raise ValueError(f"line {number}: the first line must be 'committee:' or 'stakes:'")
            if not 1 <= len(stakes) <= len(LETTERS):
                raise ValueError(
                    f"line {number}: a committee here has 1 to {len(LETTERS)} validators"
                )
            members = make_committee(stakes)
        except (ValueError, LedgerError) as exc:
            message = str(exc)
            raise ValueError(
                message if message.startswith("line ") else f"line {number}: {exc}"
            ) from exc
        notation = NotationDag(members, Dag(members))
        notation.extend("\n".join(lines[number:]), first_line=number + 1)
        return notation
    raise ValueError("line 1: the notation is empty")
