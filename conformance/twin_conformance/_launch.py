"""The launch contract, harness side: hand a member its files, start it, wait, stop it.

``spec/prose/launch.md`` is the contract. For each member the harness writes a member
directory (owner-only) holding ``genesis.json``, ``validator.key`` (the seed, 0600),
``peers.json`` (the member's own peer URL list), ``admin-password`` (0600) and an empty
``data/``; it starts the member with the command template expanded (or the container image
with the directory mounted at ``/twin``), the ``TWIN_*`` variables set, waits until ``GET
/health`` answers ``status: ok`` within the definition's ``startSeconds``, and stops it with
SIGTERM, then SIGKILL after ``stopSeconds``. Secrets are files: no command line carries one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from twin_conformance._client_definition import ClientDefinition, expand

CONTAINER_ROOT = "/twin"
HEALTH_POLL_SECONDS = 0.2


class LaunchError(RuntimeError):
    """A member that could not be started, or did not become healthy in time."""


@dataclass(frozen=True)
class MemberFiles:
    """What the harness hands one member, as paths on this machine."""

    directory: Path
    genesis: Path
    validator_key: Path
    peer_urls: Path
    admin_password: Path
    data_dir: Path


def write_member_files(
    directory: Path,
    genesis: dict[str, Any],
    seed: bytes,
    peer_urls: dict[int, str],
    password: str,
) -> MemberFiles:
    """Write a member's directory: public files 0644, secrets 0600, the directory 0700."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=False)
    os.chmod(directory, 0o700)
    files = MemberFiles(
        directory=directory,
        genesis=directory / "genesis.json",
        validator_key=directory / "validator.key",
        peer_urls=directory / "peers.json",
        admin_password=directory / "admin-password",
        data_dir=directory / "data",
    )
    peers = {"peers": [{"index": i, "url": url} for i, url in sorted(peer_urls.items())]}
    _write(files.genesis, json.dumps(genesis, indent=2) + "\n", 0o644)
    _write(files.peer_urls, json.dumps(peers, indent=2) + "\n", 0o644)
    _write(files.validator_key, seed.hex() + "\n", 0o600)
    _write(files.admin_password, password + "\n", 0o600)
    return files


def _write(path: Path, text: str, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)


def contract_values(
    definition: ClientDefinition, files: MemberFiles, index: int, host: str, port: int, root: str
) -> dict[str, str]:
    """The placeholder values for a member; paths under ``root`` (the container's view)."""

    def where(path: Path) -> str:
        return str(Path(root) / path.relative_to(files.directory)) if root else str(path)

    return {
        "python": sys.executable,
        "genesis": where(files.genesis),
        "validator_key": where(files.validator_key),
        "validator_index": str(index),
        "host": host,
        "port": str(port),
        "peer_urls": where(files.peer_urls),
        "data_dir": where(files.data_dir),
        "member_dir": root or str(files.directory),
        "admin_email": definition.admin_email,
        "admin_password_file": where(files.admin_password),
    }


def contract_environment(values: dict[str, str]) -> dict[str, str]:
    """The ``TWIN_*`` variables of the contract, from the placeholder values."""
    return {
        "TWIN_GENESIS_FILE": values["genesis"],
        "TWIN_VALIDATOR_KEY_FILE": values["validator_key"],
        "TWIN_VALIDATOR_INDEX": values["validator_index"],
        "TWIN_HOST": values["host"],
        "TWIN_PORT": values["port"],
        "TWIN_PEER_URLS_FILE": values["peer_urls"],
        "TWIN_DATA_DIR": values["data_dir"],
        "TWIN_MEMBER_DIR": values["member_dir"],
        "TWIN_ADMIN_EMAIL": values["admin_email"],
        "TWIN_ADMIN_PASSWORD_FILE": values["admin_password_file"],
    }


class RunningMember(Protocol):
    """A started member: alive or not, its log, and how to stop it."""

    def exited(self) -> str | None:
        """Why it is no longer running, or None while it runs."""

    def log_tail(self) -> str:
        """Its last log lines (never holding a secret the harness handed it as a file)."""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after the definition's bound."""


