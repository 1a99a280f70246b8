"""Interop, partitions: the committee cut apart through the harness's relay, then healed.

Every member reaches every other only through the relay (``_interop_network.py``), so the
harness can cut any group of members off, clients and harness validators alike, while a
light write load runs through the clients. Two scenarios:

- one client isolated for :data:`ISOLATED_SECONDS`: the others keep committing, and once the
  partition heals the isolated client reaches their commit height within
  :data:`CATCH_UP_SECONDS` (it fetches what it missed, TWIN-CONSENSUS-112, -118);
- the committee split so that no side holds a quorum, for :data:`SPLIT_SECONDS`: no member
  commits a leader past the rounds held when the split began (TWIN-CONSENSUS-024; a node that
  bypasses the relay shows here; a late decision on blocks made before it is fine), and once
  healed every member commits again within :data:`RESUME_SECONDS` without a restart (measured
  from the heal to the first new commit seen on each member, TWIN-CONSENSUS-118). Until then
  the harness validators do not probe for what they lack and drop what they could not send
  during the split (they answer, and fetch the ancestors of blocks they receive): any of
  them asking for rounds or sending its blocks again would resume the committee for the
  clients, and hide a client that cannot.

After each, every write a client acknowledged is on every client, and every commit sequence
is a prefix of every other (TWIN-CONSENSUS-113). A member that never resumes fails the
scenario with the rounds each member holds as evidence (its top rounds and their authors, as
the consensus block routes serve them). Both need every validator up, so this module runs
after the others that keep the committee whole, before crashes and the quorum loss.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest

from twin_conformance._client import TwinClient
from twin_conformance._failures import fail, require
from twin_conformance._interop_network import InteropNetwork, Member
from twin_conformance.interop_checks._support import MAX_PAGES, PAGE, record, wait_until
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_committee import require_prefixes, sequences
from twin_conformance.interop_checks.test_identity_across import resolved_on

pytestmark = pytest.mark.twin_profile("consensus")
ISOLATED_SECONDS = 20.0
SPLIT_SECONDS = 30.0
SPLIT_SETTLE_SECONDS = 5.0
"""After this long into a split without a quorum, the harness validators' top round bounds
every leader any member may commit until the heal."""
RESUME_SECONDS = 5.0
"""Heal to the first new commit on every member: a liveness bound that holds on a loaded
2-core machine for the reference node (tests/reference/test_partitions.py)."""
CATCH_UP_SECONDS = 30.0
"""Heal to the isolated client holding as many commits as the others held at the heal."""
RECOVER_SECONDS = 25.0
"""After the clients' chance, how long the harness validators' own probes may take to get the
committee going again (for the scenarios after this one)."""
WARM_UP_SECONDS = 30.0
SEEN_SECONDS = 30.0
WRITE_PAUSE_SECONDS = 0.3
WATCH_PAUSE_SECONDS = 0.05
WRITE_BOUND_SECONDS = 120.0
"""A write may wait out a member's commit timeout while the committee has no quorum."""
MAX_PROBED_ROUNDS = 64
SAFETY = "TWIN-CONSENSUS-113"
UNSTALL = "TWIN-CONSENSUS-118"


