"""Four ledger engines wired together in one process: many rounds, garbage collection, faults.

The engines are the reference node's own (``twin_reference._ledger.LedgerEngine``), each with
its own SQLite store; the test stands in for HTTP, carrying every block and checkpoint
signature an engine sends to the others' receive methods, and steps the engines in turn. This
runs far more rounds than the process tests can in their time budget, so that the
garbage-collection round moves many times.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from twin_reference._errors import ApiError
from twin_reference._ledger import ConsensusSettings, LedgerEngine
from twin_reference._ledger_codec import unpack_checkpoint, unpack_commit, unpack_text
from twin_reference._live_dag import LiveDag
from twin_reference._store import Store
from twin_spec import (
    COMMITS_PER_SCHEDULE,
    GC_DEPTH,
    MAX_BLOCK_TEXT_BYTES,
    MAX_BLOCK_VALUES,
    BlockRef,
    CommitSequencer,
    CommittedSubDag,
    Committee,
    Dag,
    Ed25519SigningKey,
    LeaderSchedule,
    LedgerError,
    Validator,
    check_commit_follows,
    gc_round_after,
    genesis_refs,
    json_value_count,
    leader_of,
    parse_json,
    sign_block,
    verify_certified_checkpoint,
)

KEYS = [Ed25519SigningKey(bytes([index + 1]) * 32) for index in range(4)]
COMMITTEE = Committee(0, tuple(Validator(i, key.public_key, 1, None) for i, key in enumerate(KEYS)))
SETTINGS = ConsensusSettings(leader_timeout_seconds=0.0, min_round_interval_seconds=0.0)


class UnsyncedStore(Store):
    """The node's store without fsync: durability is the process tests' business."""

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with super().write(durable=False) as connection:
            yield connection


class Wire:
    """The engines, and what each has sent and not yet delivered."""

    def __init__(self, folder: Path, silent: frozenset[int] = frozenset()) -> None:
        self.folder = folder
        self.silent = set(silent)
        self.backlog: dict[int, list[tuple[str, bytes]]] = {index: [] for index in range(4)}
        self.stores = [UnsyncedStore(folder / f"validator-{index}.sqlite") for index in range(4)]
        self.engines = [self._engine(index) for index in range(4)]
        self.queue: list[tuple[int, str, bytes]] = []
        self.clock = 1_700_000_000_000

    def _engine(self, index: int) -> LedgerEngine:
        engine = LedgerEngine(
            self.stores[index], COMMITTEE, index, KEYS[index], self._now, settings=SETTINGS
        )
        send: Callable[[str, bytes], None] = lambda path, body: self.queue.append(  # noqa: E731
            (index, path, body)
        )
        engine.network.broadcast = send  # type: ignore[method-assign,assignment]
        return engine

    def _now(self) -> int:
        self.clock += 1
        return self.clock

    def restart(self, index: int) -> LedgerEngine:
        self.engines[index] = self._engine(index)
        return self.engines[index]

    def step(self) -> None:
        for index, engine in enumerate(self.engines):
            if index not in self.silent:
                engine._step()
        queue, self.queue = self.queue, []
        for sender, path, body in queue:
            for index in range(4):
                if index == sender:
                    continue
                if index in self.silent:
                    self.backlog[index].append((path, body))
                else:
                    self.deliver(index, path, body)

    def deliver(self, index: int, path: str, body: bytes) -> None:
        engine = self.engines[index]
        message = parse_json(body)
        try:
            if path == "/consensus/blocks":
                engine.receive_block(message, len(body))
            else:
                sequence = int(path.split("/")[3])
                assert isinstance(message, dict)
                engine.receive_signature(sequence, message)
        except (LedgerError, ApiError):
            pass

    def wake(self, index: int) -> None:
        """A silent engine hears everything it missed, in order, and takes part again."""
        self.silent.discard(index)
        backlog, self.backlog[index] = self.backlog[index], []
        for path, body in backlog:
            self.deliver(index, path, body)

    def commits(self, index: int) -> list[Any]:
        rows = self.stores[index].all("SELECT body FROM commits ORDER BY commit_index")
        return [unpack_commit(row[0]) for row in rows]

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def wire(tmp_path: Path) -> Iterator[Wire]:
    wired = Wire(tmp_path)
    yield wired
    wired.close()


def transaction(number: int) -> dict[str, Any]:
    return {
        "type": "example.note",
        "sender": "did:example:engine-test",
        "nonce": f"{number:08d}",
        "timestampMs": 1_700_000_000_000,
        "payload": {"n": number},
    }


def assert_agree(wire: Wire, indices: list[int]) -> list[Any]:
    sequences = [wire.commits(index) for index in indices]
    longest = max(sequences, key=len)
    for sequence in sequences:
        assert sequence == longest[: len(sequence)]
    return longest


@pytest.mark.requirement("TWIN-CONSENSUS-108", "TWIN-CONSENSUS-113", "TWIN-CONSENSUS-106")
def test_many_rounds_stay_in_bounded_memory_and_every_engine_agrees(wire: Wire) -> None:
    rounds = 4 * GC_DEPTH
    for step in range(rounds):
        wire.engines[step % 4].enqueue(transaction(step))
        wire.step()
    for _ in range(8):
        wire.step()
    commits = assert_agree(wire, [0, 1, 2, 3])
    previous = None
    for commit in commits:
        check_commit_follows(previous, commit)
        previous = commit
    leader_rounds = [commit["leader"]["round"] for commit in commits]
    assert leader_rounds[-1] > 3 * GC_DEPTH
    # No commit holds a block at or below the garbage-collection round of the one before it.
    for before, commit in zip(leader_rounds, commits[1:], strict=False):
        assert min(ref["round"] for ref in commit["blocks"]) > gc_round_after(before)
    for engine in wire.engines:
        dag = engine.dag
        assert dag.gc_round >= leader_rounds[-1] - GC_DEPTH - 4
        # Genesis, plus at most the rounds above the garbage-collection round.
        assert len(dag) <= 4 + 4 * (dag.highest_round - dag.gc_round)
        assert len(engine.committer.committed) <= 4 * (GC_DEPTH + 8)
        assert len(engine.committer.tx_digests) <= 4 * (GC_DEPTH + 8)
        assert engine.last_certified >= engine.commit_index - 2
    # Every transaction but those of the last rounds is committed, once, on every engine.
    for store in wire.stores:
        numbers = [
            json.loads(unpack_text(row[0]))["payload"]["n"]
            for row in store.all("SELECT body FROM transactions")
        ]
        assert len(numbers) == len(set(numbers))
        assert set(range(rounds - 8)) <= set(numbers)
    # Certified checkpoints verify under the committee.
    for (body,) in wire.stores[2].all("SELECT body FROM checkpoints ORDER BY sequence"):
        verify_certified_checkpoint(unpack_checkpoint(body), COMMITTEE)


@pytest.mark.requirement("TWIN-CONSENSUS-108", "TWIN-CONSENSUS-107")
def test_a_restarted_engine_reloads_only_what_it_still_needs(wire: Wire) -> None:
    for step in range(2 * GC_DEPTH + 10):
        wire.engines[1].enqueue(transaction(step))
        wire.step()
    engine = wire.engines[1]
    before = (engine.commit_index, engine.dag.gc_round, engine.last_round, len(engine.dag))
    restarted = wire.restart(1)
    assert restarted.commit_index == before[0]
    assert restarted.dag.gc_round == before[1] > 0
    assert restarted.last_round == before[2], "it must not sign a round again"
    assert len(restarted.dag) <= before[3]
    for step in range(12):
        wire.engines[step % 4].enqueue(transaction(10_000 + step))
        wire.step()
    assert restarted.commit_index > before[0]
    assert_agree(wire, [0, 1, 2, 3])


@pytest.mark.requirement("TWIN-CONSENSUS-109", "TWIN-CONSENSUS-113")
def test_three_engines_commit_without_a_silent_fourth(tmp_path: Path) -> None:
    wire = Wire(tmp_path, silent=frozenset({3}))
    try:
        for step in range(40):
            wire.engines[step % 3].enqueue(transaction(step))
            wire.step()
        commits = assert_agree(wire, [0, 1, 2])
        assert len(commits) >= 20
        assert all(ref["author"] != 3 for commit in commits for ref in commit["blocks"])
    finally:
        wire.close()


@pytest.mark.requirement("TWIN-CONSENSUS-109")
def test_a_lagging_leader_proposes_its_leader_block_rather_than_skip_it(wire: Wire) -> None:
    wire.silent.add(1)
    for step in range(40):
        wire.engines[0].enqueue(transaction(step))
        wire.step()
        if step > 8 and wire.engines[0].quorum_round % 4 == 1:
            break
    lagging = wire.engines[1]
    assert lagging.last_round == 0
    wire.wake(1)
    leader_round = lagging.quorum_round
    assert leader_round % 4 == 1, "validator 1 leads the rounds r with r mod 4 == 1"
    wire.step()
    own_rounds = {ref.round for ref in lagging.dag.blocks_at(leader_round) if ref.author == 1}
    assert own_rounds == {leader_round}, "it proposed its leader block of the round it missed"
    assert lagging.last_round >= leader_round
    for step in range(12):
        wire.engines[step % 4].enqueue(transaction(1000 + step))
        wire.step()
    commits = assert_agree(wire, [0, 1, 2, 3])
    assert any(ref["author"] == 1 for commit in commits[-4:] for ref in commit["blocks"])


@pytest.mark.requirement("TWIN-CONSENSUS-101", "TWIN-CONSENSUS-108")
def test_old_and_foreign_blocks_change_nothing(wire: Wire) -> None:
    for step in range(GC_DEPTH + 20):
        wire.engines[0].enqueue(transaction(step))
        wire.step()
    engine = wire.engines[0]
    assert engine.dag.gc_round > 0
    state = (engine.commit_index, len(engine.dag), engine.dag.highest_round)
    # A validly signed block of validator 2 at a round already garbage-collected.
    old = sign_block(
        KEYS[2],
        {
            "epoch": 0,
            "round": 1,
            "author": 2,
            "timestampMs": 5,
            "ancestors": [ref.to_json() for ref in [genesis_refs(COMMITTEE)[2]]]
            + [ref.to_json() for ref in genesis_refs(COMMITTEE) if ref.author != 2],
            "transactions": [],
        },
    )
    with pytest.raises(ApiError):
        engine.receive_block(old)
    # The same round, seen in the database already: an equivocation is recorded.
    count = wire.stores[0].one("SELECT COUNT(*) FROM equivocations")
    assert count == (1,)
    # A block naming a parent nobody has: kept aside (bounded), not in the DAG.
    highest = engine.dag.highest_round
    parents = [BlockRef(highest, author, bytes([author]) * 32) for author in (2, 3)]
    orphan = sign_block(
        KEYS[1],
        {
            "epoch": 0,
            "round": highest + 1,
            "author": 1,
            "timestampMs": wire.clock + 10,
            "ancestors": [
                engine.dag.first_in_slot(highest, 1).to_json(),
                *(ref.to_json() for ref in parents),
            ],
            "transactions": [],
        },
    )
    with pytest.raises(LedgerError) as refused:
        engine.receive_block(orphan)
    assert getattr(refused.value, "code", None) == "missingAncestor"
    assert (engine.commit_index, len(engine.dag), engine.dag.highest_round) == state
    assert set(engine.wanted()) == set(parents)
    # Garbage and strangers are refused with the rule's code.
    bad: object
    for bad in ([], {"round": 1}, {**orphan, "author": 7}, {**orphan, "signature": "z1"}):
        with pytest.raises(LedgerError):
            engine.receive_block(bad)
    assert (engine.commit_index, len(engine.dag), engine.dag.highest_round) == state


def test_the_live_dag_counts_collected_ancestors_as_present() -> None:
    dag = LiveDag(COMMITTEE)
    assert dag.gc_round == 0
    ghost = BlockRef(3, 1, bytes(32))
    assert ghost not in dag
    assert dag.prune(5) == []
    assert ghost in dag
    assert dag.timestamp(ghost) == 0
    assert BlockRef(6, 1, bytes(32)) not in dag
    for ref in genesis_refs(COMMITTEE):
        assert ref in dag
        assert dag.get(ref)["round"] == 0


def test_the_engine_databases_are_sqlite_files(wire: Wire) -> None:
    wire.engines[0].enqueue(transaction(1))
    for _ in range(6):
        wire.step()
    database = sqlite3.connect(wire.folder / "validator-0.sqlite")
    try:
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    finally:
        database.close()
    assert {"blocks", "commits", "checkpoint_summaries", "checkpoints", "equivocations"} <= tables


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.requirement("TWIN-CONSENSUS-131", "TWIN-CONSENSUS-132")
def test_a_transaction_no_block_can_carry_is_dropped_with_its_reason(wire: Wire) -> None:
    # Admission refuses such a transaction (TWIN-ANCHORING-061); enqueue() here reaches the
    # mempool without it, as a transaction admitted under other rules might.
    engine = wire.engines[0]
    poison = {**transaction(1), "payload": nested(255)}
    digest = engine.enqueue(poison)
    engine.enqueue(transaction(2))
    for step in range(12):
        wire.engines[step % 4].enqueue(transaction(100 + step))
        wire.step()
    status = engine.transaction_status(digest)
    assert status is not None
    assert status["status"] == "dropped"
    assert "nests 256 levels deep" in str(status["reason"])
    assert engine.loop_error is None
    committed = [
        json.loads(unpack_text(row[0]))["nonce"]
        for row in wire.stores[0].all("SELECT body FROM transactions")
    ]
    assert f"{2:08d}" in committed
    assert f"{104:08d}" in committed


@pytest.mark.requirement("TWIN-CONSENSUS-133")
def test_blocks_stay_within_what_a_peer_takes(wire: Wire) -> None:
    # Each transaction holds about 32,000 JSON values in under 64 KiB: twenty of them would
    # make a block of 640,000 values, far over what a peer takes (262,144).
    dense = [{**transaction(number), "payload": {"n": [0] * 32_000}} for number in range(20)]
    for item in dense:
        wire.engines[0].enqueue(item)
    for _ in range(30):
        wire.step()
    texts = [unpack_text(row[0]) for row in wire.stores[0].all("SELECT body FROM blocks")]
    assert texts
    for text in texts:
        assert len(text.encode()) <= MAX_BLOCK_TEXT_BYTES
        assert json_value_count(text.encode()) <= MAX_BLOCK_VALUES
    # Every peer took every block: all twenty transactions are committed everywhere.
    for store in wire.stores:
        (count,) = store.one("SELECT COUNT(*) FROM transactions") or (0,)
        assert count == 20


def spec_sequence(store: Store) -> tuple[list[CommittedSubDag], LeaderSchedule]:
    """The spec core's commits from every block a validator stored, and the schedule after."""
    dag = Dag(COMMITTEE)
    for (body,) in store.all("SELECT body FROM blocks WHERE round > 0 ORDER BY round, author"):
        dag.add(json.loads(unpack_text(body)))
    sequencer = CommitSequencer(COMMITTEE)
    commits = list(sequencer.advance(dag).commits)
    return commits, sequencer.schedule


