"""Harness validators among themselves: a committee of four made wholly by the spec core.

The validators are wired to one another in this process (each message delivered at once to
its receivers' receive routes), so what they do is exactly what ``twin_spec`` says: they
agree on one commit sequence and certify its checkpoints, they keep committing with one
crashed, each records an equivocator's evidence (which verifies offline), each refuses a
block that breaks a receive rule with that rule's code, and a checkpoint signature lost on
the way is sent again, or the checkpoint taken certified from a peer, until every checkpoint
is certified. Over HTTP, against real nodes, the
same validators are exercised by ``test_interop.py``.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections import deque

import pytest

from twin_conformance._harness_validator import HarnessValidator, Outgoing
from twin_spec import (
    Committee,
    Ed25519SigningKey,
    Validator,
    block_digest,
    sign_block,
    verify_certified_checkpoint,
    verify_equivocation_evidence,
)


class Bus:
    """Validators wired in process: messages queued, then delivered in order.

    Its clock moves only when a test moves it (``now``); ``lose_signatures_to`` names the
    validators whose incoming checkpoint signatures are lost on the way.
    """

    def __init__(self, size: int) -> None:
        self.now = 0.0
        self.lose_signatures_to: frozenset[int] = frozenset()
        keys = [Ed25519SigningKey.generate() for _ in range(size)]
        self.committee = Committee(
            0, tuple(Validator(i, key.public_key, 1, None) for i, key in enumerate(keys))
        )
        self.keys = keys
        self.queue: deque[tuple[int, Outgoing]] = deque()
        self.validators = [
            HarnessValidator(
                self.committee,
                index,
                key,
                functools.partial(self._post, index),
                leader_timeout_seconds=0.0,
                clock=lambda: self.now,
            )
            for index, key in enumerate(keys)
        ]

    def _post(self, sender: int, message: Outgoing) -> None:
        self.queue.append((sender, message))

    def deliver(self) -> None:
        while self.queue:
            _sender, message = self.queue.popleft()
            for index in sorted(message.peers):
                validator = self.validators[index]
                if not validator.alive:
                    continue
                body = json.loads(message.body)
                if message.path == "/consensus/blocks":
                    validator.receive_block(body)
                elif index in self.lose_signatures_to:
                    continue
                else:
                    sequence = int(message.path.split("/")[3])
                    validator.receive_signature(sequence, body)

    def fetch(self) -> None:
        """What ``_harness_peer`` does over HTTP: fetch held blocks' missing ancestors."""
        for validator in self.validators:
            for _ in range(10):
                wanted = validator.missing()
                if not wanted:
                    break
                for digest, author in wanted:
                    block = self.validators[author].block(digest)
                    if block is not None:
                        validator.receive_block(block)

    def rounds(self, count: int) -> None:
        for _ in range(count):
            for validator in self.validators:
                validator.propose_if_ready()
            self.deliver()
            self.fetch()


@pytest.fixture
def bus() -> Bus:
    return Bus(4)


def _agree(validators: list[HarnessValidator]) -> None:
    for first, second in itertools.combinations(validators, 2):
        shorter, longer = sorted((first.commits, second.commits), key=len)
        assert longer[: len(shorter)] == shorter


def test_four_harness_validators_agree_and_certify(bus: Bus) -> None:
    bus.rounds(30)
    commits = [len(v.commits) for v in bus.validators]
    assert min(commits) >= 20, commits
    _agree(bus.validators)
    for validator in bus.validators:
        checkpoints = validator.certified(1, 1000)
        assert len(checkpoints) >= len(validator.commits) - 1
        for checkpoint in checkpoints:
            verify_certified_checkpoint(checkpoint, bus.committee)


def test_one_crashed_validator_does_not_stop_the_others(bus: Bus) -> None:
    bus.rounds(5)
    before = len(bus.validators[0].commits)
    bus.validators[3].crash()
    bus.rounds(30)
    live = bus.validators[:3]
    assert min(len(v.commits) for v in live) >= before + 15
    _agree(live)