@dataclass
class Load:
    """Writers through some clients (one write at a time each) and a watcher of every member."""

    network: InteropNetwork
    writers: Sequence[MemberClient]
    watched: Sequence[MemberClient]
    stop: threading.Event = field(default_factory=threading.Event)
    acknowledged: list[tuple[MemberClient, str]] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    seen: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    """Per member index: (commit count, time.monotonic when first seen), in order."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    readers: dict[int, TwinClient] = field(default_factory=dict)

    def start(self) -> None:
        """Start one writer per writing client and one watcher of every member's commits."""
        self.readers = {
            m.member.index: TwinClient(m.member.url, timeout=10.0) for m in self.watched
        }
        for member in self.network.members:
            self.seen[member.index] = [(self._count_now(member, 0) or 0, time.monotonic())]
        for writer in self.writers:
            self._spawn(partial(self._write, writer), f"write-{writer.member.index}")
        self._spawn(self._watch, "watch")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"interop-partition-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def finish(self) -> None:
        """Stop writing and watching; wait for every thread (each request is bounded)."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=WRITE_BOUND_SECONDS + 10)
        for reader in self.readers.values():
            reader.close()
        if any(thread.is_alive() for thread in self.threads):
            raise RuntimeError("a load thread of the partition scenario did not stop")

    def counts(self) -> dict[int, int]:
        """The latest commit count seen on every member."""
        with self.lock:
            return {index: seen[-1][0] for index, seen in self.seen.items()}

    def first_past(self, index: int, count: int, since: float) -> float | None:
        """Seconds from ``since`` until member ``index`` was seen holding more than ``count``."""
        with self.lock:
            for held, at in self.seen[index]:
                if held > count:
                    return max(0.0, at - since)
        return None

    def wait_for_commits(self, members: Sequence[int], seconds: float) -> bool:
        """Whether each of ``members`` commits again (past what it holds now) within ``seconds``."""
        start, counts = time.monotonic(), self.counts()
        done = wait_until(
            lambda: (
                True
                if all(self.first_past(i, counts[i], start) is not None for i in members)
                else None
            ),
            seconds,
            pause=WATCH_PAUSE_SECONDS,
        )
        return done is not None

    def _write(self, writer: MemberClient) -> None:
        client = TwinClient(
            writer.member.url, token=writer.client.token, timeout=WRITE_BOUND_SECONDS
        )
        try:
            while not self.stop.is_set():
                exchange = client.post("/identity", json_body={}, auth=True, validate=False)
                status = str(exchange.status) if exchange.status is not None else "no answer"
                document = _json_object(exchange.body) if exchange.status == 200 else None
                did = document.get("id") if document is not None else None
                with self.lock:
                    self.answers[status] = self.answers.get(status, 0) + 1
                    if isinstance(did, str):
                        self.acknowledged.append((writer, did))
                self.stop.wait(WRITE_PAUSE_SECONDS)
        finally:
            client.close()

    def _count_now(self, member: Member, held: int) -> int | None:
        """Member's commit count now: a harness validator's own, a client's as served."""
        if member.peer is not None:
            return len(member.peer.validator.commits)
        reader = self.readers.get(member.index)
        if reader is None:
            return None
        exchange = reader.get(
            "/consensus/commits", params={"from": str(held + 1), "limit": "1000"}, validate=False
        )
        page = _json_object(exchange.body) if exchange.status == 200 else None
        found = page.get("commits") if page is not None else None
        return held + len(found) if isinstance(found, list) else held

    def _watch(self) -> None:
        while not self.stop.is_set():
            for member in self.network.members:
                held = self.counts()[member.index]
                now = self._count_now(member, held)
                if now is not None and now > held:
                    with self.lock:
                        self.seen[member.index].append((now, time.monotonic()))
            self.stop.wait(WATCH_PAUSE_SECONDS)


