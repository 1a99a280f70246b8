"""Applying the document transactions: revisions recorded, erasures marked, on every validator.

A revision's transaction carries its metadata and the node's signed attestation, never its
content; every validator records the same rows from it, so any member of the committee serves
every revision's metadata and attestation. Applying checks what the submitting node checked
again, since a peer's transaction is not trusted.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from twin_spec import DocumentError, document_code, is_blob_hash

DOCUMENT_CREATE = "document.create"
DOCUMENT_UPDATE = "document.update"
DOCUMENT_REMOVE = "document.remove"
DOCUMENT_TRANSACTIONS = (DOCUMENT_CREATE, DOCUMENT_UPDATE, DOCUMENT_REMOVE)


class DocumentRefused(Exception):
    """A document transaction that cannot apply: the error name and message to record."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def deletion_time(timestamp_ms: int) -> str:
    """The commit's time as the TWIN node writes dates, with milliseconds."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


def apply_document(
    connection: sqlite3.Connection,
    kind: str,
    sender: str,
    payload: dict[str, Any],
    digest: bytes,
    now_ms: int,
) -> None:
    """Apply one document transaction, or raise DocumentRefused (the caller rolls back)."""
    graph_id = str(payload["document"])
    row = connection.execute(
        "SELECT creator, latest, document_id, id_format, code FROM documents WHERE graph_id = ?",
        (graph_id,),
    ).fetchone()
    if kind == DOCUMENT_CREATE:
        if row is not None:
            raise DocumentRefused("ConflictError", f"{graph_id} already exists")
        _record_revision(connection, sender, payload, digest, 0, None)
        attestation = payload["attestation"]
        connection.execute(
            "INSERT INTO documents (graph_id, document_id, id_format, code, creator, created_ms,"
            " latest) VALUES (?, ?, ?, ?, ?, ?, 0)",
            (
                graph_id,
                str(attestation["documentId"]),
                attestation.get("documentIdFormat"),
                str(attestation["documentCode"]),
                sender,
                now_ms,
            ),
        )
        return
    if row is None:
        raise DocumentRefused("NotFoundError", f"there is no document {graph_id}")
    creator, latest = str(row[0]), int(row[1])
    # TWIN-DOCUMENTS-050 "A node MUST refuse with 403, changing nothing, an update of a document
    # or a removal of its revisions by anyone but the user who created it."
    if sender != creator:
        raise DocumentRefused("ForbiddenError", f"only {creator} may change {graph_id}")
    revision = int(payload["revision"])
    if kind == DOCUMENT_UPDATE:
        # TWIN-DOCUMENTS-011 "PUT /documents/{id} MUST add the next revision ... and MUST leave
        # every earlier revision ... exactly as it was": a new row, never an update of one.
        if revision != latest + 1:
            raise DocumentRefused(
                "ConflictError", f"{graph_id} changed meanwhile (its latest revision is {latest})"
            )
        identifiers = (row[2], row[3], row[4])
        _record_revision(connection, sender, payload, digest, revision, identifiers)
        connection.execute(
            "UPDATE documents SET latest = ? WHERE graph_id = ?", (revision, graph_id)
        )
        return
    found = connection.execute(
        "SELECT date_deleted FROM document_revisions WHERE graph_id = ? AND revision = ?",
        (graph_id, revision),
    ).fetchone()
    if found is None:
        raise DocumentRefused("NotFoundError", f"{graph_id} has no revision {revision}")
    if found[0] is not None:
        raise DocumentRefused("GoneError", f"revision {revision} of {graph_id} is erased")
    connection.execute(
        "UPDATE document_revisions SET date_deleted = ? WHERE graph_id = ? AND revision = ?",
        (deletion_time(now_ms), graph_id, revision),
    )


def _record_revision(
    connection: sqlite3.Connection,
    sender: str,
    payload: dict[str, Any],
    digest: bytes,
    revision: int,
    identifiers: tuple[Any, Any, Any] | None,
) -> None:
    attestation = payload["attestation"]
    if not isinstance(attestation, dict):
        raise DocumentRefused("ValidationError", "payload.attestation is not an object")
    graph_id = str(payload["document"])
    try:
        document_code(attestation["documentCode"])
    except DocumentError as exc:
        raise DocumentRefused("ValidationError", exc.message) from None
    if (
        attestation.get("document") != graph_id
        or attestation.get("documentRevision") != revision
        or attestation.get("userIdentity") != sender
        or not is_blob_hash(attestation.get("blobHash"))
    ):
        raise DocumentRefused(
            "ValidationError", "the attestation is not the one of this revision by its sender"
        )
    if identifiers is not None and identifiers != (
        attestation.get("documentId"),
        attestation.get("documentIdFormat"),
        attestation.get("documentCode"),
    ):
        raise DocumentRefused("ValidationError", "the attestation names other identifiers")
    record: dict[str, Any] = {
        "@context": [
            "https://schema.twindev.org/documents/",
            "https://schema.twindev.org/common/",
            "https://schema.org",
        ],
        "type": "Document",
        "id": f"document:{graph_id.removeprefix('aig:')}:{revision}",
        "documentId": attestation["documentId"],
        "documentCode": attestation["documentCode"],
        "documentRevision": revision,
        "blobStorageId": str(payload["blobStorageId"]),
        "blobHash": attestation["blobHash"],
        "attestationId": attestation["id"],
        "dateCreated": attestation["dateCreated"],
        "nodeIdentity": attestation["nodeIdentity"],
        "userIdentity": sender,
    }
    if "documentIdFormat" in attestation:
        record["documentIdFormat"] = attestation["documentIdFormat"]
    if "annotationObject" in payload:
        record["annotationObject"] = payload["annotationObject"]
    connection.execute(
        "INSERT INTO document_revisions (graph_id, revision, body, blob_id, transaction_digest)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            graph_id,
            revision,
            json.dumps(record, ensure_ascii=False, separators=(",", ":")),
            record["blobStorageId"],
            digest,
        ),
    )
