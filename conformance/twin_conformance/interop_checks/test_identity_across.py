"""Interop, identity: what one member writes, every other member resolves and verifies alike.

A DID created on member A resolves on member B to the same document; a credential issued on A
verifies on B, and once A revokes it, B answers ``revoked: true`` (TWIN-IDENTITY-065). Each
pair is an entry of the producer x consumer matrix.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import pytest

from twin_conformance._failures import prerequisite, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance.checks._support import body_object, require_status
from twin_conformance.interop_checks._support import (
    add_method,
    create_identity,
    record,
    require_two_clients,
    wait_until,
)
from twin_conformance.interop_checks.conftest import MemberClient

pytestmark = pytest.mark.twin_profile("identity")
ISSUING = "interop-issue"
SEEN_SECONDS = 30.0
"""How long a write committed through one member may take to be applied by another."""


@pytest.fixture(scope="module")
@prerequisite("every member creates an identity")
def created(members: list[MemberClient]) -> dict[int, dict[str, Any]]:
    """One new DID per client member, by member index: its document as created."""
    require_two_clients(members)
    return {m.member.index: create_identity(m, "TWIN-CONSENSUS-113") for m in members}


def resolved_on(member: MemberClient, did: str) -> dict[str, Any] | None:
    """The document ``member`` resolves for ``did``, or None while it answers 404."""
    exchange = member.client.get(f"/identity/{did}")
    if exchange.status == 404:
        return None
    require_status(exchange, 200, "TWIN-CONSENSUS-113", f"resolving {did} on {member.label}")
    return body_object(exchange, "TWIN-IDENTITY-014", "the DID document")


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113")
def test_a_did_created_on_one_member_resolves_identically_on_every_other(
    members: list[MemberClient], network: InteropNetwork, created: dict[int, dict[str, Any]]
) -> None:
    scenario = "did-resolves"
    failures = []
    for producer in members:
        did = str(created[producer.member.index]["id"])
        reference = resolved_on(producer, did)
        require(reference is not None, "TWIN-CONSENSUS-113", f"{did} does not resolve where made")
        for consumer in members:
            if consumer is producer:
                continue
            document = wait_until(partial(resolved_on, consumer, did), SEEN_SECONDS)
            same = document == reference
            detail = "" if same else ("not found" if document is None else "another document")
            record(
                network,
                scenario,
                "test_identity_across.py",
                producer.member.index,
                consumer.member.index,
                same,
                detail,
            )
            if not same:
                failures.append(f"{did} made on {producer.label}: {consumer.label} {detail}")
    require(
        not failures,
        "TWIN-CONSENSUS-113",
        "a DID created on one member does not resolve identically on another: "
        + "; ".join(failures[:4]),
    )


def resolved_as(member: MemberClient, did: str, expected: dict[str, Any]) -> dict[str, Any] | None:
    """The document ``member`` resolves for ``did`` once it equals ``expected``, else None."""
    document = resolved_on(member, did)
    return document if document == expected else None


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113")
def test_a_did_updated_on_one_member_resolves_updated_on_every_other(
    members: list[MemberClient], network: InteropNetwork, created: dict[int, dict[str, Any]]
) -> None:
    failures = []
    for producer in members:
        did = str(created[producer.member.index]["id"])
        exchange = producer.client.post(
            f"/identity/{did}/service",
            json_body={
                "serviceId": "interop-svc",
                "type": "LinkedDomains",
                "endpoint": f"https://interop.twin.example/{producer.member.index}",
            },
            auth=True,
        )
        require_status(exchange, 200, "TWIN-CONSENSUS-113", f"adding a service on {producer.label}")
        updated = resolved_on(producer, did)
        require(updated is not None, "TWIN-CONSENSUS-113", f"{did} does not resolve where made")
        assert updated is not None
        for consumer in members:
            if consumer is producer:
                continue
            seen = wait_until(partial(resolved_as, consumer, did, updated), SEEN_SECONDS)
            record(network, "did-update-seen", "test_identity_across.py", producer.member.index,
                   consumer.member.index, seen is not None,
                   "" if seen is not None else "stale document")  # fmt: skip
            if seen is None:
                failures.append(
                    f"{did} updated on {producer.label}: {consumer.label} still resolves another"
                    f" document {SEEN_SECONDS:g} s later"
                )
    require(
        not failures,
        "TWIN-CONSENSUS-113",
        "a DID updated on one member resolves stale on another: " + "; ".join(failures[:4]),
    )


@pytest.fixture(scope="module")
@prerequisite("every member's identity gets an assertion method for credentials")
def issuers(members: list[MemberClient], created: dict[int, dict[str, Any]]) -> dict[int, str]:
    """Each member's new DID with an assertion method for issuing, by member index."""
    for member in members:
        did = created[member.member.index]["id"]
        add_method(member, did, "assertionMethod", ISSUING, "TWIN-IDENTITY-065")
    return {index: str(document["id"]) for index, document in created.items()}


