"""Concurrency changes no verdict and no evidence; a fuzzing budget says what it ran.

The same seed (profiles core and consensus) is run with ``--concurrency 1`` and at the default
against two fresh copies of a broken variant of the reference node (every 4xx error body lacks
``name``, TWIN-CORE-040), so that the runs hold failures, checks blocked by them, fuzz findings
and pure vectors replayed ahead. Each run is a real ``twin-conformance run`` subprocess
against a real node on 127.0.0.1; each node is stopped by the test that started it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.broken_variants import start_variant
from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD, start_node
from twin_conformance.plugin import DEFAULT_CONCURRENCY

HARNESS_TIMEOUT_SECONDS = 600
FAULT = "error-without-name"
PROFILES = ("--profile", "core", "--profile", "consensus")


def _run(tmp_path: Path, name: str, *options: str, fault: str | None = FAULT) -> dict[str, Any]:
    """Start a fresh node (the variant, or the real one), run the harness on it, stop it."""
    data = tmp_path / f"{name}-data"
    node = start_variant(fault, data) if fault else start_node(data)
    try:
        out = tmp_path / name
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "twin_conformance",
                "run",
                "--target",
                node.url,
                "--email",
                ADMIN_EMAIL,
                "--out",
                str(out),
                *options,
            ],
            capture_output=True,
            text=True,
            timeout=HARNESS_TIMEOUT_SECONDS,
            env={**os.environ, "TWIN_TARGET_PASSWORD": ADMIN_PASSWORD},
            check=False,
        )
    finally:
        node.stop()
    assert (out / "report.json").is_file(), result.stdout + result.stderr
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    report["exitCode"] = result.returncode
    report["console"] = result.stdout
    return report


def _outcomes(report: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Per check: outcome, failed requirement, blocker, and its evidence as method and status.

    Evidence is compared without the values a node mints afresh (DIDs, ids, times), which
    differ between two nodes whatever the harness does, and without the ``GET /health`` polls
    a check makes while it waits for something else (how many, and whether one falls after the
    answer, depends on the machine's load); a run of one same exchange counts once.
    """
    return {
        test["id"]: (
            test["outcome"],
            test["failedRequirement"],
            test["blockedBy"],
            _runs_once(
                (
                    exchange["request"]["method"],
                    (exchange.get("response") or {}).get("status"),
                )
                for exchange in test["evidence"]
                if not _health_poll(exchange)
            ),
        )
        for test in report["tests"]
    }


def _assert_same_outcomes(
    one: dict[str, tuple[Any, ...]], other: dict[str, tuple[Any, ...]]
) -> None:
    """The same checks, outcomes, blame and evidence in both runs.

    A passed check keeps its first three exchanges only, as a sample; when one of them is a
    status poll, how many polls fall among the three depends on the machine's load, so for a
    passed check the kept exchanges of one run must be a prefix of the other's.
    """
    assert one.keys() == other.keys()
    for key, (outcome, *blame, evidence) in one.items():
        other_outcome, *other_blame, other_evidence = other[key]
        assert (outcome, blame) == (other_outcome, other_blame), key
        if outcome == "passed":
            shorter = min(len(evidence), len(other_evidence))
            assert evidence[:shorter] == other_evidence[:shorter], (key, evidence, other_evidence)
        else:
            assert evidence == other_evidence, (key, evidence, other_evidence)


def _health_poll(exchange: dict[str, Any]) -> bool:
    """Whether an exchange is a ``GET /health`` (a poll, when the check is about another route)."""
    request = exchange["request"]
    path = str(request["url"]).split("?")[0]
    return bool(request["method"] == "GET" and path.endswith("/health"))


