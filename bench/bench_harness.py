"""Benchmark of the harness: a full run's wall time, vector replay speed, the harness's memory.

Runs ``twin-conformance run`` (the README's main command, default fuzzing budget) against the
embedded reference node as a subprocess and samples the harness process's resident memory
(not the node's, which is its own process); then replays the live vectors alone and reports
vectors per second from the per-check times in report.json next to the replay's wall time;
then replays them once more in a plain loop (the harness's client, contract check and replay,
without pytest around each vector), next to the node's own time for the same requests.

    python bench/bench_harness.py [--seed 1] [--fuzz-examples 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

GOAL_RUN_SECONDS = 120.0
GOAL_VECTORS_PER_SECOND = 500.0


def _run(args: list[str]) -> tuple[float, int, int, dict[str, Any]]:
    """Run the harness; return wall seconds, exit code, peak harness RSS and the report."""
    with tempfile.TemporaryDirectory(prefix="twin-bench-") as folder:
        command = [sys.executable, "-m", "twin_conformance", "run", "--out", folder, *args]
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            watched = psutil.Process(process.pid)
            while not stop.is_set():
                try:
                    peak = max(peak, watched.memory_info().rss)
                except psutil.Error:
                    return
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate(timeout=1800)
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join(timeout=5)
        report_path = Path(folder) / "report.json"
        if not report_path.exists():
            raise SystemExit(
                f"the harness wrote no report (exit {process.returncode}):\n{stderr.decode()}"
            )
        report = json.loads(report_path.read_text())
    return elapsed, process.returncode, peak, report


def _replay_loop() -> tuple[float, float]:
    """Replay every live vector through the harness's client in a loop; rate and node share."""
    from twin_conformance._client import Exchange, TwinClient
    from twin_conformance._contract import load_contract
    from twin_conformance._manifest import load_trusted_publishers, load_vectors, verify_manifest
    from twin_conformance._paths import spec_dir, vectors_dir
    from twin_conformance._target import EmbeddedNode, login
    from twin_conformance._vector_replay import HttpResponse, is_live, replay_vector

    verified = verify_manifest(
        vectors_dir(), load_trusted_publishers(spec_dir() / "trusted-publishers.json")
    )
    vectors = [vector for vector in load_vectors(verified) if is_live(vector)]
    contract = load_contract()
    node = EmbeddedNode()
    target = node.start()
    try:
        if not (target.email and target.password):
            raise SystemExit("the embedded node gave no credentials")
        token = login(target.url, target.email, target.password, 10.0).token

        class Waiting:
            """Adds up the time spent waiting for the node."""

            seconds = 0.0

            def before(self, method: str, url: str, *, expect_throttling: bool = False) -> None:
                """Nothing to refuse."""

            def after(self, exchange: Exchange) -> None:
                """Count the exchange's time."""
                self.seconds += exchange.elapsed

            def operation_of(self, method: str, url: str) -> str:
                """The request as ``METHOD url`` (no contract here)."""
                return f"{method} {url}"

        waiting_for = Waiting()
        client = TwinClient(
            target.url,
            token=token,
            observer=waiting_for,
            validator=lambda exchange, _bad: contract.check(exchange),
        )

        def send(
            method: str,
            path: str,
            *,
            body: bytes | None = None,
            headers: Mapping[str, str] | None = None,
            auth: bool = False,
        ) -> HttpResponse:
            exchange = client.request(method, path, content=body, headers=headers, auth=auth)
            return HttpResponse(exchange.status or 0, exchange.headers, exchange.body)

        for vector in vectors[:20]:  # warm up connections and caches
            replay_vector(vector, send)
        waiting_for.seconds = 0.0
        started = time.perf_counter()
        failures = sum(not replay_vector(vector, send).passed for vector in vectors)
        elapsed = time.perf_counter() - started
        client.close()
    finally:
        node.stop()
    if failures:
        raise SystemExit(f"{failures} vectors failed against the reference node")
    return len(vectors) / elapsed, waiting_for.seconds / elapsed


def main() -> None:
    """Run both measurements and print them with their goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fuzz-examples", type=int, default=10)
    options = parser.parse_args()

    full_seconds, code, full_peak, report = _run(
        ["--seed", str(options.seed), "--fuzz-examples", str(options.fuzz_examples)]
    )
    checks = len(report["tests"])
    print(
        f"full run: {full_seconds:.1f} s wall (goal < {GOAL_RUN_SECONDS:.0f} s), exit {code}, "
        f"{checks} checks, verdict {report['verdict']}"
    )
    print(f"harness peak memory (full run): {full_peak / 2**20:.0f} MB")

    replay_seconds, code, replay_peak, replay = _run(
        ["--seed", str(options.seed), "--select", "test_vectors.py"]
    )
    vectors = [test for test in replay["tests"] if test["id"].startswith("test_vectors.py")]
    in_checks = sum(test["durationSeconds"] for test in vectors)
    rate = len(vectors) / in_checks if in_checks else 0.0
    print(
        f"vector replay: {len(vectors)} live vectors, {in_checks:.2f} s inside the checks, "
        f"{rate:,.0f} vectors/s (goal >= {GOAL_VECTORS_PER_SECOND:.0f}); "
        f"whole command {replay_seconds:.1f} s including start-up and manifest verification, "
        f"exit {code}"
    )
    print(f"harness peak memory (replay): {replay_peak / 2**20:.0f} MB")
    loop_rate, node_share = _replay_loop()
    print(
        f"vector replay in a plain loop: {loop_rate:,.0f} vectors/s "
        f"(goal >= {GOAL_VECTORS_PER_SECOND:.0f}); the node's share of the time "
        f"(waiting for answers): {node_share:.0%}"
    )
    print(
        f"ratios: run time / goal = {full_seconds / GOAL_RUN_SECONDS:.2f}; "
        f"replay rate / goal = {rate / GOAL_VECTORS_PER_SECOND:.2f}"
    )


if __name__ == "__main__":
    main()
