"""Behind an MQTT 5 shared subscription: retained state reaches every member, live events one."""

from __future__ import annotations

import json
import threading
import time

from fieldagent.config import MqttSection
from fieldagent.localbroker import LocalBroker
from fieldagent.province.subscriber import ProvinceSubscriber
from tests.agentproc import fieldagent
from tests.support.stations import FakeStation, Link


def test_once_behind_a_share_has_the_retained_state_and_judges_no_gaps(
    broker: LocalBroker, stations: object
) -> None:
    done = fieldagent(
        "monitor", "--broker", broker.url, "--once", "--json", "--share", "central",
        "--timeout", "10",
    )  # fmt: skip
    seen = {s["station"]: s for s in json.loads(done.stdout)["stations"]}
    assert set(seen) == {"st-offline", "st-gap", "st-alarm", "st-nocheck"}, done.stderr
    assert seen["st-alarm"]["alarms"] == 1 and seen["st-offline"]["online"] is False
    assert all(s["gaps"] == [] for s in seen.values())


def test_live_events_go_to_one_member_of_the_group(broker: LocalBroker) -> None:
    got: list[list[str]] = [[], []]
    lock = threading.Lock()
    members = []
    settings = MqttSection(url=broker.url, protocol="5")
    for n in range(2):

        def take(topic: str, payload: bytes, retained: bool, into: list[str] = got[n]) -> None:
            with lock:
                into.append(topic)

        member = ProvinceSubscriber(settings, take, client_id=f"central-{n}", share="central")
        member.start()
        members.append(member)
    try:
        for member in members:
            assert member.wait_settled(0.5, 10)
        station = FakeStation("st-1")
        link = Link(broker.host, broker.port)
        link.publish(station.status())  # retained topic: plain subscriptions, both get it
        for _ in range(20):  # a live topic: each message to one member only
            link.raw("bctv/v1/st-1/alarm", b"{}")
        link.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                alarms = [sum(t.endswith("/alarm") for t in g) for g in got]
                if sum(alarms) == 20:
                    break
            time.sleep(0.05)
        assert sum(alarms) == 20 and all(alarms), alarms
        with lock:
            assert all(g.count("bctv/v1/st-1/status") == 1 for g in got), got
    finally:
        for member in members:
            member.stop()
