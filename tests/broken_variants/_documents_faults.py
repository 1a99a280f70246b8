"""Faults of the documents profile: hashes, codes, revisions, attestations, erasure, limits.

A node that keeps removed content readable, one whose blobHash is not the content's, one that
rewrites an earlier revision in place, one that accepts codes off the list or content over the
limit, attestations signed with the wrong key or served for another revision, and reads that
break paging, and one that lets a second user remove the owner's revisions (the harness
acts as that user with the run's second login). Each keeps its answers valid against the
schemas, so that only its rule breaks.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from tests.broken_variants._asgi import Context, HttpRequest, HttpResponse, rule, with_json
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import rebind
from twin_spec import Ed25519SigningKey

DOCUMENT = "/documents/(?P<id>aig:[0-9a-f]{64})"
REVISION = DOCUMENT + "/(?P<revision>[0-9]+)"


def patch_removed_content_readable() -> None:
    """Keep an erased revision's blob file and serve its bytes as if it were not erased."""
    from twin_reference import _documents

    original = _documents._render

    def render(node: Any, row: tuple[object, ...], **options: Any) -> dict[str, Any]:
        body, date_deleted, digest = row
        record: dict[str, Any] = original(node, (body, None, digest), **options)
        if date_deleted is not None:
            record["dateDeleted"] = str(date_deleted)
        return record

    rebind(_documents, "_render", render)
    rebind(_documents, "sweep_erased", lambda node: None)


def blob_hash_of_the_base64_text(content: bytes) -> str:
    """The blobHash of a node that hashes the base64 text it was sent, not the bytes."""
    text = base64.b64encode(content)
    return "sha256:" + base64.b64encode(hashlib.sha256(text).digest()).decode("ascii")


def patch_blob_hash() -> None:
    """Make the node hash the base64 text of the content (and attest that hash)."""
    from twin_reference import _documents

    rebind(_documents, "blob_hash", blob_hash_of_the_base64_text)


def patch_rewrite_in_place() -> None:
    """An update also overwrites the previous revision's blob file with the new content."""
    from twin_reference import _documents

    original = _documents._store_revision

    async def store(
        node: Any, caller: str, kind: str, graph_id: str, revision: int, *rest: Any
    ) -> None:
        await original(node, caller, kind, graph_id, revision, *rest)
        if revision == 0:
            return
        row = node.store.one(
            "SELECT blob_id FROM document_revisions WHERE graph_id = ? AND revision = ?",
            graph_id,
            revision - 1,
        )
        content = rest[1]
        if row is not None:
            path = _documents.blobs_of(node).path_of(str(row[0]))
            if path.exists():
                path.write_bytes(content)

    rebind(_documents, "_store_revision", store)


def accept_any_code(value: object) -> int:
    """A code check that accepts every value."""
    return 0


def patch_accept_any_code() -> None:
    """Accept a documentCode whatever it is, on the route and on the ledger."""
    from twin_reference import _document_transactions, _documents

    rebind(_documents, "document_code", accept_any_code)
    rebind(_document_transactions, "document_code", accept_any_code)


def patch_no_size_limit() -> None:
    """Take content up to four times the limit."""
    from twin_reference import _documents

    limit = getattr(_documents, "MAX_DOCUMENT_BYTES")  # noqa: B009 - a name it imports
    rebind(_documents, "MAX_DOCUMENT_BYTES", 4 * limit)
    rebind(_documents, "_MAX_BLOB_TEXT", 4 * _documents._MAX_BLOB_TEXT)


def patch_attestation_other_key() -> None:
    """Sign attestations with a key the node's DID document does not hold, under its method."""
    from twin_reference import _documents

    original = getattr(_documents, "sign_document")  # noqa: B009 - a name it imports
    stray = Ed25519SigningKey(hashlib.sha256(b"a key no DID document holds").digest())

    def sign(document: Any, key: Any, *, verification_method: str, created: str) -> Any:
        return original(document, stray, verification_method=verification_method, created=created)

    rebind(_documents, "sign_document", sign)


