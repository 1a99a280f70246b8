"""Work that must not hold the event loop: a separate process, for the public evaluate route.

Parsing JSON and running the commit rule over thousands of blocks are pure Python that hold
the GIL, so a thread would not keep the node responsive: ``POST /consensus/evaluate`` (public,
bodies up to 16 MiB) runs whole (parse, checks, evaluation, the answer's JSON) in one worker
process of lower priority, and the event loop only receives the body and sends the answer.

:class:`ProcessWorker` admits a bounded number of requests at once (the one running and
:attr:`ProcessWorker.max_waiting` waiting; more are 503 with Retry-After), so the bodies held
in memory are bounded too; a worker that dies is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from twin_reference._errors import ServiceUnavailableError

LOG = logging.getLogger("twin_reference")
R = TypeVar("R")
WORKER_NICENESS = 10
PARENT_WATCH_SECONDS = 1.0


def _start_worker(node: int) -> None:
    """Run the worker below the event loop's priority, and end it when the node is gone.

    ``node`` is the node's pid, given by the node: a node killed before this runs has already
    left the worker to another parent.
    """
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    threading.Thread(
        target=_exit_with_parent, args=(node,), name="parent-watch", daemon=True
    ).start()


def _exit_with_parent(parent: int) -> None:
    """Exit once the node that started this worker is gone (killed, it cannot stop us).

    The worker waits on a queue whose writing end it holds itself, so it never sees the end
    of a killed node's pipe; an orphan is re-parented, which ``getppid`` shows.
    """
    while os.getppid() == parent:
        time.sleep(PARENT_WATCH_SECONDS)
    os._exit(0)


def _ready() -> bool:
    return True


class ProcessWorker:
    """One worker process and a bounded queue of requests for it."""

    def __init__(self, name: str, max_waiting: int = 4) -> None:
        self.name = name
        self.max_waiting = max_waiting
        self._pool: ProcessPoolExecutor | None = None
        self._admitted = 0
        self._turn = asyncio.Lock()
        self.deaths_in_a_row = 0
        """Requests on which the worker died since it last answered one (for /health)."""

    def start(self) -> None:
        """Start the worker process (and import what it needs) before the first request."""
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        self._pool.submit(_ready)

    async def stop(self) -> None:
        """Stop the worker process."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold one of the worker's places (running or waiting) for a request, or raise 503."""
        if self._admitted > self.max_waiting:
            raise ServiceUnavailableError(
                f"the node is busy with {self._admitted} {self.name} requests; try again later"
            ).with_headers({"retry-after": "2"})
        self._admitted += 1
        try:
            yield
        finally:
            self._admitted -= 1

    async def run(self, function: Callable[..., R], *args: Any) -> R:  # noqa: ANN401 - passed through
        """Run ``function(*args)`` in the worker process, one request at a time."""
        async with self._turn:
            if self._pool is None:
                raise ServiceUnavailableError(f"the {self.name} worker is not running")
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._pool, function, *args
                )
            except BrokenProcessPool:
                self.deaths_in_a_row += 1
                LOG.error("the %s worker process died; starting another", self.name)
                self._pool.shutdown(wait=False, cancel_futures=True)
                self.start()
                raise ServiceUnavailableError(
                    f"the {self.name} worker failed on this request; try again"
                ).with_headers({"retry-after": "1"}) from None
            self.deaths_in_a_row = 0
            return result
