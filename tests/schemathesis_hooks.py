"""Schemathesis hooks for fuzzing a TWIN node: read DID resolution results as JSON.

``application/did-resolution`` is not a ``+json`` media type, so schemathesis would skip
validating those responses; this hook makes it parse them. Load it with
``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.deserializer("application/did-resolution")
def did_resolution(ctx: Any, response: Any) -> Any:
    """Parse a DID resolution result (JSON) for response validation."""
    return json.loads(response.content)
