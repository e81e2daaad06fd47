"""Fixed-rate loops on the monotonic clock, one per device.

Each device runs in its own task, so a device that never answers spends only
its own timeout: it cannot delay another device's poll.  A poll that overruns
its interval skips the missed slots instead of firing a burst to catch up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def run_every(
    interval: float,
    action: Callable[[], Awaitable[object]],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run `action` now and then every `interval` seconds, until cancelled."""
    next_due = clock()
    while True:
        await action()
        next_due += interval
        now = clock()
        if next_due <= now:
            missed = int((now - next_due) // interval) + 1
            next_due += missed * interval
        await asyncio.sleep(next_due - now)
