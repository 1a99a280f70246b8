"""Helpers of the interop scenarios: paged reads, writes through a member, broken clients."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from twin_conformance._client import TwinClient
from twin_conformance._commit_replay import first_commit_mismatch
from twin_conformance._failures import Blocked, fail, require
from twin_conformance._interop_network import InteropNetwork, MatrixEntry, Member
from twin_conformance._run import TwinState
from twin_conformance.checks._support import body_object, require_status
from twin_conformance.interop_checks.conftest import MemberClient

T = TypeVar("T")
PAGE = 1000
MAX_PAGES = 100


def get_all(client: TwinClient, path: str, member: str, requirement: str) -> list[Any]:
    """Every item of a paged consensus list (commits, checkpoints, equivocations)."""
    items: list[Any] = []
    for _ in range(MAX_PAGES):
        page = client.get(path, params={"from": str(len(items) + 1), "limit": str(PAGE)})
        require_status(page, 200, requirement, f"reading {path}")
        found = body_object(page, requirement, path).get(member)
        require(isinstance(found, list), requirement, f"{path} answered no {member} list")
        assert isinstance(found, list)
        items.extend(found)
        if len(found) < PAGE:
            return items
    fail(requirement, f"{path} holds more than {PAGE * MAX_PAGES} items")


def require_two_clients(members: list[MemberClient]) -> None:
    """Skip a cross-member scenario (not applicable) when only one client runs."""
    import pytest

    if len(members) < 2:
        pytest.skip("not applicable: one client has no other client to consume what it made")


def create_identity(member: MemberClient, requirement: str) -> dict[str, Any]:
    """``POST /identity`` through a member: the new DID document (a committed write)."""
    exchange = member.client.post("/identity", json_body={}, auth=True)
    require_status(exchange, 200, requirement, f"creating an identity on {member.label}")
    document = body_object(exchange, requirement, "the new identity")
    require(isinstance(document.get("id"), str), requirement, "the new identity has no id")
    return document


def add_method(
    member: MemberClient, did: str, purpose: str, method_id: str, requirement: str
) -> None:
    """Add a verification method of ``purpose`` to ``did`` through a member (a committed write)."""
    exchange = member.client.post(
        f"/identity/{did}/verification-method",
        json_body={"verificationMethodType": purpose, "verificationMethodId": method_id},
        auth=True,
    )
    require_status(exchange, 200, requirement, f"adding a method on {member.label}")


def first_divergence(first: Sequence[Any], second: Sequence[Any]) -> int | None:
    """The first index where two sequences differ within the shorter one, or None."""
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        if a != b:
            return index
    return None


def wait_until(condition: Callable[[], T | None], seconds: float, pause: float = 0.2) -> T | None:
    """Poll ``condition`` until it returns a value (not None), for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(pause)


def record(
    network: InteropNetwork,
    scenario: str,
    check: str,
    producer: int,
    consumer: int,
    passed: bool,
    detail: str = "",
) -> None:
    """Note one producer x consumer observation for the interop matrix."""
    network.record(
        MatrixEntry(scenario, check, producer, consumer, "passed" if passed else "failed", detail)
    )


def broken_cause(member: MemberClient) -> str:
    """The root-cause key of a client a scenario found broken for the rest of the run."""
    return f"interop|{member.label} is broken for good"


def require_sound(run: TwinState, members: Sequence[MemberClient]) -> None:
    """Block a scenario that needs every client when an earlier one found a client broken.

    A client that lost its DAG (say) spoils every later scenario of the committee; its
    failure is the scenario's that saw it, and the later ones are blocked by it (SUITE-010).
    """
    for member in members:
        first = run.causes.get(broken_cause(member))
        if first is not None and first != run.current:
            raise Blocked(first, f"{member.label} was found broken for good there")


MAX_ROUNDS = 20_000


def served_blocks(client: TwinClient, requirement: str) -> list[Any]:
    """Every block a member serves, round by round from 1 up to the first empty round."""
    blocks: list[Any] = []
    for round_ in range(1, MAX_ROUNDS + 1):
        exchange = client.get("/consensus/blocks", params={"round": str(round_)})
        require_status(exchange, 200, requirement, f"reading the blocks of round {round_}")
        found = body_object(exchange, requirement, "the blocks of a round").get("blocks")
        require(isinstance(found, list), requirement, f"round {round_} answered no blocks list")
        assert isinstance(found, list)
        if not found:
            break
        blocks.extend(found)
    return blocks


REST_SECONDS = 1.0
"""How long a harness validator's round must stay put for the committee to be at rest."""


def harness_at_rest(member: Member) -> int:
    """A live harness validator's round once it has not moved for REST_SECONDS (bounded).

    The clients propose only while a write waits, and a harness validator one round above
    the quorum round it holds: at rest, its round is one above the clients'.
    """
    assert member.peer is not None
    validator = member.peer.validator
    deadline = time.monotonic() + 10 * REST_SECONDS
    seen, since = validator.last_round, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if validator.last_round != seen:
            seen, since = validator.last_round, time.monotonic()
        elif time.monotonic() - since >= REST_SECONDS:
            break
    return seen


def require_commits_follow_the_rule(
    members: Sequence[MemberClient], network: InteropNetwork, when: str
) -> None:
    """Fail the rule a client broke if it serves a commit the spec core's rule does not make.

    The rule is replayed over the blocks the client serves (``_commit_replay.py``); judged
    where the DAG does not grow (the committee at rest, the quorum lost), a client ahead of
    the others by such a commit is the one at fault, and broken for good (SUITE-010).
    """
    assert network.committee is not None
    for member in members:
        commits = get_all(member.client, "/consensus/commits", "commits", "TWIN-CONSENSUS-100")
        blocks = served_blocks(member.client, "TWIN-CONSENSUS-100")
        mismatch = first_commit_mismatch(network.committee, blocks, commits)
        if mismatch is not None:
            fail(
                mismatch.requirement,
                f"{when}, {member.label}'s {mismatch.message}",
                cause=broken_cause(member),
            )


def resting_harness_validator(network: InteropNetwork) -> Member | None:
    """A live harness validator to watch for the committee at rest, or None.

    None when there is none, or when the live harness validators alone hold a quorum: they
    then propose round after round, and the committee never rests.
    """
    assert network.committee is not None
    live = [m for m in network.harness if m.peer is not None and m.peer.validator.alive]
    if not live or network.committee.is_quorum(m.index for m in live):
        return None
    return live[0]
