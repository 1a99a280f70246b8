"""Fuzzing a node that throttles (429): waited out as the harness's client does, never a failure.

SUITE-024 (``spec/prose/suite.md``). Each case runs ``twin-conformance run --select
test_fuzz.py`` as a real command against a variant of the reference node on loopback: one
behind a rate-limiting gateway that answers every 20th request but logins 429 with
``Retry-After: 1`` (``gateway-throttled``), one that answers every evaluate request 429 asking
a minute (``evaluate-throttled``). Selecting the fuzz checks makes the verdict incomplete by
narrowing, so the cases judge the fuzz checks' outcomes and the report's deviations. Before
SUITE-024 reached fuzzing, both failed the operations that met 429 (positive_data_acceptance,
TWIN-CORE-052; status_code_conformance, TWIN-CORE-056): false failures of a conforming node.

The bounds of the fuzzer's waits (at most twice, at most 5 s, never for a login whose 429 the
document declares) are tested on a loopback server that counts what it is sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from tests.conformance.harness_runs import PASSWORD_ENV, HarnessRun, against, harness, node
from twin_conformance._fuzz import Fuzzer, FuzzResult, FuzzSettings, _WaitingAdapter

FUZZ = "test_fuzz.py"
EVALUATE_FUZZ = "test_fuzz.py::test_operation[consensusEvaluate]"


def _fuzz_checks(run: HarnessRun) -> list[dict[str, object]]:
    """The fuzz checks of the profile run (others are not requested)."""
    return [
        test
        for test in run.tests()
        if str(test["id"]).startswith(FUZZ) and test["outcome"] != "not-requested"
    ]


@pytest.mark.suite("SUITE-024")
def test_fuzzing_behind_a_rate_limiting_gateway_waits_it_out_and_fails_nothing(
    tmp_path: Path,
) -> None:
    """Every 20th fuzzed request meets 429 with Retry-After: 1: waited out, said once each.

    Without the wait, schemathesis's status_code_conformance failed each operation it met the
    undocumented 429 on (TWIN-CORE-056): a false failure of a conforming node.
    """
    with node(tmp_path, "gateway-throttled") as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", "core", "--select", FUZZ,
            "--fuzz-examples", "5", env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.report is not None, run.describe()
    assert not run.failed_tests(), run.describe()
    assert not run.tests("error"), run.describe()
    checks = _fuzz_checks(run)
    assert checks, run.describe()
    outcomes = {str(test["id"]): test["outcome"] for test in checks}
    assert set(outcomes.values()) <= {"passed", "skipped"}, outcomes
    assert "passed" in outcomes.values()
    throttled = [
        entry for entry in run.report["deviations"] if entry["id"].startswith("throttled:")
    ]
    assert throttled, "the gateway's 429s were met, waited out, and said"
    ids = [entry["id"] for entry in throttled]
    assert len(ids) == len(set(ids)), "each throttled operation is said once"
    assert all("Retry-After (1 s)" in entry["message"] for entry in throttled), throttled
    assert run.code == 0, "the selected checks passed"
    assert run.report["verdict"] == "incomplete", "by narrowing, never conformant"


@pytest.mark.suite("SUITE-024")
@pytest.mark.parametrize(
    "profile",
    [
        pytest.param("core", id="core"),
        # Every profile and the stateful phase: 124 s on a two-core machine. Before the
        # fuzzer's probes' 429s were left unjudged, 14 fuzz checks did not run here (exit 2).
        pytest.param("full", id="full", marks=pytest.mark.slow),
    ],
)
def test_a_complete_run_behind_a_rate_limiting_gateway_is_conformant(
    tmp_path: Path, profile: str
) -> None:
    """A whole run, checks and fuzzing, behind the gateway: conformant, each deviation once.

    Each operation's 429s are waited out and said once in the deviations, whether a check or
    the fuzzer met them (core: about 20 s).
    """
    with node(tmp_path, "gateway-throttled") as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", profile, "--fuzz-examples", "5",
            env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 0, run.describe()
    assert run.report is not None
    assert run.report["verdict"] == "conformant", run.describe()
    assert not run.tests("not-run"), run.describe()
    ids = [entry["id"] for entry in run.report["deviations"]]
    assert any(entry.startswith("throttled:") for entry in ids), ids
    assert len(ids) == len(set(ids)), "each deviation is said once"


@pytest.mark.suite("SUITE-024", "SUITE-010")
def test_a_fuzzed_operation_that_stays_throttled_is_not_run_and_fails_nothing(
    tmp_path: Path,
) -> None:
    """Every evaluate request meets 429 asking a minute: its fuzzing is not run, not failed."""
    with node(tmp_path, "evaluate-throttled") as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", "consensus", "--select", FUZZ,
            "--fuzz-examples", "5", env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 2, "a selected check that did not run did not pass: " + run.describe()
    assert run.report is not None
    assert not run.failed_tests(), "a 429 is not a wrong answer of the node"
    assert not run.tests("error"), run.describe()
    assert run.report["verdict"] == "incomplete"
    (evaluate,) = [test for test in run.tests() if test["id"] == EVALUATE_FUZZ]
    assert evaluate["outcome"] == "not-run", evaluate
    assert "the target throttled the harness" in str(evaluate["message"])
    assert "POST /consensus/evaluate answered 429 (too many requests) 1 time" in str(
        evaluate["message"]
    ), evaluate["message"]
    assert "'60'" in str(evaluate["message"]), "the Retry-After asked is named"
    statuses = [e["response"]["status"] for e in evaluate["evidence"] if e.get("response")]
    assert 429 in statuses, "the answer is evidence"
    others = [test for test in _fuzz_checks(run) if test["id"] != EVALUATE_FUZZ]
    assert all(test["outcome"] in ("passed", "skipped", "blocked") for test in others), [
        (test["id"], test["outcome"]) for test in others
    ]
    blocked = [test for test in others if test["outcome"] == "blocked"]
    assert all(test["blockedBy"] == EVALUATE_FUZZ for test in blocked), blocked
    assert len(run.tests("not-run")) == 1, "one throttled operation, one check not run"
    assert not [e for e in run.report["deviations"] if e["id"] == "throttled:consensusEvaluate"], (
        "a 429 asking a minute is not waited out"
    )


class _Counting(BaseHTTPRequestHandler):
    """Answers 429 with the Retry-After its server asks, or 200 after ``free_after`` requests."""

    def _answer(self) -> None:
        server = self.server
        assert isinstance(server, _CountingServer)
        server.paths.append(self.path)
        if len(server.paths) > server.free_after:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        self.send_response(429)
        if server.retry_after is not None:
            self.send_header("retry-after", server.retry_after)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _CountingServer(ThreadingHTTPServer):
    def __init__(self, retry_after: str | None, free_after: int) -> None:
        super().__init__(("127.0.0.1", 0), _Counting)
        self.retry_after = retry_after
        self.free_after = free_after
        self.paths: list[str] = []


@contextmanager
def _counting(retry_after: str | None, free_after: int = 1000) -> Iterator[_CountingServer]:
    server = _CountingServer(retry_after, free_after)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _send(server: _CountingServer, method: str, path: str) -> tuple[int, FuzzResult, float]:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    fuzzer = Fuzzer(FuzzSettings(url, None, 1, 1, 10.0, frozenset({"core"})))
    result = FuzzResult()
    session = requests.Session()
    session.mount("http://", _WaitingAdapter(fuzzer, result, threading.Event()))
    started = time.monotonic()
    try:
        status = session.request(method, url + path, timeout=10).status_code
    finally:
        session.close()
        fuzzer.close()
    return status, result, time.monotonic() - started


@pytest.mark.suite("SUITE-024")
@pytest.mark.parametrize(
    ("retry_after", "free_after", "status", "sent", "waited"),
    [
        pytest.param("1", 1, 200, 2, True, id="waited-out-once"),
        pytest.param(None, 2, 200, 3, True, id="no-retry-after-is-1s-twice"),
        pytest.param("1", 1000, 429, 3, True, id="still-throttled-after-twice"),
        pytest.param("6", 1000, 429, 1, False, id="over-5s-not-waited"),
        pytest.param("Wed, 21 Oct 2099 07:28:00 GMT", 1000, 429, 1, False, id="a-date"),
    ],
)
def test_the_fuzzer_waits_as_the_harness_client_does(
    retry_after: str | None, free_after: int, status: int, sent: int, waited: bool
) -> None:
    with _counting(retry_after, free_after) as server:
        answered, result, _ = _send(server, "GET", "/health")
    assert answered == status
    assert len(server.paths) == sent
    assert bool(result.waited) == waited
    if waited:
        assert result.waited == {"GET /health": 1.0}


@pytest.mark.suite("SUITE-024")
def test_a_throttled_login_is_an_answer_to_judge_not_waited() -> None:
    """The document declares 429 for a login (TWIN-CORE-063): no sleep, no second request."""
    with _counting("1") as server:
        answered, result, took = _send(server, "POST", "/authentication/login")
    assert (answered, len(server.paths), result.waited) == (429, 1, {})
    assert took < 0.9


def _interaction(status: int, headers: dict[str, list[str]] | None = None) -> SimpleNamespace:
    request = SimpleNamespace(
        method="GET", uri="http://127.0.0.1:9/consensus/blocks", headers={}, body=None
    )
    body = b'{"name":"TooManyRequestsError","message":"later"}' if status == 429 else b"oops"
    response = SimpleNamespace(
        status_code=status, headers=headers or {}, content=body, elapsed=0.01
    )
    return SimpleNamespace(request=request, response=response)


@pytest.mark.suite("SUITE-024")
def test_a_429_is_no_finding_and_hides_no_real_one_of_the_same_kind() -> None:
    """A case answered 429 (Retry-After 60) and one answered 500, both undocumented statuses.

    The first is a throttling of the operation, the second still a finding, though
    schemathesis reports both with the same check and title.
    """
    fuzzer = Fuzzer(FuzzSettings("http://127.0.0.1:9", None, 1, 1, 10.0, frozenset({"core"})))
    recorder: Any = SimpleNamespace(
        label="GET /consensus/blocks",
        interactions={"a": _interaction(429, {"Retry-After": ["60"]}), "b": _interaction(500)},
    )
    result = FuzzResult()
    try:
        for case in ("a", "b"):
            failure: Any = SimpleNamespace(
                title="Undocumented HTTP status code",
                message="Received: 4xx/5xx",
                operation="GET /consensus/blocks",
                case_id=case,
            )
            fuzzer._add(
                result, "status_code_conformance", failure, recorder, case, "fuzzing", "", []
            )
    finally:
        fuzzer.close()
    (finding,) = result.findings
    assert finding.where == "GET /consensus/blocks answered 500"
    (throttling,) = result.throttled
    assert throttling.operation == "GET /consensus/blocks"
    assert throttling.retry_after == "60"
    assert "answered 429 (too many requests) 1 time" in throttling.message()


@pytest.mark.suite("SUITE-024")
def test_a_429_to_a_probe_the_fuzzer_could_not_wait_on_is_left_unjudged() -> None:
    """ignored_auth sends its probes on a session of its own, past the waiting adapter.

    In a complete run behind the gateway such a probe met the gateway's 429 (Retry-After 1)
    and made its operation's fuzzing not run: it is a case left unjudged, nothing more.
    """
    fuzzer = Fuzzer(FuzzSettings("http://127.0.0.1:9", None, 1, 1, 10.0, frozenset({"core"})))
    recorder: Any = SimpleNamespace(
        label="GET /consensus/blocks",
        interactions={"a": _interaction(429, {"Retry-After": ["1"]})},
    )
    result = FuzzResult()
    result.note_adapted()  # other requests of the run went through the adapter
    failure: Any = SimpleNamespace(
        title="API accepts requests without authentication",
        message="",
        operation="GET /consensus/blocks",
        case_id="a",
    )
    try:
        fuzzer._add(result, "ignored_auth", failure, recorder, "a", "fuzzing", "", [])
    finally:
        fuzzer.close()
    assert (result.findings, result.throttled, result._unjudged) == ([], [], 1)
