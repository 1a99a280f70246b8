"""Signed reports: a certifier signs report.json, anyone verifies it, aggregation says who.

A run against a real node signs its report with a test certifier's key (``--sign-key``, or a
target file's ``signKey``). ``twin-conformance report verify`` accepts it when the trust file
lists that key, and refuses it with any value changed, signed by a key the file does not list,
or unsigned; ``report aggregate`` over certified, untrusted, unsigned, incomplete and
baselined reports marks each and counts only the first as certified (SUITE-050, SUITE-051).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conformance.harness_runs import PASSWORD_ENV, HarnessRun, against, harness, node
from tests.node_process import ADMIN_EMAIL, SECOND_EMAIL
from twin_conformance._report_signing import sign_report
from twin_spec import Ed25519SigningKey, did_key_from_public_key

FAST = ("--fuzz-examples", "0")


def _seed_file(path: Path) -> str:
    """A throwaway certifier key, kept in a file like a real one; returns its did:key."""
    key = Ed25519SigningKey.generate()
    path.write_text(key.seed.hex() + "\n")
    path.chmod(0o600)
    return did_key_from_public_key(key.public_key)


def _trust(path: Path, *dids: str) -> Path:
    path.write_text(
        json.dumps(
            {"certifiers": [{"id": did, "name": "test lab", "from": "2026-01-01"} for did in dids]}
        )
    )
    return path


def _write(path: Path, report: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return path


@pytest.fixture(scope="module")
def signed_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A certified full run (target file), a baselined one and a narrowed one, all signed."""
    root = tmp_path_factory.mktemp("signed")
    certifier = _seed_file(root / "certifier.seed")
    runs: dict[str, HarnessRun] = {}
    with node(root) as target:
        target_file = root / "target.yaml"
        target_file.write_text(
            yaml.safe_dump(
                {
                    "name": "Example Vendor TWIN Node 3.1",
                    "url": target.url,
                    "auth": {
                        "email": ADMIN_EMAIL,
                        "passwordEnv": "TWIN_TARGET_PASSWORD",
                        "secondUser": {"email": SECOND_EMAIL},
                    },
                    "signKey": "certifier.seed",
                }
            )
        )
        runs["certified"] = harness(
            root / "certified", "run", "--target-file", str(target_file), *FAST, env=PASSWORD_ENV
        )
    # A fresh instance for the next full run: the first one's failed logins (its throttling
    # checks) leave this address throttled for a while, and a login vector would meet 429.
    with node(root / "again") as target:
        baseline = root / "baseline.txt"
        baseline.write_text("test_core.py::test_health_answers\n")
        runs["baselined"] = harness(
            root / "baselined", "run", *against(target), *FAST, "--baseline", str(baseline),
            "--sign-key", str(root / "certifier.seed"), env=PASSWORD_ENV,
        )  # fmt: skip
        runs["incomplete"] = harness(
            root / "incomplete", "run", *against(target),
            "--select", "test_core.py::test_health_answers",
            "--sign-key", str(root / "certifier.seed"), env=PASSWORD_ENV,
        )  # fmt: skip
    for name, run in runs.items():
        assert run.code == 0, f"{name}: {run.describe()}"
        assert run.report is not None
        assert "proof" in run.report
    return {"root": root, "certifier": certifier, "runs": runs}


def _verify(root: Path, report: Path, trust: Path) -> HarnessRun:
    return harness(
        root, "report", "verify", str(report), "--trusted-certifiers", str(trust), timeout=60
    )


