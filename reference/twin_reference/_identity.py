"""The identity layer: did:twin documents on the ledger, did:key, proofs, credentials."""

from __future__ import annotations

import copy
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from twin_reference._errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    NotImplementedApiError,
    ValidationError,
)
from twin_reference._node import Node
from twin_reference._transactions import DID_CREATE, DID_DEACTIVATE, DID_UPDATE
from twin_spec import (
    DID_TWIN_METHOD,
    VERIFICATION_RELATIONSHIPS,
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    Ed25519SigningKey,
    JSONValue,
    did_key_document,
    did_twin_from_bytes,
    encode_status_list,
    jwk_from_public_key,
    new_status_list,
    parse_did,
    parse_did_twin,
    parse_did_url,
    verification_key,
)

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
FRAGMENT = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
# Relationships a node creates keys for; Ed25519 keys cannot do key agreement.
KEY_RELATIONSHIPS = tuple(name for name in VERIFICATION_RELATIONSHIPS if name != "keyAgreement")
_DID_ERROR_STATUS: dict[DidErrorCode, type[ApiError]] = {
    DidErrorCode.INVALID_DID: ValidationError,
    DidErrorCode.NOT_FOUND: NotFoundError,
    DidErrorCode.METHOD_NOT_SUPPORTED: NotImplementedApiError,
}


@dataclass(frozen=True)
class Resolution:
    """A resolved DID: its document and the document metadata (DID Core section 7.1.3)."""

    document: dict[str, Any]
    metadata: dict[str, JSONValue]
    version: int
    controller: str | None
    deactivated: bool


def did_error(error: DidError, field: str) -> ApiError:
    """Map a DID resolution error to its HTTP error, keeping the DID Core code."""
    # TWIN-IDENTITY-061 "Resolution errors MUST map to HTTP statuses: invalidDid 400,
    # notFound 404, methodNotSupported 501, a deactivated DID 410."
    error_class = _DID_ERROR_STATUS.get(error.code, ValidationError)
    return error_class(error.message, field=field, code=error.code.value)


def lookup(node: Node, did: str) -> Resolution:
    """Resolve a did:twin from the ledger state or a did:key from the DID itself.

    Raises DidError (invalidDid, methodNotSupported, notFound); a deactivated DID resolves,
    with ``deactivated`` set.
    """
    parsed = parse_did(did)
    if parsed.method == "key":
        return Resolution(did_key_document(did), {}, 1, None, deactivated=False)
    if parsed.method != DID_TWIN_METHOD:
        raise DidError(
            DidErrorCode.METHOD_NOT_SUPPORTED,
            f"this node resolves did:{DID_TWIN_METHOD} and did:key, not did:{parsed.method}",
        )
    parse_did_twin(did)
    row = node.store.one(
        "SELECT document, controller, version, created, updated, deactivated FROM dids"
        " WHERE did = ?",
        did,
    )
    if row is None:
        raise DidError(DidErrorCode.NOT_FOUND, f"{did} is not on this ledger")
    metadata: dict[str, JSONValue] = {
        "created": str(row[3]),
        "updated": str(row[4]),
        "versionId": str(row[2]),
    }
    deactivated = bool(row[5])
    if deactivated:
        metadata["deactivated"] = True
    document = json.loads(str(row[0]))
    return Resolution(document, metadata, int(str(row[2])), str(row[1]), deactivated)


def resolve(node: Node, did: str, *, field: str = "path.identity") -> Resolution:
    """Resolve a DID for a request: resolution errors become their HTTP errors."""
    try:
        return lookup(node, did)
    except DidError as exc:
        raise did_error(exc, field) from None


def resolve_active(node: Node, did: str, *, field: str = "path.identity") -> Resolution:
    """Resolve a DID that must not be deactivated."""
    resolution = resolve(node, did, field=field)
    if resolution.deactivated:
        # TWIN-IDENTITY-062 "A deactivated DID MUST resolve as 410 with deactivated true in its
        # metadata and no document; deactivation is permanent."
        raise GoneError(f"{did} is deactivated", field=field, code="deactivated")
    return resolution


