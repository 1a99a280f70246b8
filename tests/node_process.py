"""Start real reference nodes as subprocesses on loopback, and stop them, for the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from twin_conformance._target import read_listening_url

ADMIN_EMAIL = "admin@twin.example"
ADMIN_PASSWORD = "correct horse battery staple"
SECOND_EMAIL = "user@twin.example"
SECOND_PASSWORD = "second user's own staple"
"""An ordinary second user every test node has, so a harness run can act as another user."""
SECOND_USER_ENV = {"TWIN_NODE_USER_EMAIL": SECOND_EMAIL, "TWIN_NODE_USER_PASSWORD": SECOND_PASSWORD}
START_TIMEOUT_SECONDS = 60.0


@dataclass
class RunningNode:
    """A ``twin-node serve`` process and where it listens."""

    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log_path: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process (SIGTERM by default; SIGKILL to simulate a crash)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def log(self) -> str:
        """What the node wrote to stderr, for failure messages."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client for this node, with a bearer token if given."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        kwargs.setdefault("timeout", 30.0)
        return httpx.Client(base_url=self.url, headers=headers, **kwargs)

    def login(self) -> str:
        """Log in as the admin user and return the bearer token."""
        with self.client() as client:
            response = client.post(
                "/authentication/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
        response.raise_for_status()
        token = response.json()["token"]
        assert isinstance(token, str)
        return token


def start_node(
    data_dir: Path,
    *args: str,
    password: str | None = ADMIN_PASSWORD,
    env: dict[str, str] | None = None,
    port: int | None = 0,
    prefix: list[str] | None = None,
) -> RunningNode:
    """Start ``twin-node serve`` on 127.0.0.1 and wait until /health reports it ready.

    ``port=None`` passes neither --host nor --port (a validator started with --genesis listens
    at its genesis URL); ``prefix`` runs the command through another (``prlimit ...``).
    """
    node = launch_node(data_dir, *args, password=password, env=env, port=port, prefix=prefix)
    try:
        wait_ready(node)
    except BaseException:
        node.stop(signal.SIGKILL)
        raise
    return node


def launch_node(
    data_dir: Path,
    *args: str,
    password: str | None = ADMIN_PASSWORD,
    env: dict[str, str] | None = None,
    port: int | None = 0,
    prefix: list[str] | None = None,
) -> RunningNode:
    """Start ``twin-node serve`` and wait only until it listens (not until it is ready)."""
    environment = {**os.environ, **SECOND_USER_ENV, **(env or {})}
    environment.pop("TWIN_NODE_PASSWORD", None)
    if password is not None:
        environment["TWIN_NODE_PASSWORD"] = password
    log_path = data_dir.parent / f"{data_dir.name}.log"
    address = [] if port is None else ["--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                *(prefix or []),
                sys.executable,
                "-m",
                "twin_reference",
                "serve",
                *address,
                "--data-dir",
                str(data_dir),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            env=environment,
        )
    node = RunningNode(process, "", data_dir, log_path)
    try:
        node.url = _read_url(process)
    except BaseException:
        node.stop(signal.SIGKILL)
        raise
    return node


def wait_ready(node: RunningNode, timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Wait until the node's /health status is ok (its own DID is on the ledger)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"twin-node exited with {node.process.returncode}:\n{node.log()}")
        try:
            response = httpx.get(f"{node.url}/health", timeout=2.0)
            last = response.text
            if response.status_code == 200 and response.json().get("status") == "ok":
                return
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"twin-node did not become ready in time ({last}):\n{node.log()}")


def _read_url(process: subprocess.Popen[bytes]) -> str:
    return read_listening_url(process, START_TIMEOUT_SECONDS)


def _wait_healthy(node: RunningNode) -> None:
    """Wait until /health answers 200 at all (whatever its status)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"twin-node exited with {node.process.returncode}:\n{node.log()}")
        try:
            if httpx.get(f"{node.url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"twin-node did not become healthy in time:\n{node.log()}")
