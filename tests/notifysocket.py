"""systemd's side of sd_notify for tests: a real AF_UNIX datagram socket that collects."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """One datagram as received: when (monotonic) and its `KEY=value` lines."""

    at: float
    lines: tuple[str, ...]


class NotifySocket:
    """Bound at `address` (a path, or a name starting with NUL for the abstract
    namespace); a thread stamps every datagram as it arrives."""

    def __init__(self, address: str) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(address)
        self._sock.settimeout(0.05)
        self.notices: list[Notice] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closing.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            notice = Notice(time.monotonic(), tuple(data.decode("utf-8").split("\n")))
            with self._lock:
                self.notices.append(notice)

    def lines(self) -> list[str]:
        """Every line received so far, in order."""
        with self._lock:
            return [line for notice in self.notices for line in notice.lines]

    def times_of(self, line: str) -> list[float]:
        with self._lock:
            return [n.at for n in self.notices if line in n.lines]

    def wait_for(self, done: Callable[[list[str]], bool], timeout: float) -> list[str]:
        """Wait (bounded) until `done(lines)`; the lines, or AssertionError with them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if done(lines):
                return lines
            time.sleep(0.05)
        raise AssertionError(f"not received within {timeout} s: {self.lines()}")

    def close(self) -> None:
        self._closing.set()
        self._thread.join(5)
        self._sock.close()
