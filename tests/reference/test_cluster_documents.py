"""Documents in a committee of four: any member serves every revision's attestation.

A document stored through validator 0 is read through validator 1, whose answer verifies
offline with the committee's keys and validator 0's DID document; validator 1's admin (a user
other than the document's creator) may not remove its revisions; the content stays with the
node that received it.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster_process import Cluster, create_cluster
from twin_spec import Committee, verification_key, verify_document_attestation

DEADLINE_SECONDS = 30.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = create_cluster(Path(tmp_path_factory.mktemp("documents-cluster")), 4)
    try:
        running.start(range(4))
        yield running
    finally:
        running.stop_all()


def read_until(client: httpx.Client, path: str, params: dict[str, str]) -> httpx.Response:
    """GET ``path`` until it answers 200 (the member has applied the commit), within a bound."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        response = client.get(path, params=params)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@pytest.mark.requirement("TWIN-DOCUMENTS-021", "TWIN-DOCUMENTS-050", "TWIN-DOCUMENTS-030")
def test_another_member_serves_the_attestation_and_refuses_another_user(cluster: Cluster) -> None:
    content = b"certificate of origin " + secrets.token_bytes(16)
    with cluster.client(0, cluster.login(0)) as first, cluster.client(1, cluster.login(1)) as other:
        created = first.post(
            "/documents",
            json={
                "documentId": "COO-" + secrets.token_hex(4),
                "documentCode": "unece:DocumentCodeList#861",
                "blob": base64.b64encode(content).decode(),
            },
        )
        assert created.status_code == 201, created.text
        graph_id = created.headers["location"]
        path = f"/documents/{graph_id}/0"
        served = read_until(other, path, {"includeAttestation": "true"})
        assert served.status_code == 200, served.text
        revision = served.json()
        information = revision.pop("attestationInformation")
        creator = revision["userIdentity"]
        did_document = other.get(f"/identity/{creator}").json()
        committee = Committee.from_json(
            json.loads((cluster.data_dir(2) / "committee.json").read_text())
        )
        verify_document_attestation(
            information,
            committee,
            lambda method, purpose: verification_key(did_document, method, purpose),
            revision={**revision, "document": graph_id},
            content=content,
        )
        # Validator 1's admin is another user than validator 0's: it may not erase.
        refused = other.delete(path)
        assert refused.status_code == 403, refused.text
        assert refused.json()["name"] == "ForbiddenError"
        # The content stays with the node that received it.
        assert other.get(path, params={"includeBlobStorageData": "true"}).status_code == 404
        assert first.get(path, params={"includeBlobStorageData": "true"}).status_code == 200
        assert first.delete(path).status_code == 204
        deadline = time.monotonic() + DEADLINE_SECONDS
        while "dateDeleted" not in other.get(path).json():
            assert time.monotonic() < deadline, "validator 1 never applied the removal"
            time.sleep(0.2)
        gone = other.get(path, params={"includeBlobStorageData": "true"})
        assert gone.status_code == 410
        assert gone.json()["properties"]["code"] == "contentErased"
