"""Fixtures: one reference node process shared by a test module, clients for it, relays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.node_process import RunningNode, start_node
from twin_conformance._relay import RelayThread


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A reference node in its own data directory, stopped when the session ends."""
    running = start_node(Path(tmp_path_factory.mktemp("node")) / "data")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def token(node: RunningNode) -> str:
    """A bearer token of the node's admin user."""
    return node.login()


@pytest.fixture
def client(node: RunningNode) -> Iterator[httpx.Client]:
    """An anonymous client."""
    with node.client() as anonymous:
        yield anonymous


@pytest.fixture
def admin(node: RunningNode, token: str) -> Iterator[httpx.Client]:
    """A client authenticated as the admin user."""
    with node.client(token) as authenticated:
        yield authenticated


@pytest.fixture
def relays() -> Iterator[list[RelayThread]]:
    """The relays a test starts (``start_relayed_cluster``), each closed when it ends."""
    made: list[RelayThread] = []
    yield made
    for relay in made:
        relay.close()
