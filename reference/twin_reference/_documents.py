"""Trade documents: revisions with content in blob files, attested on the ledger, erasable.

A write checks the whole request, writes the content to a blob file, signs the revision's
DocumentAttestation with the node's ``#attestation-assertion`` key and commits a transaction
that carries the attestation but never the content. Removing a revision commits a removal and
then erases the blob file; reads look at the ledger's state first, so erased content is never
served, whatever files remain.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any, cast

from twin_reference._blobs import BlobStore
from twin_reference._document_transactions import (
    DOCUMENT_CREATE,
    DOCUMENT_REMOVE,
    DOCUMENT_UPDATE,
)
from twin_reference._errors import (
    ApiError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
)
from twin_reference._ledger_codec import unpack_text
from twin_reference._node import Node, iso_now
from twin_spec import (
    ATTESTATION_FRAGMENT,
    ATTESTATION_INFORMATION_TYPE,
    MAX_DOCUMENT_BYTES,
    DocumentError,
    JSONValue,
    attestation_statement,
    blob_hash,
    document_code,
    sign_document,
)

GRAPH_ID = re.compile(r"aig:[0-9a-f]{64}\Z")
REVISION = re.compile(r"(0|[1-9][0-9]{0,8})\Z")
MAX_DOCUMENT_ID = 256
MAX_ID_FORMAT = 64
DEFAULT_PAGE_SIZE = 1
MAX_PAGE_SIZE = 100
CONTENT_ERASED = "contentErased"
LIST_CONTEXT: list[JSONValue] = [
    "https://schema.org",
    "https://schema.twindev.org/documents/",
    "https://schema.twindev.org/common/",
]
_MAX_BLOB_TEXT = 4 * ((MAX_DOCUMENT_BYTES + 2) // 3)
CREATE_MEMBERS = {
    "documentId",
    "documentIdFormat",
    "documentCode",
    "blob",
    "annotationObject",
    "createAttestation",
}
UPDATE_MEMBERS = {"blob", "annotationObject"}


def blobs_of(node: Node) -> BlobStore:
    """The node's blob folder (created owner-only if missing)."""
    return BlobStore(node.settings.data_dir)


# --- checking requests -------------------------------------------------------------------------


