"""A budget that refills with time: how often something may happen, bursts included.

One concept for every command the agent takes from the broker: how many
refusals of `cmd/checklist` get a reply (`checklist/gate.py`), and how often
each remote command on `cmd/` is accepted and how many of their refusals get a
reply (`remote/gate.py`).  A budget holds up to `burst` units and gains one
every `every_s` seconds; each use takes one.  What finds it empty is counted,
so a flood is logged as a number instead of line by line.

Times are the monotonic clock's: a wall clock set while the agent runs (a
board without a battery-backed clock getting its time late) moves nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

REPLY_BURST = 5
"""Refusals of a command topic answered in a row before their budget runs out."""
REPLY_EVERY_S = 10.0
"""One more refusal may be answered per this many seconds."""


class Budget:
    """Up to `burst` uses at once, then one more per `every_s` seconds."""

    def __init__(
        self, burst: int, every_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if burst < 1 or every_s <= 0:
            raise ValueError("a budget needs a burst of at least 1 and a positive interval")
        self.burst = burst
        self.every_s = every_s
        self._clock = clock
        self._left = float(burst)
        self._at = clock()
        self.denied = 0
        """Uses refused since `take_denied` was last called."""

    def _refill(self) -> None:
        now = self._clock()
        self._left = min(float(self.burst), self._left + (now - self._at) / self.every_s)
        self._at = now

    def take(self) -> bool:
        """Use one unit if there is one; otherwise count the refusal in `denied`."""
        self._refill()
        if self._left >= 1.0:
            self._left -= 1.0
            return True
        self.denied += 1
        return False

    def wait_s(self) -> float:
        """Seconds until the next unit is there; 0 when one is there now."""
        self._refill()
        return max(0.0, (1.0 - self._left) * self.every_s)

    def take_denied(self) -> int:
        """The refusals counted so far; counting starts again from 0."""
        denied, self.denied = self.denied, 0
        return denied
