"""How a run accounts for an operation that keeps throttling the harness (SUITE-024).

The run's own state and observer, fed what the client raises, without a target: the cases
a real run reaches only by chance (a prerequisite throttled, the node's wait running out and
the operation throttling again, a throttling check after the operation was blocked) pinned
down one by one. ``test_verdicts_throttled.py`` shows the same through whole runs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from twin_conformance._client import THROTTLED_CAUSE, operation_cause
from twin_conformance._failures import Blocked, PrerequisiteFailed, Throttled
from twin_conformance._results import TestRecord
from twin_conformance._run import RunObserver, TwinState
from twin_conformance._session import _not_passed

OPERATION = "POST /thing"
URL = "http://127.0.0.1:9/thing"
PREREQUISITE = "test_things.py::prerequisite[thing]"


def _run() -> TwinState:
    return TwinState(
        config=cast(Any, None),
        requested={"core"},
        seed=1,
        fail_on="must",
        request_timeout=1.0,
        run_deadline=time.monotonic() + 600,
        started=datetime.now(UTC),
    )


def _throttled(retry_after: float | None) -> Throttled:
    return Throttled(
        OPERATION,
        "the target throttled the harness: POST /thing answered 429 (too many requests) 3 times",
        operation_cause(THROTTLED_CAUSE, OPERATION),
        retry_after,
    )


def _record(check: str) -> TestRecord:
    return TestRecord(id=check, name=check.split("::")[1], profile="core", requirements=[])


def _meet(run: TwinState, check: str, error: Exception) -> TestRecord:
    """What the plugin records when ``check`` ends with ``error``."""
    run.current = check
    record = _record(check)
    _not_passed(run, cast(Any, None), record, error, cast(Any, None))
    return record


@pytest.mark.suite("SUITE-024", "SUITE-010")
def test_the_first_check_throttled_did_not_run_and_the_others_are_blocked_by_it() -> None:
    run = _run()
    observer = RunObserver(run)
    first = _meet(run, "test_a.py::test_one", _throttled(60))
    assert (first.outcome, first.failed_requirement) == ("not-run", None)
    assert first.message is not None
    assert first.message.startswith("not run: the target throttled the harness")
    # While the node asks to wait, the operation is not asked: blocked before sending.
    run.current = "test_a.py::test_two"
    with pytest.raises(Blocked) as caught:
        observer.before("POST", URL)
    assert caught.value.by == "test_a.py::test_one"
    # A check whose subject is the throttling is let through to see its 429.
    observer.before("POST", URL, expect_throttling=True)


@pytest.mark.suite("SUITE-024")
def test_once_the_wait_asked_has_passed_the_operation_is_asked_again() -> None:
    run = _run()
    observer = RunObserver(run)
    _meet(run, "test_a.py::test_one", _throttled(0.2))
    run.current = "test_a.py::test_two"
    with pytest.raises(Blocked):
        observer.before("POST", URL)
    time.sleep(0.3)
    observer.before("POST", URL)  # sent again
    again = _meet(run, "test_a.py::test_two", _throttled(0.2))
    assert (again.outcome, again.blocked_by) == ("blocked", "test_a.py::test_one")
    assert run.throttles[OPERATION].first_check == "test_a.py::test_one"


@pytest.mark.suite("SUITE-024")
def test_no_retry_after_blocks_the_operation_for_the_rest_of_the_run() -> None:
    run = _run()
    _meet(run, "test_a.py::test_one", _throttled(None))
    assert run.throttles[OPERATION].until == float("inf")
    run.current = "test_a.py::test_two"
    with pytest.raises(Blocked):
        RunObserver(run).before("POST", URL)


@pytest.mark.suite("SUITE-024", "SUITE-010")
def test_a_throttled_prerequisite_did_not_run_and_blocks_the_check_that_needed_it() -> None:
    run = _run()
    error = PrerequisiteFailed(PREREQUISITE, "a thing", _throttled(60), read_only=False)
    check = _meet(run, "test_things.py::test_uses_it", error)
    assert (check.outcome, check.blocked_by) == ("blocked", PREREQUISITE)
    prerequisite = run.records[PREREQUISITE]
    assert (prerequisite.kind, prerequisite.outcome) == ("prerequisite", "not-run")
    assert prerequisite.failed_requirement is None
    assert prerequisite.message is not None
    assert prerequisite.message.startswith("not run: a thing: the target throttled the harness")
    run.current = "test_things.py::test_other"
    with pytest.raises(Blocked) as caught:
        RunObserver(run).before("POST", URL)
    assert caught.value.by == PREREQUISITE
