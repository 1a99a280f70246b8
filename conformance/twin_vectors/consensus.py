"""The consensus vectors: block validity and the commit rule, replayed through evaluate.

``consensus/block-validity``: a committee (with the seeds of its test keys), blocks already
accepted, one more block; whether it is valid, or the code of the first receive rule it breaks.
``consensus/commit-rule``: a committee and signed blocks in the DAG notation's order; the decision
of every leader slot, the committer's output after each stage, and the commits.

Keys are test keys derived from seeds written into each vector (``input.seeds[i]`` is the hex
Ed25519 seed of validator i), the same seeds the DAG notation signs with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twin_spec import (
    BLOCK_REJECTION_REQUIREMENTS,
    GC_DEPTH,
    BlockRef,
    BlockRejectedError,
    BlockRejection,
    CommitSequencer,
    Committee,
    Dag,
    JSONValue,
    LeaderDecision,
    LeaderDecisionKind,
    LeaderScheduleParameters,
    MessageKind,
    TwoCertifiedBlocksError,
    block_ref,
    canonicalize,
    decide_leader_slot,
    genesis_refs,
    multibase_encode,
    next_commit,
    sign_block,
    sign_message,
    validate_block,
)
from twin_vectors._format import (
    Family,
    Vector,
    make_vector,
)
from twin_vectors.commit_rule_cases import CASES, LATE_CASES, SCHEDULE_CASES
from twin_vectors.dag_notation import make_committee, parse_dag, signing_key
from twin_vectors.transaction_limits import transaction_limit_cases

PROFILE = "consensus"
BLOCK_VALIDITY = "block-validity"
COMMIT_RULE = "commit-rule"
ORDER_RULE = "TWIN-CONSENSUS-016"
EVALUATE_RULE = "TWIN-CONSENSUS-102"
BASE_TIME = 1_700_000_000_000


def seed_hex(index: int) -> str:
    """The hex seed of validator ``index``'s test key (see ``dag_notation.signing_key``)."""
    return hashlib.sha256(b"twin-test-validator-" + str(index).encode()).hexdigest()


def committee_input(committee: Committee) -> dict[str, JSONValue]:
    """The committee JSON and the seeds of its validators' keys."""
    return {
        "committee": committee.to_json(),
        "seeds": [seed_hex(index) for index in range(committee.size)],
    }


# --- block validity ---------------------------------------------------------------------------


def time_of(round_: int, copy: int = 0) -> int:
    """The timestamp of a block of ``round_`` (``copy`` tells equivocating blocks apart)."""
    return BASE_TIME + 1000 * round_ + copy


def block(
    author: int,
    round_: int,
    ancestors: Sequence[BlockRef],
    *,
    epoch: int = 0,
    timestamp: int | None = None,
    transactions: Sequence[JSONValue] = (),
    signer: int | None = None,
    change: Mapping[str, Any] | None = None,
    drop: str | None = None,
) -> dict[str, Any]:
    """A block signed by ``signer`` (default the author), after ``change`` and ``drop``."""
    unsigned: dict[str, Any] = {
        "epoch": epoch,
        "round": round_,
        "author": author,
        "timestampMs": time_of(round_) if timestamp is None else timestamp,
        "ancestors": [ref.to_json() for ref in ancestors],
        "transactions": list(transactions),
    }
    unsigned.update(change or {})
    if drop is not None:
        del unsigned[drop]
    return sign_block(signing_key(author if signer is None else signer), unsigned)


def tx(number: int, **payload: JSONValue) -> dict[str, JSONValue]:
    """A small, valid transaction."""
    return {
        "type": "anchor",
        "sender": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "nonce": f"{number:08x}",
        "timestampMs": BASE_TIME + number,
        "payload": dict(payload),
    }


def tx_of_size(size: int) -> dict[str, JSONValue]:
    """A transaction whose JCS form is exactly ``size`` bytes."""
    base = len(canonicalize(tx(0, data="")))
    return tx(0, data="x" * (size - base))


