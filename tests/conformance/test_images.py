"""The container images: both build from this checkout's wheels and work, where Docker runs.

The base is imported from this machine's interpreter (no registry is reachable here); the
reference node image is started on host networking, becomes healthy by its own HEALTHCHECK,
and the harness image, run against it, says conformant. Both run as a non-root user. Skips
cleanly where no Docker engine answers (../shared/FACTS.md shows how to start one).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conformance.container_image import (
    docker_binary,
    docker_engine_answers,
    harness_image,
    reference_node_image,
)
from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD, SECOND_EMAIL, SECOND_PASSWORD

pytestmark = pytest.mark.skipif(
    not docker_engine_answers(),
    reason="no Docker engine answers (../shared/FACTS.md shows how to start one)",
)


def _docker(*arguments: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker_binary(), *arguments], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def images() -> tuple[str, str]:
    """Both images for these sources (built once per source hash, kept for reuse)."""
    return reference_node_image(), harness_image()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_both_images_run_as_non_root_with_a_healthcheck(images: tuple[str, str]) -> None:
    for tag in images:
        config = json.loads(_docker("image", "inspect", tag).stdout)[0]["Config"]
        assert config["User"] == "10001:10001", tag
        assert config["Healthcheck"]["Test"][0] == "CMD", tag


def test_the_harness_image_finds_the_node_image_conformant(
    images: tuple[str, str], tmp_path: Path
) -> None:
    node_tag, harness_tag = images
    port = _free_port()
    name = f"twin-node-{port}"
    started = _docker(
        "run", "-d", "--name", name, "--network", "host",
        "-e", f"TWIN_NODE_PASSWORD={ADMIN_PASSWORD}", "-e", f"TWIN_NODE_PORT={port}",
        "-e", f"TWIN_NODE_USER_EMAIL={SECOND_EMAIL}",
        "-e", f"TWIN_NODE_USER_PASSWORD={SECOND_PASSWORD}",
        node_tag, "--port", str(port),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 120
        status = ""
        while time.monotonic() < deadline:
            status = _docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()
            if status == "healthy":
                break
            time.sleep(1)
        assert status == "healthy", _docker("logs", name).stdout[-2000:]
        reports = tmp_path / "reports"
        reports.mkdir(mode=0o777)
        reports.chmod(0o777)
        run = _docker(
            "run", "--rm", "--network", "host", "-e", f"TWIN_TARGET_PASSWORD={ADMIN_PASSWORD}",
            "-e", f"TWIN_TARGET_SECOND_PASSWORD={SECOND_PASSWORD}",
            "-v", f"{reports}:/reports", harness_tag,
            "run", "--target", f"http://127.0.0.1:{port}", "--email", ADMIN_EMAIL,
            "--second-email", SECOND_EMAIL,
            "--fuzz-examples", "0", "--out", "/reports/run",
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        report = json.loads((reports / "run" / "report.json").read_text())
        assert report["verdict"] == "conformant"
    finally:
        _docker("rm", "-f", name, timeout=120)
