"""The ``twin-conformance`` command line: run, vectors, verify-receipt, report.

Exit codes, for every command: 0 conformant (or valid), 1 not conformant (or invalid), 2 could
not run (unreachable target, bad arguments, vectors that fail verification), each with a
one-line reason on stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from twin_conformance._paths import checks_dir, spec_dir, vectors_dir
from twin_conformance._registry import PROFILES
from twin_conformance._target import TargetError, check_url, load_target_file, probe
from twin_conformance._version import SUITE_VERSION

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_COULD_NOT_RUN = 0, 1, 2
PROBE_TIMEOUT_SECONDS = 5.0


def _could_not_run(reason: str) -> NoReturn:
    """Print the one-line reason and exit 2."""
    click.echo(f"twin-conformance: could not run: {reason}", err=True)
    sys.exit(EXIT_COULD_NOT_RUN)


def _read_json(path: Path, what: str) -> Any:  # noqa: ANN401 - any JSON document
    """A JSON file, or exit 2 naming the file and what was wrong."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        _could_not_run(f"{what} {path}: {error.strerror}")
    except ValueError as error:
        _could_not_run(f"{what} {path} is not JSON: {error}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(SUITE_VERSION, prog_name="twin-conformance")
def main() -> None:
    """TWIN conformance harness: certify any TWIN node against the spec.

    Exit codes: 0 conformant, 1 not conformant, 2 could not run.
    """


@main.command()
@click.option("--target", "target_url", help="URL of the node under test.")
@click.option(
    "--target-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Target file (YAML/JSON: url, auth, profiles, committee).",
)
@click.option("--email", envvar="TWIN_TARGET_EMAIL", help="Login email [$TWIN_TARGET_EMAIL].")
@click.option(
    "--password", envvar="TWIN_TARGET_PASSWORD", help="Login password [$TWIN_TARGET_PASSWORD]."
)
@click.option(
    "--token",
    envvar="TWIN_TARGET_TOKEN",
    help="Bearer token instead of a login [$TWIN_TARGET_TOKEN].",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Choice([*PROFILES, "full"]),
    help="Profile to check (repeatable; core is always checked). Default: full.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of every random choice.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder. Default: reports/<time>-seed<seed>.",
)
@click.option(
    "--expected-failures",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Baseline: one check ID per line; the run fails if a listed check passes "
    "or an unlisted one fails.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["must", "should"]),
    default="must",
    show_default=True,
    help="Lowest requirement level whose failure makes the run not conformant.",
)
@click.option("--select", "selected", multiple=True, help="Run only this check ID (repeatable).")
@click.option("-k", "keyword", help="Run only checks matching this pytest -k expression.")
@click.option(
    "--fuzz-examples",
    type=click.IntRange(0, 10_000),
    default=10,
    show_default=True,
    help="Fuzzing budget: generated cases per operation (0 skips fuzzing).",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds per request.",
)
@click.option(
    "--run-timeout",
    type=click.FloatRange(1, 86_400),
    default=1800.0,
    show_default=True,
    help="Seconds for the whole run.",
)
@click.option(
    "--vectors",
    "vectors_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of signed vectors. Default: the suite's own.",
)
@click.option(
    "--trusted-publishers",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trusted vector publishers. Default: spec/trusted-publishers.json.",
)
@click.option(
    "--allow-unsigned-vectors",
    is_flag=True,
    help="Replay vectors whose manifest is unsigned (never for certification).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show each check as it runs.")
def run(
    target_url: str | None,
    target_file: Path | None,
    email: str | None,
    password: str | None,
    token: str | None,
    profiles: tuple[str, ...],
    seed: int,
    out: Path | None,
    expected_failures: Path | None,
    fail_on: str,
    selected: tuple[str, ...],
    keyword: str | None,
    fuzz_examples: int,
    request_timeout: float,
    run_timeout: float,
    vectors_path: Path | None,
    trusted_publishers: Path | None,
    allow_unsigned_vectors: bool,
    verbose: bool,
) -> None:
    """Check a target (or, with none, the embedded reference node) and write its reports."""
    import pytest

    if target_url and target_file:
        raise click.UsageError("give --target or --target-file, not both")
    try:
        if target_url:
            check_url(target_url)
            probe(target_url, PROBE_TIMEOUT_SECONDS)
        elif target_file:
            target = load_target_file(target_file)
            if target.url:
                probe(target.url, PROBE_TIMEOUT_SECONDS)
            else:
                from twin_conformance._container import require_engine

                require_engine()
    except TargetError as error:
        _could_not_run(str(error))
    vectors_folder = vectors_path or vectors_dir()
    trusted_file = trusted_publishers or spec_dir() / "trusted-publishers.json"
    _verify_vectors_or_exit(vectors_folder, trusted_file, allow_unsigned_vectors)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out or Path("reports") / f"{stamp}-seed{seed}"
    for name in ("report.json", "junit.xml", "report.html"):
        (out / name).unlink(missing_ok=True)
    command = ["twin-conformance", "run", *sys.argv[2:]] if len(sys.argv) > 1 else ["run"]
    args = [
        str(checks_dir()),
        "-c",
        str(checks_dir() / "pytest.ini"),
        "--rootdir",
        str(checks_dir()),
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "--twin-seed",
        str(seed),
        "--twin-report-dir",
        str(out),
        "--twin-fail-on",
        fail_on,
        "--twin-fuzz-examples",
        str(fuzz_examples),
        "--twin-request-timeout",
        str(request_timeout),
        "--twin-run-timeout",
        str(run_timeout),
        "--twin-vectors",
        str(vectors_folder),
        "--twin-trusted-publishers",
        str(trusted_file),
        "--twin-command",
        " ".join(command),
        "-rN",
        "-v" if verbose else "-q",
    ]
    if allow_unsigned_vectors:
        args.append("--twin-allow-unsigned-vectors")
    if target_url:
        args += ["--twin-target", target_url]
    if target_file:
        args += ["--twin-target-file", str(target_file)]
    if email:
        args += ["--twin-email", email]
    for profile in profiles:
        args += ["--twin-profile", profile]
    if expected_failures:
        args += ["--twin-expected-failures", str(expected_failures)]
    if keyword:
        args += ["-k", keyword]
    if selected:
        args[0:1] = [_selection(check_id) for check_id in selected]
    environment = {"TWIN_TARGET_PASSWORD": password, "TWIN_TARGET_TOKEN": token}
    saved = {name: os.environ.get(name) for name in environment}
    for name, value in environment.items():
        if value is not None:
            os.environ[name] = value
    started = time.monotonic()
    try:
        code = pytest.main(args)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    report_file = out / "report.json"
    if code in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.USAGE_ERROR) or code == 2:
        _could_not_run("the run was stopped before it finished (see above)")
    if code == pytest.ExitCode.INTERNAL_ERROR:
        _could_not_run("the harness failed internally (see above)")
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or not report_file.is_file():
        _could_not_run("no check was selected")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    from rich.console import Console

    from twin_conformance._console import print_summary

    print_summary(report, Console(stderr=False))
    click.echo(
        f"reports: {out}/report.json, junit.xml, report.html ({time.monotonic() - started:.1f} s)"
    )
    sys.exit(EXIT_CONFORMANT if report["verdict"] == "conformant" else EXIT_NOT_CONFORMANT)


