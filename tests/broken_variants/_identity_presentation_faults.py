"""Faults of verifiable presentations and identity profiles.

Verifier faults relax one check of the spec core's presentation verification, and only while
the node's presentation verify route runs (``_patching.scoped``); the credential verify route
and the node's tokens keep every check. Maker and profile faults patch what the node's own
presentation and profile code builds or answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tests.broken_variants._fault import fault
from tests.broken_variants._patching import mark_scope, rebind, scoped
from twin_spec import JSONValue

PRESENTATION_SCOPE = "presentation-verifier"


def _in_presentation_verifier(name: str, replacement: Callable[..., Any]) -> None:
    """Replace ``twin_spec._presentations.name`` while the node verifies a presentation."""
    from twin_reference import _presentations
    from twin_spec import _presentations as spec_presentations

    if not getattr(_presentations.verify_presentation, "__wrapped__", None):
        mark_scope(_presentations, "verify_presentation", PRESENTATION_SCOPE)
    scoped(spec_presentations, name, PRESENTATION_SCOPE, replacement)


def _times_without_expiry(
    payload: Mapping[str, object], now_seconds: int, leeway_seconds: int = 0
) -> None:
    """The spec core's JWT time check, with exp left out (for the presentation only)."""
    from twin_spec import check_jwt_times

    check_jwt_times(
        {name: value for name, value in payload.items() if name != "exp"},
        now_seconds,
        leeway_seconds,
    )


class _AnyKey:
    """A key whose verify accepts every signature: the holder's signature is never checked."""

    def verify(self, message: bytes, signature: bytes) -> None:
        """Accept whatever was signed, by whomever."""


def _holder_key_unchecked() -> Callable[..., Any]:
    from twin_spec import _presentations as spec_presentations

    original = spec_presentations._key

    def key(documents: Mapping[str, Any], kid: str, relationship: str) -> Any:
        if relationship == spec_presentations.HOLDER_RELATIONSHIP:
            return _AnyKey()
        return original(documents, kid, relationship)

    return key


def _credential_signature_unchecked(
    token: str, resolve_key: Callable[[str], Any], now_seconds: int, **_: Any
) -> dict[str, JSONValue]:
    """A credential verifier that checks shape and times, never the issuer's signature."""
    from twin_spec import check_jwt_times, credential_from_jwt_claims, decode_jwt

    decoded = decode_jwt(token)
    check_jwt_times(decoded.payload, now_seconds)
    return credential_from_jwt_claims(decoded.payload)


def patch_presentation_types_dropped() -> None:
    """Make the node's presentations keep only VerifiablePresentation as their type."""
    from twin_reference import _presentations

    original = getattr(_presentations, "build_presentation")  # noqa: B009 - a name it imports

    def build(*args: Any, **kwargs: Any) -> dict[str, JSONValue]:
        kwargs["types"] = ()
        made: dict[str, JSONValue] = original(*args, **kwargs)
        return made

    rebind(_presentations, "build_presentation", build)


def patch_verify_answers_no_issuers() -> None:
    """Make the presentation verify route answer an empty issuers list."""
    from twin_reference import _presentations

    original = _presentations.verify_presentation

    def verify(*args: Any, **kwargs: Any) -> dict[str, JSONValue]:
        answer: dict[str, JSONValue] = original(*args, **kwargs)
        if answer.get("verified") is True:
            answer["issuers"] = []
        return answer

    rebind(_presentations, "verify_presentation", verify)


def patch_public_profile_leaks_private() -> None:
    """Make the public profile view answer the private part's properties too."""
    from twin_reference import _profiles

    original = _profiles.get_public

    def get_public(node: Any, identity: str, names: list[str] | None) -> dict[str, JSONValue]:
        public: dict[str, JSONValue] = original(node, identity, names)
        private = _profiles._private(node, identity) or {}
        return {**public, **{k: v for k, v in private.items() if k not in public}}

    rebind(_profiles, "get_public", get_public)