def twin_path_did(did: str) -> None:
    """Check that a write names a did:twin; anything else is 400 with the DID error's code."""
    try:
        parse_did_twin(did)
    except DidError as exc:
        # TWIN-IDENTITY-031 "Parsing a DID of any other method as a did:twin MUST fail with
        # methodNotSupported": for a write that is a malformed request (400), never a 501.
        raise ValidationError(exc.message, field="path.identity", code=exc.code.value) from None


def owned(node: Node, caller: str, did: str) -> Resolution:
    """Resolve an active did:twin that the caller controls, or raise 400/403/404/410."""
    twin_path_did(did)
    resolution = resolve_active(node, did)
    if resolution.controller is None:
        raise ForbiddenError(f"{did} is not a document this node keeps", field="path.identity")
    # TWIN-IDENTITY-063 "Only the controller of a DID may change it; anyone else gets 403."
    if resolution.controller != caller:
        raise ForbiddenError(f"{caller} does not control {did}", field="path.identity")
    return resolution


def controlled(node: Node, caller: str, did: str) -> Resolution:
    """Resolve a did:twin the caller may change (never the node's own), or raise."""
    resolution = owned(node, caller, did)
    if did == node.node_did:
        raise ForbiddenError(
            "the node's own identity is managed by the node", field="path.identity"
        )
    return resolution


def new_did_document(did: str) -> dict[str, JSONValue]:
    """A fresh did:twin document: the context, the id and the revocation status list."""
    return {
        "@context": DID_CONTEXT,
        "id": did,
        "service": [
            {
                "id": f"{did}#revocation",
                "type": "BitstringStatusList",
                "serviceEndpoint": encode_status_list(new_status_list()),
            }
        ],
    }


async def create_identity(node: Node, caller: str) -> dict[str, JSONValue]:
    """Create a did:twin controlled by the caller, anchored by a ledger transaction."""
    # TWIN-IDENTITY-030 is the syntax; the identifier is 32 random bytes.
    did = did_twin_from_bytes(secrets.token_bytes(32))
    document = new_did_document(did)
    await node.execute(DID_CREATE, caller, {"document": document})
    return document


def method_id(did: str, reference: str, field: str) -> str:
    """Turn a verification method or service reference (DID URL or fragment) into a DID URL.

    The path's DID is checked first, so that a request is judged on its syntax before any
    state (a malformed request is 400 even when the DID it names is deactivated).
    """
    twin_path_did(did)
    if FRAGMENT.match(reference):
        return f"{did}#{reference}"
    try:
        url = parse_did_url(reference)
    except DidError:
        raise ValidationError(
            f"{reference!r} is neither a fragment nor a DID URL", field=field
        ) from None
    if url.fragment is None or url.path or url.query or not FRAGMENT.match(url.fragment):
        raise ValidationError(f"{reference!r} is not a DID URL with a fragment", field=field)
    if str(url.did) != did:
        # A path names something in this document: another DID's entry is simply not there.
        # A body names something to add: another DID's id cannot be added here.
        error_class = NotFoundError if field.startswith("path.") else ValidationError
        raise error_class(f"{reference!r} is not in the DID document of {did}", field=field)
    return reference


def signing_method(
    node: Node, caller: str, did: str, reference: str
) -> tuple[str, Ed25519SigningKey]:
    """Find an assertion method of a DID the caller controls, with its key in the vault."""
    vm_id = method_id(did, reference, "path.verificationMethodId")
    resolution = owned(node, caller, did)
    try:
        verification_key(resolution.document, vm_id, "assertionMethod")
    except DidError as exc:
        # A method the document lists, but not under assertionMethod, is a request the node
        # cannot accept (400); a method the document does not list is not there (404).
        error_class = (
            ValidationError
            if exc.code is DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED
            else NotFoundError
        )
        raise error_class(
            exc.message, field="path.verificationMethodId", code=exc.code.value
        ) from None
    key = node.vault.get(vm_id)
    if key is None:
        raise NotFoundError(
            f"this node holds no private key for {vm_id}", field="path.verificationMethodId"
        )
    return vm_id, key


