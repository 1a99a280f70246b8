"""Users, passwords and the node's bearer tokens (EdDSA JWTs signed by the node)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from twin_reference._errors import UnauthorizedError
from twin_reference._store import Store
from twin_spec import Ed25519SigningKey, JwtError, check_jwt_times, encode_jwt, verify_jwt

# scrypt cost: about 50 ms per login on one core, far too slow for guessing offline.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


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
    """Issue and check the node's bearer tokens; logout revokes a token until it expires."""

    def __init__(self, store: Store, key: Ed25519SigningKey, lifetime_seconds: int) -> None:
        self._store = store
        self._key = key
        self.lifetime_seconds = lifetime_seconds

    def issue(self, identity: str) -> tuple[str, int]:
        """Return a token for ``identity`` and its expiry in milliseconds since the epoch."""
        now = int(time.time())
        expiry = now + self.lifetime_seconds
        payload = {"sub": identity, "iat": now, "exp": expiry, "jti": secrets.token_hex(16)}
        token = encode_jwt({"alg": "EdDSA", "typ": "JWT"}, payload, self._key)
        return token, expiry * 1000

    def check(self, token: str) -> tuple[str, str, int]:
        """Return (identity, jti, exp) of a valid token, or raise UnauthorizedError."""
        # TWIN-CORE-051 "A node MUST refuse a write without a valid bearer token: missing,
        # malformed, badly signed, expired or revoked tokens are 401."
        try:
            decoded = verify_jwt(token, self._key.public_key)
            check_jwt_times(decoded.payload, int(time.time()))
        except JwtError as exc:
            raise UnauthorizedError(f"the bearer token is not valid: {exc.message}") from None
        payload = decoded.payload
        subject, jti, expiry = payload.get("sub"), payload.get("jti"), payload.get("exp")
        if not isinstance(subject, str) or not isinstance(jti, str) or not isinstance(expiry, int):
            raise UnauthorizedError("the bearer token lacks sub, jti or exp")
        if self._store.one("SELECT 1 FROM revoked_tokens WHERE jti = ?", jti) is not None:
            raise UnauthorizedError("the bearer token was revoked by a logout")
        return subject, jti, expiry

    def revoke(self, jti: str, expiry: int) -> None:
        """Refuse this token from now on (and forget expired revocations)."""
        now = int(time.time())
        with self._store.write() as connection:
            connection.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (now,))
            connection.execute(
                "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)",
                (jti, expiry),
            )
