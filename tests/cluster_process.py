"""Start a committee of reference validators as separate processes on loopback, for the tests.

``create_cluster`` runs ``twin-node genesis`` (free ports on 127.0.0.1); ``Cluster.start``
launches ``twin-node serve --genesis`` for the validators asked, all at once, and waits until
each reports ready (its own DID committed, which needs a quorum of them up). Every process is
stopped by ``Cluster.stop_all`` (the fixtures call it).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.node_process import RunningNode, launch_node, wait_ready
from twin_spec import Committee, Ed25519SigningKey

T = TypeVar("T")
READY_SECONDS = 90.0


@dataclass
class Cluster:
    """A genesis directory and the validators of it now running."""

    directory: Path
    genesis: dict[str, Any]
    committee: Committee
    leader_timeout: float = 0.3
    nodes: dict[int, RunningNode] = field(default_factory=dict)
    serve_args: tuple[str, ...] = ()
    """More ``twin-node serve`` options for every validator (``--commit-timeout 3``...)."""
    node_args: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """More ``twin-node serve`` options for one validator (``--peer-urls FILE``...)."""

    @property
    def size(self) -> int:
        """The number of validators in the committee."""
        return self.committee.size

    def url(self, index: int) -> str:
        """The genesis URL of validator ``index``."""
        urls = {entry["index"]: entry["url"] for entry in self.genesis["peers"]}
        url = urls[index]
        assert isinstance(url, str)
        return url

    def data_dir(self, index: int) -> Path:
        """The data directory ``twin-node genesis`` made for validator ``index``."""
        return self.directory / f"validator-{index}"

    def validator_key(self, index: int) -> Ed25519SigningKey:
        """The validator's signing key, read from its vault (a test plays that validator)."""
        database = sqlite3.connect(f"file:{self.data_dir(index) / 'node.sqlite'}?mode=ro", uri=True)
        try:
            row = database.execute("SELECT seed FROM vault WHERE key_id = 'validator'").fetchone()
        finally:
            database.close()
        return Ed25519SigningKey(bytes(row[0]))

    def start(self, indices: Iterable[int]) -> None:
        """Launch the validators, then wait until every one is ready."""
        launched = []
        try:
            for index in indices:
                node = launch_node(
                    self.data_dir(index),
                    "--genesis",
                    str(self.directory / "genesis.json"),
                    "--validator-index",
                    str(index),
                    "--leader-timeout",
                    str(self.leader_timeout),
                    *self.serve_args,
                    *self.node_args.get(index, ()),
                    port=None,
                )
                self.nodes[index] = node
                launched.append(node)
            for node in launched:
                wait_ready(node, READY_SECONDS)
        except BaseException:
            self.stop_all()
            raise

    def kill(self, index: int) -> None:
        """Stop a validator with SIGKILL (a crash)."""
        self.nodes.pop(index).stop(signal.SIGKILL)

    def stop_all(self) -> None:
        """Stop every running validator (SIGTERM, then SIGKILL if it hangs)."""
        while self.nodes:
            _index, node = self.nodes.popitem()
            node.stop()

    def client(self, index: int, token: str | None = None) -> httpx.Client:
        """An HTTP client for a running validator."""
        return self.nodes[index].client(token)

    def login(self, index: int) -> str:
        """The admin's bearer token on a running validator."""
        return self.nodes[index].login()

    def logs(self) -> str:
        """The tail of every validator's log, for failure messages."""
        return "\n".join(
            f"--- validator {index} ---\n{node.log()[-3000:]}"
            for index, node in sorted(self.nodes.items())
        )


def create_cluster(directory: Path, validators: int, *, leader_timeout: float = 0.3) -> Cluster:
    """Run ``twin-node genesis`` into ``directory`` (free loopback ports)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "twin_reference",
            "genesis",
            "--validators",
            str(validators),
            "--out",
            str(directory),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    genesis = json.loads((directory / "genesis.json").read_text())
    committee = Committee.from_json(genesis["committee"])
    return Cluster(directory, genesis, committee, leader_timeout)


def get_all(client: httpx.Client, path: str, member: str) -> list[Any]:
    """Every item of a paged consensus list (commits, checkpoints, equivocations)."""
    items: list[Any] = []
    for _ in range(1000):
        page = client.get(path, params={"from": len(items) + 1, "limit": 1000})
        page.raise_for_status()
        found = page.json()[member]
        items.extend(found)
        if len(found) < 1000:
            return items
    raise AssertionError(f"{path} has more than a million items")


def wait_for(
    check: Callable[[], T | None], seconds: float, message: Callable[[], str], every: float = 0.1
) -> T:
    """Poll ``check`` until it returns something not None; fail with ``message`` after."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {message()}")
        time.sleep(every)
