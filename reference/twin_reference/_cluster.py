"""``twin-node cluster``: a local committee of validators, one ``twin-node serve`` each."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import click
import httpx

from twin_reference._files import PRIVATE_FILE, open_private_log, write_file
from twin_reference._genesis import (
    GENESIS_FILE,
    GenesisError,
    create_genesis,
    read_genesis,
    validator_dir,
)
from twin_reference._setup import ADMIN_PASSWORD_FILE, DEFAULT_ADMIN_EMAIL

READY_SECONDS = 90.0
STOP_SECONDS = 15.0


class _Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _password(data_dir: Path, created: bool) -> str | None:
    path = data_dir / ADMIN_PASSWORD_FILE
    if created:
        password = os.environ.get("TWIN_NODE_PASSWORD") or secrets.token_urlsafe(18)
        write_file(path, password + "\n", PRIVATE_FILE)
        return password
    if path.exists():
        return path.read_text().strip()
    return os.environ.get("TWIN_NODE_PASSWORD")


def run_cluster(
    data_dir: Path,
    validators: int,
    host: str,
    base_port: int | None,
    leader_timeout: float,
    log_level: str,
) -> int:
    """Create the cluster if needed, run it until a signal, and return the exit code."""
    genesis_path = data_dir / GENESIS_FILE
    created = not genesis_path.exists()
    try:
        if created:
            genesis = create_genesis(data_dir, validators, host, base_port)
        else:
            genesis = read_genesis(genesis_path)
    except GenesisError as exc:
        raise click.UsageError(str(exc)) from None
    if genesis.committee.size != validators:
        raise click.UsageError(
            f"{genesis_path} has {genesis.committee.size} validators, not {validators}: use"
            f" --validators {genesis.committee.size} or another --data-dir"
        )
    password = _password(data_dir, created)
    environment = dict(os.environ)
    if password is not None:
        environment["TWIN_NODE_PASSWORD"] = password
    processes: list[subprocess.Popen[bytes]] = []
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in range(validators):
            # Owner-only, whatever the umask: a log may name identities and peers.
            log = os.fdopen(open_private_log(data_dir / f"validator-{index}.log"), "ab")
            with log:
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and module
                        [
                            sys.executable,
                            "-m",
                            "twin_reference",
                            "serve",
                            "--genesis",
                            str(genesis_path),
                            "--validator-index",
                            str(index),
                            "--data-dir",
                            str(validator_dir(data_dir, index)),
                            "--leader-timeout",
                            str(leader_timeout),
                            "--log-level",
                            log_level,
                        ],
                        stdout=log,
                        stderr=log,
                        env=environment,
                    )
                )
        action = "created" if created else "started"
        click.echo(f"twin-node cluster: {action} {validators} validators in {data_dir}")
        for index, url in sorted(genesis.peers.items()):
            click.echo(f"  validator {index}: {url}  (log {data_dir}/validator-{index}.log)")
        email = os.environ.get("TWIN_NODE_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        # No secret on the console: the password is named by where it is kept.
        if password is None:
            shown = "the password chosen when the cluster was created"
        elif os.environ.get("TWIN_NODE_PASSWORD"):
            shown = f"$TWIN_NODE_PASSWORD (also in {data_dir / ADMIN_PASSWORD_FILE})"
        else:
            shown = f"the password in {data_dir / ADMIN_PASSWORD_FILE}"
        click.echo(f"  admin login on every node: {email} with {shown}")
        click.echo(f"  committee: {validator_dir(data_dir, 0)}/committee.json")
        click.echo("waiting for the committee to commit every node's DID ...")
        _wait_ready(genesis.peers, processes)
        click.echo("ready; Ctrl-C stops every validator")
        reported: set[int] = set()
        while len(reported) < len(processes):
            time.sleep(0.5)
            for index, process in enumerate(processes):
                code = process.poll()
                if code is not None and index not in reported:
                    reported.add(index)
                    click.echo(f"validator {index} exited with code {code}", err=True)
        return 1
    except _Stop:
        click.echo("stopping every validator ...")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_all(processes)


def _wait_ready(peers: dict[int, str], processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    waiting = set(peers)
    while waiting and time.monotonic() < deadline:
        for index in sorted(waiting):
            if processes[index].poll() is not None:
                waiting.discard(index)
                continue
            with contextlib.suppress(httpx.HTTPError, ValueError):
                health = httpx.get(f"{peers[index]}/health", timeout=2.0).json()
                if health.get("status") == "ok":
                    waiting.discard(index)
        time.sleep(0.2)
    if waiting:
        click.echo(f"validators {sorted(waiting)} are not ready yet; see their logs", err=True)


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)