def _runs_once(exchanges: Iterable[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """The exchanges with each run of one same (method, status) kept once."""
    kept: list[tuple[str, Any]] = []
    for exchange in exchanges:
        if not kept or kept[-1] != exchange:
            kept.append(exchange)
    return tuple(kept)


@pytest.mark.suite("SUITE-034", "SUITE-010")
def test_concurrency_changes_no_outcome_and_no_evidence(tmp_path: Path) -> None:
    # Two profiles keep it to a minute a run: core's checks, fuzzing and vectors, and consensus,
    # whose pure vectors are most of those replayed ahead and whose writes need their order.
    common = ("--seed", "7", "--fuzz-examples", "3", "--fuzz-budget", "900", *PROFILES)
    one = _run(tmp_path, "one", *common, "--concurrency", "1")
    default = _run(tmp_path, "default", *common)

    assert one["run"]["concurrency"] == 1
    assert default["run"]["concurrency"] == DEFAULT_CONCURRENCY > 1
    # The budget did not bind, so both runs fuzzed every operation with the same examples.
    for report in (one, default):
        assert report["run"]["fuzz"]["budgetReached"] == []
        assert report["run"]["fuzzBudgetSeconds"] == 900
    assert one["run"]["fuzz"]["checks"].keys() == default["run"]["fuzz"]["checks"].keys()
    # Each operation's cases come from the seed alone: the same number in both runs. The
    # stateful phase's chains follow the target's answers (a link is taken only when its
    # source answered, and the node's state moves with the machine's timing): under load (two
    # CPU burners, at 9533c55 as after), one run in three at concurrency 1 ran 296 or 322
    # stateful examples where the other ran 346. Its outcome and evidence are compared below
    # with every other check's.
    # Nor do the cases of an operation whose answer to the same request moves with how many
    # checkpoints the node has certified by then: against this variant a 404 fails (no
    # ``name``) and is shrunk, a 200 does not, so a checkpoint certified a moment later can
    # change which cases shrink. One CI run counted 6 cases of the transactions route against
    # 5 (a local rerun: 5 and 5); that this is the cause is inferred, not shown.
    stateful = "test_fuzz.py::test_stateful_links"
    moving = {
        stateful,
        "test_fuzz.py::test_operation[consensusCheckpointGet]",
        "test_fuzz.py::test_operation[consensusCheckpointTransactionList]",
    }
    assert {
        k: v["examples"] for k, v in one["run"]["fuzz"]["checks"].items() if k not in moving
    } == {k: v["examples"] for k, v in default["run"]["fuzz"]["checks"].items() if k not in moving}
    assert stateful in one["run"]["fuzz"]["checks"]
    assert all(
        report["run"]["fuzz"]["checks"][stateful]["examples"] > 0 for report in (one, default)
    )
    _assert_same_outcomes(_outcomes(one), _outcomes(default))
    assert (one["verdict"], one["exitCode"]) == (default["verdict"], default["exitCode"])

    # Not a vacuous comparison: failures, blocked checks, fuzzing and vectors replayed ahead.
    outcomes = _outcomes(default)
    assert default["verdict"] == "not-conformant"
    assert any(outcome[0] == "failed" for outcome in outcomes.values())
    assert any(outcome[0] == "blocked" for outcome in outcomes.values())
    vectors = [key for key in outcomes if key.startswith("test_vectors.py::")]
    assert len(vectors) > 100
    assert any(outcomes[key][0] in ("failed", "blocked") for key in vectors)
    fuzz = [key for key in outcomes if key.startswith("test_fuzz.py::")]
    assert any(outcomes[key][0] in ("failed", "blocked") for key in fuzz)
    assert default["run"]["fuzz"]["examplesRun"] > 0


@pytest.mark.suite("SUITE-034", "SUITE-003")
def test_a_budget_that_runs_out_says_what_it_ran(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        "tiny",
        "--profile",
        "core",
        "--select",
        "test_fuzz.py",
        "--fuzz-budget",
        "0.5",
        fault=None,
    )
    fuzz = report["run"]["fuzz"]
    assert report["run"]["fuzzBudgetSeconds"] == 0.5
    assert fuzz["budgetReached"], "half a second cannot fuzz every core operation"
    assert fuzz["examplesRun"] == sum(entry["examples"] for entry in fuzz["checks"].values())
    tests = {test["id"]: test for test in report["tests"]}
    for check in fuzz["budgetReached"]:
        entry = fuzz["checks"][check]
        # A check the budget cut short passed on what ran, or did not run at all: never failed
        # for being slow, and never claimed as run when nothing ran.
        if entry["examples"] == 0:
            assert tests[check]["outcome"] == "not-run"
        else:
            assert tests[check]["outcome"] == "passed"
    assert report["verdict"] == "incomplete"
    assert f"fuzzing: {fuzz['examplesRun']} examples ran" in report["console"]