def test_every_peer_records_an_equivocators_evidence(bus: Bus) -> None:
    bus.rounds(3)
    liar = bus.validators[3]
    liar.equivocate_next(frozenset({0}), frozenset({1, 2}))
    bus.rounds(6)
    assert liar.equivocated is not None
    signed = sorted(block_digest(block).hex() for block in liar.equivocated)
    for validator in bus.validators[:3]:
        evidence = [e for e in validator.equivocations if e["author"] == 3]
        assert len(evidence) == 1, f"validator {validator.index} recorded {evidence}"
        verify_equivocation_evidence(evidence[0], bus.committee)
        assert sorted(block_digest(b).hex() for b in evidence[0]["blocks"]) == signed
    bus.rounds(10)
    _agree(bus.validators)


def test_a_block_breaking_a_receive_rule_is_refused_with_its_code(bus: Bus) -> None:
    bus.rounds(2)
    receiver = bus.validators[0]
    good = receiver.blocks_at(2)[1]
    unsigned = {k: v for k, v in good.items() if k != "signature"}
    cases = {
        "badSignature": sign_block(bus.keys[2], {**unsigned}),
        "wrongEpoch": sign_block(bus.keys[1], {**unsigned, "epoch": 1}),
        "noAncestors": sign_block(bus.keys[1], {**unsigned, "ancestors": []}),
        "missingAncestor": sign_block(
            bus.keys[1],
            {
                **unsigned,
                "ancestors": [
                    unsigned["ancestors"][0],
                    {**unsigned["ancestors"][1], "digest": "ab" * 32},
                    *unsigned["ancestors"][2:],
                ],
            },
        ),
    }
    for code, block in cases.items():
        status, answer = receiver.receive_block(block)
        assert status == 400, (code, answer)
        assert answer["properties"]["code"] == code
    assert receiver.receive_block([1, 2]) == (
        400,
        {
            "name": "ValidationError",
            "message": "the body is not a JSON object",
            "properties": {"code": "malformed"},
        },
    )
    own = receiver.blocks_at(2)[0]
    assert receiver.receive_block(own)[0] == 202, "a block it holds is accepted again"


def test_a_checkpoint_signature_that_does_not_verify_is_refused(bus: Bus) -> None:
    bus.rounds(10)
    receiver = bus.validators[0]
    assert receiver.commits
    status, answer = receiver.receive_signature(1, {"signer": 1, "signature": "z" + "1" * 86})
    assert (status, answer["properties"]["code"]) == (400, "badSignature")
    status, answer = receiver.receive_signature(1, {"signer": 9, "signature": "z1"})
    assert (status, answer["properties"]["code"]) == (400, "unknownSigner")
    ahead = len(receiver.commits) + 1
    status, answer = receiver.receive_signature(ahead, {"signer": 1, "signature": "z1"})
    assert (status, answer["status"]) == (202, "pending")
    status, answer = receiver.receive_signature(10**9, {"signer": 1, "signature": "z1"})
    assert (status, answer["status"]) == (202, "ignored")


def test_rule_breaking_blocks_are_refused_by_every_peer_with_the_spec_cores_code(
    bus: Bus,
) -> None:
    bus.rounds(3)
    made = bus.validators[3].rule_breaking_blocks()
    codes = {code for _name, _block, code in made}
    assert {"badSignature", "wrongEpoch", "roundZero", "unknownAuthor", "noAncestors"} <= codes
    assert {"missingAncestor", "timestampBeforeAncestor", "malformed"} <= codes
    assert {"duplicateAncestorAuthor", "ownAncestorNotFirst", "unknownAncestorAuthor"} <= codes
    assert {"firstAncestorNotOwn", "tooManyAncestors", "ancestorRoundNotBelow"} <= codes
    for receiver in bus.validators[:3]:
        for name, block, code in made:
            status, answer = receiver.receive_block(block)
            assert (status, answer["properties"]["code"]) == (400, code), name
    assert not any(v.equivocations for v in bus.validators)


def test_a_silent_leader_leaves_its_slots_empty_and_the_others_commit(bus: Bus) -> None:
    bus.rounds(3)
    silent = bus.validators[2]
    silent.be_silent_leader()
    bus.rounds(24)
    schedule = silent._sequencer.schedule
    led = [r for r in range(5, 20) if schedule.leader_of(r) == 2]
    assert led
    for validator in bus.validators:
        authors = {(r, b["author"]) for r in led for b in validator.blocks_at(r)}
        assert all((r, 2) not in authors for r in led), "a silent leader proposed"
    assert min(len(v.commits) for v in bus.validators) >= 10
    _agree(bus.validators)