@dataclass
class World:
    """A committee, the rounds built so far, and named blocks."""

    committee: Committee
    named: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def genesis(self) -> list[BlockRef]:
        """The committee's genesis references."""
        return genesis_refs(self.committee)

    def round_one(self, authors: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Round-1 blocks over every genesis block, own first."""
        chosen = range(self.committee.size) if authors is None else authors
        return [self.add(f"{i}/1", block(i, 1, self._own_first(i, self.genesis))) for i in chosen]

    def add(self, name: str, value: dict[str, Any]) -> dict[str, Any]:
        """Remember a block under ``name`` and return it."""
        self.named[name] = value
        return value

    def ref(self, name: str) -> BlockRef:
        """The reference of the block called ``name``."""
        return block_ref(self.named[name])

    def refs(self, *names: str) -> list[BlockRef]:
        """The references of the blocks called ``names``, in order."""
        return [self.ref(name) for name in names]

    @staticmethod
    def _own_first(author: int, refs: Sequence[BlockRef]) -> list[BlockRef]:
        return [ref for ref in refs if ref.author == author] + [
            ref for ref in refs if ref.author != author
        ]


@dataclass(frozen=True)
class BlockCase:
    """One block-validity vector before it is run through the spec core."""

    name: str
    description: str
    committee: Committee
    dag: list[dict[str, Any]]
    block: Any
    error: BlockRejection | None
    requirements: tuple[str, ...] = ()


def _four() -> tuple[World, list[dict[str, Any]]]:
    world = World(make_committee([1, 1, 1, 1]))
    return world, world.round_one()


def _full_round_two(world: World, author: int = 0, **options: Any) -> dict[str, Any]:  # noqa: ANN401 - forwarded to block()
    names = [f"{i}/1" for i in range(world.committee.size)]
    refs = World._own_first(author, world.refs(*names))
    return block(author, 2, refs, **options)


def _invalid_cases() -> list[BlockCase]:
    cases: list[BlockCase] = []

    def add(
        name: str,
        description: str,
        world: World,
        dag: list[dict[str, Any]],
        value: object,
        error: BlockRejection,
        *extra: str,
    ) -> None:
        cases.append(BlockCase(name, description, world.committee, dag, value, error, extra))

    world, dag = _four()
    m = BlockRejection.MALFORMED
    add("malformed-not-an-object", "the block is a JSON array", world, dag, [], m)
    add(
        "malformed-missing-member",
        "timestampMs is missing (the rest is signed)",
        world,
        dag,
        _full_round_two(world, drop="timestampMs"),
        m,
    )
    add(
        "malformed-extra-member",
        "a member no block may have",
        world,
        dag,
        _full_round_two(world, change={"extra": 1}),
        m,
    )
    add(
        "malformed-round-is-a-string",
        'round is the string "2"',
        world,
        dag,
        _full_round_two(world, change={"round": "2"}),
        m,
    )
    add(
        "malformed-author-is-a-boolean",
        "author is true, which is not an integer",
        world,
        dag,
        _full_round_two(world, change={"author": True}),
        m,
    )
    add(
        "malformed-negative-timestamp",
        "timestampMs is -1",
        world,
        dag,
        _full_round_two(world, timestamp=-1),
        m,
    )
    upper = [ref.to_json() for ref in World._own_first(0, world.refs("0/1", "1/1", "2/1", "3/1"))]
    upper[1]["digest"] = str(upper[1]["digest"]).upper()
    add(
        "malformed-uppercase-digest",
        "an ancestor digest in uppercase hex",
        world,
        dag,
        _full_round_two(world, change={"ancestors": upper}),
        m,
    )
    broken_tx = {name: value for name, value in tx(1).items() if name != "sender"}
    add(
        "malformed-transaction-without-sender",
        "a transaction lacks its sender",
        world,
        dag,
        _full_round_two(world, transactions=[broken_tx]),
        m,
    )
    add(
        "malformed-signature-not-a-string",
        "signature is a number",
        world,
        dag,
        {**_full_round_two(world), "signature": 7},
        m,
    )
    add(
        "too-many-ancestors",
        "five ancestors in a committee of four (the fifth is A's genesis block)",
        world,
        dag,
        block(
            0, 2, [*World._own_first(0, world.refs("0/1", "1/1", "2/1", "3/1")), world.genesis[0]]
        ),
        BlockRejection.TOO_MANY_ANCESTORS,
    )
    add(
        "too-many-transactions",
        "1025 small transactions",
        world,
        dag,
        _full_round_two(world, transactions=[tx(n) for n in range(1025)]),
        BlockRejection.TOO_MANY_TRANSACTIONS,
    )
    add(
        "transaction-too-large",
        "a transaction of 65537 bytes of JCS",
        world,
        dag,
        _full_round_two(world, transactions=[tx_of_size(65537)]),
        BlockRejection.TRANSACTION_TOO_LARGE,
    )
    add(
        "wrong-epoch",
        "epoch 1 for a committee of epoch 0",
        world,
        dag,
        _full_round_two(world, epoch=1),
        BlockRejection.WRONG_EPOCH,
    )
    add(
        "round-zero",
        "a round-0 block over the genesis blocks",
        world,
        [],
        block(0, 0, world.genesis, timestamp=time_of(0)),
        BlockRejection.ROUND_ZERO,
    )
    add(
        "unknown-author",
        "author 4 in a committee of four (signed with a fifth test key)",
        world,
        dag,
        block(4, 2, world.refs("0/1", "1/1", "2/1", "3/1")),
        BlockRejection.UNKNOWN_AUTHOR,
    )
    add(
        "bad-signature-wrong-key",
        "A's block signed with B's key",
        world,
        dag,
        _full_round_two(world, signer=1),
        BlockRejection.BAD_SIGNATURE,
    )
    add(
        "bad-signature-changed-after-signing",
        "timestampMs raised by one after signing",
        world,
        dag,
        (lambda b: {**b, "timestampMs": b["timestampMs"] + 1})(_full_round_two(world)),
        BlockRejection.BAD_SIGNATURE,
    )
    signed = _full_round_two(world)
    unsigned = {name: value for name, value in signed.items() if name != "signature"}
    add(
        "bad-signature-checkpoint-domain",
        "signed by A in the checkpoint signing domain",
        world,
        dag,
        {
            **unsigned,
            "signature": multibase_encode(
                sign_message(signing_key(0), MessageKind.CHECKPOINT, unsigned)
            ),
        },
        BlockRejection.BAD_SIGNATURE,
        "TWIN-CORE-020",
        "TWIN-CORE-021",
    )
    add(
        "bad-signature-63-bytes",
        "signature decodes to 63 bytes",
        world,
        dag,
        {**signed, "signature": multibase_encode(bytes(range(63)))},
        BlockRejection.BAD_SIGNATURE,
        "TWIN-CORE-010",
    )
    add(
        "no-ancestors",
        "a round-2 block naming no ancestor",
        world,
        dag,
        block(0, 2, []),
        BlockRejection.NO_ANCESTORS,
    )
    stranger = BlockRef(1, 4, hashlib.sha256(b"no such validator").digest())
    add(
        "unknown-ancestor-author",
        "an ancestor by author 4 in a committee of four",
        world,
        dag,
        block(0, 2, [*world.refs("0/1", "1/1", "2/1"), stranger]),
        BlockRejection.UNKNOWN_ANCESTOR_AUTHOR,
    )
    add(
        "first-ancestor-not-own",
        "B's round-1 block comes before A's own",
        world,
        dag,
        block(0, 2, world.refs("1/1", "0/1", "2/1")),
        BlockRejection.FIRST_ANCESTOR_NOT_OWN,
    )
    add(
        "own-ancestor-not-first",
        "A names its round-1 block first and its genesis block last",
        world,
        dag,
        block(0, 2, [*world.refs("0/1", "1/1", "2/1"), world.genesis[0]]),
        BlockRejection.OWN_ANCESTOR_NOT_FIRST,
    )
    high = world.add(
        "2/2", block(2, 2, World._own_first(2, world.refs("0/1", "1/1", "2/1", "3/1")))
    )
    add(
        "ancestor-round-not-below",
        "a round-2 block names C's round-2 block",
        world,
        [*dag, high],
        block(0, 2, world.refs("0/1", "1/1", "2/2", "3/1")),
        BlockRejection.ANCESTOR_ROUND_NOT_BELOW,
    )
    other_genesis = genesis_refs(Committee(1, world.committee.validators))
    add(
        "unknown-genesis-ancestor",
        "a round-1 block names D's genesis block of epoch 1",
        world,
        [],
        block(0, 1, [*world.genesis[:3], other_genesis[3]]),
        BlockRejection.UNKNOWN_GENESIS_ANCESTOR,
    )
    twin = world.add(
        "2/1'", block(2, 1, World._own_first(2, world.genesis), timestamp=time_of(1, 1))
    )
    add(
        "duplicate-ancestor-author",
        "C's two round-1 blocks (C equivocated) both named",
        world,
        [*dag, twin],
        block(0, 2, world.refs("0/1", "1/1", "2/1", "2/1'")),
        BlockRejection.DUPLICATE_ANCESTOR_AUTHOR,
    )
    add(
        "parent-quorum-missing",
        "two of four round-1 blocks, below the quorum of three",
        world,
        dag,
        block(0, 2, world.refs("0/1", "1/1")),
        BlockRejection.PARENT_QUORUM_MISSING,
    )
    heavy = World(make_committee([1, 1, 1, 3]))
    heavy_dag = heavy.round_one()
    add(
        "parent-quorum-missing-by-stake",
        "stakes 1 1 1 3: A, B and C carry 3 of the 5 a quorum needs",
        heavy,
        heavy_dag,
        block(0, 2, heavy.refs("0/1", "1/1", "2/1")),
        BlockRejection.PARENT_QUORUM_MISSING,
    )
    add(
        "missing-ancestor",
        "D's round-1 block is named but not in the DAG",
        world,
        dag[:3],
        _full_round_two(world),
        BlockRejection.MISSING_ANCESTOR,
    )
    add(
        "timestamp-before-ancestor",
        "one millisecond before its round-1 ancestors",
        world,
        dag,
        _full_round_two(world, timestamp=time_of(1) - 1),
        BlockRejection.TIMESTAMP_BEFORE_ANCESTOR,
    )
    late = world.add(
        "3/1late", block(3, 1, World._own_first(3, world.genesis), timestamp=time_of(2))
    )
    add(
        "timestamp-before-one-ancestor",
        "equal to three ancestors' time but below D's (D stamped its round-1 block late)",
        world,
        [*dag[:3], late],
        block(0, 2, world.refs("0/1", "1/1", "2/1", "3/1late"), timestamp=time_of(1)),
        BlockRejection.TIMESTAMP_BEFORE_ANCESTOR,
    )
    return cases


def _valid_cases() -> list[BlockCase]:
    cases: list[BlockCase] = []

    def add(
        name: str,
        description: str,
        world: World,
        dag: list[dict[str, Any]],
        value: object,
        *rules: BlockRejection | str,
    ) -> None:
        requirements = tuple(
            BLOCK_REJECTION_REQUIREMENTS[rule] if isinstance(rule, BlockRejection) else rule
            for rule in rules
        )
        cases.append(BlockCase(name, description, world.committee, dag, value, None, requirements))

    world, dag = _four()
    add(
        "valid-round-two-over-every-round-one-block",
        "four ancestors, as many as the committee has validators",
        world,
        dag,
        _full_round_two(world),
        BlockRejection.TOO_MANY_ANCESTORS,
        BlockRejection.UNKNOWN_ANCESTOR_AUTHOR,
    )
    add(
        "valid-transactions-with-extra-members",
        "transactions may carry members beyond the required ones",
        world,
        dag,
        _full_round_two(world, transactions=[{**tx(1), "memo": "extra"}, tx(2)]),
        BlockRejection.MALFORMED,
        "TWIN-ANCHORING-020",
    )
    add(
        "valid-1024-transactions",
        "exactly 1024 small transactions",
        world,
        dag,
        _full_round_two(world, transactions=[tx(n) for n in range(1024)]),
        BlockRejection.TOO_MANY_TRANSACTIONS,
    )
    add(
        "valid-transaction-of-65536-bytes",
        "a transaction of exactly 65536 bytes of JCS",
        world,
        dag,
        _full_round_two(world, transactions=[tx_of_size(65536)]),
        BlockRejection.TRANSACTION_TOO_LARGE,
    )
    add(
        "valid-round-one-over-genesis",
        "a round-1 block naming every genesis block (an empty DAG: genesis only)",
        world,
        [],
        dag[1],
        BlockRejection.ROUND_ZERO,
        BlockRejection.UNKNOWN_GENESIS_ANCESTOR,
        "TWIN-CONSENSUS-007",
    )
    add(
        "valid-last-author",
        "D, the highest committee index, signs a round-2 block",
        world,
        dag,
        _full_round_two(world, author=3),
        BlockRejection.UNKNOWN_AUTHOR,
        BlockRejection.BAD_SIGNATURE,
    )
    add(
        "valid-own-first-others-unsorted",
        "own block first, the others in no particular order",
        world,
        dag,
        block(0, 2, world.refs("0/1", "3/1", "1/1", "2/1")),
        BlockRejection.FIRST_ANCESTOR_NOT_OWN,
        BlockRejection.DUPLICATE_ANCESTOR_AUTHOR,
    )
    add(
        "valid-exact-quorum",
        "three of four round-1 ancestors, exactly the quorum",
        world,
        dag,
        block(0, 2, world.refs("0/1", "1/1", "2/1")),
        BlockRejection.PARENT_QUORUM_MISSING,
    )
    add(
        "valid-timestamp-equal-to-ancestors",
        "the block's time equals its ancestors' time",
        world,
        dag,
        _full_round_two(world, timestamp=time_of(1)),
        BlockRejection.TIMESTAMP_BEFORE_ANCESTOR,
        BlockRejection.MISSING_ANCESTOR,
    )
    twin = world.add(
        "2/1'", block(2, 1, World._own_first(2, world.genesis), timestamp=time_of(1, 1))
    )
    add(
        "valid-names-one-block-of-an-equivocator",
        "C equivocated at round 1; the block names only its second block",
        world,
        [*dag, twin],
        block(0, 2, world.refs("0/1", "1/1", "2/1'", "3/1")),
        BlockRejection.DUPLICATE_ANCESTOR_AUTHOR,
        BlockRejection.TIMESTAMP_BEFORE_ANCESTOR,
    )
    silent = World(make_committee([1, 1, 1, 1]))
    silent_dag = silent.round_one([0, 1, 2])
    add(
        "valid-own-genesis-block-first",
        "D missed round 1: its round-2 block names its own genesis block first",
        silent,
        silent_dag,
        block(3, 2, [silent.genesis[3], *silent.refs("0/1", "1/1", "2/1")]),
        BlockRejection.OWN_ANCESTOR_NOT_FIRST,
        BlockRejection.UNKNOWN_GENESIS_ANCESTOR,
    )
    add(
        "valid-genesis-ancestor-at-round-two",
        "A's round-2 block names D's genesis block (D missed round 1)",
        silent,
        silent_dag,
        block(0, 2, [*silent.refs("0/1", "1/1", "2/1"), silent.genesis[3]]),
        BlockRejection.UNKNOWN_GENESIS_ANCESTOR,
        BlockRejection.ANCESTOR_ROUND_NOT_BELOW,
    )
    world3, dag3 = _four()
    second = [
        world3.add(
            f"{i}/2", block(i, 2, World._own_first(i, world3.refs("0/1", "1/1", "2/1", "3/1")))
        )
        for i in range(3)
    ]
    add(
        "valid-ancestor-two-rounds-below",
        "a round-3 block names D's round-1 block (D missed round 2)",
        world3,
        [*dag3, *second],
        block(0, 3, [*world3.refs("0/2", "1/2", "2/2"), world3.ref("3/1")]),
        BlockRejection.ANCESTOR_ROUND_NOT_BELOW,
        BlockRejection.MISSING_ANCESTOR,
    )
    one = World(make_committee([1]))
    one_dag = one.round_one()
    add(
        "valid-single-ancestor",
        "a committee of one: the only ancestor is the author's previous block",
        one,
        one_dag,
        block(0, 2, one.refs("0/1")),
        BlockRejection.NO_ANCESTORS,
    )
    heavy = World(make_committee([1, 1, 1, 3]))
    heavy_dag = heavy.round_one()
    add(
        "valid-quorum-by-stake",
        "stakes 1 1 1 3: A, D and B carry 5, exactly the quorum",
        heavy,
        heavy_dag,
        block(0, 2, heavy.refs("0/1", "3/1", "1/1")),
        BlockRejection.PARENT_QUORUM_MISSING,
        "TWIN-CONSENSUS-002",
    )
    epoch = World(Committee(5, make_committee([1, 1, 1, 1]).validators))
    epoch_dag = [
        epoch.add(f"{i}/1", block(i, 1, World._own_first(i, epoch.genesis), epoch=5))
        for i in range(4)
    ]
    add(
        "valid-committee-of-epoch-five",
        "epoch 5 blocks for an epoch-5 committee (genesis of epoch 5)",
        epoch,
        epoch_dag,
        block(0, 2, epoch.refs("0/1", "1/1", "2/1", "3/1"), epoch=5),
        BlockRejection.WRONG_EPOCH,
    )
    return cases


def block_validity_vectors() -> list[Vector]:
    """Every block-validity vector, its expectation computed by the spec core."""
    vectors: dict[str, Vector] = {}
    for case in [*_invalid_cases(), *_valid_cases(), *transaction_limit_cases()]:
        expected, requirement = run_block_case(case.committee, case.dag, case.block)
        if expected.get("error") != (case.error.value if case.error else None):
            raise AssertionError(f"{case.name}: the spec core says {expected}")
        requirements = {*case.requirements, EVALUATE_RULE}
        if case.error is None:
            requirements.add("TWIN-CONSENSUS-006")  # the verdict names the block's digest
        else:
            requirements |= {BLOCK_REJECTION_REQUIREMENTS[case.error], ORDER_RULE}
            requirements |= {requirement} if requirement else set()
        if case.name in vectors:
            raise AssertionError(f"case {case.name} is defined twice")
        vectors[case.name] = make_vector(
            f"{PROFILE}/{BLOCK_VALIDITY}",
            case.name,
            case.description,
            requirements,
            {**committee_input(case.committee), "dag": case.dag, "block": case.block},
            expected,
        )
    return [vectors[name] for name in sorted(vectors)]


def run_block_case(
    committee: Committee, dag_blocks: Sequence[object], value: object
) -> tuple[dict[str, JSONValue], str | None]:
    """Add ``dag_blocks`` to a fresh DAG, then judge ``value``: (expected, requirement)."""
    dag = Dag(committee)
    for item in dag_blocks:
        validate_block(item, committee, dag)
        dag.add(item)  # type: ignore[arg-type]
    try:
        ref = validate_block(value, committee, dag)
    except BlockRejectedError as exc:
        return {"result": "invalid", "error": exc.code.value}, exc.requirement
    return {"result": "valid", "ref": ref.to_json()}, None


# --- the commit rule --------------------------------------------------------------------------


def decision_json(decision: LeaderDecision) -> dict[str, JSONValue]:
    """A leader decision as vector JSON."""
    entry: dict[str, JSONValue] = {
        "round": decision.round,
        "leader": decision.leader,
        "decision": decision.kind.value,
    }
    if decision.kind is not LeaderDecisionKind.UNDECIDED:
        entry["direct"] = decision.direct
    if decision.block is not None:
        entry["block"] = decision.block.to_json()
    return entry


def all_decisions(
    dag: Dag,
    committee: Committee,
    gc_depth: int = GC_DEPTH,
    schedule: LeaderScheduleParameters | None = None,
) -> list[LeaderDecision]:
    """Decide every slot from 1 to (highest round - 2); raises on a faulty slot.

    The slots a sequencer run over the whole DAG decides, with the schedule changes it makes,
    then the slots above, each using those above it, under the last schedule in force.
    """
    sequencer = CommitSequencer(committee, gc_depth=gc_depth, schedule=schedule)
    decided = list(sequencer.advance(dag).decisions)
    later: list[LeaderDecision] = []
    for round_ in range(dag.highest_round - 2, sequencer.last_decided_round, -1):
        later.insert(0, decide_leader_slot(dag, committee, round_, later, sequencer.schedule))
    return decided + later


def run_commit_case(
    committee: Committee,
    blocks: Sequence[object],
    try_commit_after: Sequence[int],
    gc_depth: int = GC_DEPTH,
    schedule: LeaderScheduleParameters | None = None,
) -> dict[str, JSONValue]:
    """Replay blocks and committer runs through the spec core; return the expected member.

    With ``schedule`` given, the expected member also lists the leader schedules brought in.
    """
    dag = Dag(committee)
    sequencer = CommitSequencer(committee, gc_depth=gc_depth, schedule=schedule)
    steps: list[JSONValue] = []
    commits: list[dict[str, JSONValue]] = []
    tables: list[JSONValue] = []
    added = 0
    for stop in try_commit_after:
        for item in blocks[added:stop]:
            validate_block(item, committee, dag)
            dag.add(item)  # type: ignore[arg-type]
        added = stop
        from_round = sequencer.last_decided_round
        try:
            output = sequencer.advance(dag)
        except TwoCertifiedBlocksError as exc:
            return {"result": "invalid", "error": exc.code, "round": exc.round}
        steps.append(
            {
                "afterBlocks": stop,
                "fromRound": from_round,
                "decided": [decision_json(decision) for decision in output.decisions],
            }
        )
        for commit in output.commits:
            previous = commits[-1] if commits else None
            timestamp = dag.timestamp(commit.leader)
            commits.append(next_commit(previous, timestamp, commit.leader, commit.blocks))
        tables.extend(table.to_json() for table in output.schedules)
    expected: dict[str, JSONValue] = {
        "result": "valid",
        "decisions": [
            decision_json(item) for item in all_decisions(dag, committee, gc_depth, schedule)
        ],
        "steps": steps,
        "commits": list(commits),
    }
    if schedule is not None:
        expected["leaderSchedules"] = tables
    return expected


def commit_rule_vectors() -> list[Vector]:
    """One vector per commit-rule case of :mod:`.commit_rule_cases`."""
    staged: list[tuple[str, list[str], tuple[str, ...], dict[str, Any]]] = []
    for item in CASES:
        options: dict[str, Any] = {} if item.gc_depth is None else {"gcDepth": item.gc_depth}
        staged.append((item.name, [item.text], item.requirements, options))
    for late in LATE_CASES:
        staged.append((late.name, [stage[0] for stage in late.stages], late.requirements, {}))
    for scheduled in SCHEDULE_CASES:
        parameters = LeaderScheduleParameters(
            scheduled.commits_per_schedule, scheduled.bad_nodes_stake_threshold
        )
        options = {"leaderSchedule": parameters.to_json()}
        staged.append((scheduled.name, [scheduled.text], scheduled.requirements, options))
    vectors: list[Vector] = []
    for name, texts, marks, options in staged:
        notation = parse_dag(texts[0])
        stops = [len(notation.blocks)]
        for text in texts[1:]:
            notation.extend(text)
            stops.append(len(notation.blocks))
        blocks = list(notation.blocks.values())
        inputs: dict[str, Any] = {
            **committee_input(notation.committee),
            "blocks": blocks,
            "tryCommitAfter": stops,
            **options,
        }
        expected = commit_rule_oracle(inputs)
        requirements = {*marks, EVALUATE_RULE}
        if expected.get("commits"):
            requirements |= {"TWIN-CONSENSUS-010", "TWIN-CONSENSUS-011", "TWIN-CONSENSUS-029"}
        description = "notation: " + " | ".join(
            " / ".join(line.strip() for line in text.strip().splitlines()) for text in texts
        )
        if "gcDepth" in options:
            description += f"; garbage-collection depth {options['gcDepth']}"
        if "leaderSchedule" in options:
            description += (
                f"; the leader schedule changes every "
                f"{options['leaderSchedule']['commitsPerSchedule']} commits"
            )
        vectors.append(
            make_vector(
                f"{PROFILE}/{COMMIT_RULE}",
                name,
                description,
                requirements,
                inputs,
                expected,
            )
        )
    return sorted(vectors, key=lambda vector: str(vector["id"]))


# --- oracles and families ---------------------------------------------------------------------


def block_validity_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The expected verdict of a block-validity vector, computed by the spec core."""
    committee = Committee.from_json(input_["committee"])
    return run_block_case(committee, input_["dag"], input_["block"])[0]


def commit_rule_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The expected decisions and commits of a commit-rule vector, computed by the spec core."""
    committee = Committee.from_json(input_["committee"])
    gc_depth = input_.get("gcDepth", GC_DEPTH)
    schedule = None
    if "leaderSchedule" in input_:
        schedule = LeaderScheduleParameters.from_json(input_["leaderSchedule"])
    return run_commit_case(
        committee, input_["blocks"], input_["tryCommitAfter"], gc_depth, schedule
    )


FAMILIES = [
    Family(
        PROFILE,
        BLOCK_VALIDITY,
        True,
        block_validity_vectors,
        block_validity_oracle,
        "a committee (with its test keys' seeds), blocks already accepted, one more block: "
        "whether it is valid, or the code of the first receive rule it breaks",
    ),
    Family(
        PROFILE,
        COMMIT_RULE,
        True,
        commit_rule_vectors,
        commit_rule_oracle,
        "a committee and signed blocks: the decision of every leader slot and the commits",
    ),
]
