"""``twin-conformance interop``: a committee of clients and harness validators, and its scenarios.

The command reads every client definition first (a bad one is exit 2 before anything starts),
refuses container clients without a Docker engine in one line, makes the committee and starts
every member (``_interop_network.py``, ``spec/prose/launch.md``), runs the scenarios in
``interop_checks/`` with the same plugin, report machinery and exit codes as ``run``, writes
the producer x consumer matrix beside the report, and stops everything it started.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from twin_conformance._cli_common import could_not_run, write_atomic
from twin_conformance._client_definition import (
    ClientDefinition,
    ClientDefinitionError,
    load_client_definition,
    resolve_client_path,
)
from twin_conformance._registry import PROFILES

MAX_HARNESS_VALIDATORS = 16
MAX_CLIENTS = 16
INTEROP_CHECKS = Path(__file__).resolve().parent / "interop_checks"


def _definitions(clients: tuple[str, ...]) -> list[ClientDefinition]:
    """Every client definition, read and checked before anything starts (else exit 2)."""
    try:
        return [load_client_definition(resolve_client_path(client)) for client in clients]
    except ClientDefinitionError as error:
        could_not_run(str(error))


def _claimed_profiles(definitions: list[ClientDefinition], urls: list[str]) -> list[str]:
    """The profiles every client claims: its definition's, else its ``GET /info``'s."""
    from twin_conformance._target import probe

    claimed = set(PROFILES)
    for definition, url in zip(definitions, urls, strict=True):
        if definition.profiles is not None:
            claimed &= set(definition.profiles)
            continue
        info = probe(url, 5.0)
        listed = info.get("profiles") if isinstance(info, dict) else None
        claimed &= {str(p) for p in listed} if isinstance(listed, list) else {"core"}
    return [profile for profile in PROFILES if profile in claimed | {"core"}]


def _public_command(argv: list[str]) -> str:
    """The interop command line as reports show it (it carries no secret)."""
    kept: list[str] = []
    skip = False
    for argument in argv:
        if skip:
            skip = False
            continue
        if argument in ("--select", "-k", "--out"):
            skip = True
            continue
        if argument.startswith(("--select=", "--out=")):
            continue
        kept.append(argument)
    return shlex.join(["twin-conformance", "interop", *kept])


@click.command("interop")
@click.option(
    "--client",
    "clients",
    multiple=True,
    required=True,
    help="Client definition (YAML/JSON, spec/prose/launch.md), repeatable: one committee member"
    " each, in order. A bare name such as reference.yaml is looked up among the shipped ones.",
)
@click.option(
    "--harness-validators",
    type=click.IntRange(0, MAX_HARNESS_VALIDATORS),
    default=2,
    show_default=True,
    help="Validators the harness plays (made by the spec core), after the clients.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder. Default: reports/<time>-interop-seed<seed>.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of every random choice.")
@click.option(
    "--select",
    "selected",
    multiple=True,
    help="Run only this scenario ID or module (repeatable). The verdict is then incomplete.",
)
@click.option(
    "--skip",
    "skipped",
    multiple=True,
    help="Leave out this scenario ID or module (repeatable), as -k 'not ...' would: the"
    " verdict is then incomplete. For example --skip test_partitions.py (its scenarios take"
    " over a minute).",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1, 600),
    default=30.0,
    show_default=True,
    help="Seconds per request to a member.",
)
@click.option(
    "--run-timeout",
    type=click.FloatRange(1, 86_400),
    default=1800.0,
    show_default=True,
    help="Seconds for the scenarios; a run stopped by it is incomplete (exit 2).",
)
@click.option(
    "--keep-files",
    is_flag=True,
    help="Keep the member directories (keys, passwords, databases) after the run; their path"
    " is printed. Default: removed (each member's log is kept, redacted, under OUT/logs).",
)
@click.option("-v", "--verbose", is_flag=True, help="Print every scenario as it ends.")
def interop(
    clients: tuple[str, ...],
    harness_validators: int,
    out: Path | None,
    seed: int,
    selected: tuple[str, ...],
    skipped: tuple[str, ...],
    request_timeout: float,
    run_timeout: float,
    keep_files: bool,
    verbose: bool,
) -> None:
    """Run interop scenarios over a committee of clients and harness validators.

    Each --client is started as one validator of a committee the harness makes (genesis,
    keys, a per-member peer URL list, the admin password as a file; spec/prose/launch.md),
    after the harness's own validators, whose blocks and signatures the spec core makes. The
    scenarios check that every member runs the genesis committee and agrees on one commit
    sequence; resolves, verifies and anchors what another member wrote; refuses blocks that
    break a receive rule with the rule's code; keeps committing past a silent leader, fetches
    withheld blocks, refuses a false checkpoint signature; catches an equivocating harness
    validator; keeps what it acknowledged across a SIGKILL and catches up; commits again
    after partitions made through a relay between the members (one client cut off for 20 s;
    a split leaving no side a quorum for 30 s, then commits within 5 s of the heal); and
    keeps committing with f validators crashed. Writes report.json, junit.xml, report.html and the
    producer x consumer matrix (interop-matrix.json, .html).

    Exit codes as for run: 0 every scenario passed, 1 one failed, 2 could not run.
    """
    if len(clients) > MAX_CLIENTS:
        could_not_run(f"at most {MAX_CLIENTS} clients (got {len(clients)})")
    keyword = _skip_expression(skipped)
    definitions = _definitions(clients)
    if any(definition.is_container for definition in definitions):
        from twin_conformance._docker_engine import engine_problem

        problem = engine_problem()
        if problem is not None:
            names = ", ".join(d.name for d in definitions if d.is_container)
            could_not_run(f"container client(s) {names} need a Docker engine: {problem}")
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out or Path("reports") / f"{stamp}-interop-seed{seed}"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        could_not_run(f"cannot write the report folder {out}: {error.strerror}")
    for name in ("report.json", "junit.xml", "report.html", "interop-matrix.json"):
        (out / name).unlink(missing_ok=True)
    code = _run_network(
        definitions,
        harness_validators,
        out,
        seed,
        selected,
        keyword,
        request_timeout,
        run_timeout,
        keep_files,
        verbose,
        started,
    )
    sys.exit(code)


def _skip_expression(skipped: tuple[str, ...]) -> str | None:
    """The ``-k`` expression leaving out each skipped module or check (exit 2 on an unknown)."""
    terms = []
    for entry in skipped:
        module, _, name = entry.partition("::")
        if not module.startswith("test_") or not (INTEROP_CHECKS / module).is_file():
            could_not_run(f"--skip {entry}: no interop scenario module {module}")
        if name and not name.replace("_", "").isalnum():
            could_not_run(f"--skip {entry}: {name!r} is not a scenario name")
        terms.append(f"not ({module} and {name})" if name else f"not {module}")
    return " and ".join(terms) or None


def _run_network(
    definitions: list[ClientDefinition],
    harness_validators: int,
    out: Path,
    seed: int,
    selected: tuple[str, ...],
    keyword: str | None,
    request_timeout: float,
    run_timeout: float,
    keep_files: bool,
    verbose: bool,
    started: float,
) -> int:
    """Start the network, run the scenarios, stop everything; return the exit code."""
    import pytest
    from rich.console import Console

    from twin_conformance._console import ProgressReporter, print_summary
    from twin_conformance._interop_matrix import build_matrix, write_matrix
    from twin_conformance._interop_network import InteropNetwork, set_current_network
    from twin_conformance._launch import LaunchError
    from twin_conformance._results import exit_code, verdict_line

    console = Console(highlight=False, emoji=False, soft_wrap=True)
    directory = Path(tempfile.mkdtemp(prefix="twin-interop-"))
    network = InteropNetwork(definitions, harness_validators, directory / "members")
    console.print(
        f"committee: {network.size} validators ({len(definitions)} client(s): "
        + ", ".join(d.name for d in definitions)
        + f"; {harness_validators} harness validator(s))",
        markup=False,
    )
    try:
        try:
            network.start()
        except LaunchError as error:
            network.keep_logs(out, lambda text: text.replace(network.password, "«redacted»"))
            could_not_run(str(error).replace(network.password, "«redacted»"))
        console.print(
            f"members healthy in {time.monotonic() - started:.1f} s: "
            + ", ".join(f"{m.label} {m.url}" for m in network.members),
            markup=False,
        )
        network_file = directory / "network.json"
        description = network.describe()
        description["command"] = _public_command(sys.argv[2:])
        write_atomic(network_file, json.dumps(description, indent=2) + "\n")
        first = network.clients[0]
        target_file = directory / "target.json"
        write_atomic(
            target_file,
            json.dumps(
                {
                    "name": "interop: " + " + ".join(m.name for m in network.clients),
                    "url": first.url,
                    "auth": {
                        "email": definitions[0].admin_email,
                        "passwordEnv": "TWIN_TARGET_PASSWORD",
                    },
                    "profiles": _claimed_profiles(definitions, [m.url for m in network.clients]),
                }
            ),
        )
        args = [
            str(INTEROP_CHECKS),
            "-c",
            str(INTEROP_CHECKS / "pytest.ini"),
            "--rootdir",
            str(INTEROP_CHECKS),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:terminal",
            "--import-mode=importlib",
            "--twin-seed",
            str(seed),
            "--twin-report-dir",
            str(out),
            "--twin-request-timeout",
            str(request_timeout),
            "--twin-run-timeout",
            str(run_timeout),
            "--twin-fuzz-examples",
            "0",
            "--twin-target-file",
            str(target_file),
            "--twin-interop-network",
            str(network_file),
            "--twin-command",
            description["command"],
        ]
        for check_id in selected:
            args += ["--twin-select", check_id]
        if keyword:
            args += ["-k", keyword]
        reporter = ProgressReporter(console, verbose=verbose)
        saved = os.environ.get("TWIN_TARGET_PASSWORD")
        os.environ["TWIN_TARGET_PASSWORD"] = network.password
        set_current_network(network)
        try:
            pytest.main(args, plugins=[reporter])
        finally:
            set_current_network(None)
            if saved is None:
                os.environ.pop("TWIN_TARGET_PASSWORD", None)
            else:
                os.environ["TWIN_TARGET_PASSWORD"] = saved
        reporter.finish()
        for member in network.harness:
            if member.peer is not None:
                state = member.peer.validator.snapshot()
                console.print(
                    f"{member.label}: {state['behaviour']}, round {state['round']},"
                    f" {len(state['commits'])} commits"
                    + (f", stopped committing: {state['fault']}" if state["fault"] else ""),
                    markup=False,
                )
    finally:
        network.stop()
        network.keep_logs(out, lambda text: text.replace(network.password, "«redacted»"))
        if keep_files:
            console.print(f"member directories kept in {directory}", markup=False)
        else:
            network.remove_files()
            shutil.rmtree(directory, ignore_errors=True)
    if reporter.could_not_run:
        could_not_run(reporter.could_not_run)
    report_file = out / "report.json"
    if not report_file.is_file():
        could_not_run(reporter.problem or "the run ended before it wrote a report")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    write_matrix(out, build_matrix(report, network.matrix))
    print_summary(report, console)
    console.print(
        f"reports: {out}/report.json, junit.xml, report.html, interop-matrix.json,"
        f" interop-matrix.html ({time.monotonic() - started:.1f} s)",
        markup=False,
    )
    console.print(f"Verdict: {verdict_line(report)}", markup=False)
    return exit_code(report)


@click.command("interop-matrix")
@click.argument("matrices", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for interop-aggregate.json and interop-aggregate.html.",
)
def interop_matrix(matrices: tuple[Path, ...], out: Path) -> None:
    """Aggregate interop runs: implementation (producer) x implementation (consumer).

    Each MATRIX is an interop run's interop-matrix.json, or the report folder holding it.
    A cell counts every run's outcome for that pair and scenario, and is failed when any run
    failed it. Exit 0 when every cell passed, 1 when one failed or was not seen, 2 on a bad
    input (named, and nothing written).
    """
    from twin_conformance._interop_aggregate import (
        MatrixInputError,
        aggregate_matrices,
        read_matrix,
        write_aggregate,
    )

    try:
        inputs = [(path, read_matrix(path)) for path in matrices]
    except MatrixInputError as error:
        could_not_run(str(error))
    aggregate = aggregate_matrices(inputs)
    write_aggregate(out, aggregate)
    outcomes = [cell["outcome"] for s in aggregate["scenarios"] for cell in s["cells"]]
    failed = sum(outcome != "passed" for outcome in outcomes)
    click.echo(
        f"{len(inputs)} run(s), {len(aggregate['implementations'])} implementation(s),"
        f" {len(outcomes)} cell(s): {len(outcomes) - failed} passed, {failed} not passed;"
        f" wrote {out}/interop-aggregate.json and interop-aggregate.html"
    )
    sys.exit(1 if failed else 0)
