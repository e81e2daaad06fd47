"""Fixed-rate loops on the monotonic clock, one per device.

Each device runs in its own task, so a device that never answers spends only
its own timeout: it cannot delay another device's poll.  A poll that overruns
its interval skips the missed slots instead of firing a burst to catch up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("fieldagent.scheduler")


async def run_every(
    interval: float,
    action: Callable[[], Awaitable[object]],
    clock: Callable[[], float] = time.monotonic,
    name: str = "task",
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Run `action` now and then every `interval` seconds, until cancelled.

    `clock` and `sleep` are injectable so the rhythm can be tested on a fake
    clock, without real waits.
    """
    next_due = clock()
    while True:
        try:
            await action()
        except Exception:  # one failed round must not end this device's polling for good
            log.exception("%s: round failed; continuing on schedule", name)
        next_due += interval
        now = clock()
        if next_due <= now:
            missed = int((now - next_due) // interval) + 1
            next_due += missed * interval
        await sleep(next_due - now)
