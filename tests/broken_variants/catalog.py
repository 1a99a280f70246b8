"""The catalog of broken variants: each a named fault of the real reference node.

Every entry says which profile it breaks, what it does, the requirement the harness must name
when it catches it, and what the run needs to catch it (the profile to check, a fuzzing
budget, a target file claiming the profile). Most faults are ASGI rules around the unchanged
``twin_reference.create_app``; a fault that must live inside the node is a narrowly scoped
patch applied before the app is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette

from tests.broken_variants import (
    _anchoring_faults,
    _consensus_faults,
    _core_faults,
    _deviation_faults,
    _identity_faults,
)
from tests.broken_variants._asgi import FaultMiddleware, Rule

_RULES: dict[str, tuple[Rule, ...]] = {
    **_core_faults.RULES,
    **_identity_faults.RULES,
    **_anchoring_faults.RULES,
    **_consensus_faults.RULES,
    **_deviation_faults.RULES,
}
_PATCHES: dict[str, Callable[[], None]] = {
    **_anchoring_faults.PATCHES,
    **_deviation_faults.PATCHES,
}

CAUGHT, CONFORMANT, COULD_NOT_RUN = "caught", "conformant", "could-not-run"
"""What the harness must say of a variant: it fails the requirement (exit 1), it is judged
conformant (a deviation the spec allows; exit 0), or it cannot be judged (exit 2)."""


@dataclass(frozen=True)
class Fault:
    """One broken variant and what detecting it takes."""

    name: str
    profile: str
    description: str
    requirement: str | None
    # The profile the run must select, when the checks that catch the fault belong to another
    # profile than the requirement (a core rule checked on identity routes, say).
    run_profile: str | None = None
    # The fuzzing budget the detection needs (0: no fuzzing).
    fuzz_examples: int = 0
    # The reference node does not claim this profile in /info, so the run claims it for the
    # node in a target file.
    claim_in_target_file: bool = False
    rules: tuple[Rule, ...] = field(default=(), repr=False)
    patch: Callable[[], None] | None = field(default=None, repr=False)
    expect: str = CAUGHT
    max_failures: int | None = None
    """At most this many failed checks (one root cause, one failure), when set."""

    @property
    def checked_profile(self) -> str:
        """The profile a run selects to catch the fault."""
        return self.run_profile or self.profile

    def harness_options(self) -> list[str]:
        """The ``twin-conformance run`` options that detection needs (target aside)."""
        return ["--profile", self.checked_profile, "--fuzz-examples", str(self.fuzz_examples)]

    def wrap(self, app: Starlette) -> FaultMiddleware | Starlette:
        """The node's app with this fault's rules around it."""
        return FaultMiddleware(app, self.rules) if self.rules else app


def _fault(
    name: str,
    profile: str,
    requirement: str | None,
    description: str,
    *,
    run_profile: str | None = None,
    fuzz_examples: int = 0,
    expect: str = CAUGHT,
    max_failures: int | None = None,
) -> Fault:
    """A catalog entry, with the rules and patch of the fault called ``name``."""
    return Fault(
        name=name,
        profile=profile,
        description=description,
        requirement=requirement,
        run_profile=run_profile,
        fuzz_examples=fuzz_examples,
        claim_in_target_file=(run_profile or profile) == "consensus",
        rules=_RULES.get(name, ()),
        patch=_PATCHES.get(name),
        expect=expect,
        max_failures=max_failures,
    )


CATALOG: tuple[Fault, ...] = (
    # -- core ---------------------------------------------------------------------------------
    _fault(
        "error-without-name",
        "core",
        "TWIN-CORE-040",
        "every 4xx error body lacks its name member",
    ),
    _fault(
        "info-without-spec-version",
        "core",
        "TWIN-CORE-050",
        "GET /info answers without specVersion",
    ),
    _fault(
        "writes-without-token",
        "core",
        "TWIN-CORE-051",
        "a write with a missing or refused bearer token is performed as the admin's",
        # Core has no write of its own: the token checks run on the identity routes.
        run_profile="identity",
    ),
    _fault(
        "logout-keeps-token",
        "core",
        "TWIN-CORE-051",
        "logout answers 204 but the token stays valid",
    ),
    _fault(
        "media-type-not-enforced",
        "core",
        "TWIN-CORE-053",
        "a request body is read as JSON whatever its Content-Type (no 415)",
    ),
    _fault(
        "duplicate-members-accepted",
        "core",
        "TWIN-CORE-003",
        "a JSON body repeating a member name is accepted (the last value wins)",
    ),
    _fault(
        "method-not-allowed-as-404",
        "core",
        "TWIN-CORE-052",
        "a method the route lacks is answered 404 without Allow, not 405",
    ),
    # -- identity -----------------------------------------------------------------------------
    _fault(
        "proof-verify-always-true",
        "identity",
        "TWIN-IDENTITY-064",
        "POST /identity/proof/verify answers verified true to every well-formed request",
    ),
    _fault(
        "resolver-drops-verification-method",
        "identity",
        # The node goes on signing with a method its served document no longer lists.
        "TWIN-IDENTITY-013",
        "resolving a did:twin leaves out its most recently listed verification method",
    ),
    _fault(
        "deactivated-did-still-resolves",
        "identity",
        "TWIN-IDENTITY-062",
        "a deactivated DID resolves 200 with its last document instead of 410",
    ),
    _fault(
        "credential-ignores-revocation",
        "identity",
        "TWIN-IDENTITY-065",
        "credential verification answers a revoked credential as verified, not revoked",
    ),
    _fault(
        "did-key-wrong-key",
        "identity",
        "TWIN-IDENTITY-004",
        "a did:key resolves to a verification method holding another public key",
    ),
    _fault(
        "malformed-did-500",
        "identity",
        "TWIN-CORE-054",
        "resolving a malformed DID answers 500 instead of 400 invalidDid",
    ),
    # -- anchoring ----------------------------------------------------------------------------
    _fault(
        "receipt-flipped-byte",
        "anchoring",
        # The flipped byte is in a checkpoint signature, which then fails to verify.
        "TWIN-ANCHORING-025",
        "GET /immutable-proof/{id} answers a receipt with one checkpoint signature byte flipped",
    ),
    _fault(
        "wrong-proof-object-hash",
        "anchoring",
        "TWIN-ANCHORING-001",
        "proofObjectHash hashes the JCS text itself, skipping the JSON string literal step",
    ),
    _fault(
        "storage-receipt-flipped-byte",
        "anchoring",
        # The flipped byte is in the transaction digest, whose leaf then leads to another root.
        "TWIN-ANCHORING-029",
        "verifiable storage create and update answer receipts with one digest byte flipped",
    ),
    # -- consensus ----------------------------------------------------------------------------
    _fault(
        "wrong-commit-order",
        "consensus",
        "TWIN-CONSENSUS-029",
        "commits list their blocks in reverse order (evaluate and GET /consensus/commits)",
    ),
    _fault(
        "duplicate-author-ancestor-accepted",
        "consensus",
        "TWIN-CONSENSUS-009",
        "evaluation calls a block with two ancestors by one author valid",
    ),
    _fault(
        "refused-block-accepted",
        "consensus",
        "TWIN-CONSENSUS-101",
        "POST /consensus/blocks answers 202 to a block the receive rules refuse",
    ),
    _fault(
        "checkpoint-served-differs",
        "consensus",
        "TWIN-CONSENSUS-100",
        "checkpoints are served with a summary that differs from the one certified",
    ),
)

DEVIATIONS: tuple[Fault, ...] = (
    # -- deviations the spec allows: judged conformant ----------------------------------------
    _fault(
        "gzip-responses",
        "core",
        None,
        "compresses every answer with gzip when the request accepts it",
        run_profile="full",
        expect=CONFORMANT,
    ),
    _fault(
        "brotli-responses",
        "core",
        None,
        "compresses every answer with brotli when the request accepts it",
        run_profile="full",
        expect=CONFORMANT,
    ),
    _fault(
        "proof-signed-in-background",
        "anchoring",
        None,
        "answers a new immutable proof without proof and receipt for 2 s after its 201",
        expect=CONFORMANT,
    ),
    _fault(
        "did-method-entity-storage",
        "identity",
        None,
        "mints and resolves did:entity-storage DIDs, as the TWIN node 0.0.2 does",
        run_profile="full",
        expect=CONFORMANT,
    ),
    # -- one divergence, one failure ----------------------------------------------------------
    _fault(
        "login-token-in-cookie-only",
        "core",
        "TWIN-CORE-056",
        "login answers the token only in an access_token cookie, as the TWIN node 0.0.2",
        run_profile="full",
        max_failures=1,
    ),
    _fault(
        "route-not-served",
        "anchoring",
        "TWIN-CORE-070",
        "DELETE /verifiable/{id} is not served (404 as for an unknown route)",
        max_failures=1,
    ),
    _fault(
        "identity-create-drops-id",
        "identity",
        "TWIN-CORE-056",
        "POST /identity answers the new DID document without its id: every identity check "
        "that needs a new DID is blocked by the one prerequisite that failed",
        max_failures=1,
    ),
    _fault(
        "anchoring-errors-without-name",
        "anchoring",
        "TWIN-CORE-040",
        "only the anchoring routes' error bodies lack name: anchoring is not conformant",
    ),
    _fault(
        "tokens-recorded",
        "core",
        None,
        "sets every token it issues as a cookie too, and records each in "
        "$TWIN_ISSUED_SECRETS_FILE (for the secrets test)",
        run_profile="full",
        expect=CONFORMANT,
    ),
    # -- targets the harness must not judge, or must judge in bounded time --------------------
    _fault(
        "not-found-everywhere",
        "core",
        None,
        "answers 404 (an HTML page) to everything, as a wrong port or base path does",
        expect=COULD_NOT_RUN,
    ),
    _fault(
        "resolution-hangs",
        "identity",
        "TWIN-IDENTITY-014",
        "never answers the resolution of a DID of its own method",
    ),
)
"""Variants about the harness itself: deviations it must handle, traps it must not fall in."""

FAULTS: dict[str, Fault] = {fault.name: fault for fault in (*CATALOG, *DEVIATIONS)}


def fault_named(name: str) -> Fault:
    """The catalog entry called ``name`` (KeyError naming the known ones otherwise).

    ``a+b`` is both faults at once: their rules in that order (the first that matches a
    request handles it) and both patches.
    """
    if "+" in name:
        parts = [fault_named(part) for part in name.split("+")]
        patches = [part.patch for part in parts if part.patch is not None]

        def both() -> None:
            for patch in patches:
                patch()

        return Fault(
            name=name,
            profile=parts[-1].profile,
            description="; ".join(part.description for part in parts),
            requirement=parts[-1].requirement,
            rules=tuple(rule for part in parts for rule in part.rules),
            patch=both if patches else None,
        )
    try:
        return FAULTS[name]
    except KeyError:
        raise KeyError(f"no fault {name!r}; known: {', '.join(FAULTS)}") from None
