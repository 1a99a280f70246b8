"""Benchmark of the harness's speed: its own CPU, a slow target, and vector replay, as ratios.

Three measurements, each side by side in this one run, each against a reference node started
here (``twin-node serve`` on 127.0.0.1, port 0) and stopped at the end:

``cpu``     a full ``twin-conformance run --concurrency 1`` against the node: the harness
            process's own CPU seconds (user + system, from the kernel's accounting of the
            child) against the node's CPU seconds for the same run (the node and its evaluate
            worker, sampled before and after). Target: harness <= node.
``slow``    a full run at default options against the same kind of node behind
            ``bench/delay_proxy.py`` (every response 30 ms after its request): wall time
            against the 120 s target, with the fuzz examples that actually ran.
``floor``   what sending and judging alone cost, before any case is generated: the same
            requests (the cheap refusals and pages fuzzing mostly gets) sent by the client
            schemathesis sends through (``requests``) and by the standard library's
            ``http.client``, each answer parsed and its error body validated, interleaved
            rounds; each client's CPU per request against the node's for the same requests.
            A fuzzer whose transport alone costs more than the node cannot meet the ``cpu``
            target, however cheaply it generates.
``replay``  the pure live vectors (the ones ``--concurrency`` replays ahead): the harness's
            replay path (replay-ahead, then each vector judged in turn with the contract
            check and the run's observer, as the checks do, without pytest around each)
            against a bare loop that sends the same requests with the same client and the
            same number of connections and checks nothing. Target: replay >= 50 % of the
            bare loop's rate. The vector checks' own rate inside a real run (pytest around
            each) is printed beside it.

    python bench/bench_harness_speed.py                    # all four, about five minutes
    python bench/bench_harness_speed.py --only replay      # one of them
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil

from twin_conformance._client import Exchange, TwinClient
from twin_conformance._prefetch import RecordedAnswers, ReplayPrefetch
from twin_conformance._target import read_listening_url
from twin_conformance._vector_replay import HttpResponse, Send, replay_vector

EMAIL = "admin@twin.example"
SECOND_EMAIL = "user@twin.example"
DELAY_SECONDS = 0.03
GOAL_SLOW_RUN_SECONDS = 120.0
GOAL_REPLAY_RATIO = 0.5
HARNESS_TIMEOUT_SECONDS = 1200
BENCH = Path(__file__).resolve().parent


@contextmanager
def node(folder: Path) -> Iterator[tuple[str, str, psutil.Process]]:
    """A reference node in ``folder``: its URL, its admin password and its process."""
    password = secrets.token_urlsafe(18)
    environment = {**os.environ, "TWIN_NODE_PASSWORD": password, "TWIN_NODE_ADMIN_EMAIL": EMAIL}
    # A second, ordinary user: a full run checks that it cannot remove the admin's revisions.
    environment["TWIN_NODE_USER_EMAIL"] = SECOND_EMAIL
    environment["TWIN_NODE_USER_PASSWORD"] = second_password(password)
    with (folder / "node.log").open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "twin_reference",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data-dir",
                str(folder / "data"),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            env=environment,
        )
    try:
        url = read_listening_url(process, 60.0)
        _wait_healthy(url)
        yield url, password, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@contextmanager
def delaying_proxy(url: str, delay: float) -> Iterator[str]:
    """``bench/delay_proxy.py`` in front of ``url``: its own URL."""
    upstream = url.removeprefix("http://")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            str(BENCH / "delay_proxy.py"),
            "--upstream",
            upstream,
            "--delay",
            str(delay),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None  # noqa: S101 - asked for above
        line = process.stdout.readline().strip()
        if not line.startswith("http://"):
            raise SystemExit(f"the delaying proxy did not start: {line!r}")
        yield line
    finally:
        process.terminate()
        process.wait(timeout=20)


def second_password(password: str) -> str:
    """The second user's password, derived from the admin's (a bench node lives one run)."""
    return f"{password}-second"


def _wait_healthy(url: str) -> None:
    import httpx

    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the node at {url} did not become healthy")


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of a process and its live children (the evaluate worker)."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def harness_run(url: str, password: str, out: Path, *options: str) -> dict[str, Any]:
    """Run ``twin-conformance run`` as a child; its wall time, own CPU, exit code and report."""
    command = [
        sys.executable,
        "-m",
        "twin_conformance",
        "run",
        "--target",
        url,
        "--email",
        EMAIL,
        "--second-email",
        SECOND_EMAIL,
        "--out",
        str(out),
        *options,
    ]
    environment = {
        **os.environ,
        "TWIN_TARGET_PASSWORD": password,
        "TWIN_TARGET_SECOND_PASSWORD": second_password(password),
    }
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment
    )
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    deadline = started + HARNESS_TIMEOUT_SECONDS
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"the harness did not finish within {HARNESS_TIMEOUT_SECONDS} s")
        time.sleep(0.05)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=10)
    report_path = out / "report.json"
    if not report_path.is_file():
        raise SystemExit(f"the harness wrote no report:\n{b''.join(output).decode()[-2000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "code": process.returncode,
        "report": json.loads(report_path.read_text(encoding="utf-8")),
    }


def measure_cpu(folder: Path) -> None:
    """(a) A full run at --concurrency 1: the harness's CPU against the node's.

    Then the same without fuzzing (--fuzz-examples 0), to show what fuzzing's share is.
    """
    for name, extra in (("full run", ()), ("without fuzzing", ("--fuzz-examples", "0"))):
        key = "cpu-" + name.replace(" ", "-")
        (folder / key).mkdir()
        with node(folder / key) as (url, password, process):
            before = cpu_seconds(process)
            run = harness_run(url, password, folder / f"{key}-report", "--concurrency", "1", *extra)
            node_cpu = cpu_seconds(process) - before
        report = run["report"]
        fuzz = report["run"]["fuzz"]
        print(
            f"cpu: {name} at --concurrency 1: {run['wall']:.1f} s wall, verdict "
            f"{report['verdict']} (exit {run['code']}), {fuzz['examplesRun']} fuzz examples "
            f"({len(fuzz['budgetReached'])} fuzz checks cut short by the budget); harness CPU "
            f"{run['cpu']:.1f} s, node CPU {node_cpu:.1f} s; harness / node = "
            f"{run['cpu'] / node_cpu:.2f} (target <= 1)"
        )


def measure_slow(folder: Path) -> None:
    """(b) A full run at default options against a node slowed to 30 ms per response."""
    with (
        node(folder / "slow") as (url, password, _process),
        delaying_proxy(url, DELAY_SECONDS) as slow_url,
    ):
        run = harness_run(url=slow_url, password=password, out=folder / "slow-report")
    report = run["report"]
    fuzz = report["run"]["fuzz"]
    print(
        f"slow: full run, default options, every response {DELAY_SECONDS * 1000:.0f} ms: "
        f"{run['wall']:.1f} s wall (target < {GOAL_SLOW_RUN_SECONDS:.0f} s; ratio "
        f"{run['wall'] / GOAL_SLOW_RUN_SECONDS:.2f}), verdict {report['verdict']} "
        f"(exit {run['code']}); fuzzing: {fuzz['examplesRun']} examples ran within "
        f"{report['run']['fuzzBudgetSeconds']:g} s at concurrency {report['run']['concurrency']}, "
        f"{len(fuzz['budgetReached'])} fuzz checks cut short by the budget"
    )
    for test in report["tests"]:
        if test["outcome"] not in ("passed", "not-claimed", "not-requested"):
            print(f"  {test['outcome']}: {test['id']}: {(test['message'] or '')[:200]}")


FLOOR_REQUESTS = 3000


def _floor_requests(count: int) -> list[tuple[str, str, bytes | None]]:
    """Requests like most fuzzed ones: refusals (400, 404) and a short page (200), seeded."""
    import random

    draw = random.Random(1)  # noqa: S311 - a reproducible mix, not a secret
    requests_: list[tuple[str, str, bytes | None]] = []
    for index in range(count):
        digest = draw.randbytes(32).hex()
        kind = index % 5
        if kind == 0:
            requests_.append(("GET", f"/consensus/blocks/{digest}", None))
        elif kind == 1:
            requests_.append(
                ("GET", f"/consensus/checkpoints?from={draw.randint(0, 50)}&limit=3", None)
            )
        elif kind == 2:
            document = draw.choice([1, "x", None, [1, 2]])
            requests_.append(
                ("POST", "/immutable-proof", json.dumps({"document": document}).encode())
            )
        elif kind == 3:
            requests_.append(("GET", f"/identity/did:twin:0x{digest}", None))
        else:
            payload = draw.choice([1, "y"])
            body = json.dumps({"type": "x", "payload": payload}).encode()
            requests_.append(("POST", "/consensus/transactions", body))
    return requests_


def measure_floor(folder: Path, rounds: int) -> None:
    """(d) Sending and judging alone: ``requests`` and ``http.client`` against the node's CPU."""
    import http.client
    import resource

    import requests

    from twin_conformance._target import login

    def own_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    schema = json.loads((BENCH.parent / "spec" / "schemas" / "error.schema.json").read_text())
    import jsonschema_rs

    error_body = jsonschema_rs.Draft202012Validator(schema)

    def judge(body: bytes) -> None:
        with suppress(ValueError):
            error_body.is_valid(json.loads(body))

    sent = _floor_requests(FLOOR_REQUESTS)
    with node(folder / "floor") as (url, password, process):
        token = login(url, EMAIL, password, 10.0).token
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        host, _, port = url.removeprefix("http://").partition(":")

        def with_requests() -> dict[int, int]:
            statuses: dict[int, int] = {}
            with requests.Session() as session:
                for method, path, body in sent:
                    answer = session.request(
                        method, url + path, data=body, headers=headers, timeout=10
                    )
                    judge(answer.content)
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            return statuses

        def with_http_client() -> dict[int, int]:
            statuses: dict[int, int] = {}
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                for method, path, body in sent:
                    connection.request(method, path, body=body, headers=headers)
                    answer = connection.getresponse()
                    judge(answer.read())
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1
            finally:
                connection.close()
            return statuses

        totals = {"requests": [0.0, 0.0], "http.client": [0.0, 0.0]}
        for _round in range(rounds):
            for name, loop in (("requests", with_requests), ("http.client", with_http_client)):
                harness_before, node_before = own_cpu(), cpu_seconds(process)
                statuses = loop()
                totals[name][0] += own_cpu() - harness_before
                totals[name][1] += cpu_seconds(process) - node_before
    count = FLOOR_REQUESTS * rounds
    answered = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    for name, (harness, node_cpu) in totals.items():
        print(
            f"floor: {name} sending {FLOOR_REQUESTS} requests x {rounds} rounds (answers "
            f"{answered}): harness {harness / count * 1000:.2f} ms of CPU per request, node "
            f"{node_cpu / count * 1000:.2f} ms; harness / node = {harness / node_cpu:.2f}"
        )


