r"""The static HTML page of a conformance report: one self-contained file for people to read.

The page loads nothing: its CSS and its optional filter script are inline and allowed by a
Content-Security-Policy that names them by hash and forbids every other resource, so even text
a hostile target put into a response body (``</pre><img src=http://...>``) is inert twice over:
autoescaped by Jinja2, and blocked by the policy if escaping ever failed. Control and
bidirectional-override characters are shown as ``\xNN`` / ``\uNNNN`` so evidence cannot hide
or reorder text.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

STATUS_SYMBOLS: dict[str, str] = {
    "passed": "✔",
    "conformant": "✔",
    "certified": "✔",
    "failed": "✘",
    "not-conformant": "✘",
    "error": "✘",
    "bad-signature": "✘",
    "inconsistent": "✘",
    "incomplete": "◐",
    "blocked": "◐",
    "not-run": "◐",
    "untrusted-signer": "◐",
    "unsigned": "◐",
    "baselined": "◐",
    "subset": "◐",
    "skipped": "○",
    "not-tested": "○",
    "unobservable": "○",
    "not-applicable": "–",
    "not-selected": "–",
    "not-claimed": "–",
    "not-requested": "–",
    "not-reported": "?",
}
"""A symbol beside each status label, so that no status is told by colour alone."""

FAILING_OUTCOMES = frozenset({"failed", "error"})

# C0 and C1 controls (tab and newline kept), DEL, lone surrogates, and the invisible
# direction marks and overrides that could make shown text read differently from its bytes.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def visible(value: object) -> str:
    """``value`` as text with control, direction and surrogate characters spelled out."""
    text = "" if value is None else str(value)
    return _INVISIBLE.sub(_spell_out, text.replace("\r\n", "\n"))


def _spell_out(match: re.Match[str]) -> str:
    r"""``\xNN`` for a byte-sized code point, ``\uNNNN`` otherwise."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def label(status: object) -> str:
    """A status as words: ``not-claimed`` → ``not claimed``."""
    return str(status).replace("-", " ")


def badge(status: object) -> Markup:
    """A status as a coloured badge that also carries a symbol and its words."""
    text = str(status)
    css = text if text in STATUS_SYMBOLS else "unknown"
    return Markup('<span class="badge st-{}">{} {}</span>').format(
        css, STATUS_SYMBOLS.get(text, "?"), label(visible(text))
    )


def symbol(status: object) -> str:
    """The symbol shown beside a status."""
    return STATUS_SYMBOLS.get(str(status), "?")


def json_text(value: object) -> str:
    """A value of the target's /info as text: strings as they are, anything else as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return visible(text)


def seconds(value: object) -> str:
    """A duration for people: ``0.012 s``, ``12.5 s``, ``2 min 05 s``."""
    number = float(value) if isinstance(value, int | float) else 0.0
    if number < 1:
        return f"{number:.3f} s"
    if number < 120:
        return f"{number:.1f} s"
    minutes, rest = divmod(round(number), 60)
    return f"{minutes} min {rest:02d} s"


def anchor(test_id: object) -> str:
    """A stable HTML id for a test, whatever characters its node ID holds."""
    return "test-" + hashlib.sha256(str(test_id).encode("utf-8", "surrogatepass")).hexdigest()[:16]


@functools.cache
def _environment() -> jinja2.Environment:
    """The Jinja2 environment: templates beside this module, autoescape on, strict undefined."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        visible=visible,
        label=label,
        badge=badge,
        symbol=symbol,
        json_text=json_text,
        seconds=seconds,
        anchor=anchor,
    )
    return environment


def _csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@functools.cache
def _assets() -> tuple[Markup, Markup, str]:
    """The inline CSS, the inline script, and the Content-Security-Policy allowing only them."""
    environment = _environment()
    css = environment.get_template("style.css.j2").render()
    script = environment.get_template("filter.js.j2").render()
    policy = (
        "default-src 'none'; "
        f"style-src {_csp_hash(css)}; "
        f"script-src {_csp_hash(script)}; "
        "img-src 'none'; font-src 'none'; connect-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    # Our own templates, rendered without any report data: safe to insert as they are.
    return Markup(css), Markup(script), policy  # noqa: S704


def render_template(name: str, **context: Any) -> str:  # noqa: ANN401 - template values
    """Render one page template with the shared inline assets and policy."""
    css, script, policy = _assets()
    template = _environment().get_template(name)
    return template.render(css=css, script=script, csp=policy, **context)


def _requirement_index(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The report's requirements by ID."""
    return {str(entry["id"]): entry for entry in report["requirements"]}


def _target_name(report: Mapping[str, Any]) -> str:
    """How the page names the target: its declared name, its /info name and version, its URL."""
    declared = report["target"].get("name")
    if isinstance(declared, str) and declared.strip():
        return declared
    info = report["target"]["info"]
    if isinstance(info, Mapping) and isinstance(info.get("name"), str) and info["name"].strip():
        version = info.get("version")
        return f"{info['name']} {version}" if isinstance(version, str) else str(info["name"])
    return str(report["target"]["url"])


def _failures(
    tests: Iterable[Mapping[str, Any]], requirements: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The failed and broken checks, each with the requirement it names."""
    failures = []
    for test in tests:
        if test["outcome"] not in FAILING_OUTCOMES:
            continue
        named = test.get("failedRequirement")
        failures.append(
            {
                "test": test,
                "requirement_id": named,
                "requirement": requirements.get(named) if isinstance(named, str) else None,
            }
        )
    return failures


def render_html(report: Mapping[str, Any]) -> str:
    """The report as a complete static HTML page (inline CSS, no network resources)."""
    requirements = _requirement_index(report)
    tests = list(report["tests"])
    failing_tests = {str(test["id"]) for test in tests if test["outcome"] in FAILING_OUTCOMES}
    claimed = report["target"]["info"]
    claimed_profiles = claimed.get("profiles") if isinstance(claimed, Mapping) else None
    from twin_conformance._results import verdict_line

    return render_template(
        "report.html.j2",
        report=report,
        verdict_line=verdict_line(report),
        target_name=_target_name(report),
        claimed_profiles=claimed_profiles if isinstance(claimed_profiles, list) else None,
        failures=_failures(tests, requirements),
        failing_tests=failing_tests,
        requirement_statuses=sorted({str(entry["status"]) for entry in report["requirements"]}),
        test_outcomes=sorted({str(test["outcome"]) for test in tests}),
    )
