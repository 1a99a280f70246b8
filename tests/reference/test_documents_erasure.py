"""Erasure for good: a removed revision leaves no trace of its content in the data directory.

A real node in its own data directory stores a document whose content holds a random marker,
adds a revision, removes the first one, and checkpoints its database; then every file under
the data directory (database, WAL, shared memory, blob files) is scanned byte by byte for the
marker in every encoding the node could store it in. The content is then unreadable (410), and
the revision's attestation and receipt still verify offline with the committee's keys.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.node_process import RunningNode, start_node
from twin_reference._setup import DATABASE_FILE
from twin_spec import Committee, verification_key, verify_document_attestation


def encodings(marker: bytes) -> dict[str, bytes]:
    """The marker as the node could hold it: raw, hex, and base64 at each of 3 alignments."""
    found = {"raw": marker, "hex": marker.hex().encode()}
    for shift in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * shift + marker)
            # Drop the characters that mix the padding bytes or the end in.
            found[f"{name}+{shift}"] = text[4 if shift else 0 : -4]
    return found


def traces(data_dir: Path, marker: bytes) -> list[str]:
    """Every (file, encoding) where the marker is found under the data directory."""
    patterns = encodings(marker)
    hits: list[str] = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits.extend(
                f"{path.relative_to(data_dir)}: {name}"
                for name, pattern in patterns.items()
                if pattern in data
            )
    return hits


@pytest.fixture
def erasure_node(tmp_path: Path) -> Iterator[RunningNode]:
    """A node of its own: the scan must see only this test's files."""
    running = start_node(tmp_path / "data")
    yield running
    running.stop()


def checkpoint(database: Path) -> tuple[int, int, int]:
    """Checkpoint the WAL into the database and truncate it, from another connection."""
    connection = sqlite3.connect(database, timeout=10)
    try:
        busy, frames, done = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    return int(busy), int(frames), int(done)


@pytest.mark.requirement("TWIN-DOCUMENTS-031", "TWIN-DOCUMENTS-030", "TWIN-DOCUMENTS-021")
def test_a_removed_revision_leaves_no_trace_and_its_attestation_still_verifies(
    erasure_node: RunningNode,
) -> None:
    node = erasure_node
    marker = secrets.token_bytes(24)
    content = b"%PDF-1.7 bill of lading, consignee " + marker + b" end of document"
    with node.client(node.login()) as admin:
        created = admin.post(
            "/documents",
            json={
                "documentId": "BOL-" + secrets.token_hex(4),
                "documentIdFormat": "bol",
                "documentCode": "unece:DocumentCodeList#705",
                "blob": base64.b64encode(content).decode(),
            },
        )
        assert created.status_code == 201, created.text
        graph_id = created.headers["location"]
        # The scanner finds the marker while it is stored (in its blob file, raw).
        assert traces(node.data_dir, marker) == [
            f"blobs/{path.name}: raw" for path in (node.data_dir / "blobs").iterdir()
        ]
        updated = admin.put(
            f"/documents/{graph_id}", json={"blob": base64.b64encode(b"corrected copy").decode()}
        )
        assert updated.status_code == 204, updated.text
        removed = admin.delete(f"/documents/{graph_id}/0")
        assert removed.status_code == 204, removed.text

        assert checkpoint(node.data_dir / DATABASE_FILE)[0] == 0
        assert traces(node.data_dir, marker) == []

        gone = admin.get(f"/documents/{graph_id}/0", params={"includeBlobStorageData": "true"})
        assert gone.status_code == 410
        assert gone.json()["name"] == "GoneError"
        assert gone.json()["properties"]["code"] == "contentErased"
        assert marker not in gone.content

        revision = admin.get(
            f"/documents/{graph_id}/0", params={"includeAttestation": "true"}
        ).json()
        node_did = revision["nodeIdentity"]
        did_document = httpx.get(f"{node.url}/identity/{node_did}", timeout=10).json()
    information = revision.pop("attestationInformation")
    # Offline: the committee from the data directory, the node's key from its DID document.
    committee = Committee.from_json(json.loads((node.data_dir / "committee.json").read_text()))
    summary = verify_document_attestation(
        information,
        committee,
        lambda method, purpose: verification_key(did_document, method, purpose),
        revision={**revision, "document": graph_id},
    )
    sequence = summary["sequence"]
    assert isinstance(sequence, int)
    assert sequence >= 1
    assert "dateDeleted" in revision

    node.stop()
    # Closed: SQLite has checkpointed and removed its WAL; still no trace anywhere.
    assert traces(node.data_dir, marker) == []
    assert marker not in node.log_path.read_bytes()