def as_subdags(commits: list[Any]) -> list[CommittedSubDag]:
    return [
        CommittedSubDag(
            commit["index"],
            BlockRef.from_json(commit["leader"]),
            tuple(BlockRef.from_json(ref) for ref in commit["blocks"]),
        )
        for commit in commits
    ]


@pytest.mark.requirement(
    "TWIN-CONSENSUS-115", "TWIN-CONSENSUS-116", "TWIN-CONSENSUS-117", "TWIN-CONSENSUS-113"
)
def test_the_live_leaders_are_the_spec_schedules_across_changes_and_a_restart(
    tmp_path: Path,
) -> None:
    # Validator 3 is silent (crashed): its votes are missing, so the first schedule change, at
    # commit 300, makes it the bad node and gives its slots to good nodes.
    wire = Wire(tmp_path, silent=frozenset({3}))
    try:
        step = 0
        restarted = False
        while wire.engines[0].commit_index < 2 * COMMITS_PER_SCHEDULE + 20:
            assert step < 10_000, "the committee stopped committing"
            wire.engines[step % 3].enqueue(transaction(step))
            wire.step()
            step += 1
            if not restarted and wire.engines[1].commit_index > COMMITS_PER_SCHEDULE + 10:
                # A restart after the change resumes the schedule in force from the database.
                wire.restart(1)
                restarted = True
        commits = assert_agree(wire, [0, 1, 2])
        assert restarted
        assert wire.engines[1].commit_index > 2 * COMMITS_PER_SCHEDULE, "the restarted one lags"
        expected, schedule = spec_sequence(wire.stores[0])
        assert as_subdags(commits) == expected[: len(commits)]
        leaders = [BlockRef.from_json(commit["leader"]) for commit in commits]
        after = leaders[COMMITS_PER_SCHEDULE:]
        assert all(ref.author != 3 for ref in after), "a crashed validator still leads"
        # Round-robin would give validator 3 every fourth slot; its slots now commit leaders.
        swapped = [ref for ref in after if ref.round % 4 == 3]
        assert swapped, "no slot of validator 3 was given to a good node"
        # The stored blocks may decide a commit or two more than the engine ran the rule for;
        # no schedule change lies between (they come every 300 commits).
        assert len(commits) // COMMITS_PER_SCHEDULE == len(expected) // COMMITS_PER_SCHEDULE
        for engine in wire.engines[:3]:
            for round_ in range(leaders[-1].round + 1, leaders[-1].round + 9):
                assert engine.committer.leader_of(round_) == leader_of(round_, COMMITTEE, schedule)
    finally:
        wire.close()
