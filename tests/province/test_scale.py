"""A province in one test: 200 stations' retained state and a burst of alarms.

How long the monitor takes and how much memory it uses depends on the machine:
`bench/province.py` prints those figures (docs/central.md quotes them). This test
checks what must hold at that scale whatever the machine: the monitor's view is
complete (every station, every device, every report, nothing rejected) and a burst of
alarms arrives whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldagent.config import MqttSection
from fieldagent.localbroker import LocalBroker
from fieldagent.province.feed import Feed
from fieldagent.province.view import ProvinceView
from tests.agentproc import fieldagent
from tests.support.stations import Link, alarm_burst, province

STATIONS = 200
DEVICES = 10
ALARMS = 5


@pytest.fixture
def province_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """mosquitto as docs/broker.md sets up the province's: no cap on a client's queue (the
    default 1,000 drops the retained burst beyond it for a QoS 1 subscriber)."""
    broker = LocalBroker(
        tmp_path / "broker", listener_options=("allow_anonymous true", "max_queued_messages 0")
    )
    broker.start()
    yield broker
    broker.stop()


def test_two_hundred_stations_are_all_seen_and_an_alarm_burst_arrives_whole(
    province_broker: LocalBroker,
) -> None:
    made, wires = province(STATIONS, DEVICES)
    link = Link(province_broker.host, province_broker.port)
    try:
        link.publish(*wires)
        done = fieldagent(
            "monitor", "--broker", province_broker.url, "--once", "--json", "--timeout", "60"
        )
        document = json.loads(done.stdout)
        seen = {s["station"]: s for s in document["stations"]}
        assert sorted(seen) == sorted(s.id for s in made)
        assert {sum(s["devices"].values()) for s in seen.values()} == {DEVICES}
        assert {s["checklist"]["verdict"] for s in seen.values()} == {"fail"}
        assert not document["rejected"], document["rejected"]

        view = ProvinceView()
        feed = Feed(view, MqttSection(url=province_broker.url), None)
        feed.start()
        try:
            feed.settle()
            link.publish(*alarm_burst(made, ALARMS))
            deadline = time.monotonic() + 60
            active = 0
            while active < STATIONS * ALARMS and time.monotonic() < deadline:
                feed.drain(0.1)
                active = sum(len(s.active_alarms) for s in view.stations(datetime.now(UTC)))
        finally:
            feed.stop()
        assert active == STATIONS * ALARMS
        assert all(s.worst == "critical" for s in view.stations(datetime.now(UTC)))
        assert not view.rejected and not any(s.gaps for s in view.stations(datetime.now(UTC)))
    finally:
        link.close()
