"""Open a report.html (a matrix page, a published site page) in headless Chromium; check it.

Usage: ``python conformance/tools/check_report_html.py REPORT_HTML [--report REPORT_JSON]``

How it works. Chromium (Debian's ``chromium``; ``--chromium`` or ``$CHROMIUM`` names another
binary) is started once, headless, on a throwaway profile, with:

- ``--dump-dom`` and ``--virtual-time-budget``: after the page loads and its timers have had
  five (virtual) seconds, Chromium prints the DOM as it then stands. The check parses it and
  finds the overall verdict (``#overall-verdict`` with its ``data-verdict`` and its words) and
  one row per profile; given report.json (or finding one beside the page) it checks that they
  say what the report says. A matrix page is recognised by ``#requirement-matrix`` and checked
  for its implementations and their verdicts instead. That the inline filter script ran (its
  controls are shown) is reported too, as a sign the page's Content-Security-Policy hashes
  match; the page works without it.
- ``--log-net-log``: Chromium writes every URL request of the browser to a JSON net log. A
  request a document makes carries the document's origin (``initiator``; for a file: page,
  ``"null"``) and a ``file://`` network isolation key, whereas Chromium's own background traffic
  (update checks, time sync, accounts) has no initiator origin (``"not an origin"``). Any request
  of the first kind fails the check, whatever its URL; the background ones are ignored and
  counted. The test suite checks this classification against this Chromium with pages that do
  load things (image, stylesheet, script, iframe, CSS url(), fetch, meta refresh).
- ``--host-resolver-rules "MAP * ~NOTFOUND"`` and a proxy that does not exist, without bypass
  for loopback: nothing the page (or Chromium) asks for can leave the machine while checking.
- A static pass over the dumped DOM as well: no element may name a resource to load (``src``,
  ``srcset``, ``<link href>``, ``<base>``, ``<object data>``, ``poster``, ``meta refresh``, CSS
  ``url(...)`` or ``@import``), so that even a load Chromium would not log (a preconnect) fails.

Exit status: 0 the page rendered its verdicts and made no network request; 1 it did not (the
reason is printed); 2 the check could not run (no Chromium, or Chromium failed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RUN_VERDICTS = {"conformant", "not-conformant", "incomplete"}
PROFILE_VERDICTS = {
    "conformant",
    "not-conformant",
    "incomplete",
    "not-claimed",
    "not-requested",
    "not-reported",
}
RESOURCE_ATTRIBUTES = {"src", "srcset", "poster", "data", "background", "manifest", "ping"}
_CSS_LOAD = re.compile(r"url\s*\(|@import", re.IGNORECASE)


class CheckFailed(Exception):
    """The page broke a rule; the message says which."""


class CannotCheck(Exception):
    """The check could not run (no Chromium, or Chromium did not finish)."""


def find_chromium(explicit: str | None) -> str:
    """The Chromium binary to use: the one named, $CHROMIUM, or the first found on PATH."""
    candidates = [explicit] if explicit else []
    if os.environ.get("CHROMIUM"):
        candidates.append(os.environ["CHROMIUM"])
    candidates.extend(CHROMIUM_NAMES)
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    raise CannotCheck(
        "no Chromium found (install Debian's chromium package, or set $CHROMIUM / --chromium)"
    )


def chromium_command(binary: str, page: Path, profile: Path, net_log: Path) -> list[str]:
    """The command line of one headless Chromium run that dumps the DOM and logs the network."""
    return [
        binary,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-pings",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        f"--log-net-log={net_log}",
        "--net-log-capture-mode=Default",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]


def run_chromium(binary: str, page: Path, timeout: float) -> tuple[str, dict[str, Any]]:
    """Load the page once; return the dumped DOM and the parsed net log."""
    with tempfile.TemporaryDirectory(prefix="twin-report-check-") as folder:
        net_log = Path(folder) / "net-log.json"
        command = chromium_command(binary, page, Path(folder) / "profile", net_log)
        try:
            done = subprocess.run(  # noqa: S603 - our own fixed command line
                command,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise CannotCheck(f"Chromium did not finish within {timeout:g} s") from error
        if done.returncode != 0 or "<html" not in done.stdout.lower():
            tail = done.stderr.strip().splitlines()[-3:]
            raise CannotCheck(
                f"Chromium exited with {done.returncode} without a DOM: " + " | ".join(tail)
            )
        if not net_log.is_file():
            raise CannotCheck("Chromium wrote no net log")
        return done.stdout, read_net_log(net_log.read_text(encoding="utf-8", errors="replace"))


def read_net_log(text: str) -> dict[str, Any]:
    """Parse a net log, closing it first if Chromium stopped before writing its end."""
    try:
        document: dict[str, Any] = json.loads(text)
        return document
    except ValueError:
        repaired = text.rstrip().rstrip(",")
        for ending in ("]}", "}]}", ""):
            try:
                document = json.loads(repaired + ending)
                return document
            except ValueError:
                continue
    raise CannotCheck("the net log Chromium wrote is not JSON")


@dataclass
class NetworkUse:
    """The URL requests of one run, split into the page's and Chromium's own."""

    page: list[str] = field(default_factory=list)
    background: list[str] = field(default_factory=list)


def _started_by_a_document(params: dict[str, Any]) -> bool:
    """Whether a URL request was made on behalf of a document (not by the browser itself)."""
    initiator = str(params.get("initiator", "not an origin"))
    isolation = str(params.get("network_isolation_key", ""))
    site = str(params.get("site_for_cookies", ""))
    return initiator != "not an origin" or "file://" in isolation or "site=file://" in site


def network_use(net_log: dict[str, Any], page_url: str) -> NetworkUse:
    """Every URL request in the net log, sorted into the page's and the browser's."""
    constants = net_log.get("constants", {})
    event_types = constants.get("logEventTypes", {})
    start_job = event_types.get("URL_REQUEST_START_JOB")
    if start_job is None:
        raise CannotCheck("the net log has no URL_REQUEST_START_JOB event type")
    use = NetworkUse()
    for event in net_log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start_job or "url" not in params:
            continue
        url = str(params["url"])
        if url == page_url:
            continue
        (use.page if _started_by_a_document(params) else use.background).append(url)
    return use


@dataclass
class Node:
    """An element of the dumped DOM: its tag, attributes, text and children."""

    tag: str
    attributes: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all_text(self) -> str:
        """The element's text content, whitespace collapsed."""
        parts = list(self.text)
        parts.extend(child.all_text() for child in self.children)
        return " ".join(" ".join(parts).split())

    def walk(self) -> list[Node]:
        """The element itself and every element below it, in document order."""
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


