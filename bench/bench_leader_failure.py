"""Benchmark a four-validator committee with one validator killed, once the leader schedule adapted.

Run: ``python bench/bench_leader_failure.py`` (two to four minutes). It starts four ``twin-node
serve`` processes (``twin-node genesis``, the default 1 s leader timeout), and writers post
``POST /immutable-proof`` to validators 0, 1 and 2 (``--writers`` each, one write at a time each,
a closed loop), all through the run. It measures, side by side in the same run:

- the fault-free phase: ``--seconds`` of writes with all four validators up;
- validator 3 is then killed (SIGKILL) a few commits before the next leader-schedule change
  (every 300 commits, TWIN-CONSENSUS-115), so that the window scored at that change shows it
  missing; the run waits for the change, then for ``--settle`` seconds;
- the adapted phase: ``--seconds`` of writes with validator 3 still down.

It prints, for each phase, the write latency p50 and p99 (request to its 201, i.e. to its
certified checkpoint) and the committed throughput (writes answered 201 per second), then
the ratios: adapted p50 / fault-free p50 (goal <= 2) and adapted throughput / fault-free
throughput (goal >= 0.6). Safety, as in the fault tests: the survivors' commit sequences are
prefixes of one another, every write answered 201 is on every survivor's ledger, and no leader
after the change is validator 3; and the harness's leader check
(``test_committed_leaders_follow_the_leader_schedule``) is run against validator 0, whose
commits cross the change with validator 3 swapped out. The load and the four validators share
the machine's cores, so absolute figures are low-balled; nothing here is asserted by a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.cluster_process import Cluster, create_cluster, get_all  # noqa: E402
from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD  # noqa: E402
from twin_reference._ledger_codec import unpack_text  # noqa: E402
from twin_spec import COMMITS_PER_SCHEDULE  # noqa: E402

KILLED = 3
SURVIVORS = (0, 1, 2)
KILL_BEFORE_CHANGE = 25
"""Commits before the next schedule change at which validator 3 is killed."""


@dataclass
class Phase:
    """What the writers saw during one phase: each 201's latency and when it was answered."""

    name: str
    started: float = 0.0
    ended: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """How long the phase lasted."""
        return self.ended - self.started

    @property
    def throughput(self) -> float:
        """Writes answered 201 per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, quantile: float) -> float:
        """The latency at ``quantile`` (0.5 is the median), in seconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] if ordered else 0.0

    def line(self) -> str:
        """The phase's figures on one line."""
        return (
            f"{self.name:<12} {len(self.latencies):>6} writes in {self.seconds:5.1f} s:"
            f" {self.throughput:7.1f}/s, p50 {self.p(0.5) * 1000:7.1f} ms,"
            f" p99 {self.p(0.99) * 1000:7.1f} ms"
        )


class Writers:
    """Closed-loop writers on the survivors; each 201 is recorded in the phase under way."""

    def __init__(self, cluster: Cluster, per_validator: int) -> None:
        self.cluster = cluster
        self.tokens = {index: cluster.login(index) for index in SURVIVORS}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.phase: Phase | None = None
        self.proofs: list[str] = []
        self.other: dict[int, int] = {}
        self.threads = [
            threading.Thread(target=self._write, args=(index,), daemon=True)
            for index in SURVIVORS
            for _ in range(per_validator)
        ]

    def start(self) -> None:
        """Start every writer."""
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        """Stop the writers and wait for them."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def measure(self, phase: Phase, seconds: float) -> Phase:
        """Record the writes answered during the next ``seconds`` into ``phase``."""
        with self.lock:
            phase.started = time.monotonic()
            self.phase = phase
        time.sleep(seconds)
        with self.lock:
            phase.ended = time.monotonic()
            self.phase = None
        return phase

    def _write(self, index: int) -> None:
        with self.cluster.client(index, self.tokens[index]) as client:
            while not self.stop.is_set():
                key = uuid.uuid4().hex
                started = time.monotonic()
                try:
                    answer = client.post(
                        "/immutable-proof",
                        json={"document": {"bench": "leader-failure", "key": key}},
                        timeout=60,
                    )
                except httpx.HTTPError:
                    continue
                ended = time.monotonic()
                with self.lock:
                    if answer.status_code != 201:
                        self.other[answer.status_code] = self.other.get(answer.status_code, 0) + 1
                        continue
                    self.proofs.append(answer.headers["location"].rsplit(":", 1)[-1])
                    phase = self.phase
                    if phase is not None and started >= phase.started:
                        phase.latencies.append(ended - started)


def commit_index(cluster: Cluster, index: int) -> int:
    """The last commit index in a validator's database (read-only)."""
    database = sqlite3.connect(f"file:{cluster.data_dir(index) / 'node.sqlite'}?mode=ro", uri=True)
    try:
        (value,) = database.execute("SELECT MAX(commit_index) FROM commits").fetchone()
    finally:
        database.close()
    return int(value or 0)


def wait_commit(cluster: Cluster, index: int, target: int, seconds: float) -> float:
    """Wait until validator ``index`` made commit ``target``; return the seconds it took."""
    started = time.monotonic()
    while commit_index(cluster, index) < target:
        if time.monotonic() - started > seconds:
            raise SystemExit(f"commit {target} not made within {seconds:g} s\n{cluster.logs()}")
        time.sleep(0.05)
    return time.monotonic() - started


