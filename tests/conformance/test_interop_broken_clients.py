"""Broken variants as interop clients: each is caught by the right scenario with the right rule.

A client definition can start any command; here it starts a broken variant of the reference
node (``python -m tests.broken_variants FAULT``, the catalog of ``tests/broken_variants``) as
member 0, beside an honest reference node and two harness validators. The interop run must
fail the scenario that observes the fault, naming the requirement the variant breaks, fail no
other check (those that depend on the broken client are blocked), and mark the matrix cell of
the broken member as consumer failed. The faults only a committee shows are
``catalog.INTEROP``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

CASES = {
    # fault: (the scenario's check, the requirement, the matrix scenario or None)
    "credential-ignores-revocation": (
        "test_identity_across.py::"
        "test_a_credential_issued_on_one_member_verifies_on_every_other_and_its_revocation_too",
        "TWIN-IDENTITY-065",
        "revocation-seen",
    ),
    "evidence-of-unsigned-blocks": (
        "test_byzantine.py::test_an_equivocating_harness_validator_is_caught_by_every_client",
        "TWIN-CONSENSUS-030",
        None,
    ),
    "refused-block-accepted": (
        "test_receive_rules.py::"
        "test_blocks_breaking_a_receive_rule_are_refused_by_every_client_with_its_code",
        "TWIN-CONSENSUS-101",
        "receive-rule-refused",
    ),
    "resolver-stale-after-remote-update": (
        "test_identity_across.py::test_a_did_updated_on_one_member_resolves_updated_on_every_other",
        "TWIN-CONSENSUS-113",
        "did-update-seen",
    ),
    "dag-lost-on-restart": (
        "test_restarts.py::test_a_killed_client_keeps_what_it_acknowledged_and_catches_up",
        "TWIN-CONSENSUS-107",
        "blocks-kept-after-restart",
    ),
    "commit-without-quorum": (
        "test_committee.py::test_commit_sequences_are_prefixes_of_one_another",
        "TWIN-CONSENSUS-024",
        None,
    ),
    "document-removed-by-another-user": (
        "test_documents_across.py::test_another_members_user_cannot_remove_the_revision",
        "TWIN-DOCUMENTS-050",
        None,
    ),
    "equivocator-counted-twice": (
        "test_equivocation_quorum.py::"
        "test_an_equivocators_blocks_of_one_round_count_once_toward_a_quorum",
        "TWIN-CONSENSUS-003",
        "equivocator-counted-once",
    ),
}


def _broken_definition(folder: Path, fault: str) -> Path:
    command = [
        "{python}", "-m", "tests.broken_variants", fault,
        "--genesis", "{genesis}", "--validator-index", "{validator_index}",
        "--validator-key", "{validator_key}", "--admin-password-file", "{admin_password_file}",
        "--data-dir", "{data_dir}", "--host", "{host}", "--port", "{port}",
        "--leader-timeout", "0.3", "--peer-urls", "{peer_urls}",
    ]  # fmt: skip
    path = folder / f"{fault}.json"
    path.write_text(
        json.dumps(
            {
                "name": f"broken variant {fault}",
                "command": command,
                "admin": {"email": "admin@twin.example"},
                "env": {"PYTHONPATH": str(REPO_ROOT)},
                "profiles": ["core", "identity", "anchoring", "consensus", "documents"],
            }
        )
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(CASES))
def test_a_broken_client_is_caught_by_the_scenario_that_observes_it(
    tmp_path: Path, fault: str
) -> None:
    check, requirement, scenario = CASES[fault]
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable, "-m", "twin_conformance", "interop",
            "--client", str(_broken_definition(tmp_path, fault)),
            "--client", "reference.yaml",
            "--harness-validators", "2",
            "--out", str(out),
            # The partition scenarios run once in tests/ (test_interop.py), and below.
            "--skip", "test_partitions.py",
        ],
        capture_output=True, text=True, timeout=600, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    failed = {t["id"]: t["failedRequirement"] for t in report["tests"] if t["outcome"] == "failed"}
    assert failed.get(check) == requirement, failed
    # One root cause, one failure: the scenarios that depend on the broken client are
    # blocked by it, or do not observe the fault.
    assert set(failed) == {check}, failed
    failure = next(t for t in report["tests"] if t["id"] == check)
    assert "#0 broken variant" in failure["message"]
    assert failure["reproduce"].startswith("twin-conformance interop --client ")
    assert failure["reproduce"].endswith(f"--select {check}")
    if scenario is not None:
        matrix = json.loads((out / "interop-matrix.json").read_text())
        cells = next(s["cells"] for s in matrix["scenarios"] if s["id"] == scenario)
        assert any(c["consumer"] == 0 and c["outcome"] == "failed" for c in cells), cells
        assert all(c["outcome"] == "passed" for c in cells if c["consumer"] == 1), cells


SPLIT_CHECK = (
    "test_partitions.py::test_a_committee_split_without_a_quorum_commits_again_once_healed"
)


@pytest.mark.slow
def test_a_client_that_never_probes_when_stalled_fails_the_split_with_the_rounds_held(
    tmp_path: Path,
) -> None:
    # Beside three harness validators, which wait after the heal, only the client can resume
    # the committee: one that never asks for rounds nor sends its blocks again cannot.
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable, "-m", "twin_conformance", "interop",
            "--client", str(_broken_definition(tmp_path, "stall-never-probed")),
            "--harness-validators", "3",
            "--select", SPLIT_CHECK,
            "--out", str(out),
        ],
        capture_output=True, text=True, timeout=600, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    failure = next(t for t in report["tests"] if t["id"] == SPLIT_CHECK)
    assert failure["outcome"] == "failed"
    assert failure["failedRequirement"] == "TWIN-CONSENSUS-118"
    message = failure["message"]
    assert "no commit within 5 s of the heal on #0 broken variant stall-never-probed" in message
    # The evidence: every member's top rounds and their authors, as the block routes serve them.
    rounds_held = message.split("Rounds held", 1)[1]
    for label in (
        "#0 broken variant stall-never-probed",
        *(f"#{i} harness validator {i}" for i in (1, 2, 3)),
    ):
        assert re.search(re.escape(label) + r": round \d+: authors \[[0-3, ]+\]", rounds_held), (
            rounds_held
        )
    matrix = json.loads((out / "interop-matrix.json").read_text())
    cells = next(s["cells"] for s in matrix["scenarios"] if s["id"] == "split-commits-resumed")
    assert any(c["consumer"] == 0 and c["outcome"] == "failed" for c in cells), cells
