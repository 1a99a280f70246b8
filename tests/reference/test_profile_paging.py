"""The profile query's keyset paging over many profiles, on a real SQLite store.

A reference node has one login user, so its API alone never holds more than one profile;
here the ledger's profile transactions of many identities are applied to a real store, as
the committee's commits apply them, and the query pages through them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from twin_reference._profiles import query_profiles
from twin_reference._store import Store
from twin_reference._transactions import PROFILE_CREATE, apply_transaction

IDENTITIES = 57


@pytest.fixture
def node(tmp_path: Path) -> Any:
    store = Store(tmp_path / "node.sqlite")
    with store.write() as connection:
        for number in range(IDENTITIES):
            did = "did:twin:0x" + hashlib.sha256(str(number).encode()).hexdigest()
            transaction = {
                "type": PROFILE_CREATE,
                "sender": did,
                "payload": {
                    "publicProfile": {"name": f"Trader {number}", "tier": str(number % 3)},
                    "privateHash": "sha256:" + "A" * 43 + "=",
                },
            }
            effects = apply_transaction(connection, transaction, bytes(32), 0)
            assert effects.ok, effects
    yield SimpleNamespace(store=store)
    store.close()


@pytest.mark.requirement("TWIN-IDENTITY-082")
@pytest.mark.parametrize("page_size", [1, 7, 20, 57, 100])
def test_following_the_cursors_lists_every_profile_once(node: Any, page_size: int) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(IDENTITIES + 1):
        page: dict[str, Any] = query_profiles(node, [], None, cursor, page_size)
        assert len(page["items"]) <= page_size
        seen += [item["identity"] for item in page["items"]]
        cursor = page.get("cursor")
        if cursor is None:
            break
    assert len(seen) == IDENTITIES
    assert len(set(seen)) == IDENTITIES
    assert seen == sorted(seen)


@pytest.mark.requirement("TWIN-IDENTITY-082")
def test_filters_and_property_names_apply_to_every_page(node: Any) -> None:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(IDENTITIES):
        page: dict[str, Any] = query_profiles(node, [("tier", "1")], ["name"], cursor, 5)
        seen += page["items"]
        cursor = page.get("cursor")
        if cursor is None:
            break
    assert len(seen) == len([n for n in range(IDENTITIES) if n % 3 == 1])
    assert all(set(item["publicProfile"]) == {"name"} for item in seen)


def test_a_second_create_of_one_identity_is_refused(node: Any) -> None:
    transaction = {
        "type": PROFILE_CREATE,
        "sender": "did:twin:0x" + hashlib.sha256(b"0").hexdigest(),
        "payload": {"publicProfile": None, "privateHash": None},
    }
    with node.store.write() as connection:
        effects = apply_transaction(connection, transaction, bytes(32), 0)
    assert effects.error_name == "ConflictError"
