"""Running an async body until the user or the service manager says stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable


async def run_until_stopped(
    body: Callable[[asyncio.Event], Awaitable[int]], stop_after: float | None = None
) -> int:
    """Run `body(stop)`; SIGINT, SIGTERM or `stop_after` seconds set `stop`."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if stop_after is not None:
        loop.call_later(stop_after, stop.set)
    try:
        return await body(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
