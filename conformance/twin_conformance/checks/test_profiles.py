"""Identity profile checks of identity profiles: own reads, the public view, the paged query.

The harness writes its caller's profile with a public part and a private part, each holding a
marker string drawn from the run's seed, then checks that only the caller reads the private
part: the public view, the query and (on a node that serves its blocks) the ledger never show
the private marker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from twin_conformance._client import TwinClient, require
from twin_conformance._failures import prerequisite
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    body_object,
    require_status,
    seeded_random,
)
from twin_spec import LedgerError, read_commit

pytestmark = pytest.mark.twin_profile("identity")

PROFILE = "/identity/profile"
MAX_QUERY_PAGES = 200
MAX_SCANNED_COMMITS = 200
COMMIT_PAGE = 1000
MAX_COMMIT_PAGES = 20


@dataclass
class Profile:
    """The caller's profile as the harness wrote it, and the identity the node answered."""

    identity: str
    public: dict[str, Any]
    private: dict[str, Any]
    private_marker: str


def _parts(run: TwinState, label: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    rng = seeded_random(run, f"identity:profile:{label}")
    marker = f"conformance-private-{rng.getrandbits(64):016x}"
    public = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": f"Conformance Traders {rng.randrange(10**6)} Ltd",
        "jobTitle": "exporter",
    }
    private = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "telephone": marker,
        "email": f"{marker}@conformance.example",
    }
    return public, private, marker


@pytest.fixture(scope="module")
@prerequisite("the node keeps the caller's profile")
def profile(client: TwinClient, run: TwinState) -> Profile:
    """The caller's profile: created, or replaced when the caller already has one."""
    public, private, marker = _parts(run, "first")
    body = {"publicProfile": public, "privateProfile": private}
    exchange = client.post(PROFILE, json_body=body, auth=True)
    if exchange.status == 409:
        exchange = client.put(PROFILE, json_body=body, auth=True)
    require_status(exchange, 204, "TWIN-IDENTITY-080", "writing the caller's profile")
    read = client.get(PROFILE, auth=True)
    require_status(read, 200, "TWIN-IDENTITY-080", "reading the caller's profile")
    identity = body_object(read, "TWIN-IDENTITY-080", "the profile").get("identity")
    require(isinstance(identity, str), "TWIN-IDENTITY-080", "the profile names no identity")
    assert isinstance(identity, str)
    return Profile(identity, public, private, marker)