class TreeBuilder(HTMLParser):
    """A small DOM builder over html.parser (Chromium's serialisation is well formed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element (void elements close at once)."""
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open element of that name."""
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        """Text belongs to the innermost open element."""
        self.stack[-1].text.append(data)
        if self.stack[-1].tag == "style":
            self.styles.append(data)


def parse_dom(html: str) -> tuple[Node, list[str]]:
    """The dumped DOM as a tree, and the text of its style elements."""
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root, builder.styles


def resource_references(root: Node, styles: list[str]) -> list[str]:
    """Every place in the DOM that names a resource for the browser to load."""
    found = []
    for node in root.walk():
        for name, value in node.attributes.items():
            loads = name in RESOURCE_ATTRIBUTES or name.endswith(":href")
            loads |= name == "href" and node.tag in ("link", "base")
            loads |= name == "action" and node.tag == "form"
            loads |= name == "formaction"
            if loads and value.strip() and not value.strip().startswith("#"):
                found.append(f"<{node.tag} {name}={value[:80]!r}>")
            if name == "style" and _CSS_LOAD.search(value):
                found.append(f"<{node.tag} style={value[:80]!r}>")
        if node.tag == "meta" and node.attributes.get("http-equiv", "").lower() == "refresh":
            found.append(f"<meta http-equiv=refresh content={node.attributes.get('content')!r}>")
    found.extend(
        f"<style> {match.group()!r}" for css in styles for match in _CSS_LOAD.finditer(css)
    )
    return found


def by_id(root: Node, element_id: str) -> Node | None:
    """The element with this id, if any."""
    return next((node for node in root.walk() if node.attributes.get("id") == element_id), None)


def check_report_dom(root: Node, report: dict[str, Any] | None) -> list[str]:
    """Check a report page's verdicts; return what was found, raise CheckFailed if wrong."""
    verdict_node = by_id(root, "overall-verdict")
    if verdict_node is None:
        raise CheckFailed("the page shows no overall verdict (#overall-verdict)")
    verdict = verdict_node.attributes.get("data-verdict", "")
    if verdict not in RUN_VERDICTS:
        raise CheckFailed(f"the overall verdict {verdict!r} is not a run verdict")
    words = verdict.replace("-", " ").upper()
    if words not in verdict_node.all_text().upper():
        raise CheckFailed(f"the overall verdict does not say {words!r} in words")
    table = by_id(root, "profile-table")
    rows = [] if table is None else [n for n in table.walk() if "data-profile" in n.attributes]
    if not rows:
        raise CheckFailed("the page shows no profile verdicts (#profile-table)")
    shown = {row.attributes["data-profile"]: row.attributes.get("data-verdict", "") for row in rows}
    for profile, profile_verdict in shown.items():
        if profile_verdict not in PROFILE_VERDICTS:
            raise CheckFailed(f"profile {profile!r} shows the verdict {profile_verdict!r}")
        row_text = next(row for row in rows if row.attributes["data-profile"] == profile)
        if profile_verdict.replace("-", " ") not in row_text.all_text():
            raise CheckFailed(f"profile {profile!r} does not say {profile_verdict!r} in words")
    if report is not None:
        if report.get("verdict") != verdict:
            raise CheckFailed(f"the page says {verdict!r}, report.json {report.get('verdict')!r}")
        for entry in report.get("profiles", []):
            if shown.get(entry["profile"]) != entry["verdict"]:
                raise CheckFailed(
                    f"profile {entry['profile']!r}: the page says {shown.get(entry['profile'])!r}, "
                    f"report.json {entry['verdict']!r}"
                )
    notes = [f"overall verdict: {verdict}"]
    notes.extend(f"profile {profile}: {shown[profile]}" for profile in shown)
    return notes


