"""Run the harness against every broken variant and write ``catalog-report.json``.

``python -m tests.broken_variants.run_catalog --out catalog-report.json [--workers N]
[--only NAME...]`` starts each variant of the catalog (and of the deviations), runs
``twin-conformance run`` against it with the options its entry names, and stops it; the
unmodified node is run once per set of options and must be conformant. The runs share a pool
of ``--workers`` (default 2: this is a shared two-core machine), each is bounded in time, and
every node a run starts is stopped. The report gives, per variant, the requirement it breaks,
the exit code, the requirements the harness failed, whether it was killed (exit 1 naming the
requirement) and whether unrelated requirements failed; the kill rate per profile and
overall; and each deviation with the outcome it must get. Exit 0 when every variant is killed
cleanly, every deviation gets its outcome and the unmodified node is conformant; else 1.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.broken_variants._fault import CAUGHT, CONFORMANT, COULD_NOT_RUN, PROFILES, Fault
from tests.broken_variants._runs import RunOptions, RunResult, check_node
from tests.broken_variants.catalog import CATALOG, DEVIATIONS, FAULTS

DEFAULT_WORKERS = 2
EXPECTED_CODES = {CAUGHT: 1, CONFORMANT: 0, COULD_NOT_RUN: 2}


def judge_variant(fault: Fault, result: RunResult) -> dict[str, Any]:
    """A variant's row: what it breaks, what the harness failed, killed, unrelated, clean."""
    failed = result.failed_requirements
    unrelated = sorted(set(failed) - fault.related)
    killed = result.code == 1 and fault.requirement in failed
    within_bound = fault.max_failures is None or len(result.failed) <= fault.max_failures
    return {
        "name": fault.name,
        "profile": fault.profile,
        "requirement": fault.requirement,
        "alsoBreaks": list(fault.also),
        "description": fault.description,
        "options": RunOptions.of(fault).to_json(),
        "exitCode": result.code,
        "failedRequirements": failed,
        "failedChecks": [
            {"check": failure.check, "requirement": failure.requirement}
            for failure in result.failed
        ],
        "errors": result.errors,
        "killed": killed,
        "unrelatedFailed": unrelated,
        "clean": killed and not unrelated and within_bound,
        "seconds": result.seconds,
        **({"outputTail": result.output_tail} if not killed else {}),
    }


def judge_deviation(fault: Fault, result: RunResult) -> dict[str, Any]:
    """A deviation's row: the outcome it must get and whether it got it."""
    expected_code = EXPECTED_CODES[fault.expect]
    named = fault.requirement is None or fault.requirement in result.failed_requirements
    within_bound = fault.max_failures is None or len(result.failed) <= fault.max_failures
    return {
        "name": fault.name,
        "profile": fault.profile,
        "requirement": fault.requirement,
        "description": fault.description,
        "options": RunOptions.of(fault).to_json(),
        "expect": fault.expect,
        "maxFailures": fault.max_failures,
        "exitCode": result.code,
        "failedRequirements": result.failed_requirements,
        "failures": len(result.failed),
        "asExpected": result.code == expected_code and named and within_bound,
        "seconds": result.seconds,
        **({"outputTail": result.output_tail} if result.code != expected_code else {}),
    }


def judge_baseline(options: RunOptions, result: RunResult) -> dict[str, Any]:
    """The unmodified node's row: it must be conformant with these options."""
    return {
        "options": options.to_json(),
        "exitCode": result.code,
        "verdict": result.verdict,
        "failedChecks": [
            {"check": failure.check, "requirement": failure.requirement}
            for failure in result.failed
        ],
        "conformant": result.code == 0 and result.verdict == "conformant",
        "seconds": result.seconds,
        **({"outputTail": result.output_tail} if result.code != 0 else {}),
    }


