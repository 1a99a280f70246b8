"""Route presence, checked first: the node serves each operation of the profiles it claims.

One check per operation, with a request that a node serving the operation cannot answer 404:
no token for a secured operation (which must be 401), an empty body for a public write (which
must be refused as such), a did:key for resolution (which resolves from the DID alone). When
that still answers 404, a PATCH to the same path tells a missing route (404 again) from a
served path whose resource is missing (405: a node that ignores the missing token, say, which
the auth checks report). A missing route fails TWIN-CORE-070 for that operation once, and
every later request of the run to the operation is blocked by this check instead of being
charged to the auth requirement or to whatever the later check tests (spec/prose/suite.md,
SUITE-013). Operations with no such request (a public read of a resource by id) have no
presence check.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from twin_conformance._client import TwinClient, fail
from twin_conformance._contract import Operation, load_contract
from twin_conformance._run import TwinState
from twin_conformance.checks._support import PLACEHOLDERS, harness_key
from twin_spec import did_key_from_public_key

REQUIREMENT = "TWIN-CORE-070"
PURE_POSTS = {"identityProofVerify", "consensusEvaluate", "authenticationLogin"}
"""Public POSTs that change nothing (login makes a session, never a ledger write)."""


def _probe(operation: Operation) -> tuple[str, bool] | None:
    """The path to probe and whether the probe writes nothing; None when no probe is sure."""
    if operation.operation_id == "identityResolve":
        return "/identity/{did-key}", True
    has_parameters = "{" in operation.template
    path = re.sub(
        r"\{([^}]+)\}",
        lambda match: PLACEHOLDERS.get(match.group(1), "x"),
        operation.template,
    )
    if operation.secured:
        return path, False
    if has_parameters:
        return None
    read_only = operation.method == "GET" or operation.operation_id in PURE_POSTS
    return path, read_only


def _operations() -> list[Any]:
    params = []
    for operation in load_contract().operations:
        probe = _probe(operation)
        if probe is None:
            continue
        marks = [pytest.mark.twin_profile(operation.profile)]
        if probe[1]:
            marks.append(pytest.mark.twin_read_only)
        params.append(pytest.param(operation, probe[0], id=operation.operation_id, marks=marks))
    return params


@pytest.mark.twin_requirement("TWIN-CORE-070")
@pytest.mark.parametrize(("operation", "path"), _operations())
def test_the_node_serves_the_operation(
    twin: TwinClient, twin_state: TwinState, operation: Operation, path: str
) -> None:
    if path == "/identity/{did-key}":
        did = did_key_from_public_key(harness_key(twin_state, "routes").public_key)
        path = f"/identity/{did}"
    method = operation.method
    body = b"{}" if method in ("POST", "PUT") else None
    headers = {"content-type": "application/json"} if body is not None else {}
    exchange = twin.request(
        method,
        path,
        content=body,
        headers=headers,
        auth=False,
        expect_rejection=True,
        validate=False,
    )
    if exchange.status == 405:
        # The path is served, but not this operation's method.
        _absent(twin_state, operation, f"{method} {path} answered 405")
    if exchange.status == 404:
        # PATCH is no operation of the document: a served path answers 405 (its Allow naming
        # the path's methods), a missing one 404.
        other = twin.request("PATCH", path, auth=False, expect_rejection=True, validate=False)
        allowed = {part.strip().upper() for part in other.headers.get("allow", "").split(",")}
        if other.status == 405 and (method in allowed or not other.headers.get("allow")):
            return
        _absent(twin_state, operation, f"{method} {path} answered 404")


def _absent(twin_state: TwinState, operation: Operation, answer: str) -> None:
    """Record the operation as absent (later requests to it are blocked) and fail once."""
    twin_state.absent[operation.operation_id] = twin_state.current
    fail(
        REQUIREMENT,
        f"the node does not serve {operation.operation_id} ({operation.method} "
        f"{operation.template}) of the {operation.profile} profile it claims: {answer}",
    )