def patch_any_user_removes() -> None:
    """Carry out any user's removal of a revision as if its owner had asked for it."""
    from twin_reference import _documents

    original = _documents.remove_revision

    async def remove(node: Any, caller: str, graph_id: str, revision: int) -> None:
        creator = node.store.one("SELECT creator FROM documents WHERE graph_id = ?", graph_id)
        owner = str(creator[0]) if creator is not None else caller
        await original(node, owner, graph_id, revision)

    rebind(_documents, "remove_revision", remove)


async def first_revision_attestation(request: HttpRequest, context: Context) -> HttpResponse:
    """Serve revision 0's attestation information for every later revision of a document."""
    response = await context.forward(request)
    body = response.json()
    match = re.fullmatch(REVISION, request.path)
    if response.status != 200 or match is None or not isinstance(body, dict):
        return response
    information = body.get("attestationInformation")
    if information is None:
        return response
    remembered: dict[str, Any] = context.memory.setdefault("attestations", {})
    if match.group("revision") == "0":
        remembered[match.group("id")] = information
        return response
    first = remembered.get(match.group("id"))
    if first is None:
        return response
    return with_json(response, {**body, "attestationInformation": first})


async def attestation_id_of_another(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer revisions whose attestationId names another attestation (one hex digit changed)."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response

    def changed(item: Any) -> Any:
        if isinstance(item, dict) and isinstance(item.get("attestationId"), str):
            value = item["attestationId"]
            last = "0" if value[-1] != "0" else "1"
            return {**item, "attestationId": value[:-1] + last}
        return item

    if isinstance(body.get("itemListElement"), list):
        body = {**body, "itemListElement": [changed(item) for item in body["itemListElement"]]}
    else:
        body = changed(body)
    return with_json(response, body)


async def without_next_item(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a document's revision list without its nextItem cursor: no paging."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict) or "nextItem" not in body:
        return response
    return with_json(response, {key: value for key, value in body.items() if key != "nextItem"})


FAULTS = (
    fault(
        "document-removed-content-readable",
        "documents",
        "TWIN-DOCUMENTS-030",
        "a removed revision's content stays in its blob file and is still served",
        patch=patch_removed_content_readable,
    ),
    fault(
        "document-blob-hash-of-base64",
        "documents",
        "TWIN-DOCUMENTS-001",
        "blobHash (and the attestation's) hashes the base64 text sent, not the content's bytes",
        patch=patch_blob_hash,
    ),
    fault(
        "document-revision-rewritten-in-place",
        "documents",
        "TWIN-DOCUMENTS-011",
        "an update also overwrites the previous revision's stored content with the new bytes",
        patch=patch_rewrite_in_place,
    ),
    fault(
        "document-code-unchecked",
        "documents",
        "TWIN-DOCUMENTS-002",
        "any documentCode is accepted, on or off UN/CEFACT code list 1001",
        patch=patch_accept_any_code,
    ),
    fault(
        "document-oversized-accepted",
        "documents",
        "TWIN-DOCUMENTS-040",
        "content up to 1 MiB is accepted, four times the 262144-byte limit",
        patch=patch_no_size_limit,
    ),
    fault(
        "document-attestation-other-key",
        "documents",
        "TWIN-DOCUMENTS-020",
        "attestations name the node's #attestation-assertion method but are signed with a "
        "key its DID document does not hold",
        patch=patch_attestation_other_key,
    ),
    fault(
        "document-removed-by-another-user",
        "documents",
        "TWIN-DOCUMENTS-050",
        "any logged-in user may remove a revision of another user's document: the removal is "
        "made as if its owner had asked",
        patch=patch_any_user_removes,
        max_failures=1,
    ),
    fault(
        "document-attestation-of-revision-zero",
        "documents",
        "TWIN-DOCUMENTS-021",
        "every later revision is served with revision 0's attestation information",
        rules=(rule("GET", REVISION, first_revision_attestation),),
    ),
    fault(
        "document-attestation-id-of-another",
        "documents",
        "TWIN-DOCUMENTS-010",
        "revisions name an attestationId one hex digit off their attestation's id",
        rules=(
            rule("GET", REVISION, attestation_id_of_another),
            rule("GET", DOCUMENT, attestation_id_of_another),
        ),
    ),
    fault(
        "document-list-without-cursor",
        "documents",
        "TWIN-DOCUMENTS-012",
        "a document's revision list never gives nextItem, so earlier revisions cannot be paged",
        rules=(rule("GET", DOCUMENT, without_next_item),),
    ),
)