def _json_object(body: bytes) -> dict[str, Any] | None:
    """A body parsed as a JSON object, else None (a load's answers are counted, not judged)."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@contextlib.contextmanager
def running(load: Load) -> Iterator[Load]:
    """Run ``load`` for the length of a ``with`` block; always stop it and its threads."""
    load.start()
    try:
        yield load
    finally:
        load.finish()


def _up(network: InteropNetwork) -> list[Member]:
    """The members taking part: every client, and the harness validators still alive."""
    return [m for m in network.members if m.peer is None or m.peer.validator.alive]


@contextlib.contextmanager
def stall_probes_paused(network: InteropNetwork) -> Iterator[None]:
    """Harness validators that ask no peer for rounds or checkpoints and send nothing again."""
    validators = [m.peer.validator for m in network.harness if m.peer is not None]
    for validator in validators:
        validator.stall_probes = False
    try:
        yield
    finally:
        for validator in validators:
            validator.stall_probes = True


def forget_unsent(network: InteropNetwork) -> None:
    """Harness validators drop what they sent into the partition and have not delivered.

    Otherwise a block a harness validator still retries would land just after the heal and
    resume the committee for the clients.
    """
    for member in network.harness:
        if member.peer is not None:
            member.peer.forget_unsent()


def _harness_top_round(network: InteropNetwork) -> int | None:
    """The highest round a live harness validator holds (None without one)."""
    rounds = [
        int(m.peer.validator.snapshot()["round"])
        for m in network.harness
        if m.peer is not None and m.peer.validator.alive
    ]
    return max(rounds, default=None)


def _leader_rounds(
    network: InteropNetwork, members: Sequence[MemberClient], index: int, after: int, upto: int
) -> list[int]:
    """The leader rounds of member ``index``'s commits ``after`` + 1 to ``upto``."""
    if upto <= after:
        return []
    member = next(m for m in network.members if m.index == index)
    if member.peer is not None:
        commits: list[Any] = list(member.peer.validator.commits[after:upto])
    else:
        client = next(m for m in members if m.member is member)
        exchange = client.client.get(
            "/consensus/commits", params={"from": str(after + 1), "limit": str(upto - after)}
        )
        page = _json_object(exchange.body) if exchange.status == 200 else None
        listed = page.get("commits") if page is not None else None
        commits = listed if isinstance(listed, list) else []
    rounds = []
    for commit in commits:
        leader = commit.get("leader") if isinstance(commit, dict) else None
        if isinstance(leader, dict) and isinstance(leader.get("round"), int):
            rounds.append(int(leader["round"]))
    return rounds


def _require_every_validator_up(network: InteropNetwork) -> None:
    """Skip (not applicable) when a harness validator has crashed for good."""
    if len(_up(network)) < network.size:
        pytest.skip("not applicable: a harness validator has crashed, the committee is not whole")


def held_rounds(network: InteropNetwork, members: Sequence[MemberClient]) -> str:
    """The top rounds each member holds and the authors of its blocks at them, in words."""
    lines = []
    for member in network.members:
        if member.peer is not None:
            validator = member.peer.validator
            top = int(validator.snapshot()["round"])
            rounds = {
                r: sorted(int(b["author"]) for b in validator.blocks_at(r))
                for r in range(max(0, top - 2), top + 1)
            }
        else:
            client = next((m for m in members if m.member is member), None)
            if client is None:
                continue
            rounds = _client_top_rounds(client)
        described = "; ".join(
            f"round {r}: authors {authors}" for r, authors in sorted(rounds.items(), reverse=True)
        )
        lines.append(f"{member.label}: {described or 'no round served'}")
    return " | ".join(lines)


def _client_top_rounds(member: MemberClient) -> dict[int, list[int]]:
    """A client's three top rounds and their authors, from GET /consensus/blocks?round=N."""
    last: object = None
    held = 0
    for _ in range(MAX_PAGES):  # to the last commit it serves: its leader's round is below the top
        commits = member.client.get(
            "/consensus/commits", params={"from": str(held + 1), "limit": str(PAGE)}
        )
        page = _json_object(commits.body) if commits.status == 200 else None
        listed = page.get("commits") if page is not None else None
        if not isinstance(listed, list) or not listed:
            break
        held, last = held + len(listed), listed[-1]
        if len(listed) < PAGE:
            break
    start = 1
    leader = last.get("leader") if isinstance(last, dict) else None
    if isinstance(leader, dict) and isinstance(leader.get("round"), int):
        start = max(1, int(leader["round"]))
    found: dict[int, list[int]] = {}
    for round_ in range(start, start + MAX_PROBED_ROUNDS):
        exchange = member.client.get("/consensus/blocks", params={"round": str(round_)})
        answer = _json_object(exchange.body) if exchange.status == 200 else None
        blocks = answer.get("blocks") if answer is not None else None
        if not isinstance(blocks, list) or not blocks:
            break
        found[round_] = sorted(
            int(b["author"])
            for b in blocks
            if isinstance(b, dict) and isinstance(b.get("author"), int)
        )
    return dict(sorted(found.items())[-3:])


