"""`fieldagent run` under a systemd of sorts: a real datagram socket as NOTIFY_SOCKET, a
simulated UPS over UDP, a real mosquitto; READY=1, STATUS=, WATCHDOG=1, STOPPING=1."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker
from tests.agentproc import AgentProcess
from tests.notifysocket import NotifySocket
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

STATUS = re.compile(r"STATUS=1 device: 1 ok; outbox \d+ waiting")


def test_the_agent_reports_ready_status_watchdog_and_stopping(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:
        pytest.skip("temporary directory too deep for an AF_UNIX path")
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(
        tmp_path, [device_fields("ups-main", sim, interval=1)], mqtt={"url": broker.url}
    )
    systemd = NotifySocket(str(path))
    try:
        agent = AgentProcess(
            "run", "-c", str(config), env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000"}
        )
        try:
            lines = systemd.wait_for(lambda ls: ls.count("WATCHDOG=1") >= 3, timeout=30)
        finally:
            code, stderr = agent.stop()
        lines = systemd.wait_for(lambda ls: "STOPPING=1" in ls, timeout=5)
    finally:
        systemd.close()
    assert code == 0, stderr
    assert lines[0] == "READY=1", lines  # before any ping: systemd counts from READY
    assert any(STATUS.fullmatch(line) for line in lines), lines
    assert lines[-1] == "STOPPING=1", lines
    pings = systemd.times_of("WATCHDOG=1")
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(gap < 1.9 for gap in gaps), gaps  # every half of the 2 s watchdog
    assert "liveness check failed" not in stderr, stderr


def test_the_status_line_counts_devices_by_health(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:
        pytest.skip("temporary directory too deep for an AF_UNIX path")
    live = sims.serve("ups_rfc1628", "127.0.0.2")
    dead = sims.serve("ups_rfc1628", "127.0.0.3")
    dead.device.play("no_reply")
    config = write_station(
        tmp_path,
        [
            device_fields("live", live, interval=1),
            device_fields("dead", dead, interval=1, retries=1),
        ],
        mqtt={"url": broker.url},
    )
    systemd = NotifySocket(str(path))
    try:
        agent = AgentProcess("run", "-c", str(config), env={"NOTIFY_SOCKET": str(path)})
        try:
            lines = systemd.wait_for(
                lambda ls: any(
                    line.startswith("STATUS=2 devices: 1 ok, 1 unreachable;") for line in ls
                ),
                timeout=30,
            )
        finally:
            code, stderr = agent.stop()
    finally:
        systemd.close()
    assert code == 0, stderr
    assert "WATCHDOG=1" not in lines  # no WATCHDOG_USEC: systemd asked for no pings
