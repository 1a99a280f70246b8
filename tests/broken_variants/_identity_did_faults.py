"""Faults of the identity profile's DIDs: syntax, did:key, resolution, documents, control.

Most are ASGI rules around the resolution and write routes; a few are patches of the node's
own status-list code, so that what it stores and what it answers stay consistent.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from typing import Any

from tests.broken_variants._asgi import (
    Context,
    HttpRequest,
    HttpResponse,
    rule,
    with_json,
)
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import rebind
from twin_spec import decode_status_list

DID_RESOLUTION = "application/did-resolution"
IDENTITY = "/identity/(?P<did>did:[^/]+)"
DID_KEY_KEY_CODES = {"unsupportedPublicKeyType", "invalidPublicKeyLength", "invalidPublicKey"}


def _document_of(body: object) -> dict[str, Any] | None:
    """The DID document of a resolution answer body, plain or inside a resolution result."""
    if not isinstance(body, dict):
        return None
    document = body.get("didDocument", body) if "didResolutionMetadata" in body else body
    return document if isinstance(document, dict) else None


def _with_document(body: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """The answer body with ``document`` put back where it came from."""
    return {**body, "didDocument": document} if "didResolutionMetadata" in body else document


def _set_code(body: dict[str, Any], code: str) -> dict[str, Any]:
    """An error answer (TWIN error or resolution result) with its DID error code replaced."""
    if isinstance(body.get("didResolutionMetadata"), dict):
        return {**body, "didResolutionMetadata": {**body["didResolutionMetadata"], "error": code}}
    properties = body.get("properties")
    kept = properties if isinstance(properties, dict) else {}
    return {**body, "properties": {**kept, "code": code}}


def _code_of(body: object) -> object:
    if not isinstance(body, dict):
        return None
    metadata = body.get("didResolutionMetadata")
    if isinstance(metadata, dict):
        return metadata.get("error")
    properties = body.get("properties")
    return properties.get("code") if isinstance(properties, dict) else None


async def method_case_folded(request: HttpRequest, context: Context) -> HttpResponse:
    """Resolve a DID whose method name has capitals as if it were written in lower case."""
    match = re.fullmatch(r"/identity/did:([^:/]+)(:.*)", request.path)
    if match and match.group(1) != match.group(1).lower() and match.group(1).isalnum():
        folded = f"/identity/did:{match.group(1).lower()}{match.group(2)}"
        return await context.forward(
            HttpRequest(request.method, folded, request.query, request.headers)
        )
    return await context.forward(request)


async def did_key_codes_collapsed(request: HttpRequest, context: Context) -> HttpResponse:
    """Refuse every bad did:key as invalidDid, whatever is wrong with its key."""
    response = await context.forward(request)
    body = response.json()
    if response.status == 400 and _code_of(body) in DID_KEY_KEY_CODES and isinstance(body, dict):
        return with_json(response, _set_code(body, "invalidDid"))
    return response


async def did_key_without_delegation(request: HttpRequest, context: Context) -> HttpResponse:
    """Resolve a did:key without its capabilityDelegation relationship."""
    response = await context.forward(request)
    body = response.json()
    document = _document_of(body)
    if (
        response.status != 200
        or document is None
        or not request.params["did"].startswith("did:key:")
    ):
        return response
    document.pop("capabilityDelegation", None)
    assert isinstance(body, dict)
    return with_json(response, _with_document(body, document))


async def node_document_long_x(request: HttpRequest, context: Context) -> HttpResponse:
    """Publish the node's own keys with a stray zero byte after the 32 key bytes of x."""
    response = await context.forward(request)
    body = response.json()
    document = _document_of(body)
    info = context.memory.get("node-did")
    if info is None:
        answer = await context.forward(HttpRequest("GET", "/info"))
        info = context.memory["node-did"] = str((answer.json() or {}).get("nodeIdentity"))
    if response.status != 200 or document is None or request.params["did"] != info:
        return response
    for name in ("verificationMethod", "assertionMethod", "authentication"):
        for entry in document.get(name, []):
            jwk = entry.get("publicKeyJwk") if isinstance(entry, dict) else None
            if isinstance(jwk, dict) and isinstance(jwk.get("x"), str):
                raw = base64.urlsafe_b64decode(jwk["x"] + "==") + b"\x00"
                jwk["x"] = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    assert isinstance(body, dict)
    return with_json(response, _with_document(body, document))