@pytest.mark.twin_requirement("TWIN-IDENTITY-080")
def test_the_caller_reads_both_parts_of_its_own_profile(
    client: TwinClient, profile: Profile
) -> None:
    answer = body_object(client.get(PROFILE, auth=True), "TWIN-IDENTITY-080", "the profile")
    expected = {
        "identity": profile.identity,
        "publicProfile": profile.public,
        "privateProfile": profile.private,
    }
    require(
        answer == expected,
        "TWIN-IDENTITY-080",
        f"GET /identity/profile answered {json.dumps(answer)[:300]}, not what was written",
    )
    filtered = body_object(
        client.get(PROFILE, params={"privatePropertyNames": "email"}, auth=True),
        "TWIN-IDENTITY-080",
        "the filtered profile",
    )
    private = filtered.get("privateProfile")
    require(
        isinstance(private, dict) and "telephone" not in private and "email" in private,
        "TWIN-IDENTITY-080",
        f"privatePropertyNames=email answered the private part {private!r:.200}",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-080")
def test_the_profile_routes_need_a_token(client: TwinClient, profile: Profile) -> None:
    exchange = client.get(PROFILE, expect_rejection=True)
    require_status(exchange, 401, "TWIN-IDENTITY-080", "reading a profile without a token")
    require(
        profile.private_marker not in exchange.body.decode("utf-8", "replace"),
        "TWIN-IDENTITY-080",
        "an anonymous GET /identity/profile answered the caller's private part",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-081")
def test_the_public_view_shows_the_public_part_only(client: TwinClient, profile: Profile) -> None:
    path = f"/identity/profile/{profile.identity}/public"
    exchange = client.get(path)
    require_status(exchange, 200, "TWIN-IDENTITY-081", "reading the public profile")
    text = exchange.body.decode("utf-8", "replace")
    require(
        profile.private_marker not in text,
        "TWIN-IDENTITY-081",
        "the public view of the profile holds a property of the private part",
    )
    require(
        body_object(exchange, "TWIN-IDENTITY-081", "the public profile") == profile.public,
        "TWIN-IDENTITY-081",
        f"the public view is {text[:300]}, not the public part written",
    )
    named = client.get(path, params={"propertyNames": "name,telephone,email"})
    require_status(named, 200, "TWIN-IDENTITY-081", "reading named public properties")
    shown = body_object(named, "TWIN-IDENTITY-081", "the named public properties")
    require(
        profile.private_marker not in named.body.decode("utf-8", "replace")
        and shown.get("name") == profile.public["name"]
        and "jobTitle" not in shown,
        "TWIN-IDENTITY-081",
        f"propertyNames=name,telephone,email answered {json.dumps(shown)[:300]}",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-082")
def test_the_query_pages_through_public_parts_once_each(
    client: TwinClient, profile: Profile
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _page in range(MAX_QUERY_PAGES):
        params = {"pageSize": "1"} if cursor is None else {"pageSize": "1", "cursor": cursor}
        exchange = client.get(f"{PROFILE}/query", params=params, auth=True)
        require_status(exchange, 200, "TWIN-IDENTITY-082", "listing profiles")
        require(
            profile.private_marker not in exchange.body.decode("utf-8", "replace"),
            "TWIN-IDENTITY-082",
            "the profile query answered a property of a private part",
        )
        page = body_object(exchange, "TWIN-IDENTITY-082", "the page of profiles")
        items = page.get("items")
        require(
            isinstance(items, list) and len(items) <= 1,
            "TWIN-IDENTITY-082",
            f"pageSize=1 answered {len(items) if isinstance(items, list) else items!r} items",
        )
        assert isinstance(items, list)
        for item in items:
            identity = item.get("identity") if isinstance(item, dict) else None
            require(
                isinstance(identity, str) and identity not in seen,
                "TWIN-IDENTITY-082",
                f"the query listed {identity!r} twice (or not as a string) across its pages",
            )
            seen.append(str(identity))
            if identity == profile.identity:
                require(
                    item.get("publicProfile") == profile.public,
                    "TWIN-IDENTITY-082",
                    "the query's publicProfile differs from the public part written",
                )
        next_cursor = page.get("cursor")
        if next_cursor is None:
            break
        require(
            isinstance(next_cursor, str) and next_cursor != cursor,
            "TWIN-IDENTITY-082",
            f"the query's cursor {next_cursor!r} does not move on",
        )
        cursor = str(next_cursor)
    else:
        pytest.skip(f"more than {MAX_QUERY_PAGES} profiles: the check reads that many pages only")
    require(
        profile.identity in seen,
        "TWIN-IDENTITY-082",
        f"following the cursors never listed the caller's profile ({len(seen)} listed)",
    )
    for size in ("0", "101"):
        bad = client.get(
            f"{PROFILE}/query", params={"pageSize": size}, auth=True, expect_rejection=True
        )
        require_status(bad, 400, "TWIN-IDENTITY-082", f"listing profiles with pageSize {size}")


def _commit_count(client: TwinClient) -> int:
    count = 0
    for page in range(MAX_COMMIT_PAGES):
        exchange = client.get(
            "/consensus/commits",
            params={"from": str(1 + page * COMMIT_PAGE), "limit": str(COMMIT_PAGE)},
        )
        require_status(exchange, 200, "TWIN-CONSENSUS-100", "reading the commits")
        commits = body_object(exchange, "TWIN-CONSENSUS-100", "the commits").get("commits")
        listed = len(commits) if isinstance(commits, list) else 0
        count += listed
        if listed < COMMIT_PAGE:
            return count
    return count


@pytest.mark.twin_requirement("TWIN-IDENTITY-083")
def test_private_properties_stay_off_the_ledger(
    client: TwinClient, run: TwinState, profile: Profile
) -> None:
    """Rewrite the profile with a new private marker; no block committed since may hold it."""
    profiles = run.info.get("profiles") if run.info else None
    if not isinstance(profiles, list) or "consensus" not in profiles:
        pytest.skip("not applicable: the node does not claim consensus, so serves no blocks")
    public, private, marker = _parts(run, "ledger")
    known = _commit_count(client)
    exchange = client.put(
        PROFILE, json_body={"publicProfile": public, "privateProfile": private}, auth=True
    )
    require_status(exchange, 204, "TWIN-IDENTITY-080", "rewriting the caller's profile")
    scanned = 0
    seen_blocks: set[str] = set()
    exchange = client.get(
        "/consensus/commits", params={"from": str(known + 1), "limit": str(MAX_SCANNED_COMMITS)}
    )
    require_status(exchange, 200, "TWIN-CONSENSUS-100", "reading the new commits")
    commits = body_object(exchange, "TWIN-CONSENSUS-100", "the commits").get("commits")
    for commit in commits if isinstance(commits, list) else []:
        try:
            refs = read_commit(commit)[4]
        except LedgerError:
            continue
        for ref in refs:
            digest = ref.to_json()["digest"]
            if digest in seen_blocks:
                continue
            seen_blocks.add(str(digest))
            block = client.get(f"/consensus/blocks/{digest}")
            require_status(block, 200, "TWIN-CONSENSUS-100", "reading a committed block")
            scanned += 1
            require(
                marker not in block.body.decode("utf-8", "replace"),
                "TWIN-IDENTITY-083",
                f"block {digest} committed after the profile write holds a private property",
            )
    require(
        scanned > 0,
        "TWIN-CONSENSUS-100",
        "the node committed the profile write but serves no commit after it",
    )
