"""Interop, presentations: presented on one member, verified on every other, revocation too.

A holder on member A presents a credential issued on A; every other member verifies the
presentation (`verified: true`, `revoked: false`). Once A revokes the credential, every other
member answers the same presentation with `verified: false` and `revoked: true`
(TWIN-IDENTITY-074, TWIN-IDENTITY-075). Each pair is an entry of the producer x consumer
matrix.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import pytest

from twin_conformance._failures import prerequisite, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance.checks._support import body_object, require_status
from twin_conformance.interop_checks._support import add_method, record, wait_until
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_identity_across import (
    SEEN_SECONDS,
    created,
    issue,
    issuers,
)

__all__ = ["created", "issuers"]  # the fixtures this module shares with identity_across

pytestmark = pytest.mark.twin_profile("identity")
PRESENTING = "interop-present"
VERIFY = "/identity/verifiable-presentation/verify"
REQUIREMENT = "TWIN-IDENTITY-074"


@pytest.fixture(scope="module")
@prerequisite("every member's identity gets an authentication method for presenting")
def holders(members: list[MemberClient], issuers: dict[int, str]) -> dict[int, str]:
    """Each member's new DID, now also able to present (an authentication method)."""
    for member in members:
        did = issuers[member.member.index]
        add_method(member, did, "authentication", PRESENTING, "TWIN-IDENTITY-071")
    return issuers


def present(member: MemberClient, did: str, credential: str) -> str:
    """``did`` presents ``credential`` through ``member``: the presentation's JWT."""
    exchange = member.client.post(
        f"/identity/{did}/verifiable-presentation/{PRESENTING}",
        json_body={
            "presentationId": f"urn:uuid:{uuid.uuid4()}",
            "contexts": ["https://schema.org"],
            "types": ["InteropPresentation"],
            "verifiableCredentials": [credential],
            "expiresInMinutes": 60,
        },
        auth=True,
    )
    require_status(exchange, 200, "TWIN-IDENTITY-070", f"presenting on {member.label}")
    jwt = body_object(exchange, "TWIN-IDENTITY-070", "the presentation").get("jwt")
    require(isinstance(jwt, str), "TWIN-IDENTITY-070", "the presentation answer has no jwt")
    return str(jwt)


def checked(member: MemberClient, jwt: str) -> dict[str, Any]:
    """``member``'s verification of the presentation ``jwt``."""
    exchange = member.client.get(VERIFY, params={"jwt": jwt})
    require_status(exchange, 200, "TWIN-IDENTITY-075", f"verifying on {member.label}")
    return body_object(exchange, "TWIN-IDENTITY-075", "the verification")


def checked_as(member: MemberClient, jwt: str, verified: bool, revoked: bool) -> bool | None:
    """True once ``member`` answers ``verified`` and ``revoked`` as given, else None."""
    answer = checked(member, jwt)
    return True if (answer.get("verified"), answer.get("revoked")) == (verified, revoked) else None


@pytest.mark.twin_requirement("TWIN-IDENTITY-074", "TWIN-IDENTITY-075")
def test_a_presentation_made_on_one_member_verifies_on_every_other_until_revoked(
    members: list[MemberClient], network: InteropNetwork, holders: dict[int, str]
) -> None:
    failures = []
    for position, producer in enumerate(members):
        did = holders[producer.member.index]
        index = 200 + position
        jwt = present(producer, did, issue(producer, did, index))
        consumers = [m for m in members if m is not producer]
        for consumer in consumers:
            good = wait_until(partial(checked_as, consumer, jwt, True, False), SEEN_SECONDS)
            record(
                network,
                "presentation-verifies",
                "test_presentations_across.py",
                producer.member.index,
                consumer.member.index,
                good is not None,
            )
            if good is None:
                failures.append(
                    f"presented on {producer.label}, {consumer.label} answers "
                    f"{checked(consumer, jwt)!r:.200}"
                )
        revoke = producer.client.get(
            f"/identity/{did}/verifiable-credential/revoke/{index}", auth=True
        )
        require_status(revoke, 204, REQUIREMENT, f"revoking on {producer.label}")
        for consumer in consumers:
            seen = wait_until(partial(checked_as, consumer, jwt, False, True), SEEN_SECONDS)
            record(
                network,
                "presentation-revocation-seen",
                "test_presentations_across.py",
                producer.member.index,
                consumer.member.index,
                seen is not None,
            )
            if seen is None:
                failures.append(
                    f"revoked on {producer.label}, {consumer.label} still answers "
                    f"{checked(consumer, jwt)!r:.200} after {SEEN_SECONDS:g} s"
                )
    require(not failures, REQUIREMENT, "presentations across members: " + "; ".join(failures[:4]))
