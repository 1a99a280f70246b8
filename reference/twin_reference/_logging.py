"""The node's log: one handler on standard error, with repeated identical records collapsed.

A fault that persists (a storage error, a peer that is down, ``accept()`` out of file
descriptors) would otherwise write the same line, often with a traceback, many times a second
and fill the disk. :class:`RepeatFilter` lets the first record of a kind through in each window
of :data:`WINDOW_SECONDS`, counts the others, and adds the count to the next one it lets through
("repeated 41 times in the last 10 s"). A record's kind is its logger, level, message and
exception type: records that say the same thing about the same thing are one kind.
"""

from __future__ import annotations

import logging
import sys
import time

WINDOW_SECONDS = 10.0
MAX_KINDS = 1024
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_Kind = tuple[str, int, str, str]


class RepeatFilter(logging.Filter):
    """Let one record of each kind through per window; count the rest."""

    def __init__(self, window_seconds: float = WINDOW_SECONDS) -> None:
        super().__init__()
        self._window = window_seconds
        self._kinds: dict[_Kind, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether to write the record (after noting how many like it were held back)."""
        exception = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, record.levelno, record.getMessage(), exception)
        now = time.monotonic()
        started, held = self._kinds.get(kind, (0.0, 0))
        if kind in self._kinds and now - started < self._window:
            self._kinds[kind] = (started, held + 1)
            return False
        if held:
            note = f"repeated {held} times in the last {self._window:g} s"
            record.msg = f"{record.getMessage()} ({note})"
            record.args = None
        if kind not in self._kinds and len(self._kinds) >= MAX_KINDS:
            del self._kinds[next(iter(self._kinds))]
        self._kinds[kind] = (now, 0)
        return True


def configure_logging(level: str) -> None:
    """Log to standard error at ``level``, every logger (uvicorn's too) through one filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
