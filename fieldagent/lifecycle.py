"""Running an async body until the user or the service manager says stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable


async def run_until_stopped(
    body: Callable[[asyncio.Event], Awaitable[int]],
    stop_after: float | None = None,
    on_hangup: Callable[[], object] | None = None,
) -> int:
    """Run `body(stop)`; SIGINT, SIGTERM or `stop_after` seconds set `stop`.

    `on_hangup`: called on the event loop for each SIGHUP (systemd's ExecReload=
    sends one); without it SIGHUP keeps its default action.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = [signal.SIGINT, signal.SIGTERM]
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    if on_hangup is not None:
        loop.add_signal_handler(signal.SIGHUP, on_hangup)
        signals.append(signal.SIGHUP)
    if stop_after is not None:
        loop.call_later(stop_after, stop.set)
    try:
        return await body(stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