async def add_verification_method(
    node: Node, caller: str, did: str, relationship: str, fragment: str | None
) -> dict[str, JSONValue]:
    """Generate a key in the vault and add it under ``relationship``, as a JsonWebKey."""
    resolution = controlled(node, caller, did)
    fragment = fragment or f"key-{secrets.token_hex(8)}"
    vm_id = f"{did}#{fragment}"
    document = copy.deepcopy(resolution.document)
    if _find_entry(document, vm_id) is not None:
        raise ConflictError(f"{vm_id} already exists", field="body.verificationMethodId")
    with node.store.write() as connection:
        key = node.vault.create(connection, vm_id) if node.vault.get(vm_id) is None else None
    key = key or node.vault.get(vm_id)
    assert key is not None  # noqa: S101 - created just above
    method = jwk_method(vm_id, did, key.public_key)
    document.setdefault(relationship, []).append(method)
    await node.execute(
        DID_UPDATE, caller, {"did": did, "document": document, "version": resolution.version}
    )
    return method


def jwk_method(vm_id: str, controller: str, public_key: Ed25519PublicKey) -> dict[str, JSONValue]:
    """A JsonWebKey verification method with the key's RFC 7638 thumbprint as kid."""
    return {
        "id": vm_id,
        "controller": controller,
        "type": "JsonWebKey",
        "publicKeyJwk": jwk_from_public_key(public_key),
    }


async def remove_entry(node: Node, caller: str, did: str, reference: str, kind: str) -> None:
    """Remove a verification method (from every relationship) or a service."""
    field = f"path.{'verificationMethodId' if kind == 'method' else 'serviceId'}"
    entry_id = method_id(did, reference, field)
    resolution = controlled(node, caller, did)
    document = copy.deepcopy(resolution.document)
    members = (
        (*KEY_RELATIONSHIPS, "keyAgreement", "verificationMethod")
        if kind == "method"
        else ("service",)
    )
    if entry_id == f"{did}#revocation":
        raise ForbiddenError("the revocation status list cannot be removed", field=field)
    found = False
    for name in members:
        entries = document.get(name)
        if not isinstance(entries, list):
            continue
        kept = [entry for entry in entries if _entry_id(entry, did) != entry_id]
        found = found or len(kept) != len(entries)
        if kept:
            document[name] = kept
        else:
            del document[name]
    if not found:
        raise NotFoundError(
            f"{did} has no {'verification method' if kind == 'method' else 'service'} {entry_id}",
            field=field,
        )
    await node.execute(
        DID_UPDATE, caller, {"did": did, "document": document, "version": resolution.version}
    )


async def add_service(
    node: Node, caller: str, did: str, reference: str, service_type: str, endpoint: str
) -> dict[str, JSONValue]:
    """Add a service entry to a DID document."""
    service_id = method_id(did, reference, "body.serviceId")
    resolution = controlled(node, caller, did)
    document = copy.deepcopy(resolution.document)
    if _find_entry(document, service_id) is not None:
        raise ConflictError(f"{service_id} already exists", field="body.serviceId")
    service: dict[str, JSONValue] = {
        "id": service_id,
        "type": service_type,
        "serviceEndpoint": endpoint,
    }
    document.setdefault("service", []).append(service)
    await node.execute(
        DID_UPDATE, caller, {"did": did, "document": document, "version": resolution.version}
    )
    return service


async def deactivate(node: Node, caller: str, did: str) -> None:
    """Deactivate a DID for good (DELETE /identity/{identity})."""
    controlled(node, caller, did)
    await node.execute(DID_DEACTIVATE, caller, {"did": did})


def _entry_id(entry: object, did: str) -> str | None:
    value = entry.get("id") if isinstance(entry, dict) else entry
    if not isinstance(value, str):
        return None
    return f"{did}{value}" if value.startswith("#") else value


def _find_entry(document: dict[str, Any], entry_id: str) -> object | None:
    did = str(document.get("id"))
    for name in (*VERIFICATION_RELATIONSHIPS, "verificationMethod", "service"):
        entries = document.get(name)
        if isinstance(entries, list):
            for entry in entries:
                if _entry_id(entry, did) == entry_id:
                    found: object = entry
                    return found
    return None
