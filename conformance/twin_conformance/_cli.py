"""The ``twin-conformance`` command line: run, checks, vectors, verify-receipt, report.

Exit codes, for every command: 0 conformant (or valid), 1 not conformant (or invalid), 2 could
not run (unreachable target, missing or refused credentials, bad arguments, vectors that fail
verification, a run that stopped before it finished), each with a one-line reason. For ``run``
the code comes from the report (``twin_conformance._results.exit_code``), the same function
the pytest plugin uses, and the last line says the verdict (spec/prose/suite.md).
"""

from __future__ import annotations

import gc
import json
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from twin_conformance._cli_common import could_not_run, read_json
from twin_conformance._paths import checks_dir, spec_dir, vectors_dir
from twin_conformance._registry import PROFILES
from twin_conformance._results import EXIT_NOT_CONFORMANT
from twin_conformance._target import (
    SECOND_EMAIL_ENV,
    SECOND_PASSWORD_ENV,
    Target,
    TargetError,
    check_second_user,
    check_token,
    check_url,
    load_target_file,
    login,
    probe,
)
from twin_conformance._version import SUITE_VERSION
from twin_conformance.plugin import DEFAULT_CONCURRENCY, DEFAULT_FUZZ_BUDGET, MAX_CONCURRENCY

if TYPE_CHECKING:
    from twin_conformance._manifest import VerifiedManifest, VerifiedVectors