def patch_own_profile_without_private() -> None:
    """Make GET /identity/profile leave out the caller's private part."""
    from twin_reference import _profiles

    original = _profiles.get_profile

    def get_profile(*args: Any, **kwargs: Any) -> dict[str, JSONValue]:
        answer: dict[str, JSONValue] = original(*args, **kwargs)
        answer.pop("privateProfile", None)
        return answer

    rebind(_profiles, "get_profile", get_profile)


def patch_query_ignores_cursor() -> None:
    """Make the profile query restart from the first profile whatever the cursor says."""
    from twin_reference import _profiles

    original = _profiles.query_profiles

    def query(
        node: Any,
        filters: list[tuple[str, str]],
        names: list[str] | None,
        cursor: str | None,
        page_size: int,
    ) -> dict[str, JSONValue]:
        page: dict[str, JSONValue] = original(node, filters, names, None, page_size)
        items = page.get("items")
        if isinstance(items, list) and items and isinstance(items[-1], dict):
            page["cursor"] = str(items[-1]["identity"])
        return page

    rebind(_profiles, "query_profiles", query)


def patch_private_profile_on_ledger() -> None:
    """Make the node write the private part itself to the ledger, in place of its hash."""
    from twin_reference import _profiles

    def private_hash(salt: bytes, private: dict[str, Any]) -> str:
        return json.dumps(private, separators=(",", ":"))

    rebind(_profiles, "private_hash", private_hash)


FAULTS = (
    fault(
        "presentation-types-dropped",
        "identity",
        "TWIN-IDENTITY-070",
        "presentations the node makes keep only VerifiablePresentation, dropping the requested "
        "types",
        patch=patch_presentation_types_dropped,
    ),
    fault(
        "presentation-holder-key-unchecked",
        "identity",
        "TWIN-IDENTITY-071",
        "the presentation verifier accepts a presentation signed by a key that is not the "
        "holder's (it never checks the holder's signature)",
        patch=lambda: _in_presentation_verifier("_key", _holder_key_unchecked()),
    ),
    fault(
        "presentation-expiry-ignored",
        "identity",
        "TWIN-IDENTITY-072",
        "the presentation verifier accepts an expired presentation (its exp is not checked)",
        patch=lambda: _in_presentation_verifier("check_jwt_times", _times_without_expiry),
    ),
    fault(
        "presentation-credential-signature-unchecked",
        "identity",
        "TWIN-IDENTITY-073",
        "the presentation verifier accepts a credential inside that was changed after its "
        "issuer signed it",
        patch=lambda: _in_presentation_verifier(
            "verify_credential_jwt", _credential_signature_unchecked
        ),
    ),
    fault(
        "presentation-revocation-ignored",
        "identity",
        "TWIN-IDENTITY-074",
        "the presentation verifier accepts a presentation holding a revoked credential",
        patch=lambda: _in_presentation_verifier("status_bit", lambda bits, index: False),
    ),
    fault(
        "presentation-verify-no-issuers",
        "identity",
        "TWIN-IDENTITY-075",
        "the presentation verify route answers a verified presentation with no issuers",
        patch=patch_verify_answers_no_issuers,
    ),
    fault(
        "own-profile-without-private",
        "identity",
        "TWIN-IDENTITY-080",
        "GET /identity/profile leaves out the caller's private part",
        patch=patch_own_profile_without_private,
    ),
    fault(
        "public-profile-leaks-private",
        "identity",
        "TWIN-IDENTITY-081",
        "the public profile view answers the private part's properties too",
        patch=patch_public_profile_leaks_private,
    ),
    fault(
        "profile-query-ignores-cursor",
        "identity",
        "TWIN-IDENTITY-082",
        "the profile query restarts from the first profile whatever the cursor, so following "
        "the cursors lists a profile twice",
        patch=patch_query_ignores_cursor,
    ),
    fault(
        "private-profile-on-ledger",
        "identity",
        "TWIN-IDENTITY-083",
        "the node writes the private part itself to the ledger in place of its salted hash",
        patch=patch_private_profile_on_ledger,
    ),
)
