"""How often a `cmd/checklist` request may start a run, and how many refusals get a reply.

Every run polls every device, serial lines included, and archives a report,
so a request repeated in a loop (100 a second in a field trial) must not
become a run each time: after a run asked for over MQTT, the next one is
accepted only `cooldown_s` later.  A refusal is itself a message committed to
the outbox with an fsync, so refusals get a reply only while a small budget
lasts (`REPLY_BURST`, then one every `REPLY_EVERY_S`); the rest are counted
and logged as a number.  A flood thus yields a bounded number of replies.
The reply budget is a `fieldagent.budget.Budget`, as are the remote commands'.

Times are the monotonic clock's: a wall clock set while the agent runs (a
board without a battery-backed clock getting its time late) moves neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fieldagent.budget import REPLY_BURST as REPLY_BURST
from fieldagent.budget import REPLY_EVERY_S as REPLY_EVERY_S
from fieldagent.budget import Budget


class CommandGate:
    """The cooldown between runs asked for over MQTT, and the budget of refusal replies."""

    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._last_run: float | None = None
        self._replies = Budget(REPLY_BURST, REPLY_EVERY_S, clock)

    @property
    def unanswered(self) -> int:
        """Refusals since the last answered one that got no reply."""
        return self._replies.denied

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
        return self._replies.take()

    def take_unanswered(self) -> int:
        """The refusals left without a reply so far; counting starts again from 0."""
        return self._replies.take_denied()
