"""The run's second user: another user's removal is checked, caught, or left untested in words.

TWIN-DOCUMENTS-050 says only a document's creator may remove its revisions. The harness acts
as another user with a second login (``--second-email``, its password in
``$TWIN_TARGET_SECOND_PASSWORD``, or ``auth.secondUser`` in a target file). These tests run
``twin-conformance run`` as a real command against reference nodes (and the variant that lets
any user remove a revision) on 127.0.0.1 port 0, each node stopped when its block ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conformance.harness_runs import PASSWORD_ENV, against, harness, node
from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD, SECOND_EMAIL, SECOND_PASSWORD
from twin_conformance._target import TargetError, load_target_file

CHECK = "test_documents.py::test_another_user_cannot_remove_a_revision"
UPDATE_CHECK = "test_documents.py::test_another_user_cannot_add_a_revision"
REQUIREMENT = "TWIN-DOCUMENTS-050"
DOCUMENTS = ("--profile", "documents", "--fuzz-examples", "0")


def _requirement(report: dict[str, object], requirement: str) -> dict[str, object]:
    entries = report["requirements"]
    assert isinstance(entries, list)
    found: dict[str, object] = next(entry for entry in entries if entry["id"] == requirement)
    return found


@pytest.mark.requirement(REQUIREMENT)
def test_a_node_that_lets_another_user_remove_a_revision_fails_that_rule_alone(
    tmp_path: Path,
) -> None:
    with node(tmp_path, "document-removed-by-another-user") as target:
        run = harness(tmp_path, "run", *against(target), *DOCUMENTS, env=PASSWORD_ENV)
    assert run.code == 1, run.describe()
    # One root cause, one failure: the other user's removal, named by its rule.
    failed = [(test["id"], test["failedRequirement"]) for test in run.failed_tests()]
    assert failed == [(CHECK, REQUIREMENT)], run.describe()
    assert not run.tests("error"), run.describe()
    assert run.report is not None
    assert _requirement(run.report, REQUIREMENT)["status"] == "failed"
    assert run.profile("documents")["verdict"] == "not-conformant"
    assert run.profile("core")["verdict"] == "conformant"
    outcomes = {test["id"]: test["outcome"] for test in run.tests()}
    assert outcomes[UPDATE_CHECK] == "passed", run.describe()
    check = run.failed_tests()[0]
    assert "--second-email" in check["reproduce"], check["reproduce"]
    assert SECOND_PASSWORD not in run.output
    assert "second user checked: logged in as user@twin.example" in run.stdout


@pytest.mark.suite("SUITE-001")
def test_without_a_second_user_the_rule_is_untested_and_documents_incomplete(
    tmp_path: Path,
) -> None:
    with node(tmp_path) as target:
        run = harness(
            tmp_path, "run", "--target", target.url, "--email", ADMIN_EMAIL, *DOCUMENTS,
            env={"TWIN_TARGET_PASSWORD": ADMIN_PASSWORD},
        )  # fmt: skip
    # A MUST no check executed: never conformant, and a full run that is incomplete is exit 2.
    assert run.code == 2, run.describe()
    assert run.report is not None, run.describe()
    assert not run.failed_tests(), run.describe()
    checks = [test for test in run.tests() if test["id"] in (CHECK, UPDATE_CHECK)]
    assert len(checks) == 2, run.describe()
    for check in checks:
        assert check["outcome"] == "skipped", check
        assert "--second-email" in check["message"], check
        assert "TWIN_TARGET_SECOND_PASSWORD" in check["message"], check
    entry = _requirement(run.report, REQUIREMENT)
    assert (entry["status"], entry["untestedBecause"]) == ("not-tested", "skipped")
    documents = run.profile("documents")
    assert documents["verdict"] == "incomplete"
    assert any(REQUIREMENT in reason for reason in documents["reasons"]), documents
    assert run.profile("core")["verdict"] == "conformant"
    assert "no second user (--second-email)" in run.stdout


def test_a_second_user_without_its_password_or_the_same_as_the_first_is_exit_2(
    tmp_path: Path,
) -> None:
    with node(tmp_path) as target:
        halves = harness(
            tmp_path / "halves", "run", *against(target), *DOCUMENTS,
            env={"TWIN_TARGET_PASSWORD": ADMIN_PASSWORD},
        )  # fmt: skip
        same = harness(
            tmp_path / "same", "run", "--target", target.url, "--email", ADMIN_EMAIL,
            "--second-email", ADMIN_EMAIL, *DOCUMENTS,
            env={"TWIN_TARGET_PASSWORD": ADMIN_PASSWORD,
                 "TWIN_TARGET_SECOND_PASSWORD": ADMIN_PASSWORD},
        )  # fmt: skip
        wrong = harness(
            tmp_path / "wrong", "run", *against(target), *DOCUMENTS,
            env={**PASSWORD_ENV, "TWIN_TARGET_SECOND_PASSWORD": "not the second password"},
        )  # fmt: skip
    assert halves.code == 2, halves.describe()
    assert "$TWIN_TARGET_SECOND_PASSWORD" in halves.stderr, halves.describe()
    assert same.code == 2, same.describe()
    assert "another user than the first" in same.stderr, same.describe()
    assert wrong.code == 2, wrong.describe()
    assert "the second user (--second-email)" in wrong.stderr, wrong.describe()
    assert "not the second password" not in wrong.output
    for run in (halves, same, wrong):
        assert run.report is None, "a run that could not start wrote a report"


def test_a_target_file_names_the_second_user_and_the_variable_of_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "target.yaml"
    second = {"email": SECOND_EMAIL, "passwordEnv": "VENDOR_SECOND_PASSWORD"}
    auth = {"email": ADMIN_EMAIL, "passwordEnv": "VENDOR_PASSWORD", "secondUser": second}
    path.write_text(yaml.safe_dump({"url": "http://127.0.0.1:9", "auth": auth}))
    monkeypatch.setenv("VENDOR_PASSWORD", ADMIN_PASSWORD)
    with pytest.raises(TargetError, match=r"\$VENDOR_SECOND_PASSWORD .* is not set"):
        load_target_file(path)
    monkeypatch.setenv("VENDOR_SECOND_PASSWORD", SECOND_PASSWORD)
    target = load_target_file(path)
    assert (target.second_email, target.second_password) == (SECOND_EMAIL, SECOND_PASSWORD)
    assert target.second_password_env == "VENDOR_SECOND_PASSWORD"
    assert SECOND_PASSWORD not in repr(target)
    # A password written in the file is refused: only the variable's name is taken.
    inline = {**auth, "secondUser": {"email": SECOND_EMAIL, "password": SECOND_PASSWORD}}
    path.write_text(yaml.safe_dump({"url": "http://127.0.0.1:9", "auth": inline}))
    with pytest.raises(TargetError, match=r"unknown auth\.secondUser member"):
        load_target_file(path)
