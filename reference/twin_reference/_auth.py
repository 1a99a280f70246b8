"""Users, passwords and the node's bearer tokens (EdDSA JWTs signed by the node)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from twin_reference._errors import UnauthorizedError
from twin_reference._store import Store
from twin_spec import (
    Ed25519SigningKey,
    JSONValue,
    JwtError,
    check_jwt_times,
    encode_jwt,
    verify_jwt,
)

# scrypt cost: about 50 ms per login on one core, far too slow for guessing offline.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
VERIFIED_TOKENS = 1024
"""Tokens whose verified payload is kept, so that a token's signature is checked once."""


def hash_password(password: str) -> str:
    """Return a salted scrypt hash in the form scrypt$<salt hex>$<hash hex>."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Compare a password with a stored hash in constant time."""
    scheme, salt_hex, digest_hex = stored.split("$")
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


class TokenIssuer:
    """Issue and check the node's bearer tokens; logout ends the session a token belongs to.

    A login starts a session (``sid``); a token refreshed from it carries the same session, so
    logging out with any of them revokes them all (TWIN-CORE-065).
    """

    def __init__(self, store: Store, key: Ed25519SigningKey, lifetime_seconds: int) -> None:
        self._store = store
        self._key = key
        self.lifetime_seconds = lifetime_seconds
        self._verified: dict[str, dict[str, JSONValue]] = {}
        """Payloads of tokens whose signature verified, by token, at most VERIFIED_TOKENS: a
        client sends the same token with every request, and its signature does not change."""

    def issue(self, identity: str, session: str | None = None) -> tuple[str, int]:
        """Return a token for ``identity`` and its expiry in milliseconds since the epoch.

        ``session`` is the session of the token being refreshed; None starts a new one.
        """
        now = int(time.time())
        expiry = now + self.lifetime_seconds
        payload = {
            "sub": identity,
            "iat": now,
            "exp": expiry,
            "jti": secrets.token_hex(16),
            "sid": session or secrets.token_hex(16),
        }
        token = encode_jwt({"alg": "EdDSA", "typ": "JWT"}, payload, self._key)
        return token, expiry * 1000

    def check(self, token: str) -> tuple[str, str, int]:
        """Return (identity, session, exp) of a valid token, or raise UnauthorizedError.

        A token issued before sessions existed is its own session (its ``jti``).
        """
        # TWIN-CORE-051 "A node MUST refuse a write without a valid bearer token: missing,
        # malformed, badly signed, expired or revoked tokens are 401."
        # Expiry and revocation are checked on every request, the signature once per token.
        payload = self._verified.get(token)
        try:
            if payload is None:
                payload = verify_jwt(token, self._key.public_key).payload
                self._remember(token, payload)
            check_jwt_times(payload, int(time.time()))
        except JwtError as exc:
            raise UnauthorizedError(f"the bearer token is not valid: {exc.message}") from None
        subject, jti, expiry = payload.get("sub"), payload.get("jti"), payload.get("exp")
        if not isinstance(subject, str) or not isinstance(jti, str) or not isinstance(expiry, int):
            raise UnauthorizedError("the bearer token lacks sub, jti or exp")
        session = payload.get("sid", jti)
        if not isinstance(session, str):
            raise UnauthorizedError("the bearer token's sid is not a string")
        # TWIN-CORE-065 "A logout SHOULD end the session of the token given: every token
        # refreshed from the same login SHOULD be refused afterwards, as the token given is."
        if self._store.one("SELECT 1 FROM revoked_tokens WHERE jti = ?", session) is not None:
            raise UnauthorizedError("the bearer token's session was ended by a logout")
        return subject, session, expiry

    def _remember(self, token: str, payload: dict[str, JSONValue]) -> None:
        """Keep a verified token's payload; when full, forget the expired, else the oldest."""
        if len(self._verified) >= VERIFIED_TOKENS:
            now = int(time.time())
            for old in [old for old, claims in self._verified.items() if _expired(claims, now)]:
                del self._verified[old]
            if len(self._verified) >= VERIFIED_TOKENS:
                del self._verified[next(iter(self._verified))]
        self._verified[token] = payload

    def revoke(self, session: str) -> None:
        """End a session: refuse its tokens from now on (and forget expired revocations).

        Every token of the session was issued before now, so none outlives one lifetime more.
        """
        now = int(time.time())
        with self._store.write() as connection:
            connection.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (now,))
            connection.execute(
                "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)",
                (session, now + self.lifetime_seconds),
            )


def _expired(payload: dict[str, JSONValue], now: int) -> bool:
    expiry = payload.get("exp")
    return not isinstance(expiry, int) or now >= expiry