@pytest.mark.suite("SUITE-050")
def test_a_report_signed_by_a_trusted_certifier_verifies_and_nothing_else_does(
    signed_runs: dict[str, Any], tmp_path: Path
) -> None:
    root, certifier = signed_runs["root"], signed_runs["certifier"]
    report: dict[str, Any] = signed_runs["runs"]["certified"].report
    assert report["proof"]["verificationMethod"].startswith(certifier + "#")
    assert report["target"]["name"] == "Example Vendor TWIN Node 3.1"
    trust = _trust(tmp_path / "trusted.json", certifier)
    original = root / "certified" / "report" / "report.json"
    accepted = _verify(tmp_path, original, trust)
    assert accepted.code == 0, accepted.describe()
    assert accepted.stdout.startswith("CERTIFIED")
    # Any value changed after signing breaks the proof: the verdict, an outcome, evidence.
    changes: dict[str, tuple[tuple[str | int, ...], Any]] = {
        "verdict": (("verdict",), "not-conformant"),
        "outcome": (("tests", 0, "outcome"), "failed"),
        "evidence": (("tests", 0, "durationSeconds"), 99.0),
        "seed": (("run", "seed"), 2),
    }
    for name, (path, value) in changes.items():
        tampered = copy.deepcopy(report)
        place: Any = tampered
        for key in path[:-1]:
            place = place[key]
        place[path[-1]] = value
        refused = _verify(tmp_path, _write(tmp_path / f"{name}.json", tampered), trust)
        assert refused.code == 1, (name, refused.describe())
        assert refused.stdout.startswith(("BAD-SIGNATURE", "NOT A")), refused.stdout
    # The same report signed by a key the trust file does not list (a vendor's own key).
    vendor_key = tmp_path / "vendor.seed"
    _seed_file(vendor_key)
    self_signed = sign_report(report, vendor_key)
    untrusted = _verify(tmp_path, _write(tmp_path / "self.json", self_signed), trust)
    assert untrusted.code == 1
    assert untrusted.stdout.startswith("UNTRUSTED-SIGNER")
    unsigned = {key: value for key, value in report.items() if key != "proof"}
    refused = _verify(tmp_path, _write(tmp_path / "unsigned.json", unsigned), trust)
    assert refused.code == 1
    assert refused.stdout.startswith("UNSIGNED")
    # A trust file that lists no one certifies nothing, whoever signed.
    nobody = _verify(tmp_path, original, _trust(tmp_path / "empty.json"))
    assert nobody.code == 1
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"not": "a report"}')
    assert _verify(tmp_path, garbage, trust).code == 2


@pytest.mark.suite("SUITE-051")
def test_aggregation_marks_what_each_report_can_be_trusted_for(
    signed_runs: dict[str, Any], tmp_path: Path
) -> None:
    root, certifier = signed_runs["root"], signed_runs["certifier"]
    runs = signed_runs["runs"]
    certified = runs["certified"].report
    vendor_key = tmp_path / "vendor.seed"
    _seed_file(vendor_key)
    inputs = {
        "certified": root / "certified" / "report" / "report.json",
        "untrusted": _write(tmp_path / "untrusted.json", sign_report(certified, vendor_key)),
        "unsigned": _write(
            tmp_path / "unsigned.json", {k: v for k, v in certified.items() if k != "proof"}
        ),
        "incomplete": root / "incomplete" / "report" / "report.json",
        "baselined": root / "baselined" / "report" / "report.json",
    }
    hand_edited = copy.deepcopy({k: v for k, v in certified.items() if k != "proof"})
    hand_edited["tests"][0]["outcome"] = "failed"
    inputs["inconsistent"] = _write(tmp_path / "edited.json", hand_edited)
    trust = _trust(tmp_path / "trusted.json", certifier)
    out = tmp_path / "matrix"
    run = harness(
        tmp_path, "report", "aggregate", *map(str, inputs.values()),
        "--out", str(out), "--trusted-certifiers", str(trust), timeout=60,
    )  # fmt: skip
    assert run.code == 0, run.describe()
    matrix = json.loads((out / "matrix.json").read_text())
    by_source = {item["source"]: item for item in matrix["implementations"]}
    status = {name: by_source[str(path)]["certification"] for name, path in inputs.items()}
    assert status == {
        "certified": "certified",
        "untrusted": "untrusted-signer",
        "unsigned": "unsigned",
        "incomplete": "incomplete",
        "baselined": "baselined",
        "inconsistent": "inconsistent",
    }
    assert "subset" in by_source[str(inputs["incomplete"])]["flags"]
    assert matrix["summary"]["certified"] == 1
    assert matrix["summary"]["certifiedConformant"] == 1
    # Named as the vendor declares it (made distinct by the source where several share it).
    assert by_source[str(inputs["certified"])]["name"].startswith("Example Vendor TWIN Node 3.1")
    assert by_source[str(inputs["certified"])]["product"] == "TWIN reference node"
    page = (out / "matrix.html").read_text()
    for shown in ("certified", "untrusted signer", "unsigned", "incomplete", "baselined"):
        assert shown in page
