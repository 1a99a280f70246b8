"""Identity routes: DIDs, verification methods, services, proofs and credentials."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_reference import _identity, _proofs
from twin_reference._errors import ApiError, ValidationError
from twin_reference._http import body_object, json_response, member, read_json
from twin_reference._routes_core import authenticate, node_of, request_body
from twin_reference._write_routes import idempotent
from twin_spec import STATUS_LIST_BITS, JSONValue

DID_RESOLUTION = "application/did-resolution"
MAX_SERVICE_TYPE = 256
MAX_URI = 2048
ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+\Z")
UTC_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z\Z")


def absolute_uri(body: dict[str, object], name: str) -> str:
    """Return ``body[name]`` if it is an absolute URI of at most 2048 characters."""
    value = member(body, name, str, "an absolute URI")
    if len(value) > MAX_URI or not ABSOLUTE_URI.match(value):
        raise ValidationError(
            f"body.{name} must be an absolute URI of at most {MAX_URI} characters",
            field=f"body.{name}",
        )
    return value


def _path(request: Request, name: str) -> str:
    value = request.path_params[name]
    assert isinstance(value, str)  # noqa: S101 - Starlette's default converter gives str
    return value


@idempotent
async def create_identity(request: Request) -> Response:
    """POST /identity: a new did:twin controlled by the caller."""
    caller = authenticate(request)
    node = node_of(request)
    body = await read_json(request, node.settings.body_limit, optional=True)
    body_object(body, allowed=set(), required=set())
    return json_response(await _identity.create_identity(node, caller))


def _wants_resolution_result(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == DID_RESOLUTION for part in accept.split(","))


async def resolve_identity(request: Request) -> Response:
    """GET /identity/{identity}: the DID document, or the W3C resolution result."""
    node = node_of(request)
    did = _path(request, "identity")
    if not _wants_resolution_result(request):
        resolution = _identity.resolve_active(node, did)
        return json_response(resolution.document)
    # TWIN-IDENTITY-060 "With Accept: application/did-resolution a node MUST answer the DID
    # Resolution result (didDocument, didResolutionMetadata, didDocumentMetadata) for every
    # outcome, with its error code in didResolutionMetadata.error."
    try:
        resolution = _identity.resolve(node, did)
    except ApiError as error:
        code = error.properties.get("code", "invalidDid")
        result: dict[str, JSONValue] = {
            "didDocument": None,
            "didResolutionMetadata": {"error": code, "errorMessage": error.message},
            "didDocumentMetadata": {},
        }
        return json_response(result, error.status, media_type=DID_RESOLUTION)
    metadata: dict[str, JSONValue] = dict(resolution.metadata)
    if resolution.deactivated:
        result = {
            "didDocument": None,
            "didResolutionMetadata": {"contentType": "application/did+json"},
            "didDocumentMetadata": metadata,
        }
        return json_response(result, 410, media_type=DID_RESOLUTION)
    result = {
        "didDocument": resolution.document,
        "didResolutionMetadata": {"contentType": "application/did+json"},
        "didDocumentMetadata": metadata,
    }
    return json_response(result, media_type=DID_RESOLUTION)


@idempotent
async def deactivate_identity(request: Request) -> Response:
    """DELETE /identity/{identity}: deactivate for good."""
    caller = authenticate(request)
    await _identity.deactivate(node_of(request), caller, _path(request, "identity"))
    return Response(status_code=204)


@idempotent
async def create_verification_method(request: Request) -> Response:
    """POST /identity/{identity}/verification-method: a new key in the vault, published."""
    caller = authenticate(request)
    node = node_of(request)
    body = await request_body(
        request,
        allowed={"verificationMethodType", "verificationMethodId"},
        required={"verificationMethodType"},
    )
    relationship = member(body, "verificationMethodType", str, "a verification relationship")
    if relationship not in _identity.KEY_RELATIONSHIPS:
        raise ValidationError(
            f"body.verificationMethodType must be one of {', '.join(_identity.KEY_RELATIONSHIPS)}",
            field="body.verificationMethodType",
        )
    fragment = body.get("verificationMethodId")
    if fragment is not None and (
        not isinstance(fragment, str) or not _identity.FRAGMENT.match(fragment)
    ):
        raise ValidationError(
            "body.verificationMethodId must be a fragment of 1 to 64 letters, digits,"
            " '.', '_' or '-'",
            field="body.verificationMethodId",
        )
    method = await _identity.add_verification_method(
        node, caller, _path(request, "identity"), relationship, fragment
    )
    return json_response(method)


@idempotent
async def remove_verification_method(request: Request) -> Response:
    """DELETE /identity/{identity}/verification-method/{verificationMethodId}."""
    caller = authenticate(request)
    await _identity.remove_entry(
        node_of(request),
        caller,
        _path(request, "identity"),
        _path(request, "verificationMethodId"),
        "method",
    )
    return Response(status_code=204)


@idempotent
async def create_service(request: Request) -> Response:
    """POST /identity/{identity}/service."""
    caller = authenticate(request)
    node = node_of(request)
    body = await request_body(
        request,
        allowed={"serviceId", "type", "endpoint"},
        required={"serviceId", "type", "endpoint"},
    )
    service_type = member(body, "type", str, "a string")
    if not 1 <= len(service_type) <= MAX_SERVICE_TYPE:
        raise ValidationError(
            f"body.type must be 1 to {MAX_SERVICE_TYPE} characters", field="body.type"
        )
    service = await _identity.add_service(
        node,
        caller,
        _path(request, "identity"),
        member(body, "serviceId", str, "a DID URL or a fragment"),
        service_type,
        absolute_uri(body, "endpoint"),
    )
    return json_response(service)


@idempotent
async def remove_service(request: Request) -> Response:
    """DELETE /identity/{identity}/service/{serviceId}."""
    caller = authenticate(request)
    await _identity.remove_entry(
        node_of(request), caller, _path(request, "identity"), _path(request, "serviceId"), "service"
    )
    return Response(status_code=204)


async def create_proof(request: Request) -> Response:
    """POST /identity/{identity}/proof/{verificationMethodId}: an eddsa-jcs-2022 proof."""
    caller = authenticate(request)
    node = node_of(request)
    body = await request_body(
        request, allowed={"proofType", "document"}, required={"proofType", "document"}
    )
    if body["proofType"] != "DataIntegrityProof":
        raise ValidationError("body.proofType must be DataIntegrityProof", field="body.proofType")
    document = member(body, "document", dict, "a JSON object")
    proof = _proofs.create_proof(
        node, caller, _path(request, "identity"), _path(request, "verificationMethodId"), document
    )
    return json_response(proof)


async def verify_proof(request: Request) -> Response:
    """POST /identity/proof/verify: verify a document against a detached proof."""
    node = node_of(request)
    body = await request_body(
        request, allowed={"document", "proof"}, required={"document", "proof"}
    )
    document = member(body, "document", dict, "a JSON object")
    proof = member(body, "proof", dict, "a JSON object")
    if "proof" in document:
        raise ValidationError(
            "body.document must be the unsecured document; give its proof as body.proof",
            field="body.document.proof",
        )
    return json_response(_proofs.verify_document_proof(node, document, proof))


async def create_credential(request: Request) -> Response:
    """POST /identity/{identity}/verifiable-credential/{verificationMethodId}: a VC as JWT."""
    caller = authenticate(request)
    node = node_of(request)
    body = await request_body(
        request,
        allowed={"credentialId", "subject", "revocationIndex", "expirationDate"},
        required={"subject"},
    )
    member(body, "subject", dict, "a JSON object")
    if "credentialId" in body:
        absolute_uri(body, "credentialId")
    if "expirationDate" in body:
        expiry = member(body, "expirationDate", str, "an ISO 8601 date-time")
        if not UTC_DATE_TIME.match(expiry):
            raise ValidationError(
                "body.expirationDate must be a UTC date-time such as 2027-11-21T10:20:00.000Z",
                field="body.expirationDate",
            )
    if "revocationIndex" in body:
        _revocation_index(body["revocationIndex"], "body.revocationIndex")
    result = _proofs.create_credential(
        node, caller, _path(request, "identity"), _path(request, "verificationMethodId"), body
    )
    return json_response(result)


async def verify_credential(request: Request) -> Response:
    """GET /identity/verifiable-credential/verify?jwt=..."""
    token = request.query_params.get("jwt")
    if not token:
        raise ValidationError("query.jwt is required", field="query.jwt")
    return json_response(_proofs.verify_credential(node_of(request), token))


def _revocation_index(value: object, field: str) -> int:
    # A path of thousands of digits is refused as out of range, not handed to int() (which
    # refuses more than 4300 digits with an error no request may cause, TWIN-CORE-054).
    if isinstance(value, str) and value.isdigit() and value.isascii() and len(value) <= 16:
        value = int(value)
    # JSON Schema counts 5.0 as an integer; so does the node.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < STATUS_LIST_BITS:
        raise ValidationError(
            f"{field} must be an integer from 0 to {STATUS_LIST_BITS - 1}", field=field
        )
    return value


@idempotent
async def revoke(request: Request) -> Response:
    """GET /identity/{identity}/verifiable-credential/revoke/{revocationIndex}."""
    return await _set_revocation(request, revoked=True)


@idempotent
async def unrevoke(request: Request) -> Response:
    """GET /identity/{identity}/verifiable-credential/unrevoke/{revocationIndex}."""
    return await _set_revocation(request, revoked=False)


async def _set_revocation(request: Request, *, revoked: bool) -> Response:
    caller = authenticate(request)
    index = _revocation_index(_path(request, "revocationIndex"), "path.revocationIndex")
    await _proofs.set_revocation(
        node_of(request), caller, _path(request, "identity"), index, revoked
    )
    return Response(status_code=204)


ROUTES = [
    Route("/identity", create_identity, methods=["POST"]),
    Route("/identity/proof/verify", verify_proof, methods=["POST"]),
    Route("/identity/verifiable-credential/verify", verify_credential, methods=["GET"]),
    Route("/identity/{identity}", resolve_identity, methods=["GET"]),
    Route("/identity/{identity}", deactivate_identity, methods=["DELETE"]),
    Route("/identity/{identity}/verification-method", create_verification_method, methods=["POST"]),
    Route(
        "/identity/{identity}/verification-method/{verificationMethodId}",
        remove_verification_method,
        methods=["DELETE"],
    ),
    Route("/identity/{identity}/service", create_service, methods=["POST"]),
    Route("/identity/{identity}/service/{serviceId}", remove_service, methods=["DELETE"]),
    Route("/identity/{identity}/proof/{verificationMethodId}", create_proof, methods=["POST"]),
    Route(
        "/identity/{identity}/verifiable-credential/{verificationMethodId}",
        create_credential,
        methods=["POST"],
    ),
    Route(
        "/identity/{identity}/verifiable-credential/revoke/{revocationIndex}",
        revoke,
        methods=["GET"],
    ),
    Route(
        "/identity/{identity}/verifiable-credential/unrevoke/{revocationIndex}",
        unrevoke,
        methods=["GET"],
    ),
]