def _judged_send(client: TwinClient, answers: RecordedAnswers) -> Send:
    """What a vector check sends through: the run's client, taking replayed-ahead answers."""

    def send(
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> HttpResponse:
        prepared = client.prepare(method, path, content=body, headers=headers, auth=auth)
        exchange = client.request(
            method,
            path,
            content=body,
            headers=headers,
            auth=auth,
            prefetched=answers.next_for(prepared),
        )
        return HttpResponse(exchange.status or 0, exchange.headers, exchange.body)

    return send


def _pure_vectors() -> list[Mapping[str, Any]]:
    from twin_conformance._manifest import load_trusted_publishers, load_vectors, verify_manifest
    from twin_conformance._paths import spec_dir, vectors_dir
    from twin_conformance._vector_replay import is_live
    from twin_conformance.checks.test_vectors import prefetchable

    verified = verify_manifest(
        vectors_dir(), load_trusted_publishers(spec_dir() / "trusted-publishers.json")
    )
    return [v for v in load_vectors(verified) if is_live(v) and prefetchable(v)]


def measure_replay(folder: Path, concurrency: int, rounds: int) -> None:
    """(c) Pure vectors: the harness's replay path against a bare loop of the same requests."""
    from twin_conformance._contract import load_contract
    from twin_conformance._target import login

    vectors = _pure_vectors()
    contract = load_contract()
    with node(folder / "replay") as (url, password, _process):
        token = login(url, EMAIL, password, 10.0).token
        # The requests the vectors make, recorded once (also warms the node's caches).
        warm = ReplayPrefetch(url, token, 10.0, 1, time.monotonic() + 600)
        warm.start(vectors)
        requests = [prepared for v in vectors for prepared, _ in warm.take(str(v["id"]))]
        warm.close()

        class Observer:
            """What the run's observer does per exchange, at its cost: keep the evidence."""

            def __init__(self) -> None:
                self.evidence: list[dict[str, Any]] = []

            def before(self, method: str, url: str, *, expect_throttling: bool = False) -> None:
                contract.find(method, url)

            def after(self, exchange: Exchange) -> None:
                self.evidence.append(exchange.evidence())

            def operation_of(self, method: str, url: str) -> str:
                found = contract.find(method, url)
                return found.operation_id if found is not None else f"{method} {url}"

        def replay_once() -> float:
            client = TwinClient(
                url,
                token=token,
                observer=Observer(),
                validator=lambda exchange, _bad: contract.check(exchange),
            )
            prefetch = ReplayPrefetch(url, token, 10.0, concurrency - 1, time.monotonic() + 600)
            started = time.perf_counter()
            prefetch.start(vectors)
            failed = 0
            for vector in vectors:
                answers = RecordedAnswers(prefetch.take(str(vector["id"])))
                failed += not replay_vector(vector, _judged_send(client, answers)).passed
            elapsed = time.perf_counter() - started
            prefetch.close()
            client.close()
            if failed:
                raise SystemExit(f"{failed} pure vectors failed against the reference node")
            return elapsed

        def bare_once() -> float:
            clients = [TwinClient(url, token=token) for _ in range(concurrency)]
            chunks = [requests[index::concurrency] for index in range(concurrency)]
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for _ in pool.map(
                    lambda pair: [pair[0].fetch(r) for r in pair[1]],
                    zip(clients, chunks, strict=True),
                ):
                    pass
            elapsed = time.perf_counter() - started
            for client in clients:
                client.close()
            return elapsed

        replay_times, bare_times = [], []
        for _ in range(rounds):  # interleaved, so both see the same machine
            bare_times.append(bare_once())
            replay_times.append(replay_once())
        in_run = harness_run(url, password, folder / "replay-report", "--select", "test_vectors.py")
    replay_rate = len(vectors) / min(replay_times)
    bare_rate = len(vectors) / min(bare_times)
    checks = [t for t in in_run["report"]["tests"] if t["id"].startswith("test_vectors.py::")]
    in_checks = sum(t["durationSeconds"] for t in checks)
    print(
        f"replay: {len(vectors)} pure vectors ({len(requests)} requests) at concurrency "
        f"{concurrency}, best of {rounds}: replay {replay_rate:,.0f} vectors/s, bare loop "
        f"{bare_rate:,.0f} vectors/s; replay / bare = {replay_rate / bare_rate:.2f} "
        f"(target >= {GOAL_REPLAY_RATIO}); inside a real run (pytest around each of "
        f"{len(checks)} vector checks) {len(checks) / in_checks:,.0f} checks/s"
    )


def main() -> None:
    """Run the measurements asked for and print one line each (plus the machine's load)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["cpu", "slow", "replay", "floor"], action="append")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if options.concurrency < 2:
        parser.error("--concurrency must be at least 2 (one connection judges, others fetch)")
    if options.rounds < 1:
        parser.error("--rounds must be at least 1")
    wanted = options.only or ["cpu", "slow", "replay", "floor"]
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="twin-bench-speed-") as name:
        folder = Path(name)
        for part in ("cpu", "slow", "replay", "floor"):
            if part not in wanted:
                continue
            (folder / part).mkdir()
            if part == "cpu":
                measure_cpu(folder)
            elif part == "slow":
                measure_slow(folder)
            elif part == "floor":
                measure_floor(folder, options.rounds)
            else:
                measure_replay(folder, options.concurrency, options.rounds)
            print(f"  (load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
