"""Tell systemd how the agent is doing (sd_notify), with the standard library only.

systemd's protocol is one datagram of `KEY=value` lines to the AF_UNIX socket named
by NOTIFY_SOCKET: a path, or `@name` for the abstract namespace.  Without
NOTIFY_SOCKET (a technician's terminal, a test) every call is a no-op.  A failed send
never reaches the agent: it is logged once and the agent goes on monitoring, since
losing systemd's view is better than losing the station's.

WATCHDOG_USEC (set by `WatchdogSec=`) asks for `WATCHDOG=1` at least that often;
the agent pings every half of it.  WATCHDOG_PID, when set, names the process the
watchdog is meant for: any other process (a child that inherited the environment)
sends no pings.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("fieldagent.sdnotify")


class Notifier:
    """A sender of sd_notify messages to one socket, or to none."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        """`address`: NOTIFY_SOCKET as systemd sets it; `watchdog_usec`: the watchdog
        timeout in microseconds, None when no watchdog is asked for."""
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec
        self._failed = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The notifier systemd asked for through the environment (os.environ by default)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None, _watchdog_usec(env))

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_period(self) -> float | None:
        """Seconds between pings (half the watchdog timeout); None: no watchdog."""
        if self._address is None or self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2_000_000

    def ready(self, status: str | None = None) -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def reloading(self) -> None:
        """A reload starts; READY=1 ends it.  MONOTONIC_USEC= as sd_notify(3) asks of
        Type=notify-reload (the clock systemd compares with the SIGHUP it sent)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def watchdog(self) -> None:
        if self.watchdog_period is not None:
            self.send("WATCHDOG=1")

    def send(self, *lines: str) -> bool:
        """Send `lines` as one datagram; False when nothing was sent. Never raises."""
        if self._address is None:
            return False
        data = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(data)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.warning("cannot notify systemd (NOTIFY_SOCKET): %s", exc.strerror or exc)
            return False
        return True


def _socket_address(address: str) -> str:
    """NOTIFY_SOCKET as Python's socket module takes it: `@name` is abstract (leading NUL)."""
    return "\0" + address[1:] if address.startswith("@") else address


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """WATCHDOG_USEC when it is meant for this process (WATCHDOG_PID), else None."""
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None