def issue(member: MemberClient, did: str, index: int) -> str:
    """A revocable credential issued by ``did`` through ``member``: its JWT."""
    exchange = member.client.post(
        f"/identity/{did}/verifiable-credential/{ISSUING}",
        json_body={
            "credentialId": f"urn:uuid:{uuid.uuid4()}",
            "subject": {
                "@context": "https://schema.org",
                "@type": "Organization",
                "name": f"Interop Exporters {index} Ltd",
            },
            "revocationIndex": index,
        },
        auth=True,
    )
    require_status(exchange, 200, "TWIN-IDENTITY-065", f"issuing a credential on {member.label}")
    jwt = body_object(exchange, "TWIN-IDENTITY-065", "the issued credential").get("jwt")
    require(isinstance(jwt, str), "TWIN-IDENTITY-065", "the issue answer has no jwt")
    return str(jwt)


def verdict(member: MemberClient, jwt: str) -> dict[str, Any]:
    """``member``'s answer to verifying ``jwt``."""
    exchange = member.client.get("/identity/verifiable-credential/verify", params={"jwt": jwt})
    require_status(exchange, 200, "TWIN-IDENTITY-065", f"verifying a credential on {member.label}")
    return body_object(exchange, "TWIN-IDENTITY-065", "the verification")


def verdict_with(member: MemberClient, jwt: str, flag: str) -> dict[str, Any] | None:
    """``member``'s verification of ``jwt`` once its ``flag`` is true, else None."""
    answer = verdict(member, jwt)
    return answer if answer.get(flag) is True else None


@pytest.mark.twin_requirement("TWIN-IDENTITY-065", "TWIN-CONSENSUS-113")
def test_a_credential_issued_on_one_member_verifies_on_every_other_and_its_revocation_too(
    members: list[MemberClient], network: InteropNetwork, issuers: dict[int, str]
) -> None:
    failures = []
    for position, producer in enumerate(members):
        did = issuers[producer.member.index]
        index = 100 + position
        jwt = issue(producer, did, index)
        consumers = [m for m in members if m is not producer]
        for consumer in consumers:
            answer = wait_until(partial(verdict_with, consumer, jwt, "verified"), SEEN_SECONDS)
            good = answer is not None and answer.get("revoked") is False
            record(
                network,
                "credential-verifies",
                "test_identity_across.py",
                producer.member.index,
                consumer.member.index,
                good,
            )
            if not good:
                failures.append(
                    f"issued on {producer.label}, {consumer.label} answers "
                    f"{verdict(consumer, jwt)!r:.200}"
                )
        revoke = producer.client.get(
            f"/identity/{did}/verifiable-credential/revoke/{index}", auth=True
        )
        require_status(revoke, 204, "TWIN-IDENTITY-065", f"revoking on {producer.label}")
        for consumer in consumers:
            answer = wait_until(partial(verdict_with, consumer, jwt, "revoked"), SEEN_SECONDS)
            seen = answer is not None
            record(
                network,
                "revocation-seen",
                "test_identity_across.py",
                producer.member.index,
                consumer.member.index,
                seen,
            )
            if not seen:
                failures.append(
                    f"revoked on {producer.label}, {consumer.label} still answers revoked "
                    f"{verdict(consumer, jwt).get('revoked')!r} after {SEEN_SECONDS:g} s"
                )
    require(
        not failures,
        "TWIN-IDENTITY-065",
        "credentials across members: " + "; ".join(failures[:4]),
    )