def test_blocks_withheld_from_a_peer_reach_it_through_the_others(bus: Bus) -> None:
    bus.rounds(3)
    bus.validators[3].withhold_from(frozenset({0}))
    bus.rounds(10)
    # Validator 0 never receives validator 3's blocks directly: it fetches each one a block it
    # receives names, and commits what the others commit.
    assert min(len(v.commits) for v in bus.validators) >= 5
    assert len(bus.validators[0].blocks_at(10)) == 4
    _agree(bus.validators)


def test_a_conflicting_checkpoint_signature_is_refused(bus: Bus) -> None:
    bus.rounds(10)
    signature = bus.validators[3].conflicting_signature(1)
    assert signature is not None
    status, answer = bus.validators[0].receive_signature(1, signature)
    assert (status, answer["properties"]["code"]) == (400, "badSignature")


def test_blocks_signed_again_name_the_same_ancestors_and_every_peer_records_them(
    bus: Bus,
) -> None:
    bus.rounds(3)
    liar = bus.validators[3]
    first = [b for b in liar.blocks_at(liar.last_round) if b["author"] == liar.index]
    again = liar.sign_again(2)
    bus.deliver()
    assert len(first) == 1
    assert len(again) == 2
    assert {block["round"] for block in again} == {liar.last_round}
    assert all(block["ancestors"] == first[0]["ancestors"] for block in again)
    for validator in bus.validators[:3]:
        evidence = [e for e in validator.equivocations if e["author"] == 3]
        assert len(evidence) == 1, f"validator {validator.index} recorded {evidence}"
        verify_equivocation_evidence(evidence[0], bus.committee)
    bus.rounds(10)
    _agree(bus.validators)


def _certified_count(validator: HarnessValidator) -> int:
    return len(validator.certified(1, 100_000))


@pytest.mark.requirement("TWIN-CONSENSUS-112")
def test_a_lost_checkpoint_signature_is_sent_again_until_the_checkpoint_is_certified(
    bus: Bus,
) -> None:
    bus.lose_signatures_to = frozenset(range(4))
    bus.rounds(12)
    assert min(len(v.commits) for v in bus.validators) >= 5
    assert all(_certified_count(v) == 0 for v in bus.validators), "no signature got through"
    bus.lose_signatures_to = frozenset()
    assert all(v.signatures_to_resend() == [] for v in bus.validators), "sent again too soon"
    assert all(v.stale_checkpoint() is None for v in bus.validators)
    bus.now += 1.0
    assert all(v.stale_checkpoint() == 1 for v in bus.validators)
    for validator in bus.validators:
        resent = validator.signatures_to_resend()
        assert len(resent) == len(validator.commits)
        for message in resent:
            bus._post(validator.index, message)
        assert validator.signatures_to_resend() == [], "sent twice in one period"
    bus.deliver()
    for validator in bus.validators:
        assert _certified_count(validator) == len(validator.commits)
        assert validator.stale_checkpoint() is None
        for checkpoint in validator.certified(1, 100_000):
            verify_certified_checkpoint(checkpoint, bus.committee)


@pytest.mark.requirement("TWIN-CONSENSUS-112")
def test_a_checkpoint_its_peers_certified_is_taken_only_for_its_own_summary(bus: Bus) -> None:
    bus.lose_signatures_to = frozenset({0})
    bus.rounds(12)
    behind, peer = bus.validators[0], bus.validators[1]
    assert _certified_count(behind) == 0
    served = peer.certified(1, 100_000)
    assert len(served) >= 3
    first = served[0]
    other_summary = {**first, "summary": {**first["summary"], "transactionCount": 1}}
    too_few = {**first, "signatures": first["signatures"][:2]}
    forged = {
        **first,
        "signatures": [
            {**entry, "signature": served[1]["signatures"][0]["signature"]}
            for entry in first["signatures"]
        ],
    }
    for refused in (other_summary, too_few, forged, {"summary": first["summary"]}, "nonsense"):
        assert not behind.offer_certified(refused)
    assert _certified_count(behind) == 0
    assert all(behind.offer_certified(checkpoint) for checkpoint in served)
    assert not behind.offer_certified(first), "taken twice"
    assert _certified_count(behind) == len(served)
    for checkpoint in behind.certified(1, 100_000):
        verify_certified_checkpoint(checkpoint, bus.committee)
        assert len(checkpoint["signatures"]) == 4  # its own signature beside the peers'
