"""A verdict that can be trusted: a deviation the spec allows is conformant.

The cases run as ``test_verdicts.py`` says: real node processes, ``twin-conformance`` as a
real command, the rules of ``spec/prose/suite.md`` (SUITE-NNN).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.harness_runs import (
    PASSWORD_ENV,
    against,
    harness,
    node,
)

# --- says not conformant for the wrong reason ------------------------------------------------


@pytest.mark.suite("SUITE-011", "SUITE-020")
@pytest.mark.parametrize(
    ("fault", "deviation"),
    [
        ("gzip-responses", "content-encoding:gzip"),
        ("brotli-responses", "content-encoding:br"),
        ("proof-signed-in-background", "immutable-proof-signed-in-background"),
        ("did-method-entity-storage", None),
    ],
)
def test_a_deviation_the_spec_allows_is_conformant(
    tmp_path: Path, fault: str, deviation: str | None
) -> None:
    with node(tmp_path, fault) as target:
        run = harness(tmp_path, "run", *against(target), "--fuzz-examples", "2", env=PASSWORD_ENV)
    assert run.code == 0, run.describe()
    assert run.report is not None
    assert run.report["verdict"] == "conformant", run.describe()
    if deviation is not None:
        assert deviation in {entry["id"] for entry in run.report["deviations"]}
    if fault == "did-method-entity-storage":
        assert run.report["target"]["info"]["nodeIdentity"].startswith("did:entity-storage:0x")
        statuses = {entry["id"]: entry["status"] for entry in run.report["requirements"]}
        assert statuses["TWIN-IDENTITY-030"] == "not-applicable"
    if fault.endswith("-responses"):
        evidence = next(test["evidence"] for test in run.tests("passed") if test["evidence"])
        headers = evidence[0]["request"]["headers"]
        assert "br" in headers["accept-encoding"], "the evidence records the headers sent"
        bodies = [
            e["response"]["body"] for e in evidence if e["response"] and e["response"]["body"]
        ]
        assert not any(body.startswith("base64:") for body in bodies), "bodies are decoded"


@pytest.mark.suite("SUITE-023")
def test_a_node_busy_for_a_moment_is_retried_and_conformant(tmp_path: Path) -> None:
    with node(tmp_path, "evaluate-busy-at-first") as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", "consensus", "--fuzz-examples", "2",
            env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 0, run.describe()
    assert run.report is not None
    assert run.report["verdict"] == "conformant", run.describe()
    answers = [
        [exchange["response"]["status"] for exchange in test["evidence"] if exchange["response"]]
        for test in run.report["tests"]
    ]
    assert any(statuses[:2] == [503, 503] and statuses[2] != 503 for statuses in answers), (
        "a check met the busy answers, retried and was served"
    )
