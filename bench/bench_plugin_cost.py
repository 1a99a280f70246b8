"""What the harness's pytest plugin costs a pytest session that does not use it.

The plugin is an entry point (``pytest11``), so every pytest session in an environment where the
suite is installed loads it. This benchmark runs the same trivial test file in fresh pytest
processes with the plugin and without it (``-p no:twin_conformance``), interleaved, and reports
the median wall time of each and their ratio, plus the modules the plugin adds to the session.

    python bench/bench_plugin_cost.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL = "def test_nothing() -> None:\n    assert 1 + 1 == 2\n"
COUNT_MODULES = (
    "import sys\n"
    "def test_count() -> None:\n"
    "    mods = [m for m in sys.modules if m.startswith(('twin_', 'httpx', 'jsonschema',"
    " 'schemathesis', 'openapi_core', 'jinja2', 'rich'))]\n"
    "    print('MODULES', len(mods), sorted(mods)[:12])\n"
)


def session(folder: Path, test: str, plugin: bool) -> tuple[float, str]:
    """Run one pytest process over ``test``; its wall seconds and output."""
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", test]
    if not plugin:
        command[3:3] = ["-p", "no:twin_conformance"]
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter
        command, cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"pytest failed: {done.stdout[-500:]}{done.stderr[-500:]}")
    return time.perf_counter() - started, done.stdout


def main() -> None:
    """Measure both sessions side by side and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "test_trivial.py").write_text(TRIVIAL)
        (folder / "test_modules.py").write_text(COUNT_MODULES)
        (folder / "pytest.ini").write_text("[pytest]\n")
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(runs):
            for plugin in (True, False):
                times[plugin].append(session(folder, "test_trivial.py", plugin)[0])
        for plugin in (True, False):
            line = next(
                row
                for row in session(folder, "test_modules.py", plugin)[1].splitlines()
                if "MODULES" in row
            )
            label = "with the plugin   " if plugin else "without the plugin"
            print(f"{label}: modules of ours and the heavy libraries loaded: {line[8:]}")
    with_plugin, without = statistics.median(times[True]), statistics.median(times[False])
    print(f"median pytest session, {runs} runs each, interleaved:")
    print(f"  with the plugin    {with_plugin * 1000:7.0f} ms")
    print(f"  without the plugin {without * 1000:7.0f} ms")
    print(f"  ratio              {with_plugin / without:7.3f}")


if __name__ == "__main__":
    main()
