"""A verdict that can be trusted: one divergence is one failure.

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


@pytest.mark.suite("SUITE-011", "SUITE-010", "SUITE-012", "SUITE-013")
@pytest.mark.parametrize(
    ("fault", "profile", "requirement", "check"),
    [
        (
            "login-token-in-cookie-only",
            "full",
            "TWIN-CORE-056",
            "test_core.py::test_login_answers_the_token_in_its_body",
        ),
        (
            "method-not-allowed-as-404",
            "full",
            "TWIN-CORE-052",
            "test_core.py::test_a_method_the_route_lacks_is_405",
        ),
        (
            "route-not-served",
            "anchoring",
            "TWIN-CORE-070",
            "test_routes.py::test_the_node_serves_the_operation[verifiableStorageRemove]",
        ),
        (
            "identity-create-drops-id",
            "identity",
            "TWIN-IDENTITY-014",
            "test_identity.py::prerequisite[created]",
        ),
    ],
)
def test_one_divergence_is_one_failure(
    tmp_path: Path, fault: str, profile: str, requirement: str, check: str
) -> None:
    with node(tmp_path, fault) as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", profile, "--fuzz-examples", "2",
            env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 1, run.describe()
    assert len(run.failed_tests()) == 1, run.describe()
    (failed,) = run.failed_tests()
    assert (failed["id"], failed["failedRequirement"]) == (check, requirement), run.describe()
    blocked = run.tests("blocked")
    assert all(test["blockedBy"] == check for test in blocked), run.describe()
    if fault == "login-token-in-cookie-only":
        assert run.report is not None
        assert "login-token-in-cookie" in {entry["id"] for entry in run.report["deviations"]}
        assert not blocked, "with the token from the cookie, everything else is tested"
        assert run.profile("identity")["verdict"] == "conformant"
    if fault in ("route-not-served", "identity-create-drops-id"):
        assert blocked, "the checks that needed what failed are blocked"


@pytest.mark.suite("SUITE-023", "SUITE-010")
def test_an_operation_that_stays_unavailable_is_one_failure(tmp_path: Path) -> None:
    with node(tmp_path, "evaluate-unavailable") as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", "consensus", "--fuzz-examples", "2",
            env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 1, run.describe()
    assert len(run.failed_tests()) == 1, run.describe()
    (failed,) = run.failed_tests()
    assert "/consensus/evaluate answered 503 (unavailable) 3 times" in failed["message"]
    statuses = [exchange["response"]["status"] for exchange in failed["evidence"]]
    assert statuses[-3:] == [503, 503, 503], "each answer the node gave is evidence"
    blocked = run.tests("blocked")
    assert len(blocked) > 50, "the vectors and checks that evaluate are blocked"
    assert all(test["blockedBy"] == failed["id"] for test in blocked), run.describe()