def check_matrix_dom(root: Node) -> list[str]:
    """Check an aggregated matrix page: implementations with verdicts, requirement rows."""
    table = by_id(root, "implementation-table")
    rows = (
        [] if table is None else [n for n in table.walk() if "data-implementation" in n.attributes]
    )
    if not rows:
        raise CheckFailed("the matrix page lists no implementations")
    for row in rows:
        verdict = row.attributes.get("data-verdict", "")
        if verdict not in RUN_VERDICTS or verdict.replace("-", " ") not in row.all_text():
            raise CheckFailed(
                f"implementation {row.attributes['data-implementation']!r} shows no verdict"
            )
    matrix = by_id(root, "requirement-matrix")
    cells = [] if matrix is None else [n for n in matrix.walk() if "data-status" in n.attributes]
    if matrix is None:
        raise CheckFailed("the matrix page has no requirement matrix")
    return [f"{len(rows)} implementations, {len(cells)} requirement cells"]


def check_site_dom(root: Node) -> list[str]:
    """Check a published site page: every implementation or run says its certification."""
    rows = [node for node in root.walk() if "data-certification" in node.attributes]
    if not rows:
        raise CheckFailed("the site page shows no implementation or run with its certification")
    for row in rows:
        status = row.attributes["data-certification"]
        if status.replace("-", " ") not in row.all_text():
            raise CheckFailed(f"a row does not say its certification {status!r} in words")
    statuses = sorted({row.attributes["data-certification"] for row in rows})
    return [f"{len(rows)} rows with certification: {', '.join(statuses)}"]


def filter_script_ran(root: Node) -> bool:
    """Whether the inline filter script ran (it un-hides its controls)."""
    controls = [
        node for node in root.walk() if "filter" in node.attributes.get("class", "").split()
    ]
    return bool(controls) and all("hidden" not in node.attributes for node in controls)


def check(page: Path, report_path: Path | None, chromium: str | None, timeout: float) -> list[str]:
    """Run every check on one page; return notes, raise CheckFailed or CannotCheck."""
    if not page.is_file():
        raise CannotCheck(f"{page} does not exist")
    report = None
    if (
        report_path is None
        and (page.parent / "report.json").is_file()
        and page.name == "report.html"
    ):
        report_path = page.parent / "report.json"
    if report_path is not None:
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CannotCheck(f"cannot read {report_path}: {error}") from error
    binary = find_chromium(chromium)
    dom, net_log = run_chromium(binary, page, timeout)
    use = network_use(net_log, page.resolve().as_uri())
    if use.page:
        raise CheckFailed("the page made network requests: " + ", ".join(use.page[:5]))
    root, styles = parse_dom(dom)
    references = resource_references(root, styles)
    if references:
        raise CheckFailed("the page names resources to load: " + "; ".join(references[:5]))
    if by_id(root, "requirement-matrix") is not None:
        notes = check_matrix_dom(root)
    elif by_id(root, "site-index") is not None or by_id(root, "history") is not None:
        notes = check_site_dom(root)
    else:
        notes = check_report_dom(root, report)
    notes.append("network requests by the page: 0")
    notes.append(f"Chromium's own background requests (ignored): {len(use.background)}")
    notes.append(f"inline filter script ran: {'yes' if filter_script_ran(root) else 'no'}")
    if report_path is not None:
        notes.append(f"verdicts match {report_path}")
    return notes


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: 0 checked and fine, 1 the page failed, 2 could not check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("page", type=Path, help="the report.html (or matrix HTML) to open")
    parser.add_argument("--report", type=Path, help="report.json whose verdicts the page must show")
    parser.add_argument("--chromium", help="the Chromium binary (default: $CHROMIUM or PATH)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds Chromium may take")
    arguments = parser.parse_args(argv)
    try:
        notes = check(arguments.page, arguments.report, arguments.chromium, arguments.timeout)
    except CannotCheck as error:
        print(f"cannot check {arguments.page}: {error}", file=sys.stderr)
        return 2
    except CheckFailed as error:
        print(f"FAIL {arguments.page}: {error}", file=sys.stderr)
        return 1
    print(f"OK {arguments.page}")
    for note in notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