def kill_rates(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Killed / variants, and cleanly killed, per profile and overall."""
    rates: dict[str, dict[str, Any]] = {}
    for profile in (*PROFILES, "overall"):
        chosen = [row for row in rows if profile in ("overall", row["profile"])]
        if not chosen:
            continue
        killed = sum(row["killed"] for row in chosen)
        clean = sum(row["clean"] for row in chosen)
        rates[profile] = {
            "variants": len(chosen),
            "killed": killed,
            "killedCleanly": clean,
            "killRate": round(killed / len(chosen), 4),
            "cleanKillRate": round(clean / len(chosen), 4),
        }
    return rates


def _selected(only: Sequence[str]) -> tuple[list[Fault], list[Fault]]:
    """The catalog variants and deviations to run (all, or those named)."""
    if not only:
        return list(CATALOG), list(DEVIATIONS)
    unknown = [name for name in only if name not in FAULTS]
    if unknown:
        raise SystemExit(f"no fault {', '.join(unknown)}; see python -m tests.broken_variants")
    deviation_names = {fault.name for fault in DEVIATIONS}
    return (
        [FAULTS[name] for name in only if name not in deviation_names],
        [FAULTS[name] for name in only if name in deviation_names],
    )


def run_catalog(
    variants: Sequence[Fault],
    deviations: Sequence[Fault],
    workers: int,
    workdir: Path,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run everything in a pool of ``workers``; return the catalog report."""
    started = time.monotonic()
    # A variant only interop can catch is listed, not run (its rule is unobservable alone).
    awaiting_interop = [fault for fault in variants if fault.interop is not None]
    variants = [fault for fault in variants if fault.interop is None]
    option_sets = sorted(
        {RunOptions.of(fault) for fault in [*variants, *deviations]}, key=lambda o: o.key
    )
    total = len(option_sets) + len(variants) + len(deviations)
    done = 0

    def job(fault: Fault | None, options: RunOptions, folder: str) -> RunResult:
        nonlocal done
        result = check_node(fault, options, workdir / folder)
        done += 1
        label = fault.name if fault else f"unmodified node ({options.key})"
        progress(f"[{done}/{total}] {label}: exit {result.code} in {result.seconds:.0f} s")
        return result

    # The longest runs (anchoring and consensus) go first, so the pool does not end on one.
    weight = {"anchoring": 0, "consensus": 1, "identity": 2, "full": 0, "core": 3}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="catalog") as pool:
        baselines: dict[RunOptions, Future[RunResult]] = {
            options: pool.submit(job, None, options, f"baseline-{options.key}")
            for options in option_sets
        }
        ordered = sorted(variants, key=lambda fault: weight.get(fault.checked_profile, 4))
        variant_runs = {
            fault.name: pool.submit(job, fault, RunOptions.of(fault), f"variant-{fault.name}")
            for fault in ordered
        }
        deviation_runs = {
            fault.name: pool.submit(job, fault, RunOptions.of(fault), f"deviation-{fault.name}")
            for fault in deviations
        }
        variant_rows = [
            judge_variant(fault, variant_runs[fault.name].result()) for fault in variants
        ]
        deviation_rows = [
            judge_deviation(fault, deviation_runs[fault.name].result()) for fault in deviations
        ]
        baseline_rows = [judge_baseline(o, future.result()) for o, future in baselines.items()]
    return {
        "command": "python -m tests.broken_variants.run_catalog",
        "workers": workers,
        "wallSeconds": round(time.monotonic() - started, 1),
        "killRate": kill_rates(variant_rows),
        "baselines": baseline_rows,
        "variants": variant_rows,
        "deviations": deviation_rows,
        "awaitingInterop": [
            {
                "name": fault.name,
                "profile": fault.profile,
                "requirement": fault.requirement,
                "description": fault.description,
                "why": fault.interop,
            }
            for fault in awaiting_interop
        ],
    }


def succeeded(report: dict[str, Any]) -> bool:
    """Every variant killed cleanly, every deviation as expected, every baseline conformant."""
    return (
        all(row["clean"] for row in report["variants"])
        and all(row["asExpected"] for row in report["deviations"])
        and all(row["conformant"] for row in report["baselines"])
    )


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report in a few lines for the console: rates, then every row that is not right."""
    lines = [f"catalog run: {report['wallSeconds']:.0f} s with {report['workers']} workers"]
    for profile, rate in report["killRate"].items():
        lines.append(
            f"  {profile:<10} killed {rate['killed']}/{rate['variants']}"
            f" ({rate['killRate']:.0%}), cleanly {rate['killedCleanly']}"
        )
    for row in report["variants"]:
        if not row["clean"]:
            lines.append(
                f"  NOT CLEAN {row['name']} ({row['requirement']}): exit {row['exitCode']}, "
                f"failed {row['failedRequirements']}, unrelated {row['unrelatedFailed']}"
            )
    for row in report["deviations"]:
        if not row["asExpected"]:
            lines.append(
                f"  DEVIATION {row['name']}: expected {row['expect']}, exit {row['exitCode']}, "
                f"failed {row['failedRequirements']}"
            )
    for row in report.get("awaitingInterop", []):
        lines.append(f"  AWAITING INTEROP {row['name']} ({row['requirement']}): {row['why']}")
    for row in report["baselines"]:
        if not row["conformant"]:
            lines.append(
                f"  BASELINE {row['options']} is not conformant: exit {row['exitCode']}, "
                f"failed {row['failedChecks'][:5]}"
            )
    return lines


def main(arguments: Sequence[str] | None = None) -> int:
    """Parse the options, run the catalog, write the report, print a summary."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.broken_variants.run_catalog",
        description="Run the conformance harness against every broken variant of the node.",
    )
    parser.add_argument("--out", type=Path, default=Path("catalog-report.json"))
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME")
    parser.add_argument(
        "--workdir", type=Path, help="keep each run's node data and reports here (default: temp)"
    )
    options = parser.parse_args(arguments)
    variants, deviations = _selected(options.only)
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="twin-catalog-"))
    try:
        report = run_catalog(variants, deviations, max(1, options.workers), workdir)
    finally:
        if options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    options.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("\n".join(summary_lines(report)))
    print(f"wrote {options.out}")
    return 0 if succeeded(report) else 1


if __name__ == "__main__":
    sys.exit(main())
