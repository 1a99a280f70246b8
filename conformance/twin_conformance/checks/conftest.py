"""Fixtures the check modules share: the run's state and client under short names."""

from __future__ import annotations

import pytest

from twin_conformance._client import TwinClient
from twin_conformance.plugin import TwinState


@pytest.fixture(scope="session")
def run(twin_state: TwinState) -> TwinState:
    """The run's state (seed, /info, target), usable by module-scoped fixtures."""
    return twin_state


@pytest.fixture(scope="session")
def client(twin: TwinClient) -> TwinClient:
    """The run's client of the target, usable by module-scoped fixtures."""
    return twin
