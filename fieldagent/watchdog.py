"""The daemon's loop toward systemd: its STATUS= line, and WATCHDOG=1 when it is earned.

It runs as a task on the agent's event loop: each round it refreshes the status when
it changed and, when systemd asked for a watchdog, pings only if the liveness check
finds no problem.  A failing check is logged (once per change of the problems) and
sends nothing, so systemd restarts the agent; a loop that hangs runs no rounds and
sends nothing either.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fieldagent.sdnotify import Notifier

log = logging.getLogger("fieldagent.watchdog")

STATUS_EVERY_S = 5.0
"""The status line changes at most this often."""


async def supervise(
    notifier: Notifier,
    problems: Callable[[], list[str]],
    status: Callable[[], str],
) -> None:
    """Refresh STATUS= and ping the watchdog until cancelled."""
    period = notifier.watchdog_period
    every = STATUS_EVERY_S if period is None else min(period, STATUS_EVERY_S)
    said = ""
    failing: list[str] = []  # the rules that failed last round (device or outbox)
    while True:
        text = status()
        if text != said:
            notifier.status(text)
            said = text
        if period is not None:
            found = problems()
            rules = [line.split(":", 1)[0] for line in found]
            if not found:
                if failing:
                    log.info("liveness check passes again: watchdog pings resume")
                notifier.watchdog()
            elif rules != failing:
                log.error("liveness check failed, no watchdog ping: %s", "; ".join(found))
            failing = rules
        await asyncio.sleep(every)
