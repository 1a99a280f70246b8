"""Fuzzing checks: schemathesis against the target, from the spec's OpenAPI document.

One check per operation (the examples, coverage and fuzzing phases, each marked with its
operation's profile) and one for the stateful phase over the spec's OpenAPI links, all seeded
by the run's seed with ``--twin-fuzz-examples`` cases per operation (0 turns fuzzing off).
Every schemathesis check runs; a failure names the requirement it breaks (see
``twin_conformance._fuzz``), with the exchange as evidence and a curl command that sends the
failing request again. The allowances a conforming node needs are in ``fuzz.toml``.
"""

from __future__ import annotations

from collections import Counter

import pytest

from twin_conformance._client import ConformanceFailure
from twin_conformance._fuzz import (
    MAX_EVIDENCE,
    REQUIREMENTS,
    Fuzzer,
    FuzzResult,
    FuzzSettings,
    spec_operations,
)
from twin_conformance.plugin import TwinState

pytestmark = pytest.mark.twin_requirement(*REQUIREMENTS)

_FUZZER = pytest.StashKey[Fuzzer]()
# Seconds one operation (or the stateful phase) may take at most, plus this much per example.
_BASE_SECONDS = 120.0
_SECONDS_PER_EXAMPLE = 6.0


@pytest.fixture
def fuzzer(twin_state: TwinState, request: pytest.FixtureRequest) -> Fuzzer:
    """The run's fuzzer (one per run), or a skip when the budget is 0."""
    examples = int(request.config.getoption("--twin-fuzz-examples"))
    if examples <= 0:
        pytest.skip("fuzzing is off: --twin-fuzz-examples is 0")
    existing = request.config.stash.get(_FUZZER, None)
    if existing is not None:
        return existing
    assert twin_state.target is not None
    created = Fuzzer(
        FuzzSettings(
            url=twin_state.target.url,
            token=twin_state.client.token if twin_state.client is not None else None,
            seed=twin_state.seed,
            examples=examples,
            request_timeout=twin_state.request_timeout,
            profiles=frozenset(twin_state.requested & twin_state.claimed),
            time_limit=_BASE_SECONDS + _SECONDS_PER_EXAMPLE * examples,
            deadline=twin_state.run_deadline,
        )
    )
    request.config.stash[_FUZZER] = created
    request.config.add_cleanup(created.close)
    return created


def _report(result: FuzzResult, what: str, twin_state: TwinState) -> None:
    """Fail the check with the most serious finding; keep every finding's exchange as evidence."""
    if result.not_applicable:
        pytest.skip(f"{what}: {result.not_applicable}")
    findings = result.ordered()
    for exchange in [exchange for finding in findings for exchange in finding.evidence]:
        if len(twin_state.evidence) >= MAX_EVIDENCE:
            break
        twin_state.evidence.append(exchange)
    if findings:
        first = findings[0]
        message = first.summary()
        others = Counter(finding.check for finding in findings[1:])
        if others:
            listed = ", ".join(
                f"{check} x{count}" if count > 1 else check for check, count in others.items()
            )
            message += f"; {others.total()} more failure(s): {listed}"
        if first.curl:
            message += "\nreproduce the request:\n" + first.curl
        raise ConformanceFailure(first.requirement, message)
    if result.timed_out:
        raise ConformanceFailure(
            None, f"{what}: fuzzing did not finish within {result.seconds:.0f} s"
        )
    if result.fuzzer_errors:
        pytest.fail(f"{what}: the fuzzer could not run: {result.fuzzer_errors[0]}")
    if result.cases == 0:
        pytest.fail(f"{what}: the fuzzer sent no request")


@pytest.mark.parametrize(
    "operation_id",
    [
        pytest.param(
            op.operation_id, id=op.operation_id, marks=pytest.mark.twin_profile(op.profile)
        )
        for op in spec_operations()
    ],
)
def test_operation(operation_id: str, fuzzer: Fuzzer, twin_state: TwinState) -> None:
    result = fuzzer.operation(operation_id)
    _report(result, fuzzer.operations[operation_id].label, twin_state)


@pytest.mark.twin_profile("core")
def test_stateful_links(fuzzer: Fuzzer, twin_state: TwinState) -> None:
    result = fuzzer.stateful()
    _report(result, "the stateful phase", twin_state)
