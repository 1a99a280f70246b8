"""Fuzzing checks: schemathesis against the target, from the spec's OpenAPI document.

One check per operation (the examples, coverage and fuzzing phases, each marked with its
operation's profile) and one for the stateful phase over the spec's OpenAPI links, all seeded
by the run's seed with ``--twin-fuzz-examples`` generated cases per operation at most beyond
the examples and coverage cases (0 turns fuzzing off), within ``--twin-fuzz-budget`` seconds,
``--twin-concurrency`` operations at once (``_fuzz_schedule.py``); the report counts the
examples that actually ran.
Every schemathesis check runs; a failure names the requirement it breaks (see
``twin_conformance._fuzz``), with the exchange as evidence and a curl command that sends the
failing request again. The allowances a conforming node needs are in ``fuzz.toml``.
A 429 is waited out as the harness's client does (SUITE-024, said once per operation in the
report's deviations); an operation still throttled is no finding: its fuzzing did not run
(``Throttled``), or is blocked by the check that first met it, unless real findings fail it.
"""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest

from twin_conformance._client import (
    THROTTLED_CAUSE,
    UNAVAILABLE,
    UNAVAILABLE_CAUSE,
    ConformanceFailure,
    Exchange,
    Throttled,
    operation_cause,
    retry_after_in,
)
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
from twin_conformance._fuzz_schedule import FuzzPlan, FuzzSchedule
from twin_conformance._run import TwinState

pytestmark = pytest.mark.twin_requirement(*REQUIREMENTS)

_SCHEDULE = pytest.StashKey[FuzzSchedule]()
FUZZ_MODULE = "test_fuzz.py"
NOT_RUN = "not run: "


@pytest.fixture
def fuzzer(twin_state: TwinState, request: pytest.FixtureRequest) -> FuzzSchedule:
    """The run's fuzzing schedule (one per run, started by the first fuzz check), or a skip."""
    config = request.config
    examples = int(config.getoption("--twin-fuzz-examples"))
    if examples <= 0:
        pytest.skip("fuzzing is off: --twin-fuzz-examples is 0")
    existing = config.stash.get(_SCHEDULE, None)
    if existing is not None:
        return existing
    assert twin_state.target is not None
    fuzzer = Fuzzer(
        FuzzSettings(
            url=twin_state.target.url,
            token=twin_state.client.token if twin_state.client is not None else None,
            seed=twin_state.seed,
            examples=examples,
            request_timeout=twin_state.request_timeout,
            profiles=frozenset(twin_state.requested & twin_state.claimed),
            deadline=twin_state.run_deadline,
        )
    )
    schedule = FuzzSchedule(
        fuzzer,
        budget=float(config.getoption("--twin-fuzz-budget")),
        concurrency=int(config.getoption("--twin-concurrency")),
    )
    config.stash[_SCHEDULE] = schedule

    def close() -> None:
        schedule.stop()
        fuzzer.close()

    config.add_cleanup(close)
    schedule.start(_plan(request.session.items, twin_state))
    return schedule


def _plan(items: list[pytest.Item], twin_state: TwinState) -> FuzzPlan:
    """The fuzz checks this run will run: their operations, and whether the stateful one runs."""
    usable = twin_state.requested & twin_state.claimed
    stuck = {op for op, breaker in twin_state.breakers.items() if breaker.open}
    operations: list[str] = []
    stateful = False
    for item in items:
        if Path(str(item.path)).name != FUZZ_MODULE:
            continue
        marker = item.get_closest_marker("twin_profile")
        profile = str(marker.args[0]) if marker is not None and marker.args else "core"
        if profile not in usable:
            continue
        callspec = getattr(item, "callspec", None)
        operation = callspec.params.get("operation_id") if callspec is not None else None
        if isinstance(operation, str):
            if (
                operation not in twin_state.absent
                and operation not in stuck
                and twin_state.unavailable(operation) is None
            ):
                operations.append(operation)
        elif getattr(item, "originalname", item.name) == "test_stateful_links":
            stateful = True
    return FuzzPlan(tuple(operations), stateful, frozenset({*twin_state.absent, *stuck}))


def _already_reported(finding: Finding, fuzzer: Fuzzer, twin_state: TwinState) -> str | None:
    """The non-fuzzing check that already failed this finding's requirement (SUITE-012).

    The same requirement on the same operation, or a malformed error body anywhere (every
    error body has the one shape, TWIN-CORE-040), is one root cause, reported once.
    """
    requirement = finding.requirement or ""
    operation = fuzzer.operation_id_of(finding.operation) or finding.operation
    cause = _cause(finding, operation)
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


