"""Identity routes for presentations and profiles (listed before the DID routes they shadow)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_reference import _presentations, _profiles
from twin_reference._errors import ValidationError
from twin_reference._http import json_response, member
from twin_reference._proofs import COMPACT_JWS
from twin_reference._routes_core import authenticate, node_of, request_body
from twin_reference._routes_identity import absolute_uri
from twin_reference._write_routes import idempotent
from twin_spec import DidError, parse_did

MAX_EXPIRY_MINUTES = 525600
MAX_BINDING = 256
_PAGE_SIZE = re.compile(r"[0-9]{1,3}\Z")


def _path(request: Request, name: str) -> str:
    value = request.path_params[name]
    assert isinstance(value, str)  # noqa: S101 - Starlette's default converter gives str
    return value


async def create_presentation(request: Request) -> Response:
    """POST /identity/{identity}/verifiable-presentation/{verificationMethodId}."""
    caller = authenticate(request)
    body = await request_body(
        request,
        allowed={
            "presentationId",
            "contexts",
            "types",
            "verifiableCredentials",
            "expiresInMinutes",
            "challenge",
            "domain",
        },
        required={"verifiableCredentials"},
    )
    credentials = member(body, "verifiableCredentials", list, "an array of credential JWTs")
    if not 1 <= len(credentials) <= _presentations.MAX_CREDENTIALS or not all(
        isinstance(item, str) and COMPACT_JWS.match(item) for item in credentials
    ):
        raise ValidationError(
            f"body.verifiableCredentials must be 1 to {_presentations.MAX_CREDENTIALS}"
            " credential JWTs (compact JWS strings)",
            field="body.verifiableCredentials",
        )
    if "presentationId" in body:
        absolute_uri(body, "presentationId")
    for name, limit in (("contexts", 2048), ("types", 256)):
        values = body.get(name, [])
        if (
            not isinstance(values, list)
            or len(values) > 16
            or not all(isinstance(value, str) and 1 <= len(value) <= limit for value in values)
        ):
            raise ValidationError(
                f"body.{name} must be at most 16 strings of 1 to {limit} characters",
                field=f"body.{name}",
            )
    for name in ("challenge", "domain"):
        if name in body:
            _binding(body[name], f"body.{name}")
    expiry = body.get("expiresInMinutes")
    if isinstance(expiry, float) and expiry.is_integer():
        # JSON Schema counts 10.0 as an integer; so does the node.
        expiry = body["expiresInMinutes"] = int(expiry)
    if expiry is not None and (
        not isinstance(expiry, int)
        or isinstance(expiry, bool)
        or not 1 <= expiry <= MAX_EXPIRY_MINUTES
    ):
        raise ValidationError(
            f"body.expiresInMinutes must be an integer from 1 to {MAX_EXPIRY_MINUTES}",
            field="body.expiresInMinutes",
        )
    result = _presentations.create_presentation(
        node_of(request),
        caller,
        _path(request, "identity"),
        _path(request, "verificationMethodId"),
        body,
    )
    return json_response(result)


async def verify_presentation(request: Request) -> Response:
    """GET /identity/verifiable-presentation/verify?jwt=..., with challenge and domain if asked."""
    query = request.query_params
    token = query.get("jwt")
    if not token:
        raise ValidationError("query.jwt is required", field="query.jwt")
    binding = {
        name: _binding(query[name], f"query.{name}")
        for name in ("challenge", "domain")
        if name in query
    }
    return json_response(_presentations.verify_presentation(node_of(request), token, **binding))


def _binding(value: object, field: str) -> str:
    """A challenge or domain (TWIN-IDENTITY-076): a string of 1 to 256 characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_BINDING:
        raise ValidationError(
            f"{field} must be a string of 1 to {MAX_BINDING} characters", field=field
        )
    return value


def _profile_parts(body: dict[str, Any]) -> dict[str, Any]:
    """The profile parts a body gives, each a JSON object: ``null`` is no part, but malformed."""
    for name, value in body.items():
        if not isinstance(value, dict):
            # TWIN-CORE-052 "400 for a malformed request (with properties.field naming the
            # part)": the schema's JsonLdObject is an object; an absent part is left out.
            raise ValidationError(f"body.{name} must be a JSON object", field=f"body.{name}")
    return body


