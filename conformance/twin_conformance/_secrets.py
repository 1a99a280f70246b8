"""Secrets never reach an output: the password and every token or cookie the target issues.

The harness learns secrets as the run goes (the password it was given, the session token,
each token a login or refresh answers, each Set-Cookie value) and :class:`Redactor` replaces
every spelling of each one (raw, URL-encoded, JSON-escaped, base64 and base64url, with and
without padding) in everything written: report.json and the files rendered from it, the
console, the reproduce commands (SUITE-031).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REDACTED = "«redacted»"
MIN_SECRET_LENGTH = 6
"""Shorter values are not treated as secrets: redacting them would blank ordinary text."""

_TOKEN_MEMBERS = {"token", "access_token", "accessToken", "refresh_token", "refreshToken"}


def spellings(secret: str) -> set[str]:
    """Every way ``secret`` may appear in evidence."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
        urllib.parse.quote(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update({text, text.rstrip("=")})
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


REMEMBERED_LENGTH = 512
"""Texts up to this length (header names and values, short bodies) are redacted once each."""
REMEMBERED_TEXTS = 50_000


@dataclass(frozen=True)
class _Compiled:
    """The secrets' spellings as one pattern, the shortest one's length, and texts redacted."""

    pattern: re.Pattern[str]
    shortest: int
    seen: dict[str, str]


class Redactor:
    """The secrets of one run, and the rewriting that hides them."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self._compiled: _Compiled | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Treat ``secret`` as a secret from now on (values too short to matter are ignored)."""
        if secret is None or len(secret) < MIN_SECRET_LENGTH or secret in self._secrets:
            return
        self._secrets.add(secret)
        self._compiled = None

    def learn_from_body(self, body: bytes) -> None:
        """Take the token members of a login or refresh answer as secrets."""
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(value, dict):
            for name in _TOKEN_MEMBERS & set(value):
                if isinstance(value[name], str):
                    self.add(value[name])

    def learn_from_cookies(self, set_cookies: Iterable[str]) -> None:
        """Take every Set-Cookie value as a secret (a session cookie is a credential)."""
        for header in set_cookies:
            value = header.partition("=")[2].split(";", 1)[0].strip().strip('"')
            self.add(value)

    def text(self, value: str) -> str:
        """``value`` with every spelling of every secret replaced."""
        if not self._secrets:
            return value
        compiled = self._compiled or self._compile()
        if len(value) < compiled.shortest:
            return value  # Too short to hold any spelling of any secret.
        if len(value) > REMEMBERED_LENGTH:
            return compiled.pattern.sub(REDACTED, value)
        redacted = compiled.seen.get(value)
        if redacted is None:
            redacted = compiled.pattern.sub(REDACTED, value)
            if len(compiled.seen) < REMEMBERED_TEXTS:
                compiled.seen[value] = redacted
        return redacted

    def _compile(self) -> _Compiled:
        forms = sorted(
            {form for secret in self._secrets for form in spellings(secret)},
            key=len,
            reverse=True,
        )
        compiled = _Compiled(
            re.compile("|".join(re.escape(form) for form in forms)), len(forms[-1]), {}
        )
        self._compiled = compiled
        return compiled

    def value(self, value: Any) -> Any:  # noqa: ANN401 - any JSON value
        """A JSON value with every string (member names included) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value
