"""The redactor: every spelling of every secret, however often seen and whenever learnt."""

from __future__ import annotations

import base64
import json
import urllib.parse

from twin_conformance._secrets import REDACTED, Redactor


def test_a_text_seen_before_a_secret_is_learnt_is_redacted_after() -> None:
    redactor = Redactor(["first-secret"])
    text = "Bearer later-secret and first-secret"
    assert redactor.text(text) == f"Bearer later-secret and {REDACTED}"
    redactor.add("later-secret")
    assert redactor.text(text) == f"Bearer {REDACTED} and {REDACTED}"
    assert redactor.text(text) == f"Bearer {REDACTED} and {REDACTED}"


def test_every_spelling_is_redacted_in_short_and_long_texts() -> None:
    secret = "p@ss word/+="
    redactor = Redactor([secret])
    forms = [
        secret,
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    ]
    for form in forms:
        for text in (form, f"<{form}>", "x" * 600 + form):
            for _ in range(2):
                assert form not in redactor.text(text)
    assert redactor.text("short") == "short"
    value = {"headers": {"authorization": secret}, "list": [secret, 1, None]}
    assert redactor.value(value) == {
        "headers": {"authorization": REDACTED},
        "list": [REDACTED, 1, None],
    }
