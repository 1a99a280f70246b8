"""The TWIN conformance harness: a pytest plugin and the ``twin-conformance`` CLI.

It targets any vendor's TWIN node (or, by default, the embedded reference node), checks every
response against the OpenAPI document, replays the signed vectors, fuzzes the API from the
spec, and writes reports a vendor, a CI pipeline and a standards body can use. It uses the
executable spec (``twin_spec``) as its oracle and never imports the reference node.
"""

from twin_conformance._cli import main
from twin_conformance._client import ConformanceFailure, Exchange, TwinClient, fail, require
from twin_conformance._version import SUITE_VERSION

__all__ = [
    "SUITE_VERSION",
    "ConformanceFailure",
    "Exchange",
    "TwinClient",
    "fail",
    "main",
    "require",
]