class LocalMember:
    """A member run as a local process in its own session, its output in a log file."""

    def __init__(
        self, definition: ClientDefinition, files: MemberFiles, index: int, host: str, port: int
    ) -> None:
        self.definition = definition
        values = contract_values(definition, files, index, host, port, root="")
        self.argv = [expand(part, values) for part in definition.command]
        environment = {**os.environ, **definition.env, **contract_environment(values)}
        # The harness's own secrets never reach a member through the environment.
        for name in ("TWIN_TARGET_PASSWORD", "TWIN_TARGET_TOKEN", "TWIN_NODE_PASSWORD"):
            environment.pop(name, None)
        self.log_path = files.directory / "member.log"
        self._environment = environment
        self._cwd = files.directory
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        try:
            return subprocess.Popen(  # noqa: S603 - the vendor's declared command
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment,
                cwd=self._cwd,
                start_new_session=True,
            )
        except OSError as error:
            raise LaunchError(
                f"{self.definition.name}: cannot start {self.argv[0]}: {error.strerror}"
            ) from None
        finally:
            log.close()

    def restart(self) -> None:
        """Start it again on the same member directory (after :meth:`kill` or :meth:`stop`)."""
        if self.process.poll() is None:
            raise LaunchError(f"{self.definition.name} is still running")
        self.process = self._spawn()

    def exited(self) -> str | None:
        """Why it is no longer running, or None while it runs."""
        code = self.process.poll()
        return None if code is None else f"exited with code {code}"

    def log_tail(self) -> str:
        """Its last 20 log lines."""
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").splitlines()
            return "\n".join(lines[-20:])
        return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stopSeconds``; waits for it either way."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=self.definition.stop_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL at once (a crash)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


class ContainerMember:
    """A member run as a container (docker SDK), host networking, its directory at /twin."""

    def __init__(
        self, definition: ClientDefinition, files: MemberFiles, index: int, host: str, port: int
    ) -> None:
        from twin_conformance._docker_engine import docker_client

        self.definition = definition
        values = contract_values(definition, files, index, host, port, root=CONTAINER_ROOT)
        self._client = docker_client()
        try:
            self.container: Any = self._client.containers.run(
                definition.image,
                [expand(part, values) for part in definition.container_command] or None,
                detach=True,
                network_mode="host",
                environment={**definition.env, **contract_environment(values)},
                volumes={str(files.directory): {"bind": CONTAINER_ROOT, "mode": "rw"}},
                user=f"{os.getuid()}:{os.getgid()}",
            )
        except Exception as error:
            raise LaunchError(
                f"{definition.name}: cannot start {definition.image}: {error}"
            ) from None

    def exited(self) -> str | None:
        """Why the container is no longer running, or None while it runs."""
        try:
            self.container.reload()
        except Exception as error:
            return f"the engine no longer answers: {error}"
        status = str(self.container.status)
        return None if status in ("created", "running") else f"container {status}"

    def log_tail(self) -> str:
        """Its last 20 log lines."""
        try:
            return bytes(self.container.logs(tail=20)).decode(errors="replace")
        except Exception as error:
            return f"(no logs: {error})"

    def stop(self) -> None:
        """SIGTERM, SIGKILL after ``stopSeconds``, then remove the container."""
        with contextlib.suppress(Exception):
            self.container.stop(timeout=max(1, round(self.definition.stop_seconds)))
        with contextlib.suppress(Exception):
            self.container.remove(force=True)
        with contextlib.suppress(Exception):
            self._client.close()

    def kill(self) -> None:
        """SIGKILL at once (a crash)."""
        with contextlib.suppress(Exception):
            self.container.kill()

    def restart(self) -> None:
        """Start the stopped container again (same member directory, same arguments)."""
        try:
            self.container.start()
        except Exception as error:
            raise LaunchError(f"{self.definition.name}: cannot restart: {error}") from None


def start_member(
    definition: ClientDefinition, files: MemberFiles, index: int, host: str, port: int
) -> LocalMember | ContainerMember:
    """Start one member as its definition says (not yet waiting for it)."""
    if definition.is_container:
        return ContainerMember(definition, files, index, host, port)
    return LocalMember(definition, files, index, host, port)


def wait_healthy(
    members: list[tuple[str, str, RunningMember, float]], *, poll: float = HEALTH_POLL_SECONDS
) -> None:
    """Wait until every member's ``GET /health`` answers ``status: ok``, each within its bound.

    ``members`` holds (name, URL, member, seconds). A member that exits, or is not healthy in
    its time, is a :class:`LaunchError` naming it, what it last answered and its log's tail.
    """
    started = time.monotonic()
    waiting = list(members)
    last: dict[str, str] = {}
    with httpx.Client(timeout=httpx.Timeout(2.0, connect=1.0)) as client:
        while waiting:
            for entry in list(waiting):
                name, url, member, seconds = entry
                reason = member.exited()
                if reason is not None:
                    raise LaunchError(
                        f"{name} {reason} before it was healthy:\n{member.log_tail()}"
                    )
                try:
                    answer = client.get(f"{url}/health")
                    body = answer.json() if answer.status_code == 200 else None
                    status = body.get("status") if isinstance(body, dict) else None
                    last[name] = f"{answer.status_code} status {status!r}"
                    if status == "ok":
                        waiting.remove(entry)
                        continue
                except (httpx.HTTPError, ValueError) as error:
                    last[name] = type(error).__name__
                if time.monotonic() - started > seconds:
                    raise LaunchError(
                        f"{name} did not answer GET /health with status ok within {seconds:g} s"
                        f" (last: {last.get(name, 'nothing')}):\n{member.log_tail()}"
                    )
            if waiting:
                time.sleep(poll)
