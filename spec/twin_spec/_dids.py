"""DID and DID URL syntax (W3C DID Core 1.0, sections 3.1 and 3.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from twin_spec._errors import DidError, DidErrorCode

# Longer identifiers are refused before any pattern runs on them.
MAX_DID_URL_LENGTH = 2048

# DID Core allows only lowercase letters and digits in a method name. The TWIN node (0.0.2)
# names its node-local method "entity-storage"; that one name is accepted as well, so that the
# identities of deployed nodes resolve (see spec/prose/identity.md).
LEGACY_METHOD_NAMES = ("entity-storage",)
_ID_CHAR = r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
_METHOD = r"(?:[a-z0-9]+|" + "|".join(LEGACY_METHOD_NAMES) + ")"
_DID = rf"did:(?P<method>{_METHOD}):(?P<msid>(?:{_ID_CHAR}*:)*{_ID_CHAR}+)"
_PCHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
_DID_PATTERN = re.compile(rf"{_DID}\Z")
_DID_URL_PATTERN = re.compile(
    rf"(?P<did>{_DID})(?P<path>(?:/{_PCHAR}*)*)"
    rf"(?:\?(?P<query>(?:{_PCHAR}|[/?])*))?(?:#(?P<fragment>(?:{_PCHAR}|[/?])*))?\Z"
)


@dataclass(frozen=True)
class Did:
    """A DID split into its method and method-specific identifier."""

    method: str
    method_specific_id: str

    def __str__(self) -> str:
        return f"did:{self.method}:{self.method_specific_id}"


@dataclass(frozen=True)
class DidUrl:
    """A DID URL: a DID with an optional path, query and fragment."""

    did: Did
    path: str
    query: str | None
    fragment: str | None

    def __str__(self) -> str:
        text = f"{self.did}{self.path}"
        if self.query is not None:
            text += f"?{self.query}"
        if self.fragment is not None:
            text += f"#{self.fragment}"
        return text


def parse_did(text: str) -> Did:
    """Parse a DID per the DID Core ABNF; anything else raises ``invalidDid``."""
    # TWIN-IDENTITY-001 "A DID MUST match the DID Core ABNF (method names: lowercase letters and
    # digits, or the TWIN node's 'entity-storage'); any other string is invalidDid."
    _check_length(text)
    match = _DID_PATTERN.match(text)
    if match is None:
        raise DidError(
            DidErrorCode.INVALID_DID, _explain_invalid(text), requirement="TWIN-IDENTITY-001"
        )
    return Did(match["method"], match["msid"])


def parse_did_url(text: str) -> DidUrl:
    """Parse a DID URL (DID, then optional path, ?query and #fragment)."""
    _check_length(text)
    match = _DID_URL_PATTERN.match(text)
    if match is None:
        raise DidError(
            DidErrorCode.INVALID_DID,
            _explain_invalid(text, what="DID URL"),
            requirement="TWIN-IDENTITY-001",
        )
    return DidUrl(
        Did(match["method"], match["msid"]), match["path"], match["query"], match["fragment"]
    )


def _check_length(text: str) -> None:
    if not isinstance(text, str):
        raise DidError(
            DidErrorCode.INVALID_DID,
            f"a DID is a string, got {type(text).__name__}",
            requirement="TWIN-IDENTITY-001",
        )
    if len(text) > MAX_DID_URL_LENGTH:
        raise DidError(
            DidErrorCode.INVALID_DID,
            f"DID of {len(text)} characters is longer than the {MAX_DID_URL_LENGTH} accepted",
            requirement="TWIN-IDENTITY-001",
        )


def _explain_invalid(text: str, what: str = "DID") -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    if not text.startswith("did:"):
        return f"{shown!r} is not a {what}: it must start with 'did:'"
    method, _, rest = text[4:].partition(":")
    if not method or not re.fullmatch(_METHOD, method):
        return f"{shown!r} is not a {what}: the method name must be lowercase letters and digits"
    if not rest:
        return f"{shown!r} is not a {what}: the method-specific identifier is empty"
    return f"{shown!r} is not a {what}: it holds characters DID Core does not allow there"
