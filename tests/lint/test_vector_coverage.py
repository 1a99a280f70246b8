"""Every requirement has a vector, every vector names real requirements, ids match paths.

The half that says every requirement also has a harness check lives with the harness's own
lint (tests/lint/test_harness_coverage.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT, load_requirements, schema_validator

VECTORS = REPO_ROOT / "vectors"

WITHOUT_AN_HONEST_VECTOR = {
    "TWIN-CORE-055": (
        "durability across a crash needs a node killed and restarted; no request/answer pair "
        "shows it (tests/reference/test_durability.py and the harness's functional tests do)"
    ),
    "TWIN-IDENTITY-062": (
        "deactivation is a lifecycle (create, deactivate, then resolve, change and verify); no "
        "stateless exchange or spec-core rule shows it"
    ),
    "TWIN-IDENTITY-063": (
        "a 403 needs a DID the caller does not control, which only a second user's writes create"
    ),
    "TWIN-IDENTITY-080": (
        "a profile is a lifecycle of one identity's writes and reads (create, read, update, "
        "remove); no stateless exchange shows it (the harness's profile checks do)"
    ),
    "TWIN-IDENTITY-082": (
        "paging is a sequence of requests over profiles the check created, each page depending "
        "on the previous cursor"
    ),
    "TWIN-IDENTITY-083": (
        "whether a private property reaches the ledger shows only by writing a profile and then "
        "reading the blocks"
    ),
    "TWIN-CONSENSUS-109": (
        "when a validator proposes and whom it sends blocks to is timing behaviour of a running "
        "cluster (a SHOULD), not an answer to a request"
    ),
    "TWIN-CONSENSUS-112": (
        "fetching missing blocks from peers and checking them is what a validator does in a "
        "committee, not an answer to one request (interop with harness validators, issue 14; "
        "tests/reference/test_cluster.py)"
    ),
    "TWIN-ANCHORING-061": (
        "which write makes a transaction over a limit depends on how a node lays out its "
        "transactions; the limits themselves have vectors (anchoring/transaction, "
        "consensus/block-validity), and tests/reference/test_transaction_limits.py checks "
        "admission against them"
    ),
    "TWIN-CONSENSUS-118": (
        "liveness after a healed partition is the behaviour of a running committee over time, "
        "not a request and its answer (tests/reference/test_partitions.py)"
    ),
    "TWIN-CONSENSUS-131": (
        "a transaction the ledger loop cannot handle never reaches it past admission, so no "
        "request shows the drop; tests/reference/test_cluster_engine.py feeds one to the engine"
    ),
    "TWIN-CONSENSUS-132": (
        "the status of a transaction depends on what the node holds and has committed, not on "
        "the request alone"
    ),
    "TWIN-CONSENSUS-133": (
        "a bound on the blocks validators exchange: no single request and answer shows that a "
        "node never sends a bigger block (tests/reference/test_hostile_bodies.py and the "
        "cluster tests run it)"
    ),
    "TWIN-CORE-061": (
        "each node states its own body bounds, so no request has one expected answer for every "
        "node; tests/reference/test_hostile_bodies.py checks the reference node's"
    ),
    "TWIN-CORE-063": (
        "throttling shows only after many failed logins from one account or address, not in one "
        "request and its answer (tests/reference/test_login.py)"
    ),
    "TWIN-CORE-064": (
        "the rule is about the time an answer takes, which no vector's expected answer holds "
        "(tests/reference/test_login.py compares the times)"
    ),
    "TWIN-CORE-065": (
        "a session is a sequence of exchanges (login, refresh, logout, then a write), not one "
        "request and its answer"
    ),
    "TWIN-CORE-066": (
        "what /health must say depends on the node's state (a lost quorum, a failing disk), "
        "which no request sets up (tests/reference/test_health.py, test_quorum_loss.py)"
    ),
    "TWIN-CORE-067": (
        "a pending answer needs a write the node cannot commit in time, which no request sets "
        "up (tests/reference/test_quorum_loss.py, test_health.py)"
    ),
    "TWIN-CORE-068": (
        "a retry is a second request whose answer depends on the first; a vector is one "
        "request and its answer (tests/reference/test_idempotency.py)"
    ),
    "TWIN-CORE-062": (
        "time and connection bounds show only in how a node treats slow and idle connections, "
        "not in a request's answer (tests/reference/test_connections.py)"
    ),
    "TWIN-DOCUMENTS-010": (
        "creating a document is a write whose answer names an id the node chose; what it "
        "stored shows only in the reads that follow (the harness's functional checks)"
    ),
    "TWIN-DOCUMENTS-011": (
        "a revision is added to a document an earlier request created, and the rule is about "
        "what the earlier revisions still hold afterwards: a sequence of exchanges"
    ),
    "TWIN-DOCUMENTS-012": (
        "what a read lists depends on the revisions the node holds, which earlier writes made"
    ),
    "TWIN-DOCUMENTS-030": (
        "erasure is a lifecycle (create, remove, then read and verify), not one request and "
        "its answer; the attestation vectors show it verifies without the content"
    ),
    "TWIN-DOCUMENTS-031": (
        "about the bytes in a node's files, which no exchange shows "
        "(tests/reference/test_documents_erasure.py scans them)"
    ),
    "TWIN-DOCUMENTS-040": (
        "a vector would carry 256 KiB of content to show one 413; the harness sends it live, "
        "and the bound itself is twin_spec.MAX_DOCUMENT_BYTES"
    ),
    "TWIN-DOCUMENTS-050": (
        "a 403 needs a document another user created: two users' exchanges in sequence, which "
        "the harness runs live with the run's second user (--second-email)"
    ),
}
"""Requirements with no vector, each with the reason; the harness checks them another way."""


def _vector_paths() -> list[Path]:
    return sorted(
        path
        for path in VECTORS.rglob("*.json")
        if path.relative_to(VECTORS).as_posix() != "manifest.json"
    )


def _vectors() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, json.loads(path.read_text(encoding="utf-8"))) for path in _vector_paths()]


def test_every_requirement_has_a_vector_or_a_recorded_reason() -> None:
    listed: set[str] = set()
    for _path, vector in _vectors():
        listed.update(vector["requirements"])
    registered = set(load_requirements())
    uncovered = sorted(registered - listed - set(WITHOUT_AN_HONEST_VECTOR))
    assert not uncovered, f"requirements no vector lists: {uncovered}"
    stale = sorted(set(WITHOUT_AN_HONEST_VECTOR) & listed)
    assert not stale, f"these now have vectors; drop them from WITHOUT_AN_HONEST_VECTOR: {stale}"
    unknown = sorted(set(WITHOUT_AN_HONEST_VECTOR) - registered)
    assert not unknown, f"WITHOUT_AN_HONEST_VECTOR names unregistered requirements: {unknown}"


def test_every_requirement_a_vector_lists_exists() -> None:
    registered = set(load_requirements())
    for path, vector in _vectors():
        unknown = sorted(set(vector["requirements"]) - registered)
        assert not unknown, f"{path.relative_to(VECTORS)} lists unknown requirements {unknown}"


def test_vector_ids_match_their_paths() -> None:
    for path, vector in _vectors():
        assert f"{vector['id']}.json" == path.relative_to(VECTORS).as_posix()


@pytest.mark.parametrize("profile", ["core", "identity", "anchoring", "consensus", "documents"])
def test_every_vector_validates_against_the_vector_schema(profile: str) -> None:
    validator = schema_validator("vector.schema.json")
    for path, vector in _vectors():
        if not vector["id"].startswith(profile + "/"):
            continue
        errors = [error.message for error in validator.iter_errors(vector)]
        assert not errors, f"{path.relative_to(VECTORS)}: {errors[:3]}"


def test_every_profile_has_vectors() -> None:
    profiles = {vector["id"].split("/")[0] for _path, vector in _vectors()}
    assert profiles == {"core", "identity", "anchoring", "consensus", "documents"}
