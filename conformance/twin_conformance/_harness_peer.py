"""A harness validator on the wire: the peer routes it serves and the messages it sends.

It serves what peers of a committee ask of each other (``spec/prose/consensus-api.md``):
``POST /consensus/blocks``, ``POST /consensus/checkpoints/{sequence}/signatures``, ``GET
/consensus/blocks/{digest}``, ``GET /consensus/blocks?round=N``, ``GET
/consensus/checkpoints?from=S``, plus ``GET /health``; and it sends each message to its peers
through one bounded queue and one keep-alive connection per peer (3 attempts, then dropped:
a peer that missed a block fetches it). It also fetches the ancestors its held blocks wait
for, and, when its quorum round stands still (a healed partition), asks every peer for the
rounds around its own and sends its latest blocks again (as a node must, TWIN-CONSENSUS-118),
and while a checkpoint it signed stays uncertified, sends its signature again and fetches the
certified checkpoints from a peer (``GET /consensus/checkpoints?from=S``, one peer a pass in
turn), as the reference node does. Every thread it starts, :meth:`HarnessPeer.stop` stops;
every request has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from twin_conformance._harness_validator import HarnessValidator, Outgoing
from twin_spec import Committee, Ed25519SigningKey, parse_json

LOG = logging.getLogger("twin_conformance.harness_validator")
MAX_BODY_BYTES = 2 * 1024 * 1024
QUEUE_MESSAGES = 4096
ATTEMPTS = 3
STALL_PROBE_MIN_SECONDS = 0.25
STALL_PROBE_MAX_SECONDS = 1.0
"""A stall probe's backoff: doubled while a probe finds nothing new, back to the least once
one does."""
CERTIFY_PASS_SECONDS = 0.5
"""How often it looks for checkpoints it signed that are still uncertified."""
CHECKPOINT_PAGE = 100
_BLOCK = re.compile(r"/consensus/blocks/([0-9a-f]{64})\Z")
_SIGNATURE = re.compile(r"/consensus/checkpoints/([1-9][0-9]{0,15})/signatures\Z")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    peer: HarnessPeer

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401
        """A peer that drops its connection is logged, not printed as a traceback."""
        LOG.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ANN401
        """Quiet: a committee sends hundreds of requests a second."""

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """Blocks, rounds, certified checkpoints, health."""
        validator = self.server.peer.validator
        if not validator.alive:
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        matched = _BLOCK.match(parts.path)
        if matched:
            block = validator.block(bytes.fromhex(matched.group(1)))
            if block is None:
                self._answer(404, {"name": "NotFoundError", "message": "no such block"})
            else:
                self._answer(200, block)
        elif parts.path == "/consensus/blocks" and query.get("round", "").isdigit():
            self._answer(200, {"blocks": validator.blocks_at(int(query["round"]))})
        elif parts.path == "/consensus/checkpoints":
            start = int(query["from"]) if query.get("from", "").isdigit() else 1
            limit = min(1000, int(query["limit"])) if query.get("limit", "").isdigit() else 100
            self._answer(200, {"checkpoints": validator.certified(start, limit)})
        elif parts.path == "/health":
            self._answer(200, {"status": "ok", "components": []})
        elif parts.path == "/consensus/committee":
            self._answer(200, validator.committee.to_json())
        else:
            self._answer(404, {"name": "NotFoundError", "message": "not served by a harness peer"})

    def do_POST(self) -> None:
        """Blocks and checkpoint signatures from peers."""
        validator = self.server.peer.validator
        if not validator.alive:
            self.close_connection = True
            return
        length = self.headers.get("content-length", "")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            self._answer(413, {"name": "PayloadTooLarge", "message": "body too large or unsized"})
            return
        raw = self.rfile.read(int(length))
        try:
            body: object = parse_json(raw)
        except ValueError:
            body = None
        path = urlsplit(self.path).path
        if path == "/consensus/blocks":
            status, answer = validator.receive_block(body)
            if status == 400 and answer["properties"]["code"] == "missingAncestor":
                self.server.peer.wake_fetcher()
        elif matched := _SIGNATURE.match(path):
            status, answer = validator.receive_signature(int(matched.group(1)), body)
        else:
            status, answer = 404, {"name": "NotFoundError", "message": "not a peer route"}
        self._answer(status, answer)


class HarnessPeer:
    """A harness validator serving on a socket it was given and sending to its peers."""

    def __init__(
        self,
        committee: Committee,
        index: int,
        key: Ed25519SigningKey,
        listener: socket.socket,
        *,
        leader_timeout_seconds: float = 0.3,
    ) -> None:
        self._queues: dict[int, queue.Queue[Outgoing | None]] = {}
        self.validator = HarnessValidator(
            committee, index, key, self._enqueue, leader_timeout_seconds=leader_timeout_seconds
        )
        self._listener = listener
        self._peers: dict[int, str] = {}
        self._stopping = threading.Event()
        self._fetch_wanted = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._generation = 0
        """Raised by :meth:`forget_unsent`: a message taken before it is not tried again."""

    @property
    def url(self) -> str:
        """Where it serves (its genesis URL)."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, peers: dict[int, str]) -> None:
        """Serve, propose, send and fetch, with ``peers`` the URL of every other validator."""
        self._peers = {i: url for i, url in peers.items() if i != self.validator.index}
        server = _Server(self._listener.getsockname()[:2], _Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = self._listener
        server.server_activate()
        server.peer = self
        self._server = server
        self._spawn(server.serve_forever, "serve")
        for index in self._peers:
            self._queues[index] = queue.Queue(QUEUE_MESSAGES)
            self._spawn(lambda index=index: self._send_loop(index), f"send-{index}")
        self._spawn(self._propose_loop, "propose")
        self._spawn(self._fetch_loop, "fetch")
        self._spawn(self._stall_loop, "stall")
        self._spawn(self._certify_loop, "certify")

    def _spawn(self, target: Any, name: str) -> None:  # noqa: ANN401 - a callable
        thread = threading.Thread(
            target=target, name=f"harness-validator-{self.validator.index}-{name}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def crash(self) -> None:
        """Stop sending, proposing and answering: to its peers it is gone."""
        self.validator.crash()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        """Stop every thread it started and close its socket."""
        self._stopping.set()
        self._fetch_wanted.set()
        for outbox in self._queues.values():
            with contextlib.suppress(queue.Full):
                outbox.put_nowait(None)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with contextlib.suppress(OSError):
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def forget_unsent(self) -> int:
        """Drop every message not delivered yet, queued or being retried; how many were queued.

        What a validator sent into a long partition is lost (as TCP connections are reset);
        a scenario drops it so that nothing the harness sent before a heal lands after it.
        """
        self._generation += 1
        dropped = 0
        for outbox in self._queues.values():
            while True:
                try:
                    message = outbox.get_nowait()
                except queue.Empty:
                    break
                if message is None:  # stopping: keep the sentinel for the send loop
                    outbox.put_nowait(None)
                    break
                dropped += 1
        return dropped

    def wake_fetcher(self) -> None:
        """A held block waits for ancestors: fetch them now."""
        self._fetch_wanted.set()

    def _enqueue(self, message: Outgoing) -> None:
        for index in message.peers:
            outbox = self._queues.get(index)
            if outbox is None:
                continue
            try:
                outbox.put_nowait(message)
            except queue.Full:
                LOG.warning("outbox to validator %d is full; a message is dropped", index)

    def _send_loop(self, index: int) -> None:
        outbox = self._queues[index]
        with httpx.Client(
            base_url=self._peers[index], timeout=httpx.Timeout(3.0, connect=0.5)
        ) as client:
            while not self._stopping.is_set():
                message = outbox.get()
                if message is None or not self.validator.alive:
                    continue
                generation = self._generation
                for _attempt in range(ATTEMPTS):
                    if (
                        self._stopping.is_set()
                        or not self.validator.alive
                        or generation != self._generation
                    ):
                        break
                    try:
                        # The answer's body is not read: a peer's answer changes nothing here.
                        with client.stream(
                            "POST",
                            message.path,
                            content=message.body,
                            headers={"content-type": "application/json"},
                        ):
                            pass
                        break
                    except httpx.HTTPError:
                        self._stopping.wait(0.2)

    def _propose_loop(self) -> None:
        while not self._stopping.is_set():
            delay = self.validator.propose_if_ready()
            if delay > 0:
                self._stopping.wait(delay)

    def _fetch_loop(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(3.0, connect=0.5)) as client:
            while not self._stopping.is_set():
                self._fetch_wanted.wait(0.5)
                self._fetch_wanted.clear()
                if self._stopping.is_set() or not self.validator.alive:
                    continue
                for digest, author in self.validator.missing()[:64]:
                    order = [author, *(i for i in self._peers if i != author)]
                    for index in order:
                        url = self._peers.get(index)
                        if url is None:
                            continue
                        body = _bounded_get(client, f"{url}/consensus/blocks/{digest.hex()}")
                        if body is not None:
                            try:
                                block = parse_json(body)
                            except ValueError:
                                continue
                            status, _ = self.validator.receive_block(block)
                            if status == 400:
                                self._fetch_wanted.set()
                            break

    def _stall_loop(self) -> None:
        backoff = STALL_PROBE_MIN_SECONDS
        with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5)) as client:
            while not self._stopping.wait(backoff):
                rounds = self.validator.stalled_rounds()
                if rounds is None:
                    backoff = STALL_PROBE_MIN_SECONDS
                    continue
                found = self._unstall(client, *rounds)
                backoff = (
                    STALL_PROBE_MIN_SECONDS if found else min(STALL_PROBE_MAX_SECONDS, 2 * backoff)
                )

    def _certify_loop(self) -> None:
        turn = 0
        with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5)) as client:
            while not self._stopping.wait(CERTIFY_PASS_SECONDS):
                start = self.validator.stale_checkpoint()
                if start is None:
                    continue
                for message in self.validator.signatures_to_resend():
                    self._enqueue(message)
                urls = list(self._peers.values())
                if not urls:
                    continue
                url = urls[turn % len(urls)]
                turn += 1
                body = _bounded_get(
                    client, f"{url}/consensus/checkpoints?from={start}&limit={CHECKPOINT_PAGE}"
                )
                try:
                    answer = parse_json(body) if body is not None else None
                except ValueError:
                    continue
                served = answer.get("checkpoints") if isinstance(answer, dict) else None
                for certified in served[:CHECKPOINT_PAGE] if isinstance(served, list) else []:
                    self.validator.offer_certified(certified)

    def _unstall(self, client: httpx.Client, low: int, high: int) -> int:
        """Send its latest blocks again, ask each peer for rounds low..high; new blocks found."""
        for message in self.validator.blocks_to_resend(low):
            for index in message.peers:
                outbox = self._queues.get(index)
                # Only to a peer whose outbox is empty: one that is behind gets them anyway.
                if outbox is not None and outbox.empty():
                    self._enqueue(Outgoing(frozenset({index}), message.path, message.body))
        before = self.validator.block_count
        for url in self._peers.values():
            for round_ in range(low, high + 1):
                if self._stopping.is_set():
                    return 0
                blocks = _round_blocks(client, f"{url}/consensus/blocks?round={round_}")
                if not isinstance(blocks, list) or not blocks:
                    break  # unreachable, or a round it has not reached: no need to ask higher
                for block in blocks[: self.validator.committee.size * 2]:
                    status, _ = self.validator.receive_block(block)
                    if status == 400:
                        self._fetch_wanted.set()
        return self.validator.block_count - before


def _round_blocks(client: httpx.Client, url: str) -> list[Any] | None:
    """The ``blocks`` list of a peer's answer for one round, else None."""
    body = _bounded_get(client, url)
    try:
        answer = parse_json(body) if body is not None else None
    except ValueError:
        return None
    blocks = answer.get("blocks") if isinstance(answer, dict) else None
    return blocks if isinstance(blocks, list) else None


def _bounded_get(client: httpx.Client, url: str) -> bytes | None:
    """A 200 answer's body of at most MAX_BODY_BYTES, else None (a peer may be hostile)."""
    try:
        with client.stream("GET", url) as answer:
            if answer.status_code != 200:
                return None
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    return None
            return bytes(body)
    except httpx.HTTPError:
        return None
