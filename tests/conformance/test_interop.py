"""``twin-conformance interop``: real committees of reference processes and harness validators.

The must-show run: two reference nodes as separate processes (the shipped client definition
``reference.yaml``) and two harness validators pass every scenario, with the report, the
matrix and no secret in any output. Bad client definitions and members that never become
healthy are exit 2 with the reason, and change nothing; container clients are refused in one
line without a Docker engine (and run where one answers).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conformance.container_image import docker_engine_answers, reference_node_image
from tests.support import REPO_ROOT, schema_validator

RUN_SECONDS = 420


def _interop(
    *args: str, timeout: float = RUN_SECONDS, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin_conformance", "interop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
        env=env,
    )


def _kept_directory(stdout: str) -> Path:
    line = next(line for line in stdout.splitlines() if "member directories kept in" in line)
    return Path(line.rsplit(" ", 1)[1])


def _outputs(out: Path, result: subprocess.CompletedProcess[str]) -> str:
    texts = [result.stdout, result.stderr]
    texts += [path.read_text(errors="replace") for path in out.rglob("*") if path.is_file()]
    return "\n".join(texts)


@pytest.mark.suite("SUITE-070", "SUITE-071")
def test_two_reference_processes_and_two_harness_validators_pass_every_scenario(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = _interop(
        "--client",
        "reference.yaml",
        "--client",
        "reference.yaml",
        "--harness-validators",
        "2",
        "--out",
        str(out),
        "--keep-files",
    )
    kept = _kept_directory(result.stdout)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().splitlines()[-1] == "Verdict: conformant"
        report = json.loads((out / "report.json").read_text())
        outcomes = {test["id"]: test["outcome"] for test in report["tests"]}
        assert len(outcomes) >= 13
        # The equivocator's-quorum scenario applies only when the committee comes to rest on
        # a slot with a live leader, which load decides; every other scenario must pass.
        shaped = "test_equivocation_quorum.py::"
        assert {o for t, o in outcomes.items() if not t.startswith(shaped)} == {"passed"}, outcomes
        assert {o for t, o in outcomes.items() if t.startswith(shaped)} <= {
            "passed",
            "not-applicable",
        }, outcomes
        assert report["interop"]["harnessValidators"] == 2
        kinds = [member["kind"] for member in report["interop"]["members"]]
        assert kinds == ["client", "client", "harness-validator", "harness-validator"]
        # The interop run judges the requirements its scenarios name, and says which.
        judged = {entry["id"] for entry in report["requirements"]}
        assert {"TWIN-CONSENSUS-113", "TWIN-CONSENSUS-107", "TWIN-IDENTITY-065"} <= judged
        assert all(entry["status"] == "passed" for entry in report["requirements"])
        profiles = {entry["profile"]: entry["verdict"] for entry in report["profiles"]}
        # core is judged on what the scenarios name of it: durability across a SIGKILL.
        assert profiles == {
            "core": "conformant",
            "identity": "conformant",
            "anchoring": "conformant",
            "consensus": "conformant",
            "documents": "conformant",
        }
        # The quorum-loss scenarios ran (last) and passed: a write is 202 pending, health says so.
        assert any("test_quorum_loss" in check for check in outcomes), sorted(outcomes)
        assert {"TWIN-CORE-066", "TWIN-CORE-067"} <= judged
        # The partition scenarios ran through the relay (this is the one test of tests/ that
        # runs them: about 70 s).
        partitions = [check for check in outcomes if check.startswith("test_partitions.py")]
        assert len(partitions) == 2, sorted(outcomes)
        assert "TWIN-CONSENSUS-118" in judged
        # The matrix: every cross-member scenario has both directions between the clients,
        # and the equivocation was caught by each client.
        matrix = json.loads((out / "interop-matrix.json").read_text())
        schema_validator("interop-matrix.schema.json").validate(matrix)
        schema_validator("conformance-report.schema.json").validate(report)
        cells = {
            scenario["id"]: {
                (c["producer"], c["consumer"], c["outcome"]) for c in scenario["cells"]
            }
            for scenario in matrix["scenarios"]
        }
        for scenario in (
            "did-resolves",
            "did-update-seen",
            "credential-verifies",
            "revocation-seen",
        ):
            assert cells[scenario] == {(0, 1, "passed"), (1, 0, "passed")}, scenario
        assert cells["proof-verifies"] == {(0, 1, "passed"), (1, 0, "passed")}
        assert cells["document-attested"] == {(0, 1, "passed"), (1, 0, "passed")}
        assert cells["equivocation-caught"] == {(2, 0, "passed"), (2, 1, "passed")}
        assert cells["receive-rule-refused"] == {(3, 0, "passed"), (3, 1, "passed")}
        assert cells["withheld-blocks-fetched"] == {(2, 0, "passed")}
        # Each client is killed and restarted in turn.
        assert cells["blocks-kept-after-restart"] == {(0, 0, "passed"), (1, 1, "passed")}
        assert cells["kept-after-restart"] == {(0, 0, "passed"), (1, 1, "passed")}
        assert cells["caught-up-after-restart"] == {(1, 0, "passed"), (0, 1, "passed")}
        assert cells["write-with-f-crashed"] == {(0, 1, "passed"), (1, 0, "passed")}
        # Client 1 was cut off while client 0 wrote; every member resumed after the split.
        assert cells["isolated-caught-up"] == {(1, 1, "passed")}
        assert cells["written-during-isolation-seen"] == {(0, 1, "passed")}
        assert cells["split-commits-resumed"] == {(i, i, "passed") for i in range(4)}
        assert cells["written-around-split-seen"] <= {(0, 1, "passed"), (1, 0, "passed")}
        assert 'data-scenario="equivocation-caught"' in (out / "interop-matrix.html").read_text()
        # The admin password reached the members as a 0600 file, and no output holds it.
        password_file = kept / "members" / "member-0" / "admin-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        assert (kept / "members" / "member-0" / "validator.key").stat().st_mode & 0o777 == 0o600
        password = password_file.read_text().strip()
        assert password not in _outputs(out, result)
        key = (kept / "members" / "member-0" / "validator.key").read_text().strip()
        assert key not in _outputs(out, result)
        # Every member process was stopped.
        for member in report["interop"]["members"][:2]:
            port = int(member["url"].rsplit(":", 1)[1])
            assert not any(
                c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
                for c in psutil.net_connections("tcp")
            ), f"something still listens on {member['url']}"
    finally:
        shutil.rmtree(kept, ignore_errors=True)


@pytest.mark.suite("SUITE-071")
def test_a_container_client_without_a_docker_engine_is_refused_in_one_line(tmp_path: Path) -> None:
    if docker_engine_answers():
        pytest.skip("a Docker engine answers here; the container interop run is checked instead")
    definition = tmp_path / "vendor.yaml"
    definition.write_text("name: Vendor node\nimage: vendor/node:1\nadmin: {email: a@b.example}\n")
    out = tmp_path / "out"
    result = _interop("--client", str(definition), "--out", str(out), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "could not run: container client(s) Vendor node need a Docker engine" in lines[0]
    assert not out.exists()


def test_a_reference_container_and_a_reference_process_pass_every_scenario(
    tmp_path: Path,
) -> None:
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers (../shared/FACTS.md shows how to start one)")
    image = reference_node_image()
    definition = tmp_path / "reference-container.yaml"
    definition.write_text(
        "\n".join(
            [
                "name: TWIN reference node (container)",
                f"image: {image}",
                "container:",
                "  command: [--genesis, '{genesis}', --validator-index, '{validator_index}',"
                " --validator-key, '{validator_key}', --admin-password-file,"
                " '{admin_password_file}', --data-dir, '{data_dir}', --port, '{port}',"
                " --leader-timeout, '0.3']",
                "admin: {email: admin@twin.example}",
                "profiles: [core, identity, anchoring, consensus, documents]",
                "",
            ]
        )
    )
    out = tmp_path / "out"
    # The partition scenarios run once in tests/ (the two-process run); left out here.
    result = _interop(
        "--client", str(definition), "--client", "reference.yaml", "--out", str(out),
        "--skip", "test_partitions.py",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["interop"]["members"][0]["container"] is True
    outcomes = {test["id"]: test["outcome"] for test in report["tests"]}
    partitions = {check for check in outcomes if check.startswith("test_partitions.py")}
    assert {outcomes[check] for check in partitions} == {"not-selected"}
    assert {outcome for check, outcome in outcomes.items() if check not in partitions} == {"passed"}


def test_partitions_run_after_every_scenario_that_keeps_the_committee_whole() -> None:
    from twin_conformance._cli_interop import INTEROP_CHECKS
    from twin_conformance.interop_checks.conftest import MODULE_ORDER

    # Every scenario module has its place; the partitions need every validator up, so they
    # run after the others and before the faults that change the committee for good.
    assert set(MODULE_ORDER) == {path.name for path in INTEROP_CHECKS.glob("test_*.py")}
    assert MODULE_ORDER[-4:] == (
        "test_partitions.py",
        "test_crashes.py",
        "test_equivocation_quorum.py",
        "test_quorum_loss.py",
    )


BAD_DEFINITIONS = {
    "not-yaml": ("name: [unclosed\n", "is not YAML or JSON"),
    "both": (
        "name: x\ncommand: [a]\nimage: b\nadmin: {email: a@b.example}\n",
        "give command or image, not both",
    ),
    "unknown-placeholder": (
        "name: x\ncommand: ['{python}', '{password}']\nadmin: {email: a@b.example}\n",
        "command names {password}, which the launch contract does not define",
    ),
    "contract-variable": (
        "name: x\ncommand: [a]\nadmin: {email: a@b.example}\nenv: {TWIN_VALIDATOR_KEY_FILE: k}\n",
        "env: 'TWIN_VALIDATOR_KEY_FILE'",
    ),
    "no-admin": ("name: x\ncommand: [a]\n", "'admin' is a required property"),
    "unknown-member": (
        "name: x\ncommand: [a]\nadmin: {email: a@b.example}\npassword: s3cret\n",
        "Additional properties are not allowed ('password' was unexpected)",
    ),
}


@pytest.mark.suite("SUITE-071")
@pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
def test_a_bad_client_definition_is_exit_2_naming_it_and_starts_nothing(
    tmp_path: Path, case: str
) -> None:
    text, expected = BAD_DEFINITIONS[case]
    definition = tmp_path / f"{case}.yaml"
    definition.write_text(text)
    out = tmp_path / "out"
    # Its own temporary folder: other tests running beside it make member directories too.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = _interop(
        "--client", "reference.yaml", "--client", str(definition), "--out", str(out),
        env={**os.environ, "TMPDIR": str(temporary)},
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(definition) in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert list(temporary.iterdir()) == [], "nothing was started, so nothing was written"


@pytest.mark.suite("SUITE-071")
def test_skipping_an_unknown_scenario_module_is_exit_2_before_anything_starts(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = _interop(
        "--client", "reference.yaml", "--skip", "test_partition.py", "--out", str(out)
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--skip test_partition.py: no interop scenario module test_partition.py" in result.stderr
    assert not out.exists()


def test_a_missing_client_definition_lists_the_shipped_ones(tmp_path: Path) -> None:
    result = _interop("--client", "no-such-client.yaml", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "client definition no-such-client.yaml: no such file" in result.stderr
    assert "reference.yaml" in result.stderr


@pytest.mark.suite("SUITE-071")
def test_a_member_that_never_becomes_healthy_is_exit_2_in_its_bound_and_stopped(
    tmp_path: Path,
) -> None:
    marker = f"twin-interop-hang-{os.getpid()}"
    definition = tmp_path / "hangs.yaml"
    definition.write_text(
        "\n".join(
            [
                "name: Hanging node",
                "command: ['{python}', '-c', 'import time, sys; print(sys.argv); time.sleep(600)',"
                f" '{marker}', '{{port}}']",
                "admin: {email: a@b.example}",
                "startSeconds: 3",
                "stopSeconds: 2",
                "",
            ]
        )
    )
    started = time.monotonic()
    result = _interop(
        "--client",
        str(definition),
        "--harness-validators",
        "1",
        "--out",
        str(tmp_path / "out"),
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "#0 Hanging node did not answer GET /health with status ok within 3 s" in result.stderr
    assert elapsed < 60, elapsed
    leftover = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if marker in " ".join(p.info["cmdline"] or [])
    ]
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)
    assert not leftover, "the member process outlived the run"


def test_a_member_that_exits_is_exit_2_with_its_log(tmp_path: Path) -> None:
    definition = tmp_path / "exits.yaml"
    definition.write_text(
        "name: Exiting node\n"
        "command: ['{python}', '-c',"
        " 'import sys; print(\"bad genesis, giving up\"); sys.exit(3)']\n"
        "admin: {email: a@b.example}\n"
    )
    result = _interop("--client", str(definition), "--out", str(tmp_path / "out"), timeout=120)
    assert result.returncode == 2
    assert "#0 Exiting node exited with code 3 before it was healthy" in result.stderr
    assert "bad genesis, giving up" in result.stderr


@pytest.mark.suite("SUITE-070")
def test_one_client_in_a_committee_of_harness_validators_is_judged_on_consensus_alone(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    # The partition scenarios (over a minute) run once in tests/, in the two-client run above.
    result = _interop(
        "--client", "reference.yaml", "--harness-validators", "3", "--out", str(out),
        "--skip", "test_partitions.py",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    profiles = {entry["profile"]: entry["verdict"] for entry in report["profiles"]}
    # With one client nothing is consumed by another client: those scenarios do not apply,
    # and their profiles are not requested rather than conformant on nothing. Core is judged
    # on the quorum-loss scenarios, which one client and three harness validators can run.
    # Leaving the partitions out narrows the run: conformant on what ran, so incomplete.
    assert profiles == {
        "core": "incomplete",
        "identity": "not-requested",
        "anchoring": "not-requested",
        "consensus": "incomplete",
        "documents": "not-requested",
    }
    reasons = {entry["profile"]: entry["reasons"] for entry in report["profiles"]}
    narrowed = "the run was narrowed to a subset of the checks"
    assert reasons["core"] == [narrowed]
    # The commit rule's quorum is judged without the split too (the served commits replayed
    # with the spec core's commit rule), so narrowing is the only reason.
    assert reasons["consensus"] == [
        narrowed,
    ]
    assert report["run"]["selection"]["keyword"] == "not test_partitions.py"
    assert result.stdout.strip().splitlines()[-1] == (
        "Verdict: incomplete; the run was narrowed (-k); the selected checks passed"
    )
    outcomes = {test["id"].split("::")[0]: test["outcome"] for test in report["tests"]}
    assert outcomes["test_identity_across.py"] == "not-applicable"
    assert outcomes["test_restarts.py"] == "not-applicable"
    assert outcomes["test_byzantine.py"] == "passed"
    assert outcomes["test_quorum_loss.py"] == "passed"
    assert outcomes["test_crashes.py"] == "passed"
    assert outcomes["test_partitions.py"] == "not-selected"


@pytest.mark.suite("SUITE-070")
def test_a_scenario_reproduces_alone_with_the_command_the_report_gives(tmp_path: Path) -> None:
    check = "test_committee.py::test_every_member_runs_the_genesis_committee"
    out = tmp_path / "out"
    result = _interop(
        "--client", "reference.yaml", "--harness-validators", "1",
        "--select", check, "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "incomplete"
    ran = [test["id"] for test in report["tests"] if test["outcome"] == "passed"]
    assert ran == [check]
    assert "the run was narrowed (--select); the selected checks passed" in result.stdout