def _thumbprint_in_wrong_order(jwk: dict[str, Any]) -> str:
    """The RFC 7638 thumbprint computed over kty, crv, x in that order (not crv, kty, x)."""
    text = json.dumps({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"]}, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def kid_in_wrong_member_order(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a new verification method with a kid hashed over its members in the wrong order."""
    response = await context.forward(request)
    body = response.json()
    jwk = body.get("publicKeyJwk") if isinstance(body, dict) else None
    if response.status != 200 or not isinstance(jwk, dict):
        return response
    jwk["kid"] = _thumbprint_in_wrong_order(jwk)
    return with_json(response, body)


async def relationship_not_array(request: HttpRequest, context: Context) -> HttpResponse:
    """Resolve a did:twin with each one-entry verification relationship as a bare entry."""
    response = await context.forward(request)
    body = response.json()
    document = _document_of(body)
    if (
        response.status != 200
        or document is None
        or not request.params["did"].startswith("did:twin:")
    ):
        return response
    for name in ("authentication", "assertionMethod"):
        entries = document.get(name)
        if isinstance(entries, list) and len(entries) == 1:
            document[name] = entries[0]
    assert isinstance(body, dict)
    return with_json(response, _with_document(body, document))


async def did_twin_hex_case_folded(request: HttpRequest, context: Context) -> HttpResponse:
    """Resolve a did:twin written with capital hex digits as if it were in lower case."""
    did = request.params["did"]
    if did.startswith("did:twin:0x") and did != did.lower():
        return await context.forward(
            HttpRequest(request.method, f"/identity/{did.lower()}", request.query, request.headers)
        )
    return await context.forward(request)


async def other_method_write_invalid_did(request: HttpRequest, context: Context) -> HttpResponse:
    """Refuse a write to a DID of another method as invalidDid, not methodNotSupported."""
    response = await context.forward(request)
    body = response.json()
    if response.status == 400 and _code_of(body) == "methodNotSupported" and isinstance(body, dict):
        return with_json(response, _set_code(body, "invalidDid"))
    return response


def _status_list_in_bits(document: dict[str, Any]) -> None:
    """Shorten the #revocation list to 16384 bits (2048 bytes), as a bits-for-bytes slip does."""
    for service in document.get("service", []):
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#revocation"):
            bits = decode_status_list(str(service["serviceEndpoint"]))
            service["serviceEndpoint"] = _encode_short(bits[: len(bits) // 8])


def _encode_short(bits: bytes) -> str:
    """The status-list data URL of a list of any length (the spec's encoder wants 16384)."""
    data = base64.urlsafe_b64encode(gzip.compress(bits, mtime=0)).rstrip(b"=").decode("ascii")
    return "data:application/octet-stream;base64," + data


async def status_list_in_bits(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer did:twin documents whose status list holds 16384 bits instead of 16384 bytes."""
    response = await context.forward(request)
    body = response.json()
    document = _document_of(body)
    if (
        response.status != 200
        or document is None
        or not str(document.get("id")).startswith("did:twin:")
    ):
        return response
    _status_list_in_bits(document)
    assert isinstance(body, dict)
    return with_json(response, _with_document(body, document))


def patch_status_bits_lsb_first() -> None:
    """Make the node number status-list entries from the least significant bit of each byte."""
    from twin_reference import _proofs

    def bit(bits: bytes, index: int) -> bool:
        return bool(bits[index // 8] >> (index % 8) & 1)

    def with_bit(bits: bytes, index: int, value: bool) -> bytes:
        changed = bytearray(bits)
        if value:
            changed[index // 8] |= 1 << (index % 8)
        else:
            changed[index // 8] &= ~(1 << (index % 8)) & 0xFF
        return bytes(changed)

    rebind(_proofs, "status_bit", bit)
    rebind(_proofs, "with_status_bit", with_bit)


async def resolution_errors_as_plain_errors(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a failed resolution asked as a resolution result with the plain TWIN error."""
    response = await context.forward(request)
    wanted = DID_RESOLUTION in request.headers.get("accept", "")
    did = request.params["did"]
    if not wanted or response.status not in (400, 404, 501) or did.startswith("did:key:"):
        return response
    return await context.forward(request.with_headers(accept="application/json"))


async def method_not_supported_as_400(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer the resolution of a DID of an unsupported method 400 instead of 501 (plain JSON)."""
    response = await context.forward(request)
    if response.status == 501 and DID_RESOLUTION not in request.headers.get("accept", ""):
        return HttpResponse(400, response.headers, response.body)
    return response


async def duplicate_id_as_400(request: HttpRequest, context: Context) -> HttpResponse:
    """Refuse an id the document already has as a malformed request (400), not a conflict."""
    response = await context.forward(request)
    if response.status == 409:
        return HttpResponse(400, response.headers, response.body)
    return response


FAULTS = (
    fault(
        "did-method-case-folded",
        "identity",
        "TWIN-IDENTITY-001",
        "a DID whose method name has capitals (did:TWIN:...) resolves as the lower-case DID",
        rules=(rule("GET", IDENTITY, method_case_folded),),
    ),
    fault(
        "did-key-codes-collapsed",
        "identity",
        "TWIN-IDENTITY-003",
        "every bad did:key is refused as invalidDid, whatever is wrong with its key",
        rules=(rule("GET", "/identity/did:key:[^/]*", did_key_codes_collapsed),),
    ),
    fault(
        "did-key-without-delegation",
        "identity",
        "TWIN-IDENTITY-004",
        "a did:key resolves without its capabilityDelegation relationship",
        rules=(rule("GET", IDENTITY, did_key_without_delegation),),
    ),
    fault(
        "node-jwk-long-x",
        "identity",
        "TWIN-IDENTITY-010",
        "the node's own DID document publishes each JWK's x with a stray zero byte (33 bytes)",
        rules=(rule("GET", IDENTITY, node_document_long_x),),
    ),
    fault(
        "kid-thumbprint-wrong-order",
        "identity",
        "TWIN-IDENTITY-011",
        "a new verification method's kid hashes kty, crv, x in that order, not crv, kty, x",
        rules=(rule("POST", f"{IDENTITY}/verification-method", kid_in_wrong_member_order),),
    ),
    fault(
        "relationship-not-array",
        "identity",
        "TWIN-IDENTITY-014",
        "a did:twin resolves with each one-entry verification relationship as a bare entry",
        rules=(rule("GET", IDENTITY, relationship_not_array),),
    ),
    fault(
        "did-twin-hex-case-folded",
        "identity",
        "TWIN-IDENTITY-030",
        "a did:twin written with capital hex digits resolves as the lower-case DID",
        rules=(rule("GET", IDENTITY, did_twin_hex_case_folded),),
    ),
    fault(
        "other-method-write-invalid-did",
        "identity",
        "TWIN-IDENTITY-031",
        "a write to a DID of another method is refused as invalidDid, not methodNotSupported",
        rules=(rule("POST DELETE", f"{IDENTITY}(/.*)?", other_method_write_invalid_did),),
    ),
    fault(
        "status-list-in-bits",
        "identity",
        "TWIN-IDENTITY-050",
        "did:twin documents carry a status list of 16384 bits (2048 bytes), not 16384 bytes",
        rules=(
            rule("POST", "/identity", status_list_in_bits),
            rule("GET", IDENTITY, status_list_in_bits),
        ),
    ),
    fault(
        "status-bits-lsb-first",
        "identity",
        "TWIN-IDENTITY-051",
        "status-list entry i is bit (i mod 8) of its byte, counted from the least significant",
        patch=patch_status_bits_lsb_first,
    ),
    fault(
        "resolution-errors-as-plain-errors",
        "identity",
        "TWIN-IDENTITY-060",
        "a failed resolution asked as a resolution result (not of a did:key) is answered as "
        "a plain TWIN error in application/json",
        rules=(rule("GET", IDENTITY, resolution_errors_as_plain_errors),),
    ),
    fault(
        "method-not-supported-as-400",
        "identity",
        "TWIN-IDENTITY-061",
        "resolving a DID of an unsupported method answers 400, not 501 (as a plain document)",
        rules=(rule("GET", IDENTITY, method_not_supported_as_400),),
    ),
    fault(
        "duplicate-id-as-400",
        "identity",
        "TWIN-IDENTITY-063",
        "adding an id the document already has is refused 400, not 409",
        rules=(rule("POST", f"{IDENTITY}/(verification-method|service)", duplicate_id_as_400),),
    ),
)
