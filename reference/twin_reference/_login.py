"""Logging in under attack: passwords hashed off the event loop, failures throttled.

scrypt costs about 50 ms of a core per attempt, on purpose. Run on the event loop, a flood of
logins from many addresses and emails would hold everything else; so (TWIN-CORE-063):

- every hash runs in one thread of lower priority (:data:`HASH_NICENESS`), with at most
  :attr:`LoginLimits.max_waiting` logins waiting for it (more are 503 with Retry-After):
  the thread releases the GIL while it hashes, so the loop keeps serving;
- failed logins are counted per account and per client address in token buckets; once one is
  empty, that account's or address's logins are 429 with Retry-After, without hashing (an
  address's before its body is even read), answered after a pause of up to
  :data:`THROTTLED_PAUSE_SECONDS`, so that a client ignoring Retry-After slows itself down
  rather than the node;
- an unknown email is hashed against a dummy hash of the same cost, so its answer comes no
  sooner than a known email's (TWIN-CORE-064).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from twin_reference._auth import check_password, hash_password
from twin_reference._errors import (
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from twin_reference._store import Store

HASH_NICENESS = 19
THROTTLED_PAUSE_SECONDS = 1.0
MAX_TRACKED = 10_000
"""Accounts and addresses whose failures are remembered (the fullest buckets are forgotten)."""


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins an account and an address may make, and how fast they refill."""

    account_failures: int = 10
    account_refill_seconds: float = 6.0
    address_failures: int = 30
    address_refill_seconds: float = 1.0
    max_waiting: int = 8


class _Buckets:
    """Token buckets by key: ``capacity`` failures, one more every ``refill`` seconds."""

    def __init__(self, capacity: int, refill_seconds: float) -> None:
        self._capacity = float(capacity)
        self._refill = refill_seconds
        self._tokens: dict[str, tuple[float, float]] = {}

    def _level(self, key: str, now: float) -> float:
        tokens, since = self._tokens.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - since) / self._refill)

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        level = self._level(key, time.monotonic())
        return 0.0 if level >= 1.0 else (1.0 - level) * self._refill

    def spend(self, key: str) -> None:
        """Count one failure of ``key``."""
        now = time.monotonic()
        self._tokens[key] = (max(0.0, self._level(key, now) - 1.0), now)
        if len(self._tokens) > MAX_TRACKED:
            self._forget(now)

    def _forget(self, now: float) -> None:
        full = [key for key in self._tokens if self._level(key, now) >= self._capacity]
        for key in full or list(self._tokens)[: len(self._tokens) // 2]:
            del self._tokens[key]


def _lower_priority() -> None:
    """Lower the hashing thread's own priority (Linux schedules threads one by one)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


class LoginGuard:
    """Checks logins: throttled, hashed in a thread, the same cost whether the email exists."""

    def __init__(self, store: Store, limits: LoginLimits | None = None) -> None:
        self._store = store
        self.limits = limits or LoginLimits()
        self._accounts = _Buckets(self.limits.account_failures, self.limits.account_refill_seconds)
        self._addresses = _Buckets(self.limits.address_failures, self.limits.address_refill_seconds)
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="twin-password", initializer=_lower_priority
        )
        self._waiting = 0
        # A hash no password matches, of the same cost as a real one: an unknown email is
        # checked against it.
        self._dummy = hash_password(secrets.token_urlsafe(18))

    def close(self) -> None:
        """Stop the hashing thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def check_address(self, address: str) -> None:
        """Raise 429 (after a pause) when the address has failed too often; else return."""
        await self._throttle(self._addresses.wait(address))

    async def _throttle(self, wait: float) -> None:
        # TWIN-CORE-063 "A node MUST throttle failed logins per account and per client address,
        # answering 429 with Retry-After once either has failed too often, ...".
        if wait <= 0:
            return
        await asyncio.sleep(min(wait, THROTTLED_PAUSE_SECONDS))
        raise TooManyRequestsError(
            "too many failed logins for this account or from this address; try again later"
        ).with_headers({"retry-after": str(max(1, math.ceil(wait)))})

    async def login(self, email: str, password: str, address: str) -> str:
        """Return the identity of the user with these credentials, or raise 401, 429 or 503."""
        account = email.strip().lower()
        await self._throttle(max(self._accounts.wait(account), self._addresses.wait(address)))
        if self._waiting >= self.limits.max_waiting:
            raise ServiceUnavailableError(
                "the node is checking as many logins as it takes at once; try again later"
            ).with_headers({"retry-after": "1"})
        row = self._store.one("SELECT identity, password_hash FROM users WHERE email = ?", email)
        # TWIN-CORE-064 "... an unknown email SHOULD get the same answer as a wrong password,
        # after as much work": it is checked against the dummy hash.
        stored = str(row[1]) if row is not None else self._dummy
        self._waiting += 1
        try:
            matches = await asyncio.get_running_loop().run_in_executor(
                self._pool, check_password, password, stored
            )
        finally:
            self._waiting -= 1
        if row is None or not matches:
            self._accounts.spend(account)
            self._addresses.spend(address)
            raise UnauthorizedError("the email or the password is wrong")
        return str(row[0])
