"""How often each remote command is accepted, and how many refusals get a reply.

A command is cheap, but a loop sending one (a script gone wrong, 100 a second)
must not become 100 polls a second on a serial line, nor 100 replies a second
committed to the outbox.  So each command has its own `Budget` of accepted
requests (`RATES`: a burst, then one per interval), and all refusals on `cmd/`
(unknown commands included) share one budget of replies, the same as
`cmd/checklist`'s (`REPLY_BURST`, then one per `REPLY_EVERY_S`); past it a
refusal is counted and logged as a number.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fieldagent.budget import REPLY_BURST, REPLY_EVERY_S, Budget
from fieldagent.remote.settings import COMMANDS, CommandName

RATES: dict[CommandName, tuple[int, float]] = {
    "ping": (5, 2.0),
    "poll": (3, 10.0),
    "maintenance": (5, 30.0),
}
"""Per command: accepted in a row, then one more per this many seconds."""


class RemoteGate:
    """The accepted-request budget of each command and the shared refusal-reply budget."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._accepted = {name: Budget(*RATES[name], clock) for name in COMMANDS}
        self._replies = Budget(REPLY_BURST, REPLY_EVERY_S, clock)

    def admit(self, name: CommandName) -> float | None:
        """None when a request of `name` may run now; else the seconds until one may."""
        budget = self._accepted[name]
        if budget.take():
            return None
        budget.take_denied()  # counted as a refusal, by the reply budget
        return budget.wait_s()

    def limit(self, name: CommandName) -> str:
        """The rate of `name` in words, for a refusal."""
        burst, every_s = RATES[name]
        return f"{burst} in a row, then one per {every_s:g} s"

    def may_reply(self) -> bool:
        """Whether this refusal gets a reply; if not, it is counted (`take_unanswered`)."""
        return self._replies.take()

    def take_unanswered(self) -> int:
        """The refusals left without a reply so far; counting starts again from 0."""
        return self._replies.take_denied()

    @property
    def unanswered(self) -> int:
        return self._replies.denied
