"""Interop, anchoring: a proof anchored on one member verifies on every other, and offline.

The receipt each consumer serves for the proof is verified by the harness with the spec core
and the genesis committee alone (TWIN-ANCHORING-030), never by asking a node.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from twin_conformance._failures import prerequisite, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    Anchored,
    anchor,
    body_object,
    check_receipt,
    require_status,
)
from twin_conformance.interop_checks._support import record, require_two_clients, wait_until
from twin_conformance.interop_checks.conftest import MemberClient

pytestmark = pytest.mark.twin_profile("anchoring")
SEEN_SECONDS = 30.0


@pytest.fixture(scope="module")
@prerequisite("every member anchors a document")
def anchored(members: list[MemberClient], run: TwinState) -> dict[int, Anchored]:
    """One document anchored through each client member, by member index."""
    require_two_clients(members)
    found = {}
    for member in members:
        document: dict[str, Any] = {
            "@context": "https://schema.org",
            "type": "Certificate",
            "id": f"urn:interop:anchored-on-{member.member.index}:seed-{run.seed}",
            "name": f"Certificate of origin anchored on member {member.member.index}",
        }
        found[member.member.index] = anchor(member.client, run, document)
    return found


def served_proof(member: MemberClient, location: str) -> dict[str, Any] | None:
    """The proof ``member`` serves at ``location`` with its receipt, or None while it lacks it."""
    exchange = member.client.get(f"/immutable-proof/{location}", auth=True)
    if exchange.status == 404:
        return None
    require_status(exchange, 200, "TWIN-CONSENSUS-113", f"getting a proof on {member.label}")
    body = body_object(exchange, "TWIN-ANCHORING-050", "the proof")
    return body if "immutableReceipt" in body else None


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113", "TWIN-ANCHORING-030", "TWIN-ANCHORING-050")
def test_a_proof_anchored_on_one_member_verifies_on_every_other_and_offline(
    members: list[MemberClient], network: InteropNetwork, anchored: dict[int, Anchored]
) -> None:
    assert network.committee is not None
    failures = []
    for producer in members:
        item = anchored[producer.member.index]
        for consumer in members:
            if consumer is producer:
                continue
            proof = wait_until(partial(served_proof, consumer, item.location), SEEN_SECONDS)
            if proof is None:
                record(
                    network,
                    "proof-verifies",
                    "test_anchoring_across.py",
                    producer.member.index,
                    consumer.member.index,
                    False,
                    "not found",
                )
                failures.append(f"anchored on {producer.label}: {consumer.label} does not serve it")
                continue
            check_receipt(
                proof["immutableReceipt"],
                network.committee,
                f"the receipt {consumer.label} serves for a proof anchored on {producer.label}",
            )
            exchange = consumer.client.get(f"/immutable-proof/{item.location}/verify", auth=True)
            require_status(exchange, 200, "TWIN-ANCHORING-050", f"verifying on {consumer.label}")
            answer = body_object(exchange, "TWIN-ANCHORING-050", "the verification")
            good = answer.get("verified") is True
            record(
                network,
                "proof-verifies",
                "test_anchoring_across.py",
                producer.member.index,
                consumer.member.index,
                good,
                "" if good else str(answer.get("failure")),
            )
            if not good:
                failures.append(
                    f"anchored on {producer.label}: {consumer.label} answers verified "
                    f"{answer.get('verified')!r}, failure {answer.get('failure')!r}"
                )
    require(not failures, "TWIN-ANCHORING-050", "proofs across members: " + "; ".join(failures[:4]))
