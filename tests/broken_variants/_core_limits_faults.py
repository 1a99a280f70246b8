"""Faults of the core profile under hostile input: body bounds, slow heads, logins, retries.

Issue 13's findings, put back one at a time: a value bound that is never counted, request
heads that are never timed, failed logins that nothing throttles, an unknown email answered
without the work a known one costs, a logout that spares the tokens refreshed from its
session, and writes that ignore their Idempotency-Key.
"""

from __future__ import annotations

from typing import Any

from tests.broken_variants._asgi import Context, HttpRequest, HttpResponse, rule
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import patched_copy, rebind


def patch_values_uncounted() -> None:
    """Make the node parse every body without counting its JSON values first."""
    from twin_reference import _http

    def count(text: bytes, at_most: int | None = None) -> int:
        return 1

    rebind(_http, "json_value_count", count)


def patch_parse_limits_unnamed() -> None:
    """Make the node refuse a body past a limit of strict parsing without naming the limit."""
    from twin_reference import _http
    from twin_reference._errors import ValidationError

    parse = _http.parse_body

    def parse_body(raw: bytes, limit: Any) -> Any:
        try:
            return parse(raw, limit)
        except ValidationError as exc:
            if exc.status != 400:
                raise
            raise ValidationError(exc.message, field="body") from None

    rebind(_http, "parse_body", parse_body)


def patch_request_heads_untimed() -> None:
    """Make the node hold a connection whose request head never ends, for ever."""
    from twin_reference import _server

    def wait_on(self: Any) -> None:
        return None

    setattr(_server.GuardedH11Protocol, "_head_too_slow", wait_on)  # noqa: B010 - on purpose


def patch_logins_unthrottled() -> None:
    """Make the node let every account and address try again at once, however often it failed."""
    from twin_reference import _login

    def wait(self: Any, key: str) -> float:
        return 0.0

    setattr(_login._Buckets, "wait", wait)  # noqa: B010 - the method is replaced on purpose


UNKNOWN_EMAIL_AT_ONCE = {
    "        stored = str(row[1]) if row is not None else self._dummy\n": (
        "        if row is None:\n"
        "            self._accounts.spend(account)\n"
        "            self._addresses.spend(address)\n"
        '            raise UnauthorizedError("the email or the password is wrong")\n'
        "        stored = str(row[1])\n"
    ),
}


def patch_unknown_email_answered_at_once() -> None:
    """Make the node answer an unknown email's login without hashing anything."""
    from twin_reference import _login

    copy = patched_copy("twin_reference._login", UNKNOWN_EMAIL_AT_ONCE)
    setattr(_login.LoginGuard, "login", copy.LoginGuard.login)  # noqa: B010 - on purpose


def patch_logout_spares_refreshed_tokens() -> None:
    """Make the node revoke only the token a logout names, not the tokens of its session."""
    from twin_reference import _auth

    copy = patched_copy(
        "twin_reference._auth", {'session = payload.get("sid", jti)': "session = jti"}
    )
    setattr(_auth.TokenIssuer, "check", copy.TokenIssuer.check)  # noqa: B010 - on purpose


async def idempotency_key_dropped(request: HttpRequest, context: Context) -> HttpResponse:
    """Handle the write as if it carried no Idempotency-Key."""
    return await context.forward(request.with_headers(idempotency_key=None))


FAULTS = (
    fault(
        "body-values-uncounted",
        "core",
        "TWIN-CORE-061",
        "the node parses every body without counting its JSON values first (16 MiB of {} to "
        "the public evaluate route is parsed, not refused with 413 tooManyValues)",
        patch=patch_values_uncounted,
        run_profile="consensus",
    ),
    fault(
        "parse-limits-unnamed",
        "core",
        "TWIN-CORE-060",
        "a body past a limit of strict parsing (a 4400-digit integer, 300 levels of nesting, "
        "a lone surrogate) is refused with 400 but no properties.code naming the limit",
        patch=patch_parse_limits_unnamed,
    ),
    fault(
        "request-heads-untimed",
        "core",
        "TWIN-CORE-062",
        "a connection whose request head never ends is held open for ever",
        patch=patch_request_heads_untimed,
    ),
    fault(
        "failed-logins-unthrottled",
        "core",
        "TWIN-CORE-063",
        "failed logins are never throttled, per account or per address",
        patch=patch_logins_unthrottled,
    ),
    fault(
        "unknown-email-answered-at-once",
        "core",
        "TWIN-CORE-064",
        "a login with an unknown email is refused without hashing, so it is answered much "
        "sooner than a wrong password for a known email",
        patch=patch_unknown_email_answered_at_once,
        fail_on_should=True,
    ),
    fault(
        "logout-spares-refreshed-tokens",
        "core",
        "TWIN-CORE-065",
        "a logout revokes the token it names but not the tokens refreshed from its session",
        patch=patch_logout_spares_refreshed_tokens,
        fail_on_should=True,
    ),
    fault(
        "idempotency-key-ignored",
        "core",
        "TWIN-CORE-068",
        "writes ignore their Idempotency-Key: a retry is a new write, anchored again",
        rules=(rule("POST", "/immutable-proof", idempotency_key_dropped),),
        run_profile="anchoring",
    ),
)
