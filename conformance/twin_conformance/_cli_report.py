"""``twin-conformance report``: render, baseline, verify and aggregate report.json files.

Every command validates its input against the report schema first and refuses anything else
with exit 2 naming the file and the JSON path of what was wrong.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from twin_conformance._cli_common import could_not_run, read_json, write_atomic
from twin_conformance._paths import spec_dir
from twin_conformance._results import EXIT_CONFORMANT, EXIT_NOT_CONFORMANT

TRUSTED_CERTIFIERS_HELP = (
    "Trusted certifiers (JSON, spec/schemas/trusted-certifiers.schema.json). Default: "
    "spec/trusted-certifiers.json, which lists none: a standards body gives its own."
)


def _report_or_exit(path: Path) -> dict[str, Any]:
    """A report.json valid against its schema, or exit 2."""
    from twin_conformance._report_signing import schema_problem

    document = read_json(path, "report")
    problem = schema_problem(document)
    if problem is not None:
        could_not_run(f"{path} is not a TWIN conformance report: {problem}")
    return dict(document)


def _trusted_certifiers(path: Path | None) -> Any:  # noqa: ANN401 - TrustedKeys
    """The trusted certifiers of ``path`` (or the spec's), or exit 2."""
    from twin_conformance._trust import TrustFileError, load_trusted_keys

    try:
        return load_trusted_keys(path or spec_dir() / "trusted-certifiers.json", "certifiers")
    except TrustFileError as error:
        could_not_run(str(error))


@click.group()
def report() -> None:
    """Render, baseline, verify or aggregate conformance reports."""


@report.command("render")
@click.argument("report_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for junit.xml and report.html. Default: beside REPORT_FILE.",
)
def report_render(report_file: Path, out: Path | None) -> None:
    """Render junit.xml and report.html from a report.json and print its summary.

    Exits with the report's own gate: 0, 1 or 2 as the run that wrote it did.
    """
    from rich.console import Console

    from twin_conformance._console import print_summary
    from twin_conformance._render_html import render_html
    from twin_conformance._render_junit import render_junit
    from twin_conformance._results import exit_code, verdict_line

    document = _report_or_exit(report_file)
    folder = out or report_file.parent
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "junit.xml", render_junit(document))
    write_atomic(folder / "report.html", render_html(document))
    console = Console(highlight=False, emoji=False, soft_wrap=True)
    print_summary(document, console)
    console.print(f"Verdict: {verdict_line(document)}", markup=False)
    sys.exit(exit_code(document))


@report.command("baseline")
@click.argument("report_file", type=click.Path(dir_okay=False, path_type=Path))
def report_baseline(report_file: Path) -> None:
    """Print a baseline of the report's failed checks (redirect it to a file).

    Give the file to ``run --baseline``: those failures then pass the CI gate while the
    verdict still counts them.
    """
    document = _report_or_exit(report_file)
    failed = [test for test in document["tests"] if test["outcome"] == "failed"]
    name = document["target"].get("name") or document["target"]["url"]
    click.echo(
        f"# Known failures of {name}, from {report_file} (run {document['run']['startedAt']}).\n"
        "# One check ID per line; '#' starts a comment. A baseline changes the CI gate, never\n"
        "# the verdict."
    )
    for test in failed:
        message = " ".join(str(test.get("message") or "").split())[:120]
        click.echo(f"{test['id']}  # {test['failedRequirement']}: {message}")


@report.command("verify")
@click.argument("report_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--trusted-certifiers",
    type=click.Path(dir_okay=False, path_type=Path),
    help=TRUSTED_CERTIFIERS_HELP,
)
def report_verify(report_file: Path, trusted_certifiers: Path | None) -> None:
    """Check a report's schema and its certifier's signature.

    Exit 0 when a trusted certifier signed it and nothing changed since; 1 when it is
    unsigned, signed by a key the trust file does not list, or changed after signing; 2 when
    it is not a report.
    """
    from twin_conformance._report_signing import check_signature

    document = _report_or_exit(report_file)
    check = check_signature(document, _trusted_certifiers(trusted_certifiers))
    signer = f" by {check.signer}" if check.signer else ""
    verdict = str(document["verdict"]).replace("-", " ")
    complete = "complete" if document["run"]["complete"] else "incomplete run"
    click.echo(f"{check.status.upper()}{signer}: {check.detail} (verdict: {verdict}; {complete})")
    sys.exit(EXIT_CONFORMANT if check.status == "certified" else EXIT_NOT_CONFORMANT)


@report.command("aggregate")
@click.argument(
    "report_files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for matrix.json and matrix.html.",
)
@click.option(
    "--trusted-certifiers",
    type=click.Path(dir_okay=False, path_type=Path),
    help=TRUSTED_CERTIFIERS_HELP,
)
def report_aggregate(
    report_files: tuple[Path, ...], out: Path, trusted_certifiers: Path | None
) -> None:
    """Aggregate reports into a requirement x implementation matrix.

    Each input is marked certified, signed by an untrusted key, unsigned, incomplete,
    baselined or subset; only certified, complete, unbaselined reports count as certified.
    """
    from twin_conformance._aggregate import AggregateError, aggregate, render_matrix_html

    trusted = _trusted_certifiers(trusted_certifiers)
    sources = [(str(path), read_json(path, "report")) for path in report_files]
    try:
        matrix = aggregate(sources, trusted)
    except AggregateError as error:
        could_not_run(str(error))
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "matrix.json", json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
    write_atomic(out / "matrix.html", render_matrix_html(matrix))
    for item in matrix["implementations"]:
        click.echo(f"{item['name']}: {item['certification']} ({', '.join(item['flags']) or '-'})")
    click.echo(f"wrote {out}/matrix.json and matrix.html ({len(sources)} reports)")


@report.command("diff")
@click.argument("before", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
def report_diff(before: Path, after: Path, as_json: bool) -> None:
    """Name the checks that changed from BEFORE to AFTER: newly failing, newly passing, new."""
    from twin_conformance._diff import diff_lines, diff_reports

    diff = diff_reports(_report_or_exit(before), _report_or_exit(after))
    if as_json:
        click.echo(json.dumps(diff, indent=2))
    else:
        for line in diff_lines(diff):
            click.echo(line)


@report.command("publish")
@click.argument(
    "report_files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the site (replaced whole).",
)
@click.option(
    "--trusted-certifiers",
    type=click.Path(dir_okay=False, path_type=Path),
    help=TRUSTED_CERTIFIERS_HELP,
)
def report_publish(
    report_files: tuple[Path, ...], out: Path, trusted_certifiers: Path | None
) -> None:
    """Write a static site of implementations, their signed verdicts, history and badges.

    Reports are grouped by the implementation name their vendor declares; only reports signed
    by a trusted certifier, complete, without baseline or subset are shown as certified.
    """
    from twin_conformance._aggregate import AggregateError
    from twin_conformance._publish import publish

    trusted = _trusted_certifiers(trusted_certifiers)
    sources = [(str(path), read_json(path, "report")) for path in report_files]
    try:
        implementations = publish(sources, trusted, out)
    except AggregateError as error:
        could_not_run(str(error))
    for item in implementations:
        run = item.latest
        click.echo(
            f"{item.name}: {len(item.runs)} run(s), latest {run.report['verdict']} "
            f"({run.certification})"
        )
    click.echo(f"wrote {out}/index.html, matrix.html, implementations/, badges/")
