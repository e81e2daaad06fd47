"""A broker that takes the connection and never acknowledges: the agent hands it no more
than max_inflight messages, keeps the rest on disk, and reconnects (keep-alive)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess
from tests.faults import outbox_rows
from tests.faults.stalled_broker import StalledBroker
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

MAX_INFLIGHT = 10


@pytest.mark.parametrize("connack", [False, True], ids=["no-connack", "no-puback"])
def test_a_stalled_broker_costs_a_window_and_is_left_for_a_new_connection(
    tmp_path: Path, sims: SimRunner, connack: bool
) -> None:
    broker = StalledBroker(connack=connack)
    devices = [
        device_fields(f"ups-{n}", sims.serve("ups_rfc1628", f"127.0.0.{n + 2}"), interval=1)
        for n in range(3)
    ]
    config = write_station(
        tmp_path,
        devices,
        mqtt={
            "url": broker.url,
            "keepalive": 5,
            "max_inflight": MAX_INFLIGHT,
            "reconnect_min_s": 1,
            "reconnect_max_s": 1,
        },
        telemetry=FULL,  # a reading of every poll: a backlog that outgrows the window
    )
    agent = AgentProcess("run", "-c", str(config))
    try:
        deadline = time.monotonic() + 30
        while len(broker.counts()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        code, stderr = agent.stop()
        broker.close()
    counts = broker.counts()
    assert len(counts) >= 2, stderr  # keep-alive gave up on the stalled connection
    assert max(counts) <= MAX_INFLIGHT
    if connack:
        assert counts[0] == MAX_INFLIGHT  # the window filled, and nothing more was sent
    else:
        assert counts == [0] * len(counts)  # nothing is sent before the broker accepts
    assert len(outbox_rows(tmp_path / "state")) > 3 * 5  # the rest waits on disk
    assert code == 0, stderr
