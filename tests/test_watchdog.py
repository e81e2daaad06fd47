"""The watchdog loop against a real datagram socket: pings only while the check passes
and the event loop runs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.sdnotify import Notifier
from fieldagent.watchdog import supervise
from tests.notifysocket import NotifySocket

PERIOD_S = 0.1
"""Half of the 200 ms watchdog the tests ask for."""


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[tuple[NotifySocket, Notifier]]:
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:
        pytest.skip("temporary directory too deep for an AF_UNIX path")
    listener = NotifySocket(str(path))
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "200000"})
    assert notifier.watchdog_period == PERIOD_S
    yield listener, notifier
    listener.close()


async def _supervise_for(notifier: Notifier, seconds: float, problems: list[str]) -> None:
    task = asyncio.create_task(supervise(notifier, lambda: list(problems), lambda: "1 device"))
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_a_hung_event_loop_sends_no_pings(systemd: tuple[NotifySocket, Notifier]) -> None:
    listener, notifier = systemd
    blocked: list[float] = []

    def hang() -> None:  # a callback that never yields, as a stuck loop would
        blocked.append(time.monotonic())
        time.sleep(1.0)
        blocked.append(time.monotonic())

    async def scenario() -> None:
        asyncio.get_running_loop().call_later(0.5, hang)
        await _supervise_for(notifier, 2.0, [])

    asyncio.run(scenario())
    listener.wait_for(lambda lines: lines.count("WATCHDOG=1") >= 10, timeout=5)
    pings = listener.times_of("WATCHDOG=1")
    start, end = blocked
    before = [t for t in pings if t < start]
    during = [t for t in pings if start + 0.05 < t < end - 0.05]
    after = [t for t in pings if t > end]
    assert len(before) >= 3, pings  # it pinged every 0.1 s while the loop ran
    assert during == [], (start, end, pings)
    assert len(after) >= 3, pings  # and again once the loop ran again


def test_a_failing_check_sends_no_ping_and_names_the_rule(
    systemd: tuple[NotifySocket, Notifier], caplog: pytest.LogCaptureFixture
) -> None:
    listener, notifier = systemd
    problems = ["device tx-1: no poll finished for 50 s (limit 44 s)"]

    async def scenario() -> None:
        await _supervise_for(notifier, 0.5, problems)
        problems.clear()  # the device polls again
        await _supervise_for(notifier, 0.5, problems)

    with caplog.at_level(logging.INFO, logger="fieldagent.watchdog"):
        asyncio.run(scenario())
    lines = listener.wait_for(lambda lines: "WATCHDOG=1" in lines, timeout=5)
    assert lines[0] == "STATUS=1 device"
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert failed == [
        "liveness check failed, no watchdog ping: device tx-1: no poll finished for 50 s"
        " (limit 44 s)"
    ]  # once, though the check failed on every round
    first_ping = listener.times_of("WATCHDOG=1")[0]
    first_status = listener.notices[0].at
    assert first_ping - first_status >= 0.4  # none while the check failed
