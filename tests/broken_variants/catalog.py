"""The catalog of broken variants: each a named fault of the real reference node.

Every entry says which profile it breaks, what it does, the requirement the harness must name
when it catches it, and what the run needs to catch it (the profile to check, a fuzzing
budget, a target file claiming the profile). The entries live beside their code, one module
per profile or part of one; most faults are ASGI rules around the unchanged
``twin_reference.create_app``, and a fault that must live inside the node is a narrowly scoped
patch applied before the app is built (``_patching.py``).

``CATALOG`` holds, for every MUST an exchange can observe, at least one variant that breaks
exactly that rule (``tests/lint/test_catalog_coverage.py``); ``DEVIATIONS`` holds variants
about the harness itself, each with the outcome it must get.
"""

from __future__ import annotations

from tests.broken_variants import (
    _anchoring_faults,
    _anchoring_ledger_faults,
    _consensus_faults,
    _consensus_ledger_faults,
    _consensus_rule_faults,
    _consensus_write_faults,
    _core_crypto_faults,
    _core_faults,
    _core_limits_faults,
    _deviation_faults,
    _documents_faults,
    _identity_credential_faults,
    _identity_did_faults,
    _identity_faults,
    _identity_presentation_faults,
    _identity_proof_faults,
    _interop_faults,
)
from tests.broken_variants._fault import (
    CAUGHT,
    CONFORMANT,
    COULD_NOT_RUN,
    PROFILES,
    Fault,
)

CATALOG: tuple[Fault, ...] = (
    *_core_faults.FAULTS,
    *_core_crypto_faults.FAULTS,
    *_core_limits_faults.FAULTS,
    *_identity_faults.FAULTS,
    *_identity_did_faults.FAULTS,
    *_identity_proof_faults.FAULTS,
    *_identity_credential_faults.FAULTS,
    *_identity_presentation_faults.FAULTS,
    *_anchoring_faults.FAULTS,
    *_anchoring_ledger_faults.FAULTS,
    *_consensus_faults.FAULTS,
    *_consensus_ledger_faults.FAULTS,
    *_consensus_rule_faults.FAULTS,
    *_consensus_write_faults.FAULTS,
    *_documents_faults.FAULTS,
)
"""One variant or more for every observable MUST, each breaking that rule."""

DEVIATIONS: tuple[Fault, ...] = _deviation_faults.DEVIATIONS
"""Variants about the harness itself: deviations it must handle, traps it must not fall in."""

INTEROP: tuple[Fault, ...] = _interop_faults.INTEROP
"""Variants only a committee shows, each caught by an interop scenario as a client
(``tests/conformance/test_interop_broken_clients.py``); no single-node run catches them."""

SMOKE: tuple[str, ...] = (
    "error-without-name",
    "info-without-spec-version",
    "writes-without-token",
    "logout-keeps-token",
    "media-type-not-enforced",
    "duplicate-members-accepted",
    "method-not-allowed-as-404",
    "proof-verify-uses-vault-keys",
    "resolver-drops-verification-method",
    "deactivated-did-still-resolves",
    "credential-ignores-revocation",
    "did-key-wrong-key",
    "malformed-did-500",
    "receipt-flipped-byte",
    "wrong-proof-object-hash",
    "storage-receipt-flipped-byte",
    "wrong-commit-order",
    "duplicate-author-ancestor-accepted",
    "refused-block-accepted",
    "checkpoint-served-differs",
    "document-removed-content-readable",
    "document-blob-hash-of-base64",
)
"""The variants the fast test run checks (``test_broken_variants.py``); the slow catalog run
(``run_catalog``) checks every one."""

FAULTS: dict[str, Fault] = {fault.name: fault for fault in (*CATALOG, *DEVIATIONS, *INTEROP)}

__all__ = [
    "CATALOG",
    "CAUGHT",
    "CONFORMANT",
    "COULD_NOT_RUN",
    "DEVIATIONS",
    "FAULTS",
    "INTEROP",
    "PROFILES",
    "SMOKE",
    "Fault",
    "fault_named",
]


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
