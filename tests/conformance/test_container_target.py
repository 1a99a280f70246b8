"""Targets given as a container image: started by the harness, checked, and removed.

Where no Docker engine answers (a new machine), the container run skips and says so, and a
target file naming an image is a one-line "could not run" (exit 2). ../shared/FACTS.md shows
how to start an engine here; the image is then the reference node's own
(docker/reference-node.Dockerfile), built from this checkout (no pull).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.container_image import (
    docker_binary,
    docker_engine_answers,
    reference_node_image,
)
from tests.support import REPO_ROOT

IMAGE = "twin-reference-node:not-built"
PORT = 18080
PASSWORD = "container-secret"
SECOND_EMAIL = "user@twin.example"
SECOND_PASSWORD = "container-second-secret"
SECOND_ENV = "CONTAINER_SECOND_PASSWORD"


def _target_file(folder: Path, image: str = IMAGE) -> Path:
    path = folder / "target.yaml"
    path.write_text(
        "\n".join(
            [
                f"image: {image}",
                "container:",
                f"  port: {PORT}",
                "  network: host",
                f'  command: ["--port", "{PORT}"]',
                f"  env: {{TWIN_NODE_PASSWORD: {PASSWORD}, TWIN_NODE_PORT: '{PORT}',",
                f"         TWIN_NODE_USER_EMAIL: {SECOND_EMAIL},",
                f"         TWIN_NODE_USER_PASSWORD: {SECOND_PASSWORD}}}",
                f"auth: {{email: admin@twin.example, password: {PASSWORD},",
                f"       secondUser: {{email: {SECOND_EMAIL}, passwordEnv: {SECOND_ENV}}}}}",
                "",
            ]
        )
    )
    return path


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin_conformance", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, SECOND_ENV: SECOND_PASSWORD},
    )


def test_an_image_target_without_a_docker_engine_is_exit_2(tmp_path: Path) -> None:
    if docker_engine_answers():
        pytest.skip("a Docker engine answers here; the container run below is checked instead")
    result = _run("--target-file", str(_target_file(tmp_path)), "--out", str(tmp_path), timeout=120)
    assert result.returncode == 2
    assert "could not run: no Docker engine answers" in result.stderr
    assert not (tmp_path / "report.json").exists()


def test_an_image_target_is_started_checked_and_removed(tmp_path: Path) -> None:
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers (../shared/FACTS.md shows how to start one)")
    image = reference_node_image()
    out = tmp_path / "out"
    result = _run(
        "--target-file",
        str(_target_file(tmp_path, image)),
        "--fuzz-examples",
        "0",
        "--out",
        str(out),
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "conformant"
    assert report["target"]["url"] == f"http://127.0.0.1:{PORT}"
    assert "consensus" in report["target"]["info"]["profiles"]
    running = subprocess.run(
        [docker_binary(), "ps", "--quiet", "--filter", f"ancestor={image}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert running.stdout.strip() == "", "the harness left its container running"
