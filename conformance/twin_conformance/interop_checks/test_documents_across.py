"""Interop, documents: a document stored on one member is attested on every other.

A revision's hash and attestation are on the ledger, so every member serves them, while the
content stays with the member that received it (``spec/prose/documents.md``). The attestation a
consumer serves is verified by the harness offline, with the spec core, the genesis committee
and the creator's DID document as the consumer resolves it, never by asking a node. Another
member's user (its own admin, a different identity) may not remove the producer's revision.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from twin_conformance._client import require
from twin_conformance._failures import ConformanceFailure, prerequisite
from twin_conformance._interop_network import InteropNetwork
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    TargetResolver,
    body_object,
    caller_identity,
    fresh_random,
    require_status,
)
from twin_conformance.checks.test_documents import Stored, check_attestation, create_document
from twin_conformance.interop_checks._support import record, require_two_clients, wait_until
from twin_conformance.interop_checks.conftest import MemberClient

pytestmark = pytest.mark.twin_profile("documents")
SEEN_SECONDS = 30.0
SCENARIO = "document-attested"
CHECK = "test_documents_across.py"


@pytest.fixture(scope="module")
@prerequisite("every member stores a document")
def stored(members: list[MemberClient], run: TwinState) -> dict[int, Stored]:
    """One document stored through each client member, by member index."""
    require_two_clients(members)
    found = {}
    for member in members:
        rng = fresh_random(run, f"interop:documents:{member.member.index}")
        found[member.member.index] = create_document(
            member.client, rng, f"stored on member {member.member.index}"
        )
    return found


def served_revision(member: MemberClient, graph_id: str) -> dict[str, Any] | None:
    """Revision 0 of ``graph_id`` with its attestation as ``member`` serves it, or None yet."""
    exchange = member.client.get(
        f"/documents/{graph_id}/0",
        params={"includeAttestation": "true"},
        auth=True,
        expect_rejection=True,
    )
    if exchange.status == 404:
        return None
    require_status(exchange, 200, "TWIN-CONSENSUS-113", f"reading a document on {member.label}")
    return body_object(exchange, "TWIN-DOCUMENTS-012", "the revision")


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113", "TWIN-DOCUMENTS-021", "TWIN-DOCUMENTS-020")
def test_a_document_stored_on_one_member_is_attested_on_every_other(
    members: list[MemberClient], network: InteropNetwork, stored: dict[int, Stored]
) -> None:
    assert network.committee is not None
    failures: list[tuple[str, str]] = []
    for producer in members:
        document = stored[producer.member.index]
        own = served_revision(producer, document.graph_id)
        require(
            own is not None,
            "TWIN-DOCUMENTS-012",
            f"{producer.label} does not serve revision 0 of the document it stored",
        )
        assert own is not None
        for consumer in members:
            if consumer is producer:
                continue
            pair = (producer.member.index, consumer.member.index)
            served = wait_until(partial(served_revision, consumer, document.graph_id), SEEN_SECONDS)
            if served is None:
                record(network, SCENARIO, CHECK, *pair, False, "not found")
                failures.append(
                    (
                        "TWIN-CONSENSUS-113",
                        f"stored on {producer.label}: {consumer.label} does not serve it within "
                        f"{SEEN_SECONDS:g} s",
                    )
                )
                continue
            # The ledger's part of the revision is the same on both members.
            differing = sorted(
                name
                for name in ("blobHash", "userIdentity", "nodeIdentity", "attestationId")
                if served.get(name) != own.get(name)
            )
            try:
                require(
                    not differing,
                    "TWIN-CONSENSUS-113",
                    f"stored on {producer.label}: {consumer.label} serves another "
                    + ", ".join(differing),
                )
                check_attestation(
                    served,
                    document.graph_id,
                    network.committee,
                    TargetResolver(consumer.client),
                    document.contents[0],
                )
            except ConformanceFailure as failure:
                record(network, SCENARIO, CHECK, *pair, False, str(failure)[:200])
                failures.append((failure.requirement or "TWIN-DOCUMENTS-021", failure.message))
                continue
            record(network, SCENARIO, CHECK, *pair, True)
    if failures:
        requirement = failures[0][0]
        require(
            False,
            requirement,
            "documents across members: " + "; ".join(message for _, message in failures[:4]),
        )


@pytest.mark.twin_requirement("TWIN-DOCUMENTS-050")
def test_another_members_user_cannot_remove_the_revision(
    members: list[MemberClient], stored: dict[int, Stored]
) -> None:
    failures = []
    tried = 0
    for producer in members:
        document = stored[producer.member.index]
        creator = caller_identity(producer.client)
        for consumer in members:
            if consumer is producer or caller_identity(consumer.client) in (None, creator):
                continue
            seen = wait_until(partial(served_revision, consumer, document.graph_id), SEEN_SECONDS)
            if seen is None:
                continue  # Not served there: the scenario above fails for it.
            tried += 1
            refused = consumer.client.delete(
                f"/documents/{document.graph_id}/0", auth=True, expect_rejection=True
            )
            if refused.status != 403:
                failures.append(
                    f"{consumer.label}'s user removing revision 0 stored on {producer.label}: "
                    f"{refused.status}, not 403"
                )
                continue
            still = producer.client.get(
                f"/documents/{document.graph_id}/0",
                params={"includeBlobStorageData": "true"},
                auth=True,
                expect_rejection=True,
            )
            body = None
            if still.status == 200:
                body = body_object(still, "TWIN-DOCUMENTS-012", "the revision")
            if body is None or "dateDeleted" in body or "blobStorageEntry" not in body:
                failures.append(
                    f"after {consumer.label}'s refused removal, {producer.label} answers "
                    f"{still.status}{' with the revision removed' if body else ''}"
                )
    if tried == 0:
        pytest.skip("no two client members log in as different identities")
    require(
        not failures,
        "TWIN-DOCUMENTS-050",
        "another member's user removing a revision: " + "; ".join(failures[:4]),
    )
