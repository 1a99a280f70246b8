"""Several interop runs' matrices as one: implementation (producer) x implementation (consumer).

Each run's ``interop-matrix.json`` names its members by index; across runs the same
implementation has other indices, so the aggregate keys every cell by the implementations'
names (as their client definitions declare them; harness validators are one implementation,
"harness validator"). A cell counts each outcome across runs and says ``failed`` when any run
failed it, ``passed`` when every observation passed, and otherwise the outcome most seen;
each input is listed with its verdict and whether it was complete, so a reader sees what the
aggregate rests on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

AGGREGATE_VERSION = "1"
HARNESS = "harness validator"


class MatrixInputError(ValueError):
    """An input that is not an interop matrix, with the file and what is wrong."""


def _names(matrix: Mapping[str, Any]) -> dict[int, str]:
    return {
        int(member["index"]): HARNESS if member["kind"] == "harness-validator" else member["name"]
        for member in matrix["members"]
    }


def aggregate_matrices(inputs: Sequence[tuple[Path, Mapping[str, Any]]]) -> dict[str, Any]:
    """The implementation x implementation matrix of several runs, per scenario."""
    cells: dict[tuple[str, str, str], Counter[str]] = {}
    titles: dict[str, str] = {}
    runs = []
    for path, matrix in inputs:
        names = _names(matrix)
        runs.append(
            {
                "file": str(path),
                "startedAt": matrix["startedAt"],
                "verdict": matrix["verdict"],
                "implementations": sorted({n for n in names.values() if n != HARNESS}),
            }
        )
        for scenario in matrix["scenarios"]:
            titles.setdefault(scenario["id"], scenario["title"])
            for cell in scenario["cells"]:
                key = (scenario["id"], names[cell["producer"]], names[cell["consumer"]])
                cells.setdefault(key, Counter())[cell["outcome"]] += 1
    scenarios: list[dict[str, Any]] = []
    for scenario, title in titles.items():
        entries: list[dict[str, Any]] = []
        for (name, producer, consumer), counts in sorted(cells.items()):
            if name != scenario:
                continue
            entries.append(
                {
                    "producer": producer,
                    "consumer": consumer,
                    "outcome": _summary(counts),
                    "counts": dict(sorted(counts.items())),
                }
            )
        scenarios.append({"id": scenario, "title": title, "cells": entries})
    implementations = sorted(
        {entry["producer"] for s in scenarios for entry in s["cells"]}
        | {entry["consumer"] for s in scenarios for entry in s["cells"]}
    )
    return {
        "aggregateVersion": AGGREGATE_VERSION,
        "runs": runs,
        "implementations": implementations,
        "scenarios": scenarios,
    }


def _summary(counts: Counter[str]) -> str:
    if counts.get("failed"):
        return "failed"
    if set(counts) == {"passed"}:
        return "passed"
    others = Counter({k: v for k, v in counts.items() if k != "passed"})
    return others.most_common(1)[0][0]


def read_matrix(path: Path) -> dict[str, Any]:
    """An interop-matrix.json (or the folder holding one), checked against its schema."""
    import json

    from jsonschema import Draft202012Validator

    from twin_conformance._paths import spec_dir

    file = path / "interop-matrix.json" if path.is_dir() else path
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise MatrixInputError(f"interop matrix {file}: {error.strerror}") from None
    except ValueError as error:
        raise MatrixInputError(f"interop matrix {file} is not JSON: {error}") from None
    schema = json.loads(
        (spec_dir() / "schemas" / "interop-matrix.schema.json").read_text(encoding="utf-8")
    )
    problem = next(iter(Draft202012Validator(schema).iter_errors(document)), None)
    if problem is not None:
        where = "/".join(str(part) for part in problem.absolute_path) or "(the document)"
        raise MatrixInputError(f"interop matrix {file}: {where}: {problem.message[:300]}")
    known = {member["index"] for member in document["members"]}
    for scenario in document["scenarios"]:
        for cell in scenario["cells"]:
            if cell["producer"] not in known or cell["consumer"] not in known:
                raise MatrixInputError(
                    f"interop matrix {file}: scenario {scenario['id']} names a member it does"
                    " not list"
                )
    loaded: dict[str, Any] = document
    return loaded


def write_aggregate(out: Path, aggregate: Mapping[str, Any]) -> None:
    """Write interop-aggregate.json and interop-aggregate.html into ``out``."""
    import json

    from twin_conformance._cli_common import write_atomic
    from twin_conformance._render_html import render_template

    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "interop-aggregate.json", json.dumps(aggregate, indent=2) + "\n")
    write_atomic(
        out / "interop-aggregate.html",
        render_template("interop_aggregate.html.j2", aggregate=aggregate),
    )
