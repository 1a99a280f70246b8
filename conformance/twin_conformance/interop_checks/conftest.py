"""What the interop scenarios share: the running network, a logged-in client per member.

``twin-conformance interop`` starts the network in this process and runs these modules with
the plugin; each member's client records its exchanges as the run's evidence, checks each
answer against the contract, and has its token added to the secrets redacted from reports.
The modules run in the order of :data:`MODULE_ORDER`: the faults that change the committee
for good (a validator equivocating, then validators crashing, then the quorum lost) come last;
the partitions (which need every validator up) come just before the crashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from twin_conformance._client import TwinClient
from twin_conformance._interop_network import InteropNetwork, Member, current_network
from twin_conformance._run import RunObserver, TwinState, contract_validator
from twin_conformance._target import TargetError, login

MODULE_ORDER = (
    "test_committee.py",
    "test_identity_across.py",
    "test_presentations_across.py",
    "test_anchoring_across.py",
    "test_documents_across.py",
    "test_receive_rules.py",
    "test_faulty_peers.py",
    "test_byzantine.py",
    "test_restarts.py",
    "test_partitions.py",
    "test_crashes.py",
    "test_equivocation_quorum.py",
    "test_quorum_loss.py",
)


@dataclass
class MemberClient:
    """A client member and the harness's logged-in HTTP client of it."""

    member: Member
    client: TwinClient

    @property
    def label(self) -> str:
        """How messages name the member."""
        return self.member.label


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the scenarios that change the committee for good last."""

    def position(item: pytest.Item) -> int:
        name = Path(str(item.path)).name
        return MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER)

    items.sort(key=position)


@pytest.fixture(scope="session")
def run(twin_state: TwinState) -> TwinState:
    """The run's state (seed, target, secrets)."""
    return twin_state


@pytest.fixture(scope="session")
def network() -> InteropNetwork:
    """The committee ``twin-conformance interop`` started in this process."""
    found = current_network()
    if found is None:
        raise RuntimeError(
            "no interop network runs in this process: run these scenarios with "
            "twin-conformance interop --client FILE ..."
        )
    return found


@pytest.fixture(scope="session")
def members(run: TwinState, network: InteropNetwork) -> list[MemberClient]:
    """Every client member with a logged-in client (the shared admin password of the run)."""
    found = []
    for member in network.clients:
        assert member.definition is not None
        try:
            session = login(
                member.url, member.definition.admin_email, network.password, run.request_timeout
            )
        except TargetError as error:
            raise RuntimeError(f"{member.label}: {error}") from None
        run.redactor.add(session.token)
        assert run.contract is not None
        found.append(
            MemberClient(
                member,
                TwinClient(
                    member.url,
                    token=session.token,
                    timeout=run.request_timeout,
                    observer=RunObserver(run),
                    validator=contract_validator(run, run.contract),
                ),
            )
        )
    return found