def check_safety(cluster: Cluster, writers: Writers, change: int) -> list[str]:
    """Prefixes, every acknowledged write on every survivor, no leader 3 after the change."""
    problems = []
    sequences = {}
    for index in SURVIVORS:
        with cluster.client(index) as client:
            sequences[index] = get_all(client, "/consensus/commits", "commits")
    for (a, first), (b, second) in itertools.combinations(sequences.items(), 2):
        shorter, longer = sorted((first, second), key=len)
        if longer[: len(shorter)] != shorter:
            problems.append(f"validators {a} and {b} disagree on their commit sequences")
    longest = max(sequences.values(), key=len)
    late = [c["index"] for c in longest[change:] if c["leader"]["author"] == KILLED]
    if late:
        problems.append(f"validator {KILLED} still leads committed slots after the change: {late}")
    # A dead validator leads no committed slot anyway; that its round-robin slots now commit
    # another validator's leader block is what shows the swap.
    swapped = [c for c in longest[change:] if c["leader"]["round"] % 4 == KILLED]
    print(
        f"after the change: {len(longest) - change} commits, {len(swapped)} of them in"
        f" validator {KILLED}'s round-robin slots (led by"
        f" {sorted({c['leader']['author'] for c in swapped})})"
    )
    if not swapped:
        problems.append(f"no slot of validator {KILLED} was given to another validator")
    wanted = set(writers.proofs)
    for index in SURVIVORS:
        missing = wanted
        for _ in range(120):
            database = sqlite3.connect(
                f"file:{cluster.data_dir(index) / 'node.sqlite'}?mode=ro", uri=True
            )
            try:
                ledger = "\n".join(
                    unpack_text(b) for (b,) in database.execute("SELECT body FROM transactions")
                )
            finally:
                database.close()
            missing = {proof for proof in wanted if f'"{proof}"' not in ledger}
            if not missing:
                break
            time.sleep(0.5)
        if missing:
            problems.append(f"validator {index} lacks {len(missing)} acknowledged writes")
    return problems


def harness_leader_check(cluster: Cluster, folder: Path) -> str:
    """Run the harness's leader check against validator 0; return its outcome."""
    check = "test_committed_leaders_follow_the_leader_schedule"
    report = folder / "harness-report"
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "twin_conformance",
            "run",
            "--target",
            cluster.url(0),
            "--email",
            ADMIN_EMAIL,
            "--profile",
            "consensus",
            "--read-only",
            "-k",
            check,
            "--out",
            str(report),
        ],
        capture_output=True,
        timeout=600,
        env={**os.environ, "TWIN_TARGET_PASSWORD": ADMIN_PASSWORD},
        check=False,
    )
    if not (report / "report.json").is_file():
        return f"no report (exit {completed.returncode}): {completed.stderr.decode()[-500:]}"
    tests = json.loads((report / "report.json").read_text())["tests"]
    outcomes = [t["outcome"] for t in tests if t["id"].endswith(check)]
    return outcomes[0] if outcomes else "not run"


def main() -> None:
    """Run both phases and print the figures, the ratios and the safety checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after the change")
    parser.add_argument("--writers", type=int, default=2, help="writers per surviving validator")
    parser.add_argument("--leader-timeout", type=float, default=1.0)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twin-bench-leader-") as folder:
        cluster = create_cluster(Path(folder), 4, leader_timeout=arguments.leader_timeout)
        cluster.serve_args = ("--commit-timeout", "60")
        try:
            cluster.start(range(4))
            writers = Writers(cluster, arguments.writers)
            writers.start()
            time.sleep(2.0)
            fault_free = writers.measure(Phase("fault-free"), arguments.seconds)
            made = commit_index(cluster, 0)
            change = (made // COMMITS_PER_SCHEDULE + 1) * COMMITS_PER_SCHEDULE
            if change - made < KILL_BEFORE_CHANGE + 5:
                change += COMMITS_PER_SCHEDULE
            print(f"{fault_free.line()}\n  {made} commits; next schedule change at commit {change}")
            wait_commit(cluster, 0, change - KILL_BEFORE_CHANGE, 600)
            cluster.kill(KILLED)
            killed_at = time.monotonic()
            transition = Phase("transition")
            with writers.lock:
                transition.started = killed_at
                writers.phase = transition
            adapted_after = wait_commit(cluster, 0, change, 600)
            with writers.lock:
                transition.ended = time.monotonic()
                writers.phase = None
            print(
                f"validator {KILLED} killed {KILL_BEFORE_CHANGE} commits before the change;"
                f" the change came {adapted_after:.1f} s later\n{transition.line()}"
            )
            time.sleep(arguments.settle)
            adapted = writers.measure(Phase("adapted"), arguments.seconds)
            print(adapted.line())
            writers.finish()
            latency_ratio = adapted.p(0.5) / fault_free.p(0.5)
            throughput_ratio = adapted.throughput / fault_free.throughput
            print(
                f"p50 ratio adapted/fault-free {latency_ratio:.2f} (goal <= 2),"
                f" throughput ratio {throughput_ratio:.2f} (goal >= 0.6);"
                f" other answers {writers.other or 'none'}"
            )
            problems = check_safety(cluster, writers, change)
            print(
                "safety: "
                + ("; ".join(problems) if problems else f"held ({len(writers.proofs)} writes)")
            )
            outcome = harness_leader_check(cluster, Path(folder))
            print(f"harness leader check on validator 0: {outcome}")
            print(
                json.dumps(
                    {
                        "p50Ratio": round(latency_ratio, 3),
                        "throughputRatio": round(throughput_ratio, 3),
                    }
                )
            )
        finally:
            cluster.stop_all()


if __name__ == "__main__":
    main()