def _require_alive(network: InteropNetwork) -> None:
    """Fail when a client process exited: the committee must resume without a restart."""
    for member in network.clients:
        exited = member.process.exited() if member.process is not None else None
        require(exited is None, UNSTALL, f"{member.label} stopped during the partition: {exited}")


def _require_writes_everywhere(
    network: InteropNetwork, load: Load, members: Sequence[MemberClient], scenario: str
) -> None:
    """Every acknowledged write resolves on every client (one matrix entry per pair)."""
    failures = []
    missing: set[int] = set()
    for writer, did in load.acknowledged:
        for consumer in members:
            # Once a member lacks one write, the others are looked up once each (a bound).
            wait = 0.0 if consumer.member.index in missing else SEEN_SECONDS
            seen = wait_until(partial(resolved_on, consumer, did), wait) is not None
            if consumer is not writer:
                record(network, scenario, "test_partitions.py", writer.member.index,
                       consumer.member.index, seen)  # fmt: skip
            if not seen:
                missing.add(consumer.member.index)
                failures.append(f"{did} acknowledged by {writer.label} is not on {consumer.label}")
    require(not failures, SAFETY, "; ".join(failures[:4]))


@pytest.mark.twin_requirement("TWIN-CONSENSUS-118", "TWIN-CONSENSUS-112", "TWIN-CONSENSUS-113")
def test_an_isolated_client_catches_up_once_the_partition_heals(
    members: list[MemberClient], network: InteropNetwork
) -> None:
    assert network.committee is not None
    _require_every_validator_up(network)
    victim = members[-1]
    others = [m.index for m in network.members if m is not victim.member]
    if not network.committee.is_quorum(others):
        pytest.skip("not applicable: without one client the others hold no quorum")
    writers = [m for m in members if m is not victim]
    load = Load(network, writers, members)
    with running(load):
        require(
            load.wait_for_commits([*others, victim.member.index], WARM_UP_SECONDS),
            SAFETY,
            f"not every member committed within {WARM_UP_SECONDS:g} s before the partition:"
            f" {held_rounds(network, members)}",
        )
        network.cut([[victim.member.index], others])
        cut_counts = load.counts()
        time.sleep(ISOLATED_SECONDS)
        healed_counts = load.counts()
        healed = time.monotonic()
        network.heal()
        target = max(healed_counts[i] for i in others)
        caught_up = wait_until(
            lambda: True if load.counts()[victim.member.index] >= target else None,
            CATCH_UP_SECONDS,
            pause=WATCH_PAUSE_SECONDS,
        )
        took = time.monotonic() - healed
    stalled = [
        m.label
        for m in network.members
        if m.index in others and healed_counts[m.index] <= cut_counts[m.index]
    ]
    require(
        not stalled,
        SAFETY,
        f"with {victim.label} cut off for {ISOLATED_SECONDS:g} s, {', '.join(stalled)} made no"
        f" commit although the others held a quorum: {held_rounds(network, members)}",
    )
    record(network, "isolated-caught-up", "test_partitions.py", victim.member.index,
           victim.member.index, caught_up is not None, f"{took:.1f} s")  # fmt: skip
    if caught_up is None:
        fail(
            "TWIN-CONSENSUS-112",
            f"{victim.label}, cut off for {ISOLATED_SECONDS:g} s, holds"
            f" {load.counts()[victim.member.index]} commits {CATCH_UP_SECONDS:g} s after the"
            f" heal; the others held {target} at the heal. Rounds held:"
            f" {held_rounds(network, members)}",
        )
    _require_alive(network)
    require_prefixes(sequences(members, network))
    _require_writes_everywhere(network, load, members, "written-during-isolation-seen")


def split_without_quorum(network: InteropNetwork) -> list[list[int]] | None:
    """The members by alternate index ({0, 2, ..} | {1, 3, ..}) if neither side is a quorum."""
    assert network.committee is not None
    groups = [[m.index for m in network.members if m.index % 2 == side] for side in (0, 1)]
    if any(not group or network.committee.is_quorum(group) for group in groups):
        return None
    return groups


