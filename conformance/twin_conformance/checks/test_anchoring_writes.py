"""Anchoring checks of writes: retries by Idempotency-Key, and the transaction limits at admission.

Issue 13: a client that retries a write it got no answer to must not anchor twice
(TWIN-CORE-068), and a write whose transaction breaks a limit every validator applies must be
refused before it is queued, naming the limit (TWIN-ANCHORING-061), never accepted and lost.
"""

from __future__ import annotations

import base64

import pytest

from twin_conformance._client import TwinClient, require
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    error_code,
    error_field,
    fresh_random,
    require_status,
)
from twin_spec import MAX_TRANSACTION_BYTES

pytestmark = pytest.mark.twin_profile("anchoring")

KEY_TOO_LONG = 300
"""An Idempotency-Key longer than the 255 characters the header allows."""
OVER_LIMIT_DATA_BYTES = 70_000
"""Verifiable data this large makes a transaction over 65536 bytes of JCS however laid out."""


@pytest.mark.twin_requirement("TWIN-CORE-068")
def test_a_write_retried_with_its_idempotency_key_is_not_anchored_twice(
    client: TwinClient, run: TwinState
) -> None:
    """A retried write gets its first outcome; the key with another body is 409.

    The same key and body twice: the first outcome again, marked as replayed; the same key with
    another body: 409 idempotencyKeyReused; a 300-character key: 400.
    """
    rng = fresh_random(run, "anchoring:idempotency")
    key = f"conformance-{rng.getrandbits(128):032x}"
    document = {
        "@context": "https://schema.org",
        "type": "Note",
        "text": f"retried write {rng.getrandbits(64):016x}",
    }
    headers = {"idempotency-key": key}
    first = client.post(
        "/immutable-proof", json_body={"document": document}, headers=headers, auth=True
    )
    require_status(first, (201, 202), "TWIN-ANCHORING-050", "anchoring with an Idempotency-Key")
    again = client.post(
        "/immutable-proof", json_body={"document": document}, headers=headers, auth=True
    )
    require(
        again.status == first.status,
        "TWIN-CORE-068",
        f"the retry with the same Idempotency-Key answered {again.status}, the first "
        f"request {first.status}",
    )
    require(
        again.headers.get("location") == first.headers.get("location"),
        "TWIN-CORE-068",
        f"the retry with the same Idempotency-Key answered Location "
        f"{again.headers.get('location')!r}, the first {first.headers.get('location')!r}",
    )
    require(
        again.headers.get("idempotent-replayed", "").lower() == "true",
        "TWIN-CORE-068",
        "the retry with the same Idempotency-Key is not marked Idempotent-Replayed: true, so "
        "it was handled (and anchored) as a new write",
    )
    other = client.post(
        "/immutable-proof",
        json_body={"document": {**document, "text": "another request"}},
        headers=headers,
        auth=True,
        expect_rejection=True,
    )
    require_status(other, 409, "TWIN-CORE-068", "the same Idempotency-Key with another body")
    require(
        error_code(other) == "idempotencyKeyReused",
        "TWIN-CORE-068",
        f"the 409 names properties.code {error_code(other)!r}, not idempotencyKeyReused",
    )
    long_key = client.post(
        "/immutable-proof",
        json_body={"document": document},
        headers={"idempotency-key": "k" * KEY_TOO_LONG},
        auth=True,
        expect_rejection=True,
    )
    require_status(long_key, 400, "TWIN-CORE-068", f"a {KEY_TOO_LONG}-character Idempotency-Key")
    require(
        error_field(long_key) == "header.idempotency-key",
        "TWIN-CORE-068",
        f"the 400 to a {KEY_TOO_LONG}-character key names {error_field(long_key)!r}, not "
        "header.idempotency-key",
    )


@pytest.mark.twin_requirement("TWIN-ANCHORING-061")
def test_a_write_whose_transaction_is_too_large_is_refused_naming_the_limit(
    client: TwinClient,
) -> None:
    """70 kB of verifiable data: 413 transactionTooLarge stating 65536.

    Refused before anything is queued: a node that queued it could not put it in any peer's
    block.
    """
    data = base64.b64encode(b"\x00" * OVER_LIMIT_DATA_BYTES).decode("ascii")
    exchange = client.post(
        "/verifiable", json_body={"data": data}, auth=True, expect_rejection=True
    )
    what = f"storing {OVER_LIMIT_DATA_BYTES} bytes of verifiable data"
    require_status(exchange, 413, "TWIN-ANCHORING-061", what)
    require(
        error_code(exchange) == "transactionTooLarge",
        "TWIN-ANCHORING-061",
        f"{what} was refused as {error_code(exchange)!r}, not transactionTooLarge",
    )
    body = exchange.json("TWIN-ANCHORING-061")
    limit = body.get("properties", {}).get("limit") if isinstance(body, dict) else None
    require(
        limit == MAX_TRANSACTION_BYTES,
        "TWIN-ANCHORING-061",
        f"{what}: the 413 states limit {limit!r}, not {MAX_TRANSACTION_BYTES}",
    )
