"""``twin-conformance report interop-matrix``: interop runs as one matrix by implementation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT, schema_validator


def _matrix(verdict: str, vendor_index: int, outcome: str) -> dict[str, Any]:
    members = [
        {"index": 0, "name": "TWIN reference node", "kind": "client", "url": "http://a",
         "definition": "reference.yaml", "container": False},
        {"index": 1, "name": "Vendor node 2.0", "kind": "client", "url": "http://b",
         "definition": "vendor.yaml", "container": False},
        {"index": 2, "name": "harness validator 2", "kind": "harness-validator", "url": "http://c",
         "definition": None, "container": False},
    ]  # fmt: skip
    if vendor_index == 0:
        members[0]["name"], members[1]["name"] = members[1]["name"], members[0]["name"]
    vendor, reference = vendor_index, 1 - vendor_index
    matrix = {
        "matrixVersion": "1",
        "verdict": verdict,
        "startedAt": "2026-12-07T08:00:00Z",
        "members": members,
        "scenarios": [
            {
                "id": "did-resolves",
                "title": "A DID created on the producer resolves identically on the consumer",
                "check": "test_identity_across.py",
                "checkOutcome": outcome,
                "cells": [
                    {"producer": reference, "consumer": vendor, "outcome": outcome, "detail": ""},
                    {"producer": vendor, "consumer": reference, "outcome": "passed", "detail": ""},
                ],
            },
            {
                "id": "equivocation-caught",
                "title": "The producer's equivocation is served as verifiable evidence",
                "check": "test_byzantine.py",
                "checkOutcome": "passed",
                "cells": [{"producer": 2, "consumer": vendor, "outcome": "passed", "detail": ""}],
            },
        ],
    }
    schema_validator("interop-matrix.schema.json").validate(matrix)
    return matrix


def _aggregate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin_conformance", "report", "interop-matrix", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO_ROOT,
    )  # fmt: skip


@pytest.mark.suite("SUITE-070")
def test_runs_with_members_in_other_orders_aggregate_by_implementation(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second"
    second.mkdir()
    first.write_text(json.dumps(_matrix("conformant", 1, "passed")))
    (second / "interop-matrix.json").write_text(json.dumps(_matrix("not-conformant", 0, "failed")))
    out = tmp_path / "out"
    result = _aggregate(str(first), str(second), "--out", str(out))
    assert result.returncode == 1, result.stderr
    aggregate = json.loads((out / "interop-aggregate.json").read_text())
    assert aggregate["implementations"] == [
        "TWIN reference node",
        "Vendor node 2.0",
        "harness validator",
    ]
    cells = {
        (s["id"], c["producer"], c["consumer"]): (c["outcome"], c["counts"])
        for s in aggregate["scenarios"]
        for c in s["cells"]
    }
    assert cells[("did-resolves", "TWIN reference node", "Vendor node 2.0")] == (
        "failed", {"failed": 1, "passed": 1},
    )  # fmt: skip
    assert cells[("did-resolves", "Vendor node 2.0", "TWIN reference node")] == (
        "passed", {"passed": 2},
    )  # fmt: skip
    assert cells[("equivocation-caught", "harness validator", "Vendor node 2.0")][0] == "passed"
    page = (out / "interop-aggregate.html").read_text()
    assert "Vendor node 2.0" in page
    assert 'data-scenario="did-resolves"' in page


def test_a_bad_matrix_is_exit_2_naming_it_and_writes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_matrix("conformant", 1, "passed")))
    bad = tmp_path / "bad.json"
    broken = _matrix("conformant", 1, "passed")
    broken["scenarios"][0]["cells"][0]["producer"] = 9
    bad.write_text(json.dumps(broken))
    out = tmp_path / "out"
    result = _aggregate(str(good), str(bad), "--out", str(out))
    assert result.returncode == 2
    assert f"interop matrix {bad}: scenario did-resolves names a member it does not list" in (
        result.stderr
    )
    assert not out.exists()
    (tmp_path / "text.json").write_text("not json")
    result = _aggregate(str(tmp_path / "text.json"), "--out", str(out))
    assert result.returncode == 2
    assert "is not JSON" in result.stderr