PROBE_TIMEOUT_SECONDS = 5.0
CREDENTIALS_TIMEOUT_SECONDS = 20.0
"""A login costs a deliberately slow password hash, which a loaded node may take seconds over
(the probe has already shown the target answers)."""
SECRET_OPTIONS = {"--password": "TWIN_TARGET_PASSWORD", "--token": "TWIN_TARGET_TOKEN"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(SUITE_VERSION, prog_name="twin-conformance")
def main() -> None:
    """TWIN conformance harness: certify any TWIN node against the spec.

    Exit codes: 0 conformant (or the selected checks passed), 1 a check failed that the
    baseline does not list, 2 could not run or did not complete.
    """
    from twin_conformance._lazy import defer_rfc3987_syntax

    defer_rfc3987_syntax()


def _public_command(argv: list[str]) -> str:
    """The command line as the report shows it: secrets replaced by their variables' names."""
    shown: list[str] = []
    skip_next = False
    for index, argument in enumerate(argv):
        if skip_next:
            skip_next = False
            continue
        name, equals, _ = argument.partition("=")
        if name in SECRET_OPTIONS:
            shown += [name, f"${SECRET_OPTIONS[name]}"]
            skip_next = not equals and index + 1 < len(argv)
            continue
        shown.append(argument)
    return " ".join(["twin-conformance", "run", *(shlex.quote(part) for part in shown)])


def _prepare_target(
    target: Target,
    console: Any,  # noqa: ANN401 - a rich console
) -> None:
    """Probe the target and check its credentials before any check; exit 2 with the reason."""
    started = time.monotonic()
    if target.url:
        info = probe(target.url, PROBE_TIMEOUT_SECONDS)
        name = (info or {}).get("name") if isinstance(info, dict) else None
        claimed = (info or {}).get("profiles") if isinstance(info, dict) else None
        console.print(
            f"target probed: {target.url} ({name or 'no name in /info'}; claims "
            f"{', '.join(map(str, claimed)) if isinstance(claimed, list) else 'no profiles'}) "
            f"in {time.monotonic() - started:.1f} s",
            markup=False,
            highlight=False,
        )
        if target.token:
            check_token(target.url, target.token, CREDENTIALS_TIMEOUT_SECONDS)
            console.print("credentials checked: the token is accepted", highlight=False)
        elif target.email and target.password:
            session = login(target.url, target.email, target.password, CREDENTIALS_TIMEOUT_SECONDS)
            where = f" (from the {session.cookie} cookie)" if session.cookie else ""
            console.print(
                f"credentials checked: logged in as {target.email}{where}",
                markup=False,
                highlight=False,
            )
        else:
            raise TargetError(
                "no credentials for the target: give --email with the password in "
                "$TWIN_TARGET_PASSWORD, or a token in $TWIN_TARGET_TOKEN (a run without them "
                "cannot test the authenticated operations, so it cannot give a verdict)"
            )
        check_second_user(target)
        if target.second_email and target.second_password:
            try:
                login(
                    target.url,
                    target.second_email,
                    target.second_password,
                    CREDENTIALS_TIMEOUT_SECONDS,
                )
            except TargetError as error:
                raise TargetError(f"the second user (--second-email): {error}") from None
            console.print(
                f"second user checked: logged in as {target.second_email}",
                markup=False,
                highlight=False,
            )
        else:
            console.print(
                "no second user (--second-email): the checks of rules about other users' data"
                " are skipped, so a profile holding one (documents) cannot be conformant",
                markup=False,
                highlight=False,
            )
    else:
        from twin_conformance._container import require_engine

        require_engine()


@main.command()
@click.option("--target", "target_url", help="URL of the node under test.")
@click.option(
    "--target-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Target file (YAML/JSON: name, url or image, auth, profiles, committee, signKey).",
)
@click.option("--email", envvar="TWIN_TARGET_EMAIL", help="Login email [$TWIN_TARGET_EMAIL].")
@click.option(
    "--password",
    envvar="TWIN_TARGET_PASSWORD",
    help="Login password [$TWIN_TARGET_PASSWORD]; prefer the variable: it stays out of logs.",
)
@click.option(
    "--token",
    envvar="TWIN_TARGET_TOKEN",
    help="Bearer token instead of a login [$TWIN_TARGET_TOKEN].",
)
@click.option(
    "--second-email",
    envvar=SECOND_EMAIL_ENV,
    help=f"Login email of a second, ordinary user of the target [${SECOND_EMAIL_ENV}],"
    f" its password in ${SECOND_PASSWORD_ENV} (never on the command line): checks that one"
    " user cannot change another's data (TWIN-DOCUMENTS-050). Without it those checks are"
    " skipped and the documents verdict is incomplete. The embedded node has one.",
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
    "--baseline",
    "baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Baseline: check IDs of known failures, one per line. They do not fail the gate "
    "(exit code) but still count in the verdict; an unknown ID is exit 2.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["must", "should"]),
    default="must",
    show_default=True,
    help="Lowest requirement level whose failure makes the run not conformant.",
)
@click.option(
    "--select",
    "selected",
    multiple=True,
    help="Run only this check ID or module (repeatable). The verdict is then incomplete.",
)
@click.option(
    "-k", "keyword", help="Run only checks matching this pytest -k expression (incomplete)."
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Run only checks that write nothing (for production nodes). The verdict is then "
    "incomplete; without it a run writes to the target's ledger.",
)
@click.option(
    "--destructive",
    is_flag=True,
    help="Also run, last, the checks that may halt a node that fails them.",
)
@click.option(
    "--fuzz-examples",
    type=click.IntRange(0, 10_000),
    default=10,
    show_default=True,
    help=(
        "Cases the fuzzing phase generates per operation at most, after the spec's examples "
        "and the coverage phase's boundary cases, which always run (0 skips all fuzzing)."
    ),
)
@click.option(
    "--fuzz-budget",
    type=click.FloatRange(0, 86_400, min_open=True),
    default=DEFAULT_FUZZ_BUDGET,
    show_default=True,
    callback=lambda _context, _parameter, value: _finite(value, "--fuzz-budget"),
    help="Seconds for all fuzzing, split over the operations and then the stateful phase; "
    "the report and the console say how many examples actually ran.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, MAX_CONCURRENCY),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Connections at once to the target for checks that do not depend on each other "
    "(pure vectors, fuzzing of separate operations); checks that change state keep their "
    "order. 1 runs everything one request at a time. Verdicts do not depend on it.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds per request; an operation that times out twice fails fast from then on.",
)
@click.option(
    "--run-timeout",
    type=click.FloatRange(1, 86_400),
    default=1800.0,
    show_default=True,
    help="Seconds for the whole run; a run stopped by it is incomplete (exit 2).",
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
@click.option(
    "--sign-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Certifier's key file (64 hex characters, an Ed25519 seed): sign report.json.",
)
@click.option("-v", "--verbose", is_flag=True, help="Print every check as it ends.")
def run(
    target_url: str | None,
    target_file: Path | None,
    email: str | None,
    password: str | None,
    token: str | None,
    second_email: str | None,
    profiles: tuple[str, ...],
    seed: int,
    out: Path | None,
    baseline: Path | None,
    fail_on: str,
    selected: tuple[str, ...],
    keyword: str | None,
    read_only: bool,
    destructive: bool,
    fuzz_examples: int,
    fuzz_budget: float,
    concurrency: int,
    request_timeout: float,
    run_timeout: float,
    vectors_path: Path | None,
    trusted_publishers: Path | None,
    allow_unsigned_vectors: bool,
    sign_key: Path | None,
    verbose: bool,
) -> None:
    """Check a target (or, with none, the embedded reference node) and write its reports.

    A normal run writes to the target (DIDs, anchors, ledger transactions): point it at a
    test node, or use --read-only against production.
    """
    import pytest
    from rich.console import Console

    from twin_conformance._console import ProgressReporter, print_summary

    console = Console(highlight=False, emoji=False, soft_wrap=True)
    if target_url and target_file:
        raise click.UsageError("give --target or --target-file, not both")
    started = time.monotonic()
    try:
        if target_url or target_file:
            target = (
                load_target_file(target_file)
                if target_file
                else Target(url=check_url(str(target_url)))
            )
            target.email = email or target.email
            target.password = password or target.password
            target.token = token or target.token
            if second_email:
                target.second_email = second_email
                target.second_password = os.environ.get(SECOND_PASSWORD_ENV) or None
            _prepare_target(target, console)
    except TargetError as error:
        could_not_run(_redact(str(error), password, token, os.environ.get(SECOND_PASSWORD_ENV)))
    vectors_folder = vectors_path or vectors_dir()
    trusted_file = trusted_publishers or spec_dir() / "trusted-publishers.json"
    verified = _verify_vectors_or_exit(vectors_folder, trusted_file, allow_unsigned_vectors)
    console.print(f"vectors verified: {_describe_vectors(verified.manifest)}", markup=False)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out or Path("reports") / f"{stamp}-seed{seed}"
    for name in ("report.json", "junit.xml", "report.html"):
        (out / name).unlink(missing_ok=True)
    args = [
        str(checks_dir()),
        "-c",
        str(checks_dir() / "pytest.ini"),
        "--rootdir",
        str(checks_dir()),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        # pytest's unraisable-exception warnings reach no report of ours, and the plugin ends
        # the session with ten full garbage collections (half a second after fuzzing).
        "-p",
        "no:unraisableexception",
        "--import-mode=importlib",
        "--twin-seed",
        str(seed),
        "--twin-report-dir",
        str(out),
        "--twin-fail-on",
        fail_on,
        "--twin-fuzz-examples",
        str(fuzz_examples),
        "--twin-fuzz-budget",
        repr(fuzz_budget),
        "--twin-concurrency",
        str(concurrency),
        "--twin-request-timeout",
        str(request_timeout),
        "--twin-run-timeout",
        str(run_timeout),
        "--twin-vectors",
        str(vectors_folder),
        "--twin-trusted-publishers",
        str(trusted_file),
        "--twin-command",
        _public_command(sys.argv[2:]),
    ]
    for flag, on in (
        ("--twin-allow-unsigned-vectors", allow_unsigned_vectors),
        ("--twin-read-only", read_only),
        ("--twin-destructive", destructive),
    ):
        if on:
            args.append(flag)
    options: tuple[tuple[str, str | Path | None], ...] = (
        ("--twin-target", target_url),
        ("--twin-target-file", target_file),
        ("--twin-email", email),
        ("--twin-second-email", second_email),
        ("--twin-expected-failures", baseline),
        ("--twin-sign-key", sign_key),
        ("-k", keyword),
    )
    for option, value in options:
        if value:
            args += [option, str(value)]
    for profile in profiles:
        args += ["--twin-profile", profile]
    for check_id in selected:
        args += ["--twin-select", check_id]
    _import_before_pytest(fuzz_examples > 0)
    gc.freeze()  # see _FrozenAfterCollection
    reporter = ProgressReporter(console, verbose=verbose)
    environment = {"TWIN_TARGET_PASSWORD": password, "TWIN_TARGET_TOKEN": token}
    saved = {name: os.environ.get(name) for name in environment}
    for name, secret in environment.items():
        if secret is not None:
            os.environ[name] = secret
    try:
        code = pytest.main(
            args, plugins=[reporter, _ThirdPartyAsIs(), _FrozenAfterCollection(), verified]
        )
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
    reporter.finish()
    report_file = out / "report.json"
    if reporter.could_not_run:
        could_not_run(reporter.could_not_run)
    if not report_file.is_file():
        if code == pytest.ExitCode.NO_TESTS_COLLECTED:
            could_not_run("no check was selected")
        if code == pytest.ExitCode.USAGE_ERROR:
            could_not_run(reporter.usage_error or "bad options (see above)")
        could_not_run(
            reporter.problem or "the run ended before it wrote a report (see the lines above)"
        )
    from twin_conformance._results import exit_code, verdict_line

    report = json.loads(report_file.read_text(encoding="utf-8"))
    print_summary(report, console)
    console.print(
        f"reports: {out}/report.json, junit.xml, report.html ({time.monotonic() - started:.1f} s)",
        markup=False,
    )
    console.print(f"Verdict: {verdict_line(report)}", markup=False)
    sys.exit(exit_code(report))


def _import_before_pytest(fuzzing: bool) -> None:
    """Import the harness's heavy modules before pytest starts, so pytest does not rewrite them.

    pytest rewrites the asserts of every module of every installed pytest plugin it imports
    (schemathesis and hypothesis are plugins: several hundred modules), and where bytecode is
    not written (``PYTHONDONTWRITEBYTECODE``) it does so again on every run: seconds of CPU.
    Modules imported before it starts are used as they are: the plugins pytest would load
    anyway (not ours), and the modules the run uses. The checks themselves are still rewritten
    (their assertion messages are part of a report).
    """
    import importlib
    import importlib.metadata

    for entry in importlib.metadata.entry_points(group="pytest11"):
        if entry.module.split(".")[0] == "twin_conformance":
            continue
        try:
            importlib.import_module(entry.module)
        except Exception:  # noqa: S112 - pytest loads it again and reports the problem itself
            continue
    import twin_conformance._session

    if fuzzing:
        import twin_conformance._fuzz  # noqa: F401 - imported for its side effect on sys.modules


class _ThirdPartyAsIs:
    """A pytest plugin of the CLI's run: modules of other packages imported later stay as-is.

    pytest marks every package of every installed plugin for assert rewriting; schemathesis
    imports most of its modules lazily, during the run, so importing them first is not
    enough. Only the suite's own packages stay marked (and the checks, which pytest rewrites
    as test files). The marks are pytest's private state: without them nothing changes.
    """

    @staticmethod
    def pytest_configure(config: Any) -> None:  # noqa: ANN401 - a pytest.Config
        """Unmark the other packages, before any check (and the fuzzer) imports them."""
        import sys

        from _pytest.assertion.rewrite import AssertionRewritingHook

        for finder in sys.meta_path:
            marked = getattr(finder, "_must_rewrite", None)
            if isinstance(finder, AssertionRewritingHook) and isinstance(marked, set):
                marked.intersection_update({name for name in marked if name.startswith("twin_")})


class _FrozenAfterCollection:
    """A pytest plugin of the CLI's run: what lives for the whole run is frozen for the GC.

    The modules, the parsed spec and the collected checks live until the process ends, yet
    every full collection of Python's cyclic garbage collector walked them all again: a
    fifth of the harness's CPU in a fuzzing run (26 full collections, 3.5 s of 17 s). Frozen
    (``gc.freeze``, once before pytest starts and again once the checks are collected), they
    are left out of every collection; nothing of theirs is garbage before the run ends, and
    what the run creates later is collected as before. Nothing a check does or sees changes.
    """

    @staticmethod
    def pytest_collection_finish() -> None:
        """Freeze what collecting the checks built (their modules, vectors and fixtures)."""
        gc.freeze()


def _finite(value: float, option: str) -> float:
    """``value``, or a usage error naming ``option`` when it is not a number (NaN)."""
    if value != value:
        raise click.BadParameter(f"{value} is not a number of seconds", param_hint=option)
    return value


def _redact(text: str, *secrets: str | None) -> str:
    """``text`` without the secrets the user gave (a target's error may repeat them)."""
    from twin_conformance._secrets import Redactor

    return Redactor(secrets).text(text)


@main.group()
def checks() -> None:
    """List the suite's checks."""


@checks.command("list")
@click.option("--profile", type=click.Choice(PROFILES), help="Only this profile's checks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def checks_list(profile: str | None, as_json: bool) -> None:
    """Print every check ID with its profile, requirements and kind (no target needed)."""
    from twin_conformance._console import collect_checks

    found = collect_checks()
    if found is None:
        could_not_run("the checks could not be collected (the suite's install is broken)")
    rows = [row for row in found if profile is None or row["profile"] == profile]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        flags = ",".join(
            flag
            for flag, on in (
                ("prerequisite", row["kind"] == "prerequisite"),
                ("read-only", row["readOnly"]),
                ("destructive", row["destructive"]),
            )
            if on
        )
        click.echo(
            f"{row['id']}\t{row['profile']}\t{' '.join(row['requirements']) or '-'}"
            + (f"\t{flags}" if flags else "")
        )
    click.echo(f"{len(rows)} checks", err=True)


def _verify_vectors_or_exit(
    folder: Path, trusted_file: Path, allow_unsigned: bool
) -> VerifiedVectors:
    """Refuse to run with tampered, unsigned or untrusted vectors (exit 2).

    What verified is handed to the run's vector checks (a pytest plugin object), which then
    do not verify the same manifest again.
    """
    from twin_conformance._manifest import (
        ManifestError,
        VerifiedVectors,
        load_trusted_publishers,
        verify_manifest,
    )

    try:
        trusted = load_trusted_publishers(trusted_file)
        verified = verify_manifest(folder, trusted, allow_unsigned=allow_unsigned)
    except ManifestError as error:
        could_not_run(f"vectors refused: {error}")
    return VerifiedVectors(verified, folder, trusted_file, allow_unsigned)


def _describe_vectors(verified: VerifiedManifest) -> str:
    """What verified: how many files, where, signed by whom."""
    signer = verified.publisher or "nobody (unsigned, allowed by --allow-unsigned-vectors)"
    return f"{len(verified.files)} files under {verified.root}, signed by {signer}"


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
        could_not_run(str(error))
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
        could_not_run(f"vectors refused: {error}")
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

    document = read_json(receipt_file, "receipt file")
    committee_json = read_json(committee_file, "committee file")
    try:
        committee = Committee.from_json(committee_json)
        expected = bytes.fromhex(transaction) if transaction else None
    except (TwinSpecError, ValueError) as error:
        could_not_run(f"bad input: {error}")
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


def _register_report_commands() -> None:
    """Add the ``report`` group (its own module keeps this one short)."""
    from twin_conformance._cli_report import report

    main.add_command(report)
    from twin_conformance._cli_interop import interop, interop_matrix

    main.add_command(interop)
    report.add_command(interop_matrix)


_register_report_commands()