def _cause(finding: Finding, operation: str) -> str | None:
    """The root cause a finding shows, as the other checks key it (a status, a contract rule)."""
    exchange = finding.evidence[0] if finding.evidence else None
    response = exchange.get("response") if exchange else None
    if exchange is None or not isinstance(response, dict):
        return None
    status = int(response.get("status") or 0)
    if status == UNAVAILABLE:
        return operation_cause(UNAVAILABLE_CAUSE, operation)
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
    # What ran, for the report: never more than the examples schemathesis finished.
    twin_state.fuzzed[twin_state.current] = {
        "examples": result.cases,
        "seconds": round(result.seconds, 3),
        "budgetReached": result.budget_reached,
    }
    for label, delay in result.waited.items():
        operation = fuzzer.operation_id_of(label) or label
        twin_state.deviation(
            f"throttled:{operation}",
            f"{operation} answered 429 (too many requests) to fuzzed requests: the fuzzer "
            f"waited its Retry-After ({delay:g} s) and sent the request again, as a real client "
            "does (SUITE-024)",
        )
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
        if result.throttled:
            message += f"; {len(result.throttled)} operation(s) stayed throttled (429), not judged"
        operation = fuzzer.operation_id_of(worst.operation) or worst.operation
        cause = _cause(worst, operation)
        unavailable = cause is not None and cause.startswith(UNAVAILABLE_CAUSE)
        raise ConformanceFailure(worst.requirement, message, cause if unavailable else None)
    if result.throttled:
        _throttled(result, fuzzer, twin_state)
    if result.fuzzer_errors:
        pytest.fail(f"{what}: the fuzzer could not run: {result.fuzzer_errors[0]}")
    if result.cases == 0 and result.budget_reached:
        # Nothing ran within the budget: the check did not run, and the run is incomplete.
        pytest.skip(f"{NOT_RUN}{what}: the fuzzing budget (--fuzz-budget) ran out first")
    if result.cases == 0:
        pytest.fail(f"{what}: the fuzzer sent no request")


def _throttled(result: FuzzResult, fuzzer: Fuzzer, twin_state: TwinState) -> None:
    """Fuzzing met an operation still throttling the harness, and found nothing else (SUITE-024).

    Not a failure: the check did not run (``not-run``, the run incomplete), or is blocked by
    the check that met the operation throttling first; later uses are blocked while it asks.
    """
    first = result.throttled[0]
    operation = fuzzer.operation_id_of(first.operation) or first.operation
    for exchange in first.evidence:
        if len(twin_state.evidence) < MAX_EVIDENCE:
            twin_state.evidence.append(exchange)
    raise Throttled(
        operation,
        first.message(),
        operation_cause(THROTTLED_CAUSE, operation),
        retry_after_in(first.retry_after),
    )


@pytest.mark.parametrize(
    "operation_id",
    [
        pytest.param(
            op.operation_id, id=op.operation_id, marks=pytest.mark.twin_profile(op.profile)
        )
        for op in spec_operations()
    ],
)
def test_operation(operation_id: str, fuzzer: FuzzSchedule, twin_state: TwinState) -> None:
    _require_usable(operation_id, twin_state)
    result = fuzzer.operation(operation_id)
    _report(result, fuzzer.fuzzer.operations[operation_id].label, fuzzer.fuzzer, twin_state)


def _require_usable(operation_id: str, twin_state: TwinState) -> None:
    """Block fuzzing of an operation the node cannot be fuzzed on now.

    One it does not serve, that stopped answering, that stays unavailable, or that throttles
    the harness while the node asks it to wait (SUITE-024).
    """
    if operation_id in twin_state.absent:
        raise Blocked(twin_state.absent[operation_id], f"the node does not serve {operation_id}")
    breaker = twin_state.breakers.get(operation_id)
    if breaker is not None and breaker.open:
        raise Blocked(breaker.first_check, f"{operation_id} stopped answering")
    unavailable = twin_state.unavailable(operation_id)
    if unavailable is not None:
        raise Blocked(unavailable, f"{operation_id} answered 503 (unavailable)")
    throttled = twin_state.throttled(operation_id)
    if throttled is not None:
        # SUITE-024: fuzzing an operation that throttles the harness would test nothing.
        raise Blocked(throttled, f"{operation_id} answered 429 (too many requests)")


@pytest.mark.twin_profile("core")
def test_stateful_links(fuzzer: FuzzSchedule, twin_state: TwinState) -> None:
    result = fuzzer.stateful()
    _report(result, "the stateful phase", fuzzer.fuzzer, twin_state)