@idempotent
async def create_profile(request: Request) -> Response:
    """POST /identity/profile: the caller's profile."""
    caller = authenticate(request)
    body = _profile_parts(
        await request_body(request, allowed={"publicProfile", "privateProfile"}, required=set())
    )
    await _profiles.create_profile(node_of(request), caller, body)
    return Response(status_code=204)


async def get_profile(request: Request) -> Response:
    """GET /identity/profile: the caller's own profile, both parts."""
    caller = authenticate(request)
    query = request.query_params
    public = _profiles.property_names(query.get("publicPropertyNames"), "query.publicPropertyNames")
    private = _profiles.property_names(
        query.get("privatePropertyNames"), "query.privatePropertyNames"
    )
    return json_response(_profiles.get_profile(node_of(request), caller, public, private))


@idempotent
async def update_profile(request: Request) -> Response:
    """PUT /identity/profile: replace the parts given."""
    caller = authenticate(request)
    body = _profile_parts(
        await request_body(request, allowed={"publicProfile", "privateProfile"}, required=set())
    )
    if not body:
        raise ValidationError(
            "the body must give publicProfile, privateProfile or both", field="body"
        )
    await _profiles.update_profile(node_of(request), caller, body)
    return Response(status_code=204)


@idempotent
async def remove_profile(request: Request) -> Response:
    """DELETE /identity/profile."""
    caller = authenticate(request)
    await _profiles.remove_profile(node_of(request), caller)
    return Response(status_code=204)


async def get_public_profile(request: Request) -> Response:
    """GET /identity/profile/{identity}/public: anyone may read it."""
    identity = _path(request, "identity")
    try:
        parse_did(identity)
    except DidError as exc:
        raise ValidationError(exc.message, field="path.identity", code=exc.code.value) from None
    names = _profiles.property_names(
        request.query_params.get("propertyNames"), "query.propertyNames"
    )
    public = _profiles.get_public(node_of(request), identity, names)
    return json_response(public, media_type="application/ld+json")


async def query_profiles(request: Request) -> Response:
    """GET /identity/profile/query: public profiles, paged."""
    authenticate(request)
    query = request.query_params
    size_text = query.get("pageSize", str(_profiles.DEFAULT_PAGE))
    if not _PAGE_SIZE.match(size_text) or not 1 <= int(size_text) <= _profiles.MAX_PAGE:
        raise ValidationError(
            f"query.pageSize must be an integer from 1 to {_profiles.MAX_PAGE}",
            field="query.pageSize",
        )
    cursor = query.get("cursor")
    if cursor is not None and not 1 <= len(cursor) <= 512:
        raise ValidationError("query.cursor must be 1 to 512 characters", field="query.cursor")
    filters: list[tuple[str, str]] = []
    text = query.get("publicFilters")
    if text is not None:
        if len(text) > 2048:
            raise ValidationError("query.publicFilters is too long", field="query.publicFilters")
        for pair in text.split(","):
            name, colon, value = pair.partition(":")
            if not colon or not _profiles.FILTER_NAME.match(name):
                raise ValidationError(
                    "query.publicFilters must be name:value pairs, comma-separated",
                    field="query.publicFilters",
                )
            filters.append((name, value))
    names = _profiles.property_names(query.get("publicPropertyNames"), "query.publicPropertyNames")
    page = _profiles.query_profiles(node_of(request), filters, names, cursor, int(size_text))
    return json_response(page)


ROUTES = [
    Route("/identity/verifiable-presentation/verify", verify_presentation, methods=["GET"]),
    Route(
        "/identity/{identity}/verifiable-presentation/{verificationMethodId}",
        create_presentation,
        methods=["POST"],
    ),
    Route("/identity/profile/query", query_profiles, methods=["GET"]),
    Route("/identity/profile/{identity}/public", get_public_profile, methods=["GET"]),
    Route("/identity/profile", create_profile, methods=["POST"]),
    Route("/identity/profile", get_profile, methods=["GET"]),
    Route("/identity/profile", update_profile, methods=["PUT"]),
    Route("/identity/profile", remove_profile, methods=["DELETE"]),
]
