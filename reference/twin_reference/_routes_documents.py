"""Document routes: create, update (a new revision), get, get a revision, query, remove."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_reference import _documents
from twin_reference._http import json_response
from twin_reference._routes_core import authenticate, node_of, request_body
from twin_reference._write_routes import idempotent


def _graph_id(request: Request) -> str:
    return _documents.graph_id_of(str(request.path_params["auditableItemGraphDocumentId"]))


def _revision(request: Request) -> int:
    return _documents.revision_of(str(request.path_params["revision"]))


@idempotent
async def create_document(request: Request) -> Response:
    """POST /documents: 201 with the document's id in Location, once revision 0 is committed."""
    caller = authenticate(request)
    body = await request_body(
        request,
        allowed=_documents.CREATE_MEMBERS,
        required={"documentId", "documentCode", "blob"},
    )
    graph_id = await _documents.create_document(node_of(request), caller, body)
    return Response(status_code=201, headers={"location": graph_id})


async def query_documents(request: Request) -> Response:
    """GET /documents?documentId=...: the latest revision of each matching document."""
    authenticate(request)
    return json_response(_documents.query_documents(node_of(request), request.query_params))


@idempotent
async def update_document(request: Request) -> Response:
    """PUT /documents/{id}: a new revision, 204 once it is committed."""
    caller = authenticate(request)
    graph_id = _graph_id(request)
    body = await request_body(request, allowed=_documents.UPDATE_MEMBERS, required={"blob"})
    await _documents.update_document(node_of(request), caller, graph_id, body)
    return Response(status_code=204)


async def get_document(request: Request) -> Response:
    """GET /documents/{id}: the revisions, newest first."""
    authenticate(request)
    graph_id = _graph_id(request)
    return json_response(_documents.get_document(node_of(request), graph_id, request.query_params))


async def get_revision(request: Request) -> Response:
    """GET /documents/{id}/{revision}: one revision (410 for erased content)."""
    authenticate(request)
    graph_id, revision = _graph_id(request), _revision(request)
    return json_response(
        _documents.get_revision(node_of(request), graph_id, revision, request.query_params)
    )


@idempotent
async def remove_revision(request: Request) -> Response:
    """DELETE /documents/{id}/{revision}: erase the content, 204."""
    caller = authenticate(request)
    graph_id, revision = _graph_id(request), _revision(request)
    await _documents.remove_revision(node_of(request), caller, graph_id, revision)
    return Response(status_code=204)


ROUTES = [
    Route("/documents", create_document, methods=["POST"]),
    Route("/documents", query_documents, methods=["GET"]),
    Route("/documents/{auditableItemGraphDocumentId}", update_document, methods=["PUT"]),
    Route("/documents/{auditableItemGraphDocumentId}", get_document, methods=["GET"]),
    Route("/documents/{auditableItemGraphDocumentId}/{revision}", get_revision, methods=["GET"]),
    Route(
        "/documents/{auditableItemGraphDocumentId}/{revision}", remove_revision, methods=["DELETE"]
    ),
]
