"""The node's bearer tokens: a token's signature is verified once, its expiry and session always.

Issue 16, item 3: the node kept verifying the Ed25519 signature of the same bearer token on
every request; a verified token's payload is now kept (at most VERIFIED_TOKENS of them), and
only the checks that can change answer differently later: expiry and a logout.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from twin_reference import _auth
from twin_reference._auth import TokenIssuer
from twin_reference._errors import UnauthorizedError
from twin_reference._store import Store
from twin_spec import Ed25519SigningKey

KEY = Ed25519SigningKey(bytes([9]) * 32)


@pytest.fixture
def issuer(tmp_path: Path) -> TokenIssuer:
    return TokenIssuer(Store(tmp_path / "node.sqlite"), KEY, 600)


@pytest.mark.requirement("TWIN-CORE-051", "TWIN-CORE-065")
def test_a_token_checked_before_stays_refused_after_a_logout(issuer: TokenIssuer) -> None:
    token, _expiry = issuer.issue("did:example:user")
    refreshed, _expiry = issuer.issue("did:example:user", issuer.check(token)[1])
    assert issuer.check(token) == issuer.check(token)
    issuer.check(refreshed)
    issuer.revoke(issuer.check(token)[1])
    for revoked in (token, refreshed):
        with pytest.raises(UnauthorizedError, match="ended by a logout"):
            issuer.check(revoked)


@pytest.mark.requirement("TWIN-CORE-051")
def test_a_token_checked_before_is_refused_once_expired(
    issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, expiry_ms = issuer.issue("did:example:user")
    issuer.check(token)
    monkeypatch.setattr(time, "time", lambda: expiry_ms / 1000)
    with pytest.raises(UnauthorizedError, match="expired"):
        issuer.check(token)


@pytest.mark.requirement("TWIN-CORE-051")
def test_a_changed_signature_is_verified_not_taken_from_the_kept_payload(
    issuer: TokenIssuer,
) -> None:
    token, _expiry = issuer.issue("did:example:user")
    issuer.check(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'AQ'}"
    with pytest.raises(UnauthorizedError, match="not valid"):
        issuer.check(forged)
    other = Ed25519SigningKey(bytes([8]) * 32)
    foreign, _expiry = TokenIssuer(issuer._store, other, 600).issue("did:example:user")
    with pytest.raises(UnauthorizedError, match="not valid"):
        issuer.check(foreign)


def test_at_most_so_many_verified_tokens_are_kept(
    issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_auth, "VERIFIED_TOKENS", 4)
    tokens = [issuer.issue("did:example:user")[0] for _ in range(6)]
    for token in tokens:
        issuer.check(token)
    assert list(issuer._verified) == tokens[2:]
    for token in tokens:
        issuer.check(token)
