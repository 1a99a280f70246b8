"""Fuzzing checks: schemathesis against the target, from the spec's OpenAPI document.

One check per operation (the examples, coverage and fuzzing phases, each marked with its
operation's profile) and one for the stateful phase over the spec's OpenAPI links, all seeded
by the run's seed with ``--twin-fuzz-examples`` cases per operation (0 turns fuzzing off).
Every schemathesis check runs; a failure names the requirement it breaks (see
``twin_conformance._fuzz``), with the exchange as evidence and a curl command that sends the
failing request again. The allowances a conforming node needs are in ``fuzz.toml``.
"""

from __future__ import annotations

import base64
from collections import Counter

import pytest

from twin_conformance._client import ConformanceFailure, Exchange
from twin_conformance._contract import (
    CONTRACT,
    ContractViolation,
    error_body_signature,
    load_contract,
)
from twin_conformance._failures import Blocked, status_cause
from twin_conformance._fuzz import (
    ERROR_SHAPE,
    MAX_EVIDENCE,
    REQUIREMENTS,
    Finding,
    Fuzzer,
    FuzzResult,
    FuzzSettings,
    spec_operations,
)
from twin_conformance._run import TwinState

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


def _already_reported(finding: Finding, fuzzer: Fuzzer, twin_state: TwinState) -> str | None:
    """The non-fuzzing check that already failed this finding's requirement (SUITE-012).

    The same requirement on the same operation, or a malformed error body anywhere (every
    error body has the one shape, TWIN-CORE-040), is one root cause, reported once.
    """
    requirement = finding.requirement or ""
    operation = fuzzer.operation_id_of(finding.operation) or finding.operation
    cause = _cause(finding)
    if cause is not None and cause in twin_state.causes:
        return twin_state.causes[cause]
    first = twin_state.failed_requirements.get((requirement, operation))
    if first is None and requirement == ERROR_SHAPE:
        first = next(
            (
                check
                for (req, _), check in twin_state.failed_requirements.items()
                if req == requirement
            ),
            None,
        )
    return first


def _cause(finding: Finding) -> str | None:
    """The root cause a finding shows, as the other checks key it (a status, a contract rule)."""
    exchange = finding.evidence[0] if finding.evidence else None
    response = exchange.get("response") if exchange else None
    if exchange is None or not isinstance(response, dict):
        return None
    status = int(response.get("status") or 0)
    if finding.check in ("unsupported_method", "allow_header_conformance"):
        return status_cause("TWIN-CORE-052", 405, status)
    if finding.requirement in (ERROR_SHAPE, CONTRACT):
        text = str(response.get("body") or "")
        body = base64.b64decode(text[7:]) if text.startswith("base64:") else text.encode()
        again = Exchange(
            str(exchange["request"]["method"]),
            str(exchange["request"]["url"]),
            {},
            None,
            status,
            dict(response.get("headers") or {}),
            body,
        )
        try:
            load_contract().check(again)
        except ContractViolation as violation:
            return violation.signature
        if finding.requirement == ERROR_SHAPE and status >= 400:
            return error_body_signature(status, body)
    return None


def _report(result: FuzzResult, what: str, fuzzer: Fuzzer, twin_state: TwinState) -> None:
    """Fail the check with the most serious new finding; keep each finding's exchange."""
    if result.not_applicable:
        pytest.skip(f"{what}: {result.not_applicable}")
    findings = result.ordered()
    earlier = [_already_reported(finding, fuzzer, twin_state) for finding in findings]
    if findings and all(earlier):
        by = str(earlier[0])
        raise Blocked(by, f"{what}: fuzzing found only what {by} already reported")
    findings = [finding for finding, seen in zip(findings, earlier, strict=True) if not seen]
    for exchange in [exchange for finding in findings for exchange in finding.evidence]:
        if len(twin_state.evidence) >= MAX_EVIDENCE:
            break
        twin_state.evidence.append(exchange)
    if findings:
        worst = findings[0]
        message = worst.summary()
        others = Counter(finding.check for finding in findings[1:])
        if others:
            listed = ", ".join(
                f"{check} x{count}" if count > 1 else check for check, count in others.items()
            )
            message += f"; {others.total()} more failure(s): {listed}"
        if worst.curl:
            message += "\nreproduce the request:\n" + worst.curl
        raise ConformanceFailure(worst.requirement, message)
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
    _require_usable(operation_id, twin_state)
    result = fuzzer.operation(operation_id)
    _report(result, fuzzer.operations[operation_id].label, fuzzer, twin_state)


def _require_usable(operation_id: str, twin_state: TwinState) -> None:
    """Block fuzzing of an operation the node does not serve or that stopped answering."""
    if operation_id in twin_state.absent:
        raise Blocked(twin_state.absent[operation_id], f"the node does not serve {operation_id}")
    breaker = twin_state.breakers.get(operation_id)
    if breaker is not None and breaker.open:
        raise Blocked(breaker.first_check, f"{operation_id} stopped answering")


@pytest.mark.twin_profile("core")
def test_stateful_links(fuzzer: Fuzzer, twin_state: TwinState) -> None:
    stuck = {op for op, breaker in twin_state.breakers.items() if breaker.open}
    result = fuzzer.stateful(frozenset({*twin_state.absent, *stuck}))
    _report(result, "the stateful phase", fuzzer, twin_state)