@pytest.mark.twin_requirement("TWIN-CONSENSUS-118", "TWIN-CONSENSUS-113", "TWIN-CONSENSUS-024")
def test_a_committee_split_without_a_quorum_commits_again_once_healed(
    members: list[MemberClient], network: InteropNetwork
) -> None:
    _require_every_validator_up(network)
    groups = split_without_quorum(network)
    if groups is None:
        pytest.skip("not applicable: no split of this committee leaves both sides without a quorum")
    everyone = [m.index for m in network.members]
    labels = {m.index: m.label for m in network.members}
    load = Load(network, members, members)
    with running(load):
        require(
            load.wait_for_commits(everyone, WARM_UP_SECONDS),
            SAFETY,
            f"not every member committed within {WARM_UP_SECONDS:g} s before the split:"
            f" {held_rounds(network, members)}",
        )
        with stall_probes_paused(network):
            network.cut(groups)
            time.sleep(SPLIT_SETTLE_SECONDS)
            settled_counts = load.counts()
            settled_round = _harness_top_round(network)
            time.sleep(SPLIT_SECONDS - SPLIT_SETTLE_SECONDS)
            healed_counts = load.counts()
            forget_unsent(network)
            healed = time.monotonic()
            network.heal()

            def resumed() -> dict[int, float | None]:
                return {i: load.first_past(i, healed_counts[i], healed) for i in everyone}

            wait_until(
                lambda: True if None not in resumed().values() else None,
                RESUME_SECONDS,
                pause=WATCH_PAUSE_SECONDS,
            )
            by_clients = {
                i: s for i, s in resumed().items() if s is not None and s <= RESUME_SECONDS
            }
            evidence = held_rounds(network, members) if len(by_clients) < len(everyone) else ""
        # The harness validators probe again, so that the committee recovers for the
        # scenarios after this one even when the clients did not resume it.
        wait_until(
            lambda: True if None not in resumed().values() else None,
            RECOVER_SECONDS,
            pause=WATCH_PAUSE_SECONDS,
        )
        finally_resumed = resumed()
    if settled_round is not None:
        beyond = [
            f"{labels[i]} (a leader of round {round_})"
            for i in everyone
            for round_ in _leader_rounds(network, members, i, settled_counts[i], healed_counts[i])
            if round_ > settled_round + 1
        ]
        require(
            not beyond,
            "TWIN-CONSENSUS-024",
            f"split {groups[0]} | {groups[1]}, no side holding a quorum: {', '.join(beyond[:4])}"
            f" committed during the split, although {SPLIT_SETTLE_SECONDS:g} s into it the"
            f" harness validators held round {settled_round} at most and no side can certify a"
            " leader past it without quorum stake (or the member reaches its peers without the"
            " relay, ignoring its peers.json)",
        )
    for index in everyone:
        seconds = finally_resumed[index]
        record(network, "split-commits-resumed", "test_partitions.py", index, index,
               index in by_clients, "never" if seconds is None else f"{seconds:.1f} s")  # fmt: skip
    late = [
        f"{labels[i]} ("
        + (
            "never"
            if finally_resumed[i] is None
            else f"{finally_resumed[i]:.1f} s, once the harness validators probed too"
        )
        + ")"
        for i in everyone
        if i not in by_clients
    ]
    require(
        not late,
        UNSTALL,
        f"after a split {groups[0]} | {groups[1]} of {SPLIT_SECONDS:g} s (no side a quorum),"
        f" no commit within {RESUME_SECONDS:g} s of the heal on {', '.join(late)}. Meanwhile"
        " the harness validators only answered and fetched ancestors (they asked no peer for"
        " rounds, sent nothing again and dropped what they could not send during the split),"
        " so the clients alone had to resume the committee."
        f" Rounds held {RESUME_SECONDS:g} s after the heal: {evidence}",
    )
    _require_alive(network)
    require_prefixes(sequences(members, network))
    _require_writes_everywhere(network, load, members, "written-around-split-seen")
