"""An interop network: a committee the harness makes, its clients started, its own validators.

``InteropNetwork.start`` generates one Ed25519 key per validator and the genesis (clients
first, at indices 0..k-1, then the harness validators), binds each harness validator's socket
before the genesis names its URL, starts one relay (``_relay.py``) with a link per ordered
pair of members, writes each client's member directory (``_launch.py``) with a ``peers.json``
that points at the relay, starts the harness validators (which reach their peers through the
relay too) and then every client, and waits until every client is healthy. All peer traffic
crosses the relay, so :meth:`InteropNetwork.cut` isolates clients and harness validators
alike. ``stop`` stops everything it started, whatever state it is in. The scenarios reach
the running network through :func:`current_network` (the CLI runs pytest in this process).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin_conformance._client_definition import ClientDefinition
from twin_conformance._harness_peer import HarnessPeer
from twin_conformance._launch import (
    ContainerMember,
    LaunchError,
    LocalMember,
    MemberFiles,
    start_member,
    wait_healthy,
    write_member_files,
)
from twin_conformance._relay import LinkMode, RelayThread
from twin_spec import Committee, Ed25519SigningKey, Validator

HOST = "127.0.0.1"
_CURRENT: list[InteropNetwork] = []
_LOCK = threading.Lock()


@dataclass
class Member:
    """One validator of the committee: a client the harness started, or its own."""

    index: int
    name: str
    url: str
    definition: ClientDefinition | None = None
    files: MemberFiles | None = None
    process: LocalMember | ContainerMember | None = None
    peer: HarnessPeer | None = None

    @property
    def is_client(self) -> bool:
        """Whether this member is an implementation under test (not the harness's)."""
        return self.definition is not None

    @property
    def label(self) -> str:
        """How the matrix and the messages name it: ``#index name``."""
        return f"#{self.index} {self.name}"

    def describe(self) -> dict[str, Any]:
        """The member as report.json records it (no secret)."""
        return {
            "index": self.index,
            "name": self.name,
            "kind": "client" if self.is_client else "harness-validator",
            "url": self.url,
            "definition": str(self.definition.source) if self.definition else None,
            "container": bool(self.definition and self.definition.is_container),
        }


@dataclass
class MatrixEntry:
    """One producer x consumer observation of a scenario."""

    scenario: str
    check: str
    producer: int
    consumer: int
    outcome: str
    detail: str = ""


@dataclass
class InteropNetwork:
    """The committee of one interop run and everything started for it."""

    definitions: Sequence[ClientDefinition]
    harness_validators: int
    directory: Path
    leader_timeout_seconds: float = 0.3
    members: list[Member] = field(default_factory=list)
    committee: Committee | None = None
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    matrix: list[MatrixEntry] = field(default_factory=list)
    relay: RelayThread | None = None

    @property
    def clients(self) -> list[Member]:
        """The members under test, by index."""
        return [member for member in self.members if member.is_client]

    @property
    def harness(self) -> list[Member]:
        """The harness's own validators, by index."""
        return [member for member in self.members if not member.is_client]

    @property
    def size(self) -> int:
        """The committee's size."""
        return len(self.definitions) + self.harness_validators

    def genesis(self) -> dict[str, Any]:
        """The genesis file every member is handed."""
        assert self.committee is not None  # noqa: S101 - set by start
        return {
            "committee": self.committee.to_json(),
            "peers": [{"index": m.index, "url": m.url} for m in self.members],
        }

    def start(self) -> None:
        """Make the committee, start every member, wait until every client is healthy."""
        listeners: list[socket.socket] = []
        try:
            keys = [Ed25519SigningKey.generate() for _ in range(self.size)]
            self.committee = Committee(
                0, tuple(Validator(i, key.public_key, 1, None) for i, key in enumerate(keys))
            )
            ports = _free_ports(len(self.definitions))
            for index, definition in enumerate(self.definitions):
                self.members.append(
                    Member(index, definition.name, f"http://{HOST}:{ports[index]}", definition)
                )
            for offset in range(self.harness_validators):
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listeners.append(listener)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((HOST, 0))
                index = len(self.definitions) + offset
                port = listener.getsockname()[1]
                self.members.append(
                    Member(index, f"harness validator {index}", f"http://{HOST}:{port}")
                )
            genesis = self.genesis()
            urls = {member.index: member.url for member in self.members}
            # Every member reaches every other through the relay (one link per ordered pair),
            # so that a scenario can cut, delay or heal the traffic between any of them.
            # (A committee of one has no peer and no link.)
            if len(urls) > 1:
                self.relay = RelayThread(urls)
                self.relay.__enter__()
            for member, listener in zip(self.harness, listeners, strict=True):
                member.peer = HarnessPeer(
                    self.committee,
                    member.index,
                    keys[member.index],
                    listener,
                    leader_timeout_seconds=self.leader_timeout_seconds,
                )
            listeners.clear()  # each peer owns its socket now
            for member in self.harness:
                assert member.peer is not None  # noqa: S101 - made just above
                member.peer.start(self.peer_urls(member.index))
            for member in self.clients:
                assert member.definition is not None  # noqa: S101 - clients have one
                # The member's own peer URL list: every peer through the relay (its own entry,
                # which a node ignores, is its genesis URL).
                member.files = write_member_files(
                    self.directory / f"member-{member.index}",
                    genesis,
                    keys[member.index].seed,
                    {**self.peer_urls(member.index), member.index: member.url},
                    self.password,
                )
                port = int(member.url.rsplit(":", 1)[1])
                member.process = start_member(
                    member.definition, member.files, member.index, HOST, port
                )
            wait_healthy(
                [
                    (m.label, m.url, m.process, m.definition.start_seconds)
                    for m in self.clients
                    if m.process is not None and m.definition is not None
                ]
            )
        except BaseException:
            for listener in listeners:
                listener.close()
            self.stop()
            raise

    def kill_client(self, member: Member) -> None:
        """Crash a client: SIGKILL (a container: the engine's kill)."""
        if member.process is not None:
            member.process.kill()

    def restart_client(self, member: Member) -> None:
        """Start a killed client again on its member directory; wait until it is healthy."""
        if member.process is None or member.definition is None:
            raise LaunchError(f"{member.label} was not started by the harness")
        member.process.restart()
        wait_healthy([(member.label, member.url, member.process, member.definition.start_seconds)])

    def peer_urls(self, index: int) -> dict[int, str]:
        """Where member ``index`` reaches each other member: its link through the relay."""
        if self.relay is None:
            return {m.index: m.url for m in self.members if m.index != index}
        return self.relay.peer_urls(index)

    def cut(self, groups: Sequence[Iterable[int]], mode: LinkMode | None = None) -> None:
        """Partition the members: every link between two groups black-holed (or ``mode``)."""
        if self.relay is None:
            raise RuntimeError("the network is not running")
        self.relay.cut(groups, mode)

    def heal(self) -> None:
        """End every partition: every link passes again."""
        if self.relay is None:
            raise RuntimeError("the network is not running")
        self.relay.heal()

    def stop(self) -> None:
        """Stop every client (SIGTERM, then SIGKILL), every harness validator, then the relay."""
        for member in self.members:
            if member.process is not None:
                with contextlib.suppress(Exception):
                    member.process.stop()
        for member in self.members:
            if member.peer is not None:
                member.peer.stop()
        if self.relay is not None:
            self.relay.close()
            self.relay = None

    def keep_logs(self, out: Path, redact: Any) -> None:  # noqa: ANN401 - a str -> str function
        """Copy each client's log, redacted, to ``out/logs/member-I.log``."""
        folder = out / "logs"
        for member in self.clients:
            if member.files is None:
                continue
            log = member.files.directory / "member.log"
            if log.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                text = log.read_text(errors="replace")[-200_000:]
                (folder / f"member-{member.index}.log").write_text(redact(text), encoding="utf-8")

    def remove_files(self) -> None:
        """Remove the member directories (keys, passwords, databases) after the run."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        """The network as report.json records it: committee and members, no secret."""
        return {
            "committee": self.committee.to_json() if self.committee else None,
            "members": [member.describe() for member in self.members],
            "harnessValidators": self.harness_validators,
        }

    def record(self, entry: MatrixEntry) -> None:
        """Note one producer x consumer observation for the interop matrix."""
        with _LOCK:
            self.matrix.append(entry)


def _free_ports(count: int) -> list[int]:
    """Ports free on the host now (all held until all are chosen; a member binds its own)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind((HOST, 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def set_current_network(network: InteropNetwork | None) -> None:
    """Make ``network`` the one the interop scenarios of this process run against."""
    with _LOCK:
        _CURRENT.clear()
        if network is not None:
            _CURRENT.append(network)


def current_network() -> InteropNetwork | None:
    """The running interop network of this process, if any."""
    with _LOCK:
        return _CURRENT[0] if _CURRENT else None
