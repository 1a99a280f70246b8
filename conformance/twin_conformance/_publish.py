"""A standards body's publication: a static site of implementations, verdicts and history.

``twin-conformance report publish REPORTS... --out SITE/`` writes:

- ``index.html``: every implementation (by the name its vendor declares), its latest run's
  version and spec version, what that run can be trusted for (certified, or why not: unsigned,
  signed by an untrusted key, incomplete...) and its verdict per profile; never "certified"
  for a report that is not;
- ``matrix.html`` / ``matrix.json``: the requirement x implementation matrix of the latest
  runs (``report aggregate``'s);
- ``implementations/<slug>/index.html``: the implementation's runs in time order, each with
  what changed since the one before (``report diff``), and each run's ``report.html`` and
  ``report.json`` below it;
- ``badges/<slug>-<profile>.svg``: one badge per implementation and profile.

Every page is self-contained (inline CSS under a Content-Security-Policy that allows nothing
else, badges drawn inline) and loads nothing from the network. The inputs are validated first,
so a bad input writes nothing; the site is built in a staging folder beside ``out`` and then
put in its place.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from twin_conformance._aggregate import (
    AggregateError,
    aggregate,
    certification,
    render_matrix_html,
    validate_report,
)
from twin_conformance._diff import diff_reports
from twin_conformance._render_html import render_html, render_template
from twin_conformance._trust import TrustedKeys

PROFILES = ("core", "identity", "anchoring", "consensus", "documents")
BADGE_COLOURS = {
    "certified-conformant": "#1a7f37",
    "conformant": "#6b7785",
    "not-conformant": "#c62828",
    "incomplete": "#b7791f",
    "not-claimed": "#9aa3ad",
    "not-requested": "#9aa3ad",
}


@dataclass
class Run:
    """One report of an implementation, with what it can be trusted for."""

    source: str
    report: Mapping[str, Any]
    certification: str
    flags: list[str]
    number: int = 0

    @property
    def started(self) -> str:
        """When the run started (RFC 3339), for ordering."""
        return str(self.report["run"]["startedAt"])


@dataclass
class Implementation:
    """An implementation and its runs, oldest first."""

    name: str
    slug: str
    runs: list[Run] = field(default_factory=list)

    @property
    def latest(self) -> Run:
        """The most recent run."""
        return self.runs[-1]


def implementation_key(report: Mapping[str, Any], source: str) -> str:
    """The name that groups runs: the vendor's declared name, else /info's name, else the file."""
    declared = report["target"].get("name")
    if isinstance(declared, str) and declared.strip():
        return " ".join(declared.split())
    info = report["target"].get("info")
    name = info.get("name") if isinstance(info, Mapping) else None
    if isinstance(name, str) and name.strip():
        return " ".join(name.split())
    return source


def slug_of(name: str) -> str:
    """A file-name-safe, collision-free slug for an implementation name."""
    words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "implementation"
    return f"{words}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def badge_svg(label: str, status: str, colour: str) -> str:
    """A flat two-part badge, drawn with text widths estimated (no font is loaded)."""
    left, right = 6 * len(label) + 12, 6 * len(status) + 12
    text = escape
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="20" '
        f'role="img" aria-label="{text(label)}: {text(status)}">'
        f"<title>{text(label)}: {text(status)}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{text(label)}</text>'
        f'<text x="{left + 6}" y="14">{text(status)}</text></g></svg>'
    )


def profile_badge(run: Run, profile: str) -> tuple[str, str]:
    """A profile's badge words and colour: certified only for a certified run."""
    verdict = next(
        (e["verdict"] for e in run.report["profiles"] if e["profile"] == profile), "not-reported"
    )
    if verdict == "conformant":
        if run.certification == "certified":
            return "conformant (certified)", BADGE_COLOURS["certified-conformant"]
        return f"conformant ({run.certification.replace('-', ' ')})", BADGE_COLOURS["conformant"]
    words = verdict.replace("-", " ")
    return words, BADGE_COLOURS.get(verdict, BADGE_COLOURS["not-requested"])


def publish(
    sources: Sequence[tuple[str, Mapping[str, Any]]], trusted: TrustedKeys, out: Path
) -> list[Implementation]:
    """Write the site for ``sources`` (name, report) under ``out``; return the implementations.

    Raises :class:`AggregateError` naming the first input that is not a valid report, before
    anything is written.
    """
    if not sources:
        raise AggregateError("no reports to publish")
    for source, report in sources:
        validate_report(source, report)
    implementations: dict[str, Implementation] = {}
    for source, report in sources:
        status, flags, _signer = certification(report, trusted)
        name = implementation_key(report, source)
        implementation = implementations.setdefault(name, Implementation(name, slug_of(name)))
        implementation.runs.append(Run(source, report, status, flags))
    for implementation in implementations.values():
        implementation.runs.sort(key=lambda run: run.started)
        for number, run in enumerate(implementation.runs, start=1):
            run.number = number
    ordered = sorted(implementations.values(), key=lambda item: item.name.lower())
    staging = Path(
        tempfile.mkdtemp(prefix=".publish-", dir=out.parent if out.parent.is_dir() else None)
    )
    try:
        _write_site(staging, ordered, trusted)
        if out.exists():
            shutil.rmtree(out)
        staging.replace(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ordered


def _write_site(site: Path, implementations: list[Implementation], trusted: TrustedKeys) -> None:
    """Every page, badge and copied report of the site, under ``site``."""
    latest = [
        (f"{item.name} (run {item.latest.number})", item.latest.report) for item in implementations
    ]
    matrix = aggregate(latest, trusted)
    (site / "matrix.json").write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
    (site / "matrix.html").write_text(render_matrix_html(matrix))
    (site / "badges").mkdir()
    rows = []
    for item in implementations:
        folder = site / "implementations" / item.slug
        folder.mkdir(parents=True)
        history = []
        for index, run in enumerate(item.runs):
            run_folder = folder / str(run.number)
            run_folder.mkdir()
            (run_folder / "report.json").write_text(
                json.dumps(run.report, indent=2, ensure_ascii=False) + "\n"
            )
            (run_folder / "report.html").write_text(render_html(run.report))
            diff = diff_reports(item.runs[index - 1].report, run.report) if index else None
            history.append({"run": run, "diff": diff})
        badges = {}
        for profile in PROFILES:
            words, colour = profile_badge(item.latest, profile)
            svg = badge_svg(f"TWIN {profile}", words, colour)
            (site / "badges" / f"{item.slug}-{profile}.svg").write_text(svg)
            badges[profile] = Markup(svg)  # noqa: S704 - drawn here from escaped words
        (folder / "index.html").write_text(
            render_template("site_history.html.j2", item=item, history=list(reversed(history)))
        )
        rows.append({"item": item, "badges": badges})
    (site / "index.html").write_text(
        render_template("site_index.html.j2", rows=rows, profiles=PROFILES, matrix=matrix)
    )
