"""A target shipped as a container image: started through the docker SDK, stopped after the run.

The target file names the image, the port the node listens on inside it, the environment to
give it and, where the engine has no bridge network, ``network: host``. Every call to the engine
has a time limit, and a missing engine is a clear "could not run" rather than a hang.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from twin_conformance._docker_engine import EngineUnavailable, docker_client
from twin_conformance._target import START_TIMEOUT_SECONDS, TargetError

STOP_SECONDS = 10
"""How long a stopped container has to exit on SIGTERM before the engine kills it."""


@dataclass
class ContainerSpec:
    """How to run a target image: its name, inner port, environment, network, arguments."""

    image: str
    port: int = 8080
    network: str = "bridge"
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)


def require_engine() -> None:
    """Raise TargetError unless a Docker engine answers within a few seconds."""
    try:
        docker_client().close()
    except EngineUnavailable as error:
        raise TargetError(str(error)) from None


def _reason(error: Exception) -> str:
    """The engine's own words for a failed call, on one line."""
    explanation = getattr(error, "explanation", None)
    text = str(explanation or error or type(error).__name__)
    return text.strip().splitlines()[0][:300] if text.strip() else type(error).__name__


class ContainerNode:
    """One container of the target image, for the length of a run."""

    def __init__(self, spec: ContainerSpec) -> None:
        self.spec = spec
        self.container: Any = None
        self._client: Any = None
        self.url = ""

    @property
    def container_id(self) -> str | None:
        """The running container's id, or None before start and after stop."""
        return str(self.container.id) if self.container is not None else None

    def start(self) -> str:
        """Start the container, wait until it answers ``/health``, and return its URL."""
        try:
            self._client = docker_client()
        except EngineUnavailable as error:
            raise TargetError(str(error)) from None
        options: dict[str, Any] = {"detach": True, "environment": dict(self.spec.env)}
        if self.spec.network == "host":
            options["network_mode"] = "host"
        else:
            options["ports"] = {f"{self.spec.port}/tcp": ("127.0.0.1", None)}
        try:
            self.container = self._client.containers.run(
                self.spec.image, list(self.spec.command) or None, **options
            )
        except Exception as error:
            self.stop()
            raise TargetError(f"cannot start {self.spec.image}: {_reason(error)}") from None
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
        deadline = time.monotonic() + 15
        while True:
            self._reload()
            if self.container.status not in ("created", "running"):
                raise TargetError(f"the container of {self.spec.image} stopped: {self.logs()}")
            ports = self.container.attrs.get("NetworkSettings", {}).get("Ports") or {}
            bindings = ports.get(f"{self.spec.port}/tcp") or []
            host_port = str(bindings[0].get("HostPort", "")) if bindings else ""
            if host_port.isdigit():
                return f"http://127.0.0.1:{host_port}"
            if time.monotonic() > deadline:
                raise TargetError(f"the engine published no port for {self.spec.port}/tcp")
            time.sleep(0.2)

    def _reload(self) -> None:
        try:
            self.container.reload()
        except Exception as error:
            raise TargetError(f"the Docker engine no longer answers: {_reason(error)}") from None

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._reload()
            if self.container.status not in ("created", "running"):
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
        if self.container is None:
            return ""
        try:
            return bytes(self.container.logs(tail=20)).decode(errors="replace").strip()
        except Exception as error:
            return f"(no logs: {_reason(error)})"

    def stop(self) -> None:
        """Stop and remove the container, then close the engine client (safe to call twice)."""
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.stop(timeout=STOP_SECONDS)
            with contextlib.suppress(Exception):
                self.container.remove(force=True)
            self.container = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