def _selection(check_id: str) -> str:
    """The pytest node ID of a check ID (``test_core.py::test_info``)."""
    module, _, name = check_id.partition("::")
    path = checks_dir() / Path(module).name
    if not path.is_file() or path.suffix != ".py":
        raise click.BadParameter(f"no check module {module!r}", param_hint="--select")
    return f"{path}::{name}" if name else str(path)


def _verify_vectors_or_exit(folder: Path, trusted_file: Path, allow_unsigned: bool) -> None:
    """Refuse to run with tampered, unsigned or untrusted vectors (exit 2)."""
    from twin_conformance._manifest import (
        ManifestError,
        load_trusted_publishers,
        verify_manifest,
    )

    try:
        trusted = load_trusted_publishers(trusted_file)
        verify_manifest(folder, trusted, allow_unsigned=allow_unsigned)
    except ManifestError as error:
        _could_not_run(f"vectors refused: {error}")


@main.group()
def vectors() -> None:
    """Generate, sign and verify the test vectors."""


@vectors.command("generate")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write. Default: the suite's vectors folder.",
)
def vectors_generate(out: Path | None) -> None:
    """Generate every vector from the executable spec (deterministic: same bytes every time).

    The manifest is rebuilt unsigned; sign it with `twin-conformance vectors sign`.
    """
    from twin_conformance._manifest import build_manifest, write_manifest
    from twin_vectors import generate_vectors

    folder = out or vectors_dir()
    written = generate_vectors(folder)
    write_manifest(folder, build_manifest(folder))
    click.echo(f"wrote {len(written)} vectors and an unsigned manifest.json under {folder}")


@vectors.command("sign")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the publisher's 32-byte Ed25519 seed as 64 hex characters.",
)
@click.option("--vectors", "folder", type=click.Path(file_okay=False, path_type=Path))
def vectors_sign(key_file: Path, folder: Path | None) -> None:
    """Rebuild manifest.json from the files on disk and sign it with the publisher's key."""
    from twin_conformance._manifest import (
        ManifestError,
        build_manifest,
        read_publisher_seed,
        sign_manifest,
        write_manifest,
    )

    folder = folder or vectors_dir()
    try:
        seed = read_publisher_seed(key_file)
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signed = sign_manifest(build_manifest(folder), seed, created)
    except ManifestError as error:
        _could_not_run(str(error))
    path = write_manifest(folder, signed)
    click.echo(
        f"signed {path} ({len(signed['files'])} files) as {signed['proof']['verificationMethod']}"
    )


