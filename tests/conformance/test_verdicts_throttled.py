"""A node that throttles the harness (429): waited out as a real client does, never a failure.

SUITE-024 (``spec/prose/suite.md``). Each case runs ``twin-conformance`` as a real command
against a real node on loopback: the reference node (twice in a row, its login throttle left
tripped between the runs), its variant that throttles every evaluate request for a minute,
or a loopback server that throttles every login.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.harness_runs import PASSWORD_ENV, HarnessRun, against, harness, node
from tests.conformance.hostile_server import HostileServer
from tests.node_process import ADMIN_EMAIL

THROTTLE_CHECK = "test_core_limits.py::test_repeated_failed_logins_are_throttled_with_retry_after"
DRAIN_ATTEMPTS = 100


def _last_line(run: HarnessRun) -> str:
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _trip_the_address_throttle(url: str) -> int:
    """Fail logins from this address (a new made-up account each) until the node answers 429.

    Returns how many failed first. Each account fails once, so only the address's budget is
    spent, as a first run's failed logins spend it.
    """
    with httpx.Client(base_url=url, timeout=30) as client:
        for attempt in range(DRAIN_ATTEMPTS):
            answer = client.post(
                "/authentication/login",
                json={"email": f"drain-{secrets.token_hex(8)}@example.invalid", "password": "x"},
            )
            if answer.status_code == 429:
                return attempt
            assert answer.status_code == 401, answer.text
    raise AssertionError(f"{DRAIN_ATTEMPTS} failed logins from one address were not throttled")


def _throttle_check_judged_its_429(run: HarnessRun) -> bool:
    """Whether the throttling check passed, on a 429 it was given as it came.

    It passes only on a 429; one waited out instead would be named in the report's deviations.
    """
    (check,) = [test for test in run.tests() if test["id"] == THROTTLE_CHECK]
    assert run.report is not None
    waited = [entry for entry in run.report["deviations"] if entry["check"] == THROTTLE_CHECK]
    return check["outcome"] == "passed" and not waited


@pytest.mark.suite("SUITE-024")
@pytest.mark.parametrize(
    "options",
    [
        # The case CI met: complete runs of core without fuzzing, each about 20 s.
        pytest.param(("--profile", "core", "--fuzz-examples", "0"), id="core"),
        # What a vendor certifying its node runs: every profile, default fuzzing (45 to 60 s
        # each on a two-core machine; the test took 92 s alone and 124 s beside other work).
        pytest.param((), id="full", marks=pytest.mark.slow),
    ],
)
def test_two_runs_back_to_back_against_one_node_are_both_conformant(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    """A vendor runs the suite twice against its node: both runs judge it conformant.

    The first run's failed logins (its timing and throttling checks, login fuzzing) spend the
    node's per-address budget, refilled one a second; on a loaded CI machine the second run's
    login vectors met 429 and failed (a false failure). Here the test spends what budget is
    left itself, right after the first run, so that the second run meets the throttle every
    time, on any machine: its login checks wait it out (the report says so once), and its
    throttling check still judges the 429 it provokes. Before SUITE-024 the core case failed
    here (a login vector answered 429 for 400, or the credential check refused).
    """
    started = time.monotonic()
    with node(tmp_path) as target:
        first = harness(tmp_path / "first", "run", *against(target), *options, env=PASSWORD_ENV)
        tripped_after = _trip_the_address_throttle(target.url)
        second = harness(tmp_path / "second", "run", *against(target), *options, env=PASSWORD_ENV)
    took = time.monotonic() - started
    for run in (first, second):
        assert run.code == 0, run.describe()
        assert run.report is not None
        assert run.report["verdict"] == "conformant", run.describe()
        assert not run.tests("not-run"), run.describe()
        assert _throttle_check_judged_its_429(run), "the throttle check judges its own 429"
    assert tripped_after < 31, "the first run left less than the node's whole address budget"
    assert second.report is not None
    deviations = {entry["id"]: entry for entry in second.report["deviations"]}
    assert "throttled:authenticationLogin" in deviations, (
        "the second run met the throttle, waited it out, and says so once"
    )
    assert "Retry-After" in deviations["throttled:authenticationLogin"]["message"]
    print(f"two runs: {first.seconds:.1f} s and {second.seconds:.1f} s, {took:.1f} s in all")


@pytest.mark.suite("SUITE-024", "SUITE-010")
def test_an_operation_that_stays_throttled_is_one_check_not_run_and_fails_nothing(
    tmp_path: Path,
) -> None:
    with node(tmp_path, "evaluate-throttled") as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", "consensus", "--fuzz-examples", "2",
            env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 2, run.describe()
    assert run.report is not None
    assert not run.failed_tests(), "a 429 is not a wrong answer of the node"
    assert run.report["verdict"] == "incomplete", "nor is a run that could not test conformant"
    assert run.profile("consensus")["verdict"] == "incomplete"
    (not_run,) = run.tests("not-run")
    assert "the target throttled the harness" in not_run["message"]
    assert "/consensus/evaluate answered 429 (too many requests) 1 time" in not_run["message"]
    statuses = [e["response"]["status"] for e in not_run["evidence"] if e["response"]]
    assert statuses[-1:] == [429], "the answer is evidence"
    blocked = run.tests("blocked")
    assert len(blocked) > 50, "the vectors and checks that evaluate are blocked"
    assert all(test["blockedBy"] == not_run["id"] for test in blocked), run.describe()
    assert "throttled the harness" in _last_line(run), _last_line(run)


@pytest.mark.suite("SUITE-024", "SUITE-030")
def test_a_credential_check_still_throttled_says_so_not_that_the_credentials_were_refused(
    tmp_path: Path,
) -> None:
    answer: dict[str, Any] = {"name": "TooManyRequestsError", "message": "slow down"}
    with HostileServer(
        "fixed",
        status="429 Too Many Requests",
        answer=json.dumps(answer).encode(),
        headers={"retry-after": "60", "connection": "close"},
    ) as server:
        run = harness(
            tmp_path, "run", "--target", server.url, "--email", ADMIN_EMAIL, env=PASSWORD_ENV,
            timeout=60,
        )  # fmt: skip
    assert run.code == 2, run.describe()
    assert run.report is None
    assert "throttles the harness's logins" in run.output, run.describe()
    assert "answered 429 (too many requests) 1 time" in run.output, run.describe()
    assert "refused the credentials" not in run.output
    assert run.seconds < 30
