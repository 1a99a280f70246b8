"""A raw TCP server on loopback that misbehaves on purpose, for the harness's safety tests.

Each behaviour is one way a broken or hostile target can answer: garbage bytes, silence,
a dropped connection, an endless body, a trickle, or a redirect off the target.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

BEHAVIOURS = ("garbage", "hang", "drop", "huge", "drip", "redirect", "fixed")


class HostileServer:
    """Serve one behaviour on 127.0.0.1, an ephemeral port, until stopped."""

    def __init__(
        self,
        behaviour: str,
        *,
        answer: bytes = b"",
        headers: dict[str, str] | None = None,
        status: str = "200 OK",
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.behaviour = behaviour
        # "fixed": this status (200 unless told), body and headers (a compressed body, say).
        self.status = status
        self.answer = answer
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.answered = 0
        """How many requests the "fixed" behaviour answered (one connection each)."""
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> HostileServer:
        self._accepter.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting, close the listener and wait (bounded) for the handlers."""
        self._stop.set()
        self._accepter.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._handle, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, connection: socket.socket) -> None:
        connection.settimeout(0.5)
        try:
            with contextlib.suppress(TimeoutError):
                connection.recv(65536)
            if self.behaviour == "garbage":
                connection.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n" * 4)
            elif self.behaviour == "hang":
                self._stop.wait(120)
            elif self.behaviour == "huge":
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
                while not self._stop.is_set():
                    connection.sendall(chunk)
            elif self.behaviour == "drip":
                connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
                for _ in range(1000):
                    if self._stop.wait(0.5):
                        break
                    connection.sendall(b" ")
            elif self.behaviour == "fixed":
                head = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
                head += f"content-length: {len(self.answer)}\r\n"
                self.answered += 1
                connection.sendall(f"HTTP/1.1 {self.status}\r\n{head}\r\n".encode() + self.answer)
                time.sleep(0.1)
            elif self.behaviour == "redirect":
                connection.sendall(
                    b"HTTP/1.1 302 Found\r\nlocation: http://203.0.113.1/elsewhere\r\n"
                    b"content-length: 0\r\n\r\n"
                )
                time.sleep(0.1)
        except OSError:
            pass
        finally:
            connection.close()
