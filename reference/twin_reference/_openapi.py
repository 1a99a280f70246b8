"""The OpenAPI document the node serves at /spec, with its JSON Schemas bundled in.

The spec keeps its message schemas in separate files (``spec/schemas``) referred to by relative
``$ref``; a client of ``/spec`` cannot fetch those, so the node inlines each one under
``components/schemas`` and rewrites the references.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml


def spec_directory() -> Path:
    """The folder holding ``openapi/`` and ``schemas/``: in the source tree or the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_spec", here.parents[1] / "spec"):
        if (candidate / "openapi" / "twin.openapi.yaml").is_file():
            return candidate
    raise FileNotFoundError("the TWIN OpenAPI document is not installed beside twin_reference")


@functools.cache
def served_openapi() -> dict[str, Any]:
    """Load the OpenAPI document and bundle the schema files it refers to."""
    root = spec_directory()
    text = (root / "openapi" / "twin.openapi.yaml").read_text()
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    bundled: dict[str, str] = {}
    extra: dict[str, Any] = {}

    def component_for(path: Path) -> str:
        name = path.name.removesuffix(".schema.json")
        component = "".join(part.capitalize() for part in name.split("-")) + "Schema"
        if str(path) not in bundled:
            bundled[str(path)] = component
            schema = json.loads(path.read_text())
            schema.pop("$schema", None)
            extra[component] = rewrite(schema, path, component)
        return component

    def rewrite(node: object, base: Path, component: str | None) -> Any:  # noqa: ANN401
        if isinstance(node, dict):
            result = {key: rewrite(value, base, component) for key, value in node.items()}
            ref = node.get("$ref")
            if isinstance(ref, str):
                target, _, pointer = ref.partition("#")
                if target:
                    name = component_for((base.parent / target).resolve())
                    result["$ref"] = f"#/components/schemas/{name}{pointer}"
                elif component is not None:
                    result["$ref"] = f"#/components/schemas/{component}{pointer}"
            return result
        if isinstance(node, list):
            return [rewrite(value, base, component) for value in node]
        return node

    openapi_path = (root / "openapi" / "twin.openapi.yaml").resolve()
    served: dict[str, Any] = rewrite(document, openapi_path, None)
    served.setdefault("components", {}).setdefault("schemas", {}).update(extra)
    return copy.deepcopy(served)
