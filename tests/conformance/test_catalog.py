"""Every MUST is proven catchable: the harness kills every broken variant of the catalog cleanly.

Runs ``tests.broken_variants.run_catalog`` in-process on the whole catalog (each variant and
the unmodified node once per option set, two at a time, each run bounded in time and every
node stopped): every variant must be killed (exit 1 naming the requirement it breaks) with no
unrelated requirement failed, every deviation must get its expected outcome, and the
unmodified node must be conformant. Behind ``slow``: it takes the better part of an hour here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.broken_variants import CATALOG, DEVIATIONS
from tests.broken_variants.run_catalog import run_catalog, summary_lines

WORKERS = 2


@pytest.mark.slow
@pytest.mark.suite("SUITE-060")
def test_the_harness_kills_every_variant_of_the_catalog_cleanly(tmp_path: Path) -> None:
    report = run_catalog(CATALOG, DEVIATIONS, WORKERS, tmp_path / "runs", progress=print)
    (tmp_path / "catalog-report.json").write_text(json.dumps(report, indent=2), "utf-8")
    summary = "\n".join(summary_lines(report))
    print(summary)
    assert all(row["conformant"] for row in report["baselines"]), summary
    assert all(row["asExpected"] for row in report["deviations"]), summary
    assert all(row["killed"] for row in report["variants"]), summary
    assert all(row["clean"] for row in report["variants"]), summary
