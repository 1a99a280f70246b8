"""Measure the spec core against its nearest baselines, side by side in one run, as ratios."""

from __future__ import annotations

import hashlib
import timeit
from collections.abc import Callable
from typing import Any

import nacl.bindings
import rfc8785

import twin_spec

REPEATS = 5


def best_rate(function: Callable[[], object], number: int) -> float:
    """Calls per second, best of REPEATS runs (the least disturbed by the rest of the machine)."""
    best = min(timeit.repeat(function, number=number, repeat=REPEATS))
    return number / best


def report(name: str, ours: float, baseline_name: str, baseline: float) -> None:
    """Print one comparison: both rates and their ratio."""
    print(
        f"{name:<34} {ours:>10,.0f}/s   {baseline_name:<26} {baseline:>10,.0f}/s   "
        f"ratio {ours / baseline:5.2f}"
    )


def main() -> None:
    """Run every comparison and print the table."""
    key = twin_spec.Ed25519SigningKey(bytes(range(32)))
    message = b"x" * 256
    signature = key.sign(message)
    public = key.public_key.raw
    report(
        "verify_signature (policy)",
        best_rate(lambda: twin_spec.verify_signature(public, message, signature), 5000),
        "libsodium verify alone",
        best_rate(lambda: nacl.bindings.crypto_sign_open(signature + message, public), 5000),
    )

    did = twin_spec.did_key_from_public_key(key.public_key)
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "TradeDocumentCredential"],
        "issuer": did,
        "validFrom": "2026-11-21T05:00:00Z",
        "credentialSubject": {
            "id": "did:example:exporter",
            "document": {"type": "BillOfLading", "number": "BL-2026-0042", "weightKg": 12500.5},
            "parties": [{"role": "shipper", "name": "Nairobi Tea Ltd"}] * 4,
        },
    }
    report(
        "canonicalize (credential)",
        best_rate(lambda: twin_spec.canonicalize(credential), 20000),
        "rfc8785.dumps",
        best_rate(lambda: rfc8785.dumps(credential), 20000),
    )
    canonical_rate = best_rate(lambda: twin_spec.canonicalize(credential), 20000)
    report(
        "proof_object_hash (credential)",
        best_rate(lambda: twin_spec.proof_object_hash(credential), 20000),
        "canonicalize alone",
        canonical_rate,
    )
    method = f"{did}#{did[8:]}"
    document = twin_spec.did_key_document(did)
    signed = twin_spec.sign_document(
        credential, key, verification_method=method, created="2026-11-21T05:00:00Z"
    )

    def resolve(method_id: str, purpose: str) -> twin_spec.Ed25519PublicKey:
        return twin_spec.verification_key(document, method_id, purpose)

    report(
        "verify_proof (credential)",
        best_rate(lambda: twin_spec.verify_proof(signed, resolve), 3000),
        "canonicalize alone",
        canonical_rate,
    )
    leaves = [i.to_bytes(8, "big") for i in range(1024)]
    report(
        "merkle_tree_hash (1024 leaves)",
        best_rate(lambda: twin_spec.merkle_tree_hash(leaves), 50) * 1024,
        "sha256 per leaf",
        best_rate(lambda: [hashlib.sha256(leaf).digest() for leaf in leaves], 50) * 1024,
    )


if __name__ == "__main__":
    main()
