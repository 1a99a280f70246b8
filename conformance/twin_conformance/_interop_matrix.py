"""The interop matrix: per scenario, which member produced and which member consumed, and how.

A cross-member scenario (a DID created on A resolved on B, a credential issued on A verified
on B, a proof anchored on A verified on B, an equivocation by A caught by B, a write through A
seen by B, also across a partition) records one observation per producer and consumer; a
member's own recovery (after a restart, a partition) is a cell with itself as both.
``interop-matrix.json`` (schema ``spec/schemas/interop-matrix.schema.json``) and
``interop-matrix.html`` hold them, one producer x consumer table per scenario, beside the
run's report.json. A cell is failed if any observation of it failed; a cell no observation
reached says why (its check blocked, broke or was skipped, else not run), so nothing reads as
passed, or failed, that was not seen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from twin_conformance._interop_network import MatrixEntry

MATRIX_VERSION = "1"
SCENARIOS = {
    "did-resolves": "A DID created on the producer resolves identically on the consumer",
    "did-update-seen": "A DID updated on the producer resolves updated on the consumer",
    "credential-verifies": "A credential issued on the producer verifies on the consumer",
    "revocation-seen": "A credential revoked on the producer verifies as revoked on the consumer",
    "proof-verifies": "A proof anchored on the producer verifies on the consumer, and offline",
    "document-attested": (
        "A document stored on the producer is served by the consumer with its attestation, "
        "which verifies offline"
    ),
    "receive-rule-refused": (
        "A block by the producer breaking one receive rule is refused by the consumer with its code"
    ),
    "silent-leader-passed": "The consumer commits while the producer stays silent as leader",
    "withheld-blocks-fetched": (
        "The consumer fetches and commits the blocks the producer withheld from it"
    ),
    "false-signature-refused": (
        "The consumer refuses the producer's signature over another checkpoint summary"
    ),
    "equivocation-caught": (
        "The producer's equivocation is served as verifiable evidence by the consumer"
    ),
    "blocks-kept-after-restart": (
        "The member, killed and restarted, signs no second block for a round it had signed"
    ),
    "kept-after-restart": "A write acknowledged by the member is still there after it is killed",
    "caught-up-after-restart": (
        "A write through the producer while the consumer was down reaches it after its restart"
    ),
    "write-with-f-crashed": (
        "With f validators crashed, a write through the producer is seen on the consumer"
    ),
    "equivocator-counted-once": (
        "The consumer commits no slot that only the producer's equivocating blocks certify"
    ),
    "isolated-caught-up": (
        "The member, cut off from the others for a while, reaches their commit height once healed"
    ),
    "written-during-isolation-seen": (
        "A write through the producer while one client was cut off is seen on the consumer"
    ),
    "split-commits-resumed": (
        "After a split that left no side a quorum, the member commits again soon after the heal"
    ),
    "written-around-split-seen": (
        "A write through the producer around a split without a quorum is seen on the consumer"
    ),
}
ALL_PAIRS = (
    "did-resolves",
    "did-update-seen",
    "credential-verifies",
    "revocation-seen",
    "proof-verifies",
    "document-attested",
    "write-with-f-crashed",
)
"""Scenarios where every client produces for every other client."""
CHECKS = {
    "did-resolves": "test_identity_across.py",
    "did-update-seen": "test_identity_across.py",
    "credential-verifies": "test_identity_across.py",
    "revocation-seen": "test_identity_across.py",
    "proof-verifies": "test_anchoring_across.py",
    "document-attested": "test_documents_across.py",
    "receive-rule-refused": "test_receive_rules.py",
    "silent-leader-passed": "test_faulty_peers.py",
    "withheld-blocks-fetched": "test_faulty_peers.py",
    "false-signature-refused": "test_faulty_peers.py",
    "equivocation-caught": "test_byzantine.py",
    "blocks-kept-after-restart": "test_restarts.py",
    "kept-after-restart": "test_restarts.py",
    "caught-up-after-restart": "test_restarts.py",
    "write-with-f-crashed": "test_crashes.py",
    "equivocator-counted-once": "test_equivocation_quorum.py",
    "isolated-caught-up": "test_partitions.py",
    "written-during-isolation-seen": "test_partitions.py",
    "split-commits-resumed": "test_partitions.py",
    "written-around-split-seen": "test_partitions.py",
}


def build_matrix(report: Mapping[str, Any], entries: Sequence[MatrixEntry]) -> dict[str, Any]:
    """The matrix of one interop run, from its report and the scenarios' observations."""
    members = report["interop"]["members"]
    clients = [m["index"] for m in members if m["kind"] == "client"]
    outcomes: dict[str, list[str]] = {}
    for test in report["tests"]:
        outcomes.setdefault(test["id"].split("::")[0], []).append(test["outcome"])
    scenarios = []
    for scenario, title in SCENARIOS.items():
        seen = [entry for entry in entries if entry.scenario == scenario]
        fallback = _module_outcome(outcomes.get(CHECKS[scenario], []))
        # Every ordered pair of clients is owed in an all-pairs scenario; the others (a
        # harness validator's fault, one client restarted) owe the pairs they observed.
        if scenario in ALL_PAIRS:
            pairs = [(p, c) for p in clients for c in clients if p != c]
        else:
            pairs = sorted({(e.producer, e.consumer) for e in seen})
        cells = []
        for producer, consumer in pairs:
            found = [e for e in seen if e.producer == producer and e.consumer == consumer]
            if found:
                failed = [e for e in found if e.outcome != "passed"]
                outcome = "failed" if failed else "passed"
                # A failed cell says what failed; a passed one what was measured, if anything
                # (a partition scenario's recovery time, say).
                detail = "; ".join(sorted({e.detail for e in failed or found if e.detail}))
            else:
                outcome, detail = fallback, "no observation"
            cells.append(
                {"producer": producer, "consumer": consumer, "outcome": outcome, "detail": detail}
            )
        scenarios.append(
            {
                "id": scenario,
                "title": title,
                "check": CHECKS[scenario],
                "checkOutcome": _check_outcome(outcomes.get(CHECKS[scenario], [])),
                "cells": cells,
            }
        )
    return {
        "matrixVersion": MATRIX_VERSION,
        "verdict": report["verdict"],
        "startedAt": report["run"]["startedAt"],
        "members": members,
        "scenarios": scenarios,
    }


def _check_outcome(outcomes: list[str]) -> str:
    """The outcome of a scenario's check module: its worst check's."""
    for outcome in ("failed", "error", "blocked", "not-run", "not-selected", "skipped"):
        if outcome in outcomes:
            return outcome
    return "passed" if outcomes else "not-run"


def _module_outcome(outcomes: list[str]) -> str:
    """What a cell no observation reached says: why it was not observed, never passed.

    A check that failed elsewhere before reaching the cell leaves it ``not-run``; one that was
    blocked, broke or was skipped gives the cell that outcome.
    """
    for outcome in ("error", "blocked", "not-selected", "skipped"):
        if outcome in outcomes:
            return outcome
    return "not-run"


def write_matrix(out: Path, matrix: Mapping[str, Any]) -> None:
    """Write interop-matrix.json and interop-matrix.html into ``out``."""
    from twin_conformance._cli_common import write_atomic
    from twin_conformance._render_html import render_template

    write_atomic(out / "interop-matrix.json", json.dumps(matrix, indent=2) + "\n")
    names = {
        member["index"]: f"#{member['index']} {member['name']}" for member in matrix["members"]
    }
    write_atomic(
        out / "interop-matrix.html",
        render_template("interop_matrix.html.j2", matrix=matrix, names=names),
    )
