"""spec/prose/routes.md, the TWIN node's route table and the OpenAPI document agree.

Every route the TWIN node 0.0.2 registers has one row: specified (the OpenAPI document has the
operation, under that profile and operationId, at the route or at its corrected form) or out
of scope with a reason (and then the OpenAPI document
does not have it). Every operation of the OpenAPI document is in one of the two tables.
"""

from __future__ import annotations

import re

from tests.support import PROSE_DIR, load_openapi, upstream_file

ROUTES_MD = PROSE_DIR / "routes.md"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
ROUTE_COUNT = 104
# The 0.0.2 routes the spec specifies with the signing method in the path (the 0.9 form).
CORRECTED = {
    ("POST", "/identity/{identity}/proof"): "/identity/{identity}/proof/{verificationMethodId}",
    ("POST", "/identity/{identity}/verifiable-credential"): (
        "/identity/{identity}/verifiable-credential/{verificationMethodId}"
    ),
    ("POST", "/identity/{identity}/verifiable-presentation"): (
        "/identity/{identity}/verifiable-presentation/{verificationMethodId}"
    ),
}


def _tables() -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The rows of the node's table and of the spec-only table."""
    text = ROUTES_MD.read_text(encoding="utf-8")
    node_part, _, spec_part = text.partition("## Routes of the spec that")
    return _rows(node_part), _rows(spec_part)


def _rows(text: str) -> list[tuple[str, ...]]:
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith(("| method", "|---")):
            continue
        rows.append(tuple(cell.strip().strip("`") for cell in line.strip().strip("|").split("|")))
    return rows


def _node_routes() -> list[tuple[str, str, str]]:
    """(method, route, upstream operationId or '') of every live route of the TWIN node."""
    routes = []
    text = upstream_file("route-table-live.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        operation = parts[3] if len(parts) > 3 else ""
        routes.append((parts[0], parts[1], operation))
    return routes


def _operations() -> dict[tuple[str, str], dict[str, object]]:
    return {
        (method.upper(), path): operation
        for path, item in load_openapi()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def _openapi_path(route: str) -> str:
    return re.sub(r":(\w+)", r"{\1}", route)


def test_the_table_lists_every_route_of_the_node_once() -> None:
    node_rows, _spec_rows = _tables()
    routes = _node_routes()
    assert len(routes) == ROUTE_COUNT
    assert len(node_rows) == ROUTE_COUNT, f"routes.md lists {len(node_rows)} routes"
    listed = [(row[0], row[1]) for row in node_rows]
    assert len(set(listed)) == len(listed), "a route is listed twice"
    assert set(listed) == {(method, route) for method, route, _ in routes}


def test_each_row_is_specified_documents_or_out_of_scope_with_a_reason() -> None:
    operations = _operations()
    node_rows, _spec_rows = _tables()
    upstream = {(method, route): operation for method, route, operation in _node_routes()}
    for method, route, status, profile, operation_id, note in node_rows:
        path = _openapi_path(route)
        path = CORRECTED.get((method, path), path)
        if status == "specified":
            operation = operations.get((method, path))
            assert operation is not None, f"{method} {route}: the OpenAPI document lacks {path}"
            assert operation["operationId"] == operation_id, (method, route)
            assert operation["x-twin-profile"] == profile, (method, route)
            if upstream[(method, route)] not in ("", "?"):
                assert upstream[(method, route)] == operation_id, (method, route)
        else:
            assert status == "out of scope", (method, route, status)
            assert len(note) > 20, f"{method} {route}: out of scope needs its one-line reason"
            assert (method, path) not in operations, f"{method} {route} is specified after all"


def test_every_operation_of_the_openapi_document_is_in_a_table() -> None:
    node_rows, spec_rows = _tables()
    in_node_table = {row[4] for row in node_rows if row[2] == "specified"}
    spec_only = {(row[0], row[1]): row for row in spec_rows}
    for (method, path), operation in _operations().items():
        if operation["operationId"] in in_node_table:
            continue
        row = spec_only.get((method, path))
        assert row is not None, f"{method} {path} ({operation['operationId']}) is in no table"
        assert row[2] == operation["x-twin-profile"], (method, path)
        assert row[3] == operation["operationId"], (method, path)
    assert not [route for route in spec_only if route not in _operations()], (
        "the spec-only table lists a route the OpenAPI document lacks"
    )
