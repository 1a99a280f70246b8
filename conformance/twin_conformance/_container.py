"""A target shipped as a container image: started with the Docker CLI, stopped after the run.

The target file names the image, the port the node listens on inside it, the environment to
give it and, where the engine has no bridge network, ``network: host``. Every Docker command
has a time limit, and a missing engine is a clear "could not run" rather than a hang.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass, field

import httpx

from twin_conformance._target import START_TIMEOUT_SECONDS, TargetError

DOCKER_TIMEOUT_SECONDS = 60.0


@dataclass
class ContainerSpec:
    """How to run a target image: its name, inner port, environment, network, arguments."""

    image: str
    port: int = 8080
    network: str = "bridge"
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)


def _docker(*args: str, timeout: float = DOCKER_TIMEOUT_SECONDS) -> str:
    """Run one Docker CLI command and return its output; failures raise TargetError."""
    binary = shutil.which("docker")
    if binary is None:
        raise TargetError("the target is a container image, but there is no docker command")
    try:
        done = subprocess.run(  # noqa: S603 - the docker CLI with arguments we build
            [binary, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise TargetError(f"docker {args[0]} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise TargetError(f"docker {args[0]} failed: {reason}")
    return done.stdout.strip()


def require_engine() -> None:
    """Raise TargetError unless a Docker engine answers within a few seconds."""
    try:
        _docker("info", "--format", "{{.ServerVersion}}", timeout=15)
    except TargetError as error:
        raise TargetError(f"no Docker engine answers ({error})") from None


class ContainerNode:
    """One container of the target image, for the length of a run."""

    def __init__(self, spec: ContainerSpec) -> None:
        self.spec = spec
        self.container_id: str | None = None
        self.url = ""

    def start(self) -> str:
        """Start the container, wait until it answers ``/health``, and return its URL."""
        require_engine()
        args = ["run", "--detach", "--rm"]
        if self.spec.network == "host":
            args += ["--network", "host"]
        else:
            args += ["--publish", f"127.0.0.1::{self.spec.port}"]
        for name, value in sorted(self.spec.env.items()):
            args += ["--env", f"{name}={value}"]
        self.container_id = _docker(*args, self.spec.image, *self.spec.command)
        try:
            self.url = self._url()
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _url(self) -> str:
        if self.spec.network == "host":
            return f"http://127.0.0.1:{self.spec.port}"
        assert self.container_id is not None  # noqa: S101 - set by start() just before
        published = _docker("port", self.container_id, f"{self.spec.port}/tcp")
        host_port = published.splitlines()[0].rsplit(":", 1)[-1]
        if not host_port.isdigit():
            raise TargetError(f"docker port gave no port for {self.spec.port}: {published!r}")
        return f"http://127.0.0.1:{host_port}"

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            state = _docker(
                "inspect", "--format", "{{.State.Running}}", str(self.container_id), timeout=15
            )
            if state != "true":
                raise TargetError(f"the container of {self.spec.image} stopped: {self.logs()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TargetError(f"the container of {self.spec.image} did not answer /health in time")

    def logs(self) -> str:
        """The container's last log lines, for error messages."""
        if self.container_id is None:
            return ""
        try:
            return _docker("logs", "--tail", "20", self.container_id, timeout=15)
        except TargetError as error:
            return str(error)

    def stop(self) -> None:
        """Remove the container (it was started with --rm; removing it again is harmless)."""
        if self.container_id is not None:
            with contextlib.suppress(TargetError):
                _docker("rm", "--force", self.container_id, timeout=30)
            self.container_id = None
