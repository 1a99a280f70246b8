"""Test-suite wiring: Hypothesis profiles, requirement markers, and public-vector accounting."""

from __future__ import annotations

import os
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, settings

from tests.support import (
    EXTERNAL_VECTORS_ENV,
    REQUIRE_EXTERNAL_VECTORS_ENV,
    external_vectors_dir,
    external_vectors_required,
    load_requirements,
)

# CI must be repeatable, so the default profile is derandomized; `explore` searches wider.
settings.register_profile("default", derandomize=True, max_examples=200, deadline=None)
settings.register_profile(
    "explore", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_vector_set_of: dict[str, str] = {}
_vector_outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run without the public vectors when the run says they are required."""
    if external_vectors_required() and not external_vectors_dir().is_dir():
        raise pytest.UsageError(
            f"{REQUIRE_EXTERNAL_VECTORS_ENV} is set but no public vectors were found at "
            f"{external_vectors_dir()} (set {EXTERNAL_VECTORS_ENV} to their folder)"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check every requirement marker names a registered ID; note which tests replay vectors."""
    known = set(load_requirements())
    problems = []
    for item in items:
        for marker in item.iter_markers("requirement"):
            if not marker.args:
                problems.append(f"{item.nodeid}: requirement marker without an ID")
            problems.extend(
                f"{item.nodeid}: requirement {requirement_id!r} is not in spec/requirements"
                for requirement_id in marker.args
                if requirement_id not in known
            )
        vector_marker = item.get_closest_marker("external_vectors")
        if vector_marker is not None:
            _vector_set_of[item.nodeid] = str(vector_marker.args[0])
    if problems:
        raise pytest.UsageError("\n".join(problems))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the outcome of every public-vector case."""
    vector_set = _vector_set_of.get(report.nodeid)
    if vector_set is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _vector_outcomes[vector_set][report.outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many cases of each public vector set this run checked."""
    if not _vector_outcomes:
        return
    terminalreporter.section("public test vectors checked")
    for vector_set in sorted(_vector_outcomes):
        outcomes = _vector_outcomes[vector_set]
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        terminalreporter.write_line(f"{vector_set:<28} {summary}")
