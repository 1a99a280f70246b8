"""The reference node's ordinary second user ($TWIN_NODE_USER_EMAIL), and what it may not do.

Every test node has one (``tests/node_process.py``), as the embedded node of a harness run
does: it logs in with its own identity, and the node refuses it, with 403 and nothing changed,
an update or a removal of the admin's document (TWIN-DOCUMENTS-050).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.node_process import ADMIN_PASSWORD, SECOND_EMAIL, SECOND_PASSWORD, RunningNode
from tests.reference.test_core_routes import assert_error
from tests.reference.test_documents_routes import b64, create
from twin_spec import blob_hash


def _subject(token: str) -> str:
    """The ``sub`` of a bearer JWT."""
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    subject = payload["sub"]
    assert isinstance(subject, str)
    return subject


@pytest.fixture
def second(node: RunningNode) -> httpx.Client:
    """A client logged in as the second user."""
    with node.client() as anonymous:
        response = anonymous.post(
            "/authentication/login", json={"email": SECOND_EMAIL, "password": SECOND_PASSWORD}
        )
    assert response.status_code == 200, response.text
    return node.client(response.json()["token"])


def test_the_second_user_logs_in_with_an_identity_of_its_own(
    second: httpx.Client, token: str, node: RunningNode
) -> None:
    with second:
        other = _subject(str(second.headers["authorization"]).removeprefix("Bearer "))
    info = httpx.get(f"{node.url}/info", timeout=10).json()
    assert other.startswith("did:twin:0x")
    assert other != _subject(token) == info["nodeIdentity"]


@pytest.mark.requirement("TWIN-DOCUMENTS-050")
def test_another_user_can_neither_remove_nor_update_over_http(
    admin: httpx.Client, second: httpx.Client
) -> None:
    graph_id = create(admin, b"owned by the admin", "second-user-1")
    assert admin.put(f"/documents/{graph_id}", json={"blob": b64(b"rev 1")}).status_code == 204
    before = admin.get(
        f"/documents/{graph_id}/1",
        params={"includeBlobStorageData": "true", "includeAttestation": "true"},
    ).json()
    with second:
        assert_error(second.delete(f"/documents/{graph_id}/1"), 403, "ForbiddenError")
        assert_error(second.delete(f"/documents/{graph_id}/0"), 403, "ForbiddenError")
        refused = second.put(f"/documents/{graph_id}", json={"blob": b64(b"not yours")})
        assert_error(refused, 403, "ForbiddenError")
    after = admin.get(
        f"/documents/{graph_id}/1",
        params={"includeBlobStorageData": "true", "includeAttestation": "true"},
    ).json()
    assert after == before
    assert after["blobStorageEntry"]["blob"] == b64(b"rev 1")
    assert after["blobHash"] == blob_hash(b"rev 1")
    listed = admin.get(f"/documents/{graph_id}", params={"pageSize": "5"}).json()
    assert [item["documentRevision"] for item in listed["itemListElement"]] == [1, 0]


def test_a_second_user_without_its_password_stops_the_start(tmp_path: Path) -> None:
    environment = {**os.environ, "TWIN_NODE_PASSWORD": ADMIN_PASSWORD}
    environment["TWIN_NODE_USER_EMAIL"] = SECOND_EMAIL
    environment.pop("TWIN_NODE_USER_PASSWORD", None)
    completed = subprocess.run(
        [sys.executable, "-m", "twin_reference", "serve", "--host", "127.0.0.1", "--port", "0",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, timeout=60, env=environment, check=False,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert b"$TWIN_NODE_USER_PASSWORD" in completed.stderr
