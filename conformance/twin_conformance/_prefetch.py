"""Pure vectors replayed ahead of their checks, over a few keep-alive connections at once.

A pure vector's requests change nothing on a conforming node (verification, resolution,
evaluation), so they can be sent in any order and side by side. When the first vector check
runs, :class:`ReplayPrefetch` replays every selected pure vector in ``concurrency`` threads,
each with its own client (one keep-alive connection), and records each request with its
answer. Each vector check then replays its vector as before, in its turn; a request that is
the same as the one recorded at that step takes the recorded answer instead of going out
again, and everything else happens as if it had just been sent (the run's observer sees it,
the contract is checked, the evidence is kept under the check's own ID). So the verdicts and
evidence are those of a run that sends one request at a time.

What is never taken from a recording, and goes out again in the check's turn: a request that
differs from the recording (the vector took another path), an answer 503 (a node may refuse
concurrent work for a while: that is not the vector's answer), and anything after a request
that got no answer (after one timeout the prefetch stops, so that the run's circuit breaker
sees timeouts exactly as in a run without it).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from twin_conformance._client import Exchange, TwinClient, same_request
from twin_conformance._vector_replay import HttpResponse, replay_vector

BUSY = 503
Recorded = list[tuple[Exchange, Exchange]]
"""(the prepared request, what came back) for each request of one vector, in order."""


class _Stop(Exception):
    """Ends a vector's prefetch early: no answer came, or the prefetch is closing."""


class ReplayPrefetch:
    """Pure vectors replayed ahead in a few threads; each check takes its vector's exchanges."""

    def __init__(
        self, base_url: str, token: str | None, timeout: float, concurrency: int, deadline: float
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.base_url = base_url
        self.token = token
        self.timeout = timeout
        self.deadline = deadline
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="twin-replay")
        self._local = threading.local()
        self._clients: list[TwinClient] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._futures: dict[str, Future[Recorded]] = {}

    def start(self, vectors: Sequence[Mapping[str, Any]]) -> None:
        """Start replaying ``vectors`` (pure ones only: the caller chooses)."""
        for vector in vectors:
            key = str(vector["id"])
            if key not in self._futures:
                self._futures[key] = self._pool.submit(self._replay, vector)

    def take(self, vector_id: str) -> Recorded:
        """The recorded exchanges of one vector (waits for them; empty if none were made)."""
        future = self._futures.pop(vector_id, None)
        if future is None:
            return []
        try:
            return future.result(timeout=max(self.deadline - time.monotonic(), 0.0) + 1.0)
        except Exception:  # the check then sends its requests itself
            return []

    def close(self) -> None:
        """Stop replaying ahead and close every connection."""
        self._stopped.set()
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def _client(self) -> TwinClient:
        """The calling thread's client: its own keep-alive connection."""
        client: TwinClient | None = getattr(self._local, "client", None)
        if client is None:
            client = TwinClient(self.base_url, token=self.token, timeout=self.timeout)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _replay(self, vector: Mapping[str, Any]) -> Recorded:
        """Replay one vector, recording each request and answer; never raises."""
        recorded: Recorded = []
        if self._stopped.is_set():
            return recorded
        client = self._client()

        def send(
            method: str,
            path: str,
            *,
            body: bytes | None = None,
            headers: Mapping[str, str] | None = None,
            auth: bool = False,
        ) -> HttpResponse:
            if self._stopped.is_set() or time.monotonic() > self.deadline:
                raise _Stop
            prepared = client.prepare(method, path, content=body, headers=headers, auth=auth)
            exchange = client.fetch(prepared)
            recorded.append((prepared, exchange))
            if exchange.timed_out:
                self._stopped.set()
            if exchange.status is None or exchange.status == BUSY:
                raise _Stop
            return HttpResponse(exchange.status, exchange.headers, exchange.body)

        # Whatever goes wrong here, the check replays the vector again in its turn.
        with contextlib.suppress(Exception):
            replay_vector(vector, send)
        return recorded


class RecordedAnswers:
    """One check's view of its vector's recording: the next step's answer, while they match."""

    def __init__(self, recorded: Recorded) -> None:
        self._recorded = list(recorded)
        self._position = 0

    def next_for(self, prepared: Exchange) -> tuple[Exchange, Exchange] | None:
        """The recorded (request, answer) for this step, if the request is the same one."""
        if self._position >= len(self._recorded):
            return None
        step = self._recorded[self._position]
        self._position += 1
        request, answer = step
        if not same_request(request, prepared) or answer.status in (None, BUSY):
            self._position = len(self._recorded)  # from here on, everything goes out again
            return None
        return step