def _text(body: Mapping[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise ValidationError(
            f"body.{name} must be a string of 1 to {limit} characters", field=f"body.{name}"
        )
    return value


def _content(body: Mapping[str, Any]) -> bytes:
    """The decoded blob, within the size limit (TWIN-DOCUMENTS-040)."""
    value = body.get("blob")
    if not isinstance(value, str):
        raise ValidationError("body.blob must be a base64 string", field="body.blob")
    # TWIN-DOCUMENTS-040 "A node MUST refuse a revision whose content is larger than 262144
    # bytes once decoded with 413 ... and a blob that is not standard, padded base64 with 400,
    # storing nothing either way."
    if len(value) > _MAX_BLOB_TEXT:
        raise PayloadTooLargeError(
            f"body.blob holds more than {MAX_DOCUMENT_BYTES} bytes",
            field="body.blob",
            code="documentTooLarge",
            limit=MAX_DOCUMENT_BYTES,
        )
    try:
        content = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            "body.blob is not standard, padded base64", field="body.blob"
        ) from None
    if base64.b64encode(content).decode("ascii") != value:
        raise ValidationError("body.blob is not standard, padded base64", field="body.blob")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLargeError(
            f"body.blob holds {len(content)} bytes, more than {MAX_DOCUMENT_BYTES}",
            field="body.blob",
            code="documentTooLarge",
            limit=MAX_DOCUMENT_BYTES,
        )
    return content


def _annotation(body: Mapping[str, Any]) -> dict[str, JSONValue]:
    if "annotationObject" not in body:
        return {}
    value = body["annotationObject"]
    if not isinstance(value, dict):
        raise ValidationError(
            "body.annotationObject must be a JSON object", field="body.annotationObject"
        )
    return {"annotationObject": cast(JSONValue, value)}


def graph_id_of(value: str) -> str:
    """Check a document id path parameter (``aig:<64 hex>``)."""
    if not GRAPH_ID.match(value):
        raise ValidationError(
            f"{value!r} is not a document id (aig:<64 hex>)",
            field="path.auditableItemGraphDocumentId",
        )
    return value


def revision_of(value: str) -> int:
    """Check a revision path parameter (a decimal integer, no leading zero)."""
    if not REVISION.match(value):
        raise ValidationError(f"{value!r} is not a revision (0, 1, 2, ...)", field="path.revision")
    return int(value)


def flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter: true, false, or absent (false)."""
    value = query.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise ValidationError(f"query.{name} must be true or false", field=f"query.{name}")


def _page(query: Mapping[str, str]) -> tuple[int | None, int]:
    size_text = query.get("pageSize")
    size = DEFAULT_PAGE_SIZE
    if size_text is not None:
        if not re.fullmatch(r"[1-9][0-9]{0,2}", size_text) or int(size_text) > MAX_PAGE_SIZE:
            raise ValidationError(
                f"query.pageSize must be 1 to {MAX_PAGE_SIZE}", field="query.pageSize"
            )
        size = int(size_text)
    cursor_text = query.get("cursor")
    if cursor_text is None:
        return None, size
    if not REVISION.match(cursor_text):
        raise ValidationError("query.cursor is not a cursor this node gave", field="query.cursor")
    return int(cursor_text), size


# --- writes ------------------------------------------------------------------------------------


async def create_document(node: Node, caller: str, body: dict[str, Any]) -> str:
    """Store revision 0 of a new document; return its id once it is committed."""
    sweep_erased(node)
    document_id = _text(body, "documentId", MAX_DOCUMENT_ID)
    id_format = (
        _text(body, "documentIdFormat", MAX_ID_FORMAT) if "documentIdFormat" in body else None
    )
    code = body.get("documentCode")
    # TWIN-DOCUMENTS-002 "A node MUST accept as documentCode only 'unece:DocumentCodeList#'
    # followed by a code of UN/CEFACT code list 1001 ... and MUST refuse any other value with
    # 400 naming body.documentCode, storing nothing."
    try:
        document_code(code)
    except DocumentError as exc:
        raise ValidationError(
            exc.message, field="body.documentCode", code=exc.failure.value
        ) from None
    if "createAttestation" in body and body["createAttestation"] is not True:
        raise ValidationError(
            "body.createAttestation may only be true: every revision is attested",
            field="body.createAttestation",
        )
    content = _content(body)
    annotation = _annotation(body)
    graph_id = f"aig:{secrets.token_hex(32)}"
    identifiers = (document_id, id_format, str(code))
    # TWIN-DOCUMENTS-010 "POST /documents MUST answer 201 with the document's id in Location
    # once revision 0 is committed to the ledger."
    await _store_revision(
        node, caller, DOCUMENT_CREATE, graph_id, 0, identifiers, content, annotation
    )
    return graph_id


async def update_document(node: Node, caller: str, graph_id: str, body: dict[str, Any]) -> None:
    """Add the next revision to a document (its creator only)."""
    sweep_erased(node)
    content = _content(body)
    annotation = _annotation(body)
    row = node.store.one(
        "SELECT creator, latest, document_id, id_format, code FROM documents WHERE graph_id = ?",
        graph_id,
    )
    if row is None:
        raise NotFoundError(
            f"there is no document {graph_id}", field="path.auditableItemGraphDocumentId"
        )
    if row[0] != caller:
        raise ForbiddenError(f"only the user who created {graph_id} may add revisions")
    identifiers = (str(row[2]), None if row[3] is None else str(row[3]), str(row[4]))
    await _store_revision(
        node,
        caller,
        DOCUMENT_UPDATE,
        graph_id,
        int(str(row[1])) + 1,
        identifiers,
        content,
        annotation,
    )


async def _store_revision(
    node: Node,
    caller: str,
    kind: str,
    graph_id: str,
    revision: int,
    identifiers: tuple[str, str | None, str],
    content: bytes,
    annotation: dict[str, JSONValue],
) -> None:
    blob_id = f"blob:twin:{secrets.token_hex(32)}"
    document_id, id_format, code = identifiers
    # TWIN-DOCUMENTS-001 "blobHash MUST be 'sha256:' + base64 of SHA-256 over the content's
    # bytes exactly as they were sent and are read back."
    # TWIN-DOCUMENTS-020 "Every revision MUST have a DocumentAttestation ... signed with
    # eddsa-jcs-2022 by the node's #attestation-assertion method, and recorded in the payload of
    # the ledger transaction that records the revision."
    statement = attestation_statement(
        attestation_id=f"attestation:twin:{secrets.token_hex(32)}",
        document=graph_id,
        document_id=document_id,
        document_id_format=id_format,
        document_code_value=code,
        revision=revision,
        blob_hash_value=blob_hash(content),
        node_identity=node.node_did,
        user_identity=caller,
        date_created=iso_now(),
    )
    method = f"{node.node_did}#{ATTESTATION_FRAGMENT}"
    key = node.vault.get(method)
    assert key is not None  # noqa: S101 - created with the node's identity at first start
    signed = sign_document(statement, key, verification_method=method, created=iso_now())
    payload: dict[str, JSONValue] = {
        "document": graph_id,
        "blobStorageId": blob_id,
        **annotation,
        "attestation": cast(JSONValue, signed),
    }
    if kind == DOCUMENT_UPDATE:
        payload["revision"] = revision
    blobs = blobs_of(node)
    with node.store.write() as connection:
        connection.execute("INSERT INTO held_blobs (blob_id) VALUES (?)", (blob_id,))
    # Off the event loop: a 256 KiB write and its fsync must not stall the ledger's loop.
    await asyncio.to_thread(blobs.write, blob_id, content)
    try:
        await node.execute(kind, caller, payload)
    except ApiError:
        # Refused: nothing is stored, not even the blob. (A pending write keeps its blob: its
        # transaction may still be committed.)
        _forget_blob(node, blobs, blob_id)
        raise


async def remove_revision(node: Node, caller: str, graph_id: str, revision: int) -> None:
    """Erase a revision's content for good; its metadata and attestation stay."""
    sweep_erased(node)
    creator = node.store.one("SELECT creator FROM documents WHERE graph_id = ?", graph_id)
    row = node.store.one(
        "SELECT date_deleted FROM document_revisions WHERE graph_id = ? AND revision = ?",
        graph_id,
        revision,
    )
    if creator is None or row is None:
        raise NotFoundError(f"{graph_id} has no revision {revision}", field="path.revision")
    if row[0] is not None:
        raise _erased(graph_id, revision)
    if creator[0] != caller:
        raise ForbiddenError(f"only the user who created {graph_id} may remove its revisions")
    # TWIN-DOCUMENTS-030 "DELETE /documents/{id}/{revision} MUST erase the revision's content
    # for good (204): from then on no read returns it ... while its metadata, blobHash,
    # attestation and receipt stay readable and verify as before."
    try:
        await node.execute(DOCUMENT_REMOVE, caller, {"document": graph_id, "revision": revision})
    except GoneError:
        raise _erased(graph_id, revision) from None
    sweep_erased(node)


def _erased(graph_id: str, revision: int) -> GoneError:
    return GoneError(
        f"the content of revision {revision} of {graph_id} is erased",
        field="path.revision",
        code=CONTENT_ERASED,
    )


def sweep_erased(node: Node) -> None:
    """Erase the blob files this node holds for revisions the ledger marks erased."""
    # TWIN-DOCUMENTS-031 "Once a removal is answered, the node's storage MUST hold no copy of
    # the erased content": the removal is committed first, then the file is zeroed and
    # unlinked before the 204; a removal committed through another member, or cut short by a
    # crash, is swept on this node's next documents request and at start.
    rows = node.store.all(
        "SELECT h.blob_id FROM held_blobs h JOIN document_revisions r ON r.blob_id = h.blob_id"
        " WHERE r.date_deleted IS NOT NULL"
    )
    if not rows:
        return
    blobs = blobs_of(node)
    for (blob_id,) in rows:
        _forget_blob(node, blobs, str(blob_id))


def _forget_blob(node: Node, blobs: BlobStore, blob_id: str) -> None:
    blobs.erase(blob_id)
    with node.store.write() as connection:
        connection.execute("DELETE FROM held_blobs WHERE blob_id = ?", (blob_id,))


# --- reads -------------------------------------------------------------------------------------


def _render(
    node: Node,
    row: tuple[object, ...],
    *,
    include_data: bool,
    include_attestation: bool,
    refuse_erased: bool,
) -> dict[str, Any]:
    body_text, date_deleted, digest = row
    record: dict[str, Any] = json.loads(str(body_text))
    if date_deleted is not None:
        record["dateDeleted"] = str(date_deleted)
    if include_data:
        if date_deleted is not None:
            if refuse_erased:
                raise _erased("aig:" + record["id"].split(":")[1], int(record["documentRevision"]))
        else:
            content = blobs_of(node).read(str(record["blobStorageId"]))
            if content is None:
                raise NotFoundError(
                    f"the content of {record['id']} is held by the node that stored it",
                    field="query.includeBlobStorageData",
                )
            record["blobStorageEntry"] = {
                "type": "BlobStorageEntry",
                "id": record["blobStorageId"],
                "blobSize": len(content),
                "blobHash": blob_hash(content),
                "blob": base64.b64encode(content).decode("ascii"),
            }
    if include_attestation:
        assert isinstance(digest, bytes)  # noqa: S101 - a BLOB column
        # TWIN-DOCUMENTS-021 "With includeAttestation=true a revision MUST carry
        # attestationInformation {type, attestation, transaction, receipt} that verifies
        # offline."
        transaction_row = node.store.one("SELECT body FROM transactions WHERE digest = ?", digest)
        if transaction_row is None:
            raise NotFoundError("the revision's transaction has no receipt yet")
        transaction = json.loads(unpack_text(transaction_row[0]))
        record["attestationInformation"] = {
            "type": ATTESTATION_INFORMATION_TYPE,
            "attestation": transaction["payload"]["attestation"],
            "transaction": transaction,
            "receipt": node.receipt(digest),
        }
    return record


def get_revision(
    node: Node, graph_id: str, revision: int, query: Mapping[str, str]
) -> dict[str, Any]:
    """One revision; its content only while it is not erased (else 410)."""
    include_data = flag(query, "includeBlobStorageData")
    include_attestation = flag(query, "includeAttestation")
    row = node.store.one(
        "SELECT body, date_deleted, transaction_digest FROM document_revisions"
        " WHERE graph_id = ? AND revision = ?",
        graph_id,
        revision,
    )
    if row is None:
        raise NotFoundError(f"{graph_id} has no revision {revision}", field="path.revision")
    return _render(
        node,
        row,
        include_data=include_data,
        include_attestation=include_attestation,
        refuse_erased=True,
    )


def get_document(node: Node, graph_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """A document's revisions, newest first, a page at a time."""
    include_data = flag(query, "includeBlobStorageData")
    include_attestation = flag(query, "includeAttestation")
    include_removed = flag(query, "includeRemoved")
    cursor, size = _page(query)
    latest = node.store.one("SELECT latest FROM documents WHERE graph_id = ?", graph_id)
    if latest is None:
        raise NotFoundError(
            f"there is no document {graph_id}", field="path.auditableItemGraphDocumentId"
        )
    start = int(str(latest[0])) if cursor is None else cursor
    # TWIN-DOCUMENTS-012 "GET /documents/{id} MUST list the document's revisions newest first,
    # pageSize at a time with nextItem as the cursor of the next page, leaving out removed
    # revisions unless includeRemoved is true."
    rows = node.store.all(
        "SELECT body, date_deleted, transaction_digest, revision FROM document_revisions"
        " WHERE graph_id = ? AND revision <= ? AND (? OR date_deleted IS NULL)"
        " ORDER BY revision DESC LIMIT ?",
        graph_id,
        start,
        include_removed,
        size + 1,
    )
    items = [
        _render(
            node,
            row[:3],
            include_data=include_data,
            include_attestation=include_attestation,
            refuse_erased=False,
        )
        for row in rows[:size]
    ]
    answer: dict[str, Any] = {
        "@context": LIST_CONTEXT,
        "type": "ItemList",
        "itemListElement": items,
    }
    if len(rows) > size:
        answer["nextItem"] = str(rows[size][3])
    return answer


def query_documents(node: Node, query: Mapping[str, str]) -> dict[str, Any]:
    """The latest revision of every document created under a documentId, newest first."""
    document_id = query.get("documentId")
    if document_id is None or not 1 <= len(document_id) <= MAX_DOCUMENT_ID:
        raise ValidationError(
            f"query.documentId must be 1 to {MAX_DOCUMENT_ID} characters", field="query.documentId"
        )
    offset, size = _page(query)
    rows = node.store.all(
        "SELECT r.body, r.date_deleted, r.transaction_digest FROM documents d"
        " JOIN document_revisions r ON r.graph_id = d.graph_id AND r.revision = d.latest"
        " WHERE d.document_id = ? ORDER BY d.created_ms DESC, d.graph_id LIMIT ? OFFSET ?",
        document_id,
        size + 1,
        offset or 0,
    )
    items = [
        _render(node, row, include_data=False, include_attestation=False, refuse_erased=False)
        for row in rows[:size]
    ]
    answer: dict[str, Any] = {
        "@context": LIST_CONTEXT,
        "type": "ItemList",
        "itemListElement": items,
    }
    if len(rows) > size:
        answer["nextItem"] = str((offset or 0) + size)
    return answer
