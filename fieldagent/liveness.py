"""Is the agent making progress?  The rules behind systemd's watchdog ping.

A ping that only proves the process exists would keep a stuck agent running for
ever, so the agent pings only when these rules hold (times on the monotonic clock):

1. **Every device is being polled.**  Each device's loop has finished a poll (answered
   or not) within `2 x interval + poll budget` of the previous one, or of the start.
   The poll budget is `POLL_REQUESTS x timeout x tries x sharing`: a poll is a few
   requests, each may spend its timeout on every try (SNMP: `request_retries + 1`;
   serial and local: 1), and devices on one serial port take turns (`sharing`: how
   many are on it; 1 otherwise).  36 s for an SNMP device with the defaults (10 s,
   2 s, 1 retry).  A loop stuck inside a poll breaks the rule.
2. **The outbox is moving.**  While the broker is connected and messages wait, the
   broker has acknowledged at least one message within `OUTBOX_STALL_S`.  A
   disconnected broker does not break it: the outbox holds the messages and a
   restart would not bring the link back.

The check runs on the event loop, so a hung loop sends no pings either.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from fieldagent.config import DeviceSection, SerialDevice, SnmpDevice

POLL_REQUESTS = 4
"""How many requests a poll's budget allows for (scalar chunks, table walks)."""

OUTBOX_STALL_S = 120.0
"""How long a connected broker may leave waiting messages unacknowledged."""


def poll_limit(interval: float, timeout: float, tries: int = 1, sharing: int = 1) -> float:
    """Seconds a device's loop may go without finishing a poll (rule 1)."""
    return 2 * interval + POLL_REQUESTS * timeout * tries * sharing


def device_limits(devices: Sequence[DeviceSection]) -> dict[str, float]:
    """Rule 1's limit for each device of a station, by id."""
    on_port = Counter(d.address for d in devices if isinstance(d, SerialDevice))
    return {
        d.id: poll_limit(
            d.interval,
            d.timeout,
            d.request_retries + 1 if isinstance(d, SnmpDevice) else 1,
            on_port[d.address] if isinstance(d, SerialDevice) else 1,
        )
        for d in devices
    }


@dataclass
class _Loop:
    limit: float
    last: float


class Liveness:
    """Progress seen so far; `problems()` names every rule that does not hold."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, stall_s: float = OUTBOX_STALL_S
    ) -> None:
        self._clock = clock
        self._stall_s = stall_s
        self._loops: dict[str, _Loop] = {}
        self._acked = 0
        self._stalled_since: float | None = None
        """Since when the broker was connected, messages waited, and none was acknowledged."""

    def watch(self, device_id: str, limit: float) -> None:
        """Expect a poll of `device_id` at least every `limit` seconds, from now."""
        self._loops[device_id] = _Loop(limit, self._clock())

    def watch_only(self, limits: Mapping[str, float], fresh: Iterable[str] = ()) -> None:
        """A reloaded device set: watch exactly `limits`' devices, with those limits.

        Devices no longer listed are forgotten; new ones, and those in `fresh` (their
        loop started again), are counted from now; the others keep their last poll.
        """
        restarted = set(fresh)
        self._loops = {
            device_id: _Loop(limit, self._clock())
            if device_id in restarted or device_id not in self._loops
            else _Loop(limit, self._loops[device_id].last)
            for device_id, limit in limits.items()
        }

    def polled(self, device_id: str) -> None:
        """A poll of `device_id` finished."""
        loop = self._loops.get(device_id)
        if loop is not None:
            loop.last = self._clock()

    def outbox(self, connected: bool, waiting: int, acked: int) -> None:
        """The outbox as it is now: broker connected, messages waiting, acknowledged so far."""
        if not connected or waiting == 0:
            self._stalled_since = None
        elif acked != self._acked or self._stalled_since is None:
            self._stalled_since = self._clock()
        self._acked = acked

    def problems(self) -> list[str]:
        """One line per broken rule, naming the device or the outbox; empty when alive."""
        now = self._clock()
        found = [
            f"device {device_id}: no poll finished for {now - loop.last:.0f} s"
            f" (limit {loop.limit:.0f} s)"
            for device_id, loop in self._loops.items()
            if now - loop.last > loop.limit
        ]
        stalled = 0.0 if self._stalled_since is None else now - self._stalled_since
        if stalled > self._stall_s:
            found.append(
                f"outbox: broker connected, messages waiting, no acknowledgement for"
                f" {stalled:.0f} s (limit {self._stall_s:.0f} s)"
            )
        return found
