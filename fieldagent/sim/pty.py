"""A simulated serial cable: a pseudo-terminal whose far end a device simulator answers.

The agent opens the pty's slave side through a stable symlink (like the
/dev/serial/by-id/ links of real USB adapters), the simulator reads and writes
the master side in a thread of its own.  `unplug()` closes the pty, so its
device node disappears exactly as an unplugged USB adapter's does, and
`replug()` makes a new one behind the same link.
"""

from __future__ import annotations

import errno
import heapq
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

Reply = tuple[float, bytes]
"""(delay in seconds, bytes): what a responder sends back, and when."""

POLL_S = 0.01


class Responder(Protocol):
    """The device side of a protocol: bytes in, timed replies out."""

    def feed(self, data: bytes) -> list[Reply]: ...


class PtyPort:
    """A pty at a stable path, answered by `responder`, that can be unplugged and replugged."""

    def __init__(
        self, link: Path, responder: Responder, wants_plugged: Callable[[], bool] | None = None
    ) -> None:
        """`wants_plugged` is asked continually: a scenario can pull the cable and put it back."""
        self.link = link
        self._responder = responder
        self._wants_plugged = wants_plugged
        self._lock = threading.Lock()
        self._master: int | None = None
        self._pending: list[tuple[float, int, bytes]] = []
        self._counter = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"pty {link.name}", daemon=True)

    @property
    def plugged(self) -> bool:
        with self._lock:
            return self._master is not None

    def start(self) -> None:
        """Put the link in place; FileExistsError if the path holds anything but a link.

        The path comes from a station file: the simulator may replace a link
        (its own, left by an earlier run) but never a file or device node.
        """
        if os.path.lexists(self.link) and not self.link.is_symlink():
            raise FileExistsError(
                f"{self.link} exists and is not a symbolic link: the simulator puts its pty"
                " link only where there is nothing or a link; move it or name another port"
            )
        self.replug()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.unplug()

    def unplug(self) -> None:
        """Close the pty: its node disappears and the link dangles, like a pulled adapter."""
        with self._lock:
            master, self._master = self._master, None
            self._pending.clear()
        if master is not None:
            os.close(master)
        if self.link.is_symlink():  # never what start() refused to replace
            self.link.unlink(missing_ok=True)

    def replug(self) -> None:
        """A new pty behind the same link (the kernel may give it another number)."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass as they are
        name = os.ttyname(slave)
        os.close(slave)  # only the agent may hold the slave side: it checks for other holders
        self.link.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.link.with_name(f".{self.link.name}.new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(name)
        temporary.replace(self.link)  # atomic: the agent never sees a missing link on replug
        with self._lock:
            old, self._master = self._master, master
        if old is not None:
            os.close(old)

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._follow_cable()
            with self._lock:
                master = self._master
            if master is None:
                time.sleep(POLL_S)
                continue
            self._write_due(master)
            data = _read(master)
            if data:
                self._schedule(self._responder.feed(data))

    def _follow_cable(self) -> None:
        if self._wants_plugged is None:
            return
        wanted = self._wants_plugged()
        if wanted and not self.plugged:
            self.replug()
        elif not wanted and self.plugged:
            self.unplug()

    def _schedule(self, replies: list[Reply]) -> None:
        now = time.monotonic()
        with self._lock:
            for delay, data in replies:
                self._counter += 1
                heapq.heappush(self._pending, (now + delay, self._counter, data))

    def _write_due(self, master: int) -> None:
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._pending or self._pending[0][0] > now or self._master != master:
                    return
                _, _, data = heapq.heappop(self._pending)
            _write(master, data)


def _read(master: int) -> bytes:
    try:
        ready, _, _ = select.select([master], [], [], POLL_S)
        return os.read(master, 4096) if ready else b""
    except OSError as exc:
        if exc.errno in (errno.EIO, errno.EBADF):
            # EIO: nobody has the slave side open yet; EBADF: unplugged meanwhile.
            time.sleep(POLL_S)
            return b""
        raise


def _write(master: int, data: bytes) -> None:
    try:
        os.write(master, data)
    except OSError as exc:
        if exc.errno not in (errno.EIO, errno.EBADF):
            raise
