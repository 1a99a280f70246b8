"""The TWIN reference node: a minimal but real TWIN node that defines the spec by example.

It serves the core, identity, anchoring and consensus profiles over HTTP (Starlette on
uvicorn), keeps its state in SQLite, and orders every state change through its ledger, so that
what it anchors can be proven offline to anyone holding the committee's public keys.
"""

from twin_reference._app import create_app
from twin_reference._cli import main
from twin_reference._node import Node, NodeSettings

__all__ = ["Node", "NodeSettings", "create_app", "main"]
