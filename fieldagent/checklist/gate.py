"""How often a `cmd/checklist` request may start a run, and how many refusals get a reply.

Every run polls every device, serial lines included, and archives a report,
so a request repeated in a loop (100 a second in a field trial) must not
become a run each time: after a run asked for over MQTT, the next one is
accepted only `cooldown_s` later.  A refusal is itself a message committed to
the outbox with an fsync, so refusals get a reply only while a small budget
lasts (`REPLY_BURST`, then one every `REPLY_EVERY_S`); the rest are counted
and logged as a number.  A flood thus yields a bounded number of replies.

Times are the monotonic clock's: a wall clock set while the agent runs (a
board without a battery-backed clock getting its time late) moves neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable

REPLY_BURST = 5
"""Refusals answered in a row before the budget runs out."""
REPLY_EVERY_S = 10.0
"""One more refusal may be answered per this many seconds."""


class CommandGate:
    """The cooldown between runs asked for over MQTT, and the budget of refusal replies."""

    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._last_run: float | None = None
        self._budget = float(REPLY_BURST)
        self._budget_at = clock()
        self.unanswered = 0
        """Refusals since the last answered one that got no reply."""

    def wait_s(self) -> float:
        """Seconds until a run may start; 0 when one may start now."""
        if self._last_run is None:
            return 0.0
        return max(0.0, self._last_run + self._cooldown_s - self._clock())

    def started(self) -> None:
        """A run asked for over MQTT has started: the cooldown runs from now."""
        self._last_run = self._clock()

    def may_reply(self) -> bool:
        """Whether this refusal gets a reply; if not, it is counted in `unanswered`."""
        now = self._clock()
        self._budget = min(
            float(REPLY_BURST), self._budget + (now - self._budget_at) / REPLY_EVERY_S
        )
        self._budget_at = now
        if self._budget >= 1.0:
            self._budget -= 1.0
            return True
        self.unanswered += 1
        return False

    def take_unanswered(self) -> int:
        """The refusals left without a reply so far; counting starts again from 0."""
        unanswered, self.unanswered = self.unanswered, 0
        return unanswered
