"""Anchoring routes: immutable proofs, verifiable storage, and the committee that certifies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_reference import _anchoring
from twin_reference._http import json_response, member
from twin_reference._routes_core import authenticate, node_of, request_body
from twin_reference._write_routes import idempotent


def _id(request: Request) -> str:
    value = request.path_params["id"]
    assert isinstance(value, str)  # noqa: S101 - Starlette's default converter gives str
    return value


@idempotent
async def create_immutable_proof(request: Request) -> Response:
    """POST /immutable-proof: 201 with the proof's id in Location, once it is committed."""
    caller = authenticate(request)
    node = node_of(request)
    body = await request_body(request, allowed={"document"}, required={"document"})
    document = member(body, "document", dict, "a JSON object")
    proof_id = await _anchoring.create_immutable_proof(node, caller, document)
    return Response(status_code=201, headers={"location": proof_id})


async def get_immutable_proof(request: Request) -> Response:
    """GET /immutable-proof/{id}: the signed ImmutableProof and its receipt."""
    authenticate(request)
    return json_response(_anchoring.get_immutable_proof(node_of(request), _id(request)))


async def verify_immutable_proof(request: Request) -> Response:
    """GET /immutable-proof/{id}/verify."""
    authenticate(request)
    return json_response(_anchoring.verify_immutable_proof(node_of(request), _id(request)))


@idempotent
async def create_item(request: Request) -> Response:
    """POST /verifiable: 201 with the id in Location and the receipt in the body."""
    caller = authenticate(request)
    node = node_of(request)
    body = await request_body(request, allowed={"data", "allowList"}, required={"data"})
    result = await _anchoring.create_item(node, caller, body)
    return json_response(result, 201, headers={"location": str(result["id"])})


async def get_item(request: Request) -> Response:
    """GET /verifiable/{id}."""
    authenticate(request)
    return json_response(_anchoring.get_item(node_of(request), _id(request)))


@idempotent
async def update_item(request: Request) -> Response:
    """PUT /verifiable/{id}: new data, answered with the new receipt."""
    caller = authenticate(request)
    node = node_of(request)
    body = await request_body(request, allowed={"data", "allowList"}, required={"data"})
    return json_response(await _anchoring.update_item(node, caller, _id(request), body))


@idempotent
async def remove_item(request: Request) -> Response:
    """DELETE /verifiable/{id}."""
    caller = authenticate(request)
    await _anchoring.remove_item(node_of(request), caller, _id(request))
    return Response(status_code=204)


async def committee(request: Request) -> Response:
    """GET /consensus/committee: the keys that verify every receipt this ledger issues."""
    return json_response(node_of(request).committee.to_json())


ROUTES = [
    Route("/immutable-proof", create_immutable_proof, methods=["POST"]),
    Route("/immutable-proof/{id}", get_immutable_proof, methods=["GET"]),
    Route("/immutable-proof/{id}/verify", verify_immutable_proof, methods=["GET"]),
    Route("/verifiable", create_item, methods=["POST"]),
    Route("/verifiable/{id}", get_item, methods=["GET"]),
    Route("/verifiable/{id}", update_item, methods=["PUT"]),
    Route("/verifiable/{id}", remove_item, methods=["DELETE"]),
    Route("/consensus/committee", committee, methods=["GET"]),
]