@vectors.command("verify")
@click.option("--vectors", "folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--trusted-publishers",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Default: spec/trusted-publishers.json.",
)
def vectors_verify(folder: Path | None, trusted_publishers: Path | None) -> None:
    """Check the manifest's signature, the publisher, and every file's SHA-256 (exit 0 or 2)."""
    from twin_conformance._manifest import (
        ManifestError,
        load_trusted_publishers,
        load_vectors,
        verify_manifest,
    )

    folder = folder or vectors_dir()
    try:
        trusted = load_trusted_publishers(
            trusted_publishers or spec_dir() / "trusted-publishers.json"
        )
        verified = verify_manifest(folder, trusted)
        loaded = load_vectors(verified)
    except ManifestError as error:
        _could_not_run(f"vectors refused: {error}")
    click.echo(f"OK: {len(loaded)} vectors under {folder}, signed by {verified.publisher}")


@main.command("verify-receipt")
@click.argument("receipt_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--committee",
    "committee_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The committee JSON (committee.json, or GET /consensus/committee).",
)
@click.option("--transaction", default=None, help="Expected transaction digest (64 hex).")
def verify_receipt_command(
    receipt_file: Path, committee_file: Path, transaction: str | None
) -> None:
    """Verify a ledger receipt offline with nothing but the committee's public keys.

    RECEIPT_FILE holds a TwinLedgerReceipt, or an object carrying one under "immutableReceipt"
    or "receipt". Exit 0 valid, 1 invalid (the part that failed is named), 2 bad input.
    """
    from twin_spec import Committee, TwinSpecError, verify_receipt

    document = _read_json(receipt_file, "receipt file")
    committee_json = _read_json(committee_file, "committee file")
    try:
        committee = Committee.from_json(committee_json)
        expected = bytes.fromhex(transaction) if transaction else None
    except (TwinSpecError, ValueError) as error:
        _could_not_run(f"bad input: {error}")
    receipt = document
    if isinstance(document, dict):
        receipt = document.get("immutableReceipt", document.get("receipt", document))
    try:
        summary = verify_receipt(receipt, committee, transaction_digest=expected)
    except TwinSpecError as error:
        part = getattr(error, "part", None)
        click.echo(f"INVALID ({getattr(part, 'value', part)}): {error}", err=True)
        sys.exit(EXIT_NOT_CONFORMANT)
    click.echo(
        f"VALID: checkpoint {summary['sequence']} of epoch {summary['epoch']}, "
        "certified by the committee"
    )


@main.group()
def report() -> None:
    """Re-render a report, or aggregate several vendors' reports."""


@report.command("render")
@click.argument("report_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for junit.xml and report.html. Default: beside REPORT_FILE.",
)
def report_render(report_file: Path, out: Path | None) -> None:
    """Render junit.xml and report.html from a report.json and print its summary."""
    from rich.console import Console

    from twin_conformance._console import print_summary
    from twin_conformance._render_html import render_html
    from twin_conformance._render_junit import render_junit

    document = _read_json(report_file, "report")
    _validate_report_or_exit(document, report_file)
    folder = out or report_file.parent
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "junit.xml", render_junit(document))
    _write_atomic(folder / "report.html", render_html(document))
    print_summary(document, Console())
    sys.exit(EXIT_CONFORMANT if document["verdict"] == "conformant" else EXIT_NOT_CONFORMANT)


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
def report_aggregate(report_files: tuple[Path, ...], out: Path) -> None:
    """Aggregate vendors' report.json files into a requirement x implementation matrix."""
    from twin_conformance._aggregate import AggregateError, aggregate, render_matrix_html

    sources = [(str(path), _read_json(path, "report")) for path in report_files]
    try:
        matrix = aggregate(sources)
    except AggregateError as error:
        _could_not_run(str(error))
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "matrix.json", json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(out / "matrix.html", render_matrix_html(matrix))
    click.echo(f"wrote {out}/matrix.json and matrix.html ({len(sources)} reports)")


def _validate_report_or_exit(document: Any, path: Path) -> None:  # noqa: ANN401
    """Exit 2 unless ``document`` is a report.json valid against its schema."""
    import jsonschema

    schema = json.loads(
        (spec_dir() / "schemas" / "conformance-report.schema.json").read_text(encoding="utf-8")
    )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(document)
    )
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(the document)"
        _could_not_run(f"{path} is not a TWIN conformance report: at {where}: {error.message}")


def _write_atomic(path: Path, text: str) -> None:
    """Write a file whole or not at all."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
