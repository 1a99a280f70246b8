"""Fixtures the check modules share: the run, the client, the committee, anchored proofs."""

from __future__ import annotations

import json

import pytest

from twin_conformance._client import TwinClient, fail
from twin_conformance._failures import prerequisite
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    Anchored,
    anchor,
    anchored_documents,
    require_status,
    seeded_random,
    spec_failure_requirement,
)
from twin_spec import Committee, LedgerError


@pytest.fixture(scope="session")
def run(twin_state: TwinState) -> TwinState:
    """The run's state (seed, /info, target), usable by module-scoped fixtures."""
    return twin_state


@pytest.fixture(scope="session")
def client(twin: TwinClient) -> TwinClient:
    """The run's client of the target, usable by module-scoped fixtures."""
    return twin


@pytest.fixture(scope="session")
@prerequisite("the node serves its committee", read_only=True)
def served_committee(client: TwinClient) -> Committee:
    """The committee as ``GET /consensus/committee`` serves it (it must be valid)."""
    exchange = client.get("/consensus/committee")
    require_status(exchange, 200, "TWIN-CONSENSUS-001", "the committee")
    try:
        return Committee.from_json(exchange.json("TWIN-CONSENSUS-001"))
    except LedgerError as exc:
        fail(
            spec_failure_requirement(exc, "TWIN-CONSENSUS-001"),
            f"GET /consensus/committee is not a valid committee: {exc.message}",
        )


@pytest.fixture(scope="session")
@prerequisite("the committee that certifies receipts", read_only=True)
def committee(run: TwinState, request: pytest.FixtureRequest) -> Committee:
    """The committee receipts and checkpoints verify against: the target file's, or served."""
    target = run.target
    if target is not None and target.committee_file is not None:
        try:
            return Committee.from_json(json.loads(target.committee_file.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"the target file's committee cannot be read: {exc}") from None
    served: Committee = request.getfixturevalue("served_committee")
    return served


@pytest.fixture(scope="session")
@prerequisite("the node anchors documents")
def anchored(client: TwinClient, run: TwinState) -> list[Anchored]:
    """The harness's documents anchored on the target (signed and receipted)."""
    rng = seeded_random(run, "anchoring:documents")
    return [anchor(client, run, document) for document in anchored_documents(rng)]
