"""`fieldagent monitor` against a real mosquitto, with the four stations of conftest.py."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from fieldagent.config import MqttSection
from fieldagent.localbroker import LocalBroker
from fieldagent.model import HealthState
from fieldagent.province.monitor import MonitorOptions, run_monitor
from tests.agentproc import fieldagent
from tests.province.conftest import NOW
from tests.support.stations import FakeStation, Link, alarm


def by_station(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["station"]: s for s in document["stations"]}


def test_once_shows_each_station_as_it_is(broker: LocalBroker, stations: object) -> None:
    done = fieldagent("monitor", "--broker", broker.url, "--once", "--timeout", "10")
    assert done.returncode == 3, done.stderr  # a station is offline
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[2:] if line.strip()}
    assert done.stdout.splitlines()[2].startswith("st-offline")  # worst first
    assert "OFFLINE" in rows["st-offline"]
    assert rows["st-alarm"].split()[1:7] == ["CRITICAL", "1", "0", "1", "0", "1"]
    assert "fail" in rows["st-alarm"]
    assert "none" in rows["st-nocheck"] and "OK" in rows["st-nocheck"]


def test_once_json_and_one_station_in_detail(broker: LocalBroker, stations: object) -> None:
    done = fieldagent("monitor", "--broker", broker.url, "--once", "--json", "--timeout", "10")
    document = json.loads(done.stdout)
    assert document["exit"] == done.returncode == 3
    seen = by_station(document)
    assert seen["st-offline"]["online"] is False and seen["st-offline"]["flags"] == ["OFFLINE"]
    assert seen["st-alarm"]["worst"] == "critical" and seen["st-alarm"]["alarms"] == 1
    assert seen["st-alarm"]["checklist"]["verdict"] == "fail"
    assert seen["st-alarm"]["checklist"]["failed"] == ["ups.battery_charge"]
    assert seen["st-nocheck"]["checklist"] is None
    assert seen["st-gap"]["checklist"]["verdict"] == "incomplete"

    one = fieldagent(
        "monitor", "--broker", broker.url, "--once", "--station", "st-al*", "--timeout", "10"
    )
    assert one.returncode == 2, one.stderr
    assert "st-alarm/ups-main/ups.battery.charge_pct/low" in one.stdout
    assert "st-gap" not in one.stdout


class Screen(io.StringIO):
    """What the live monitor printed, line by line, readable while it runs."""

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line]


def live_monitor(broker: LocalBroker, seconds: float) -> tuple[Screen, threading.Thread]:
    screen = Screen()
    settings = MqttSection(url=broker.url)
    options = MonitorOptions(json=True, duration_s=seconds, timeout_s=10)
    thread = threading.Thread(target=run_monitor, args=(settings, None, options, screen))
    thread.start()
    return screen, thread


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.05)


def test_live_alarm_and_gap(broker: LocalBroker, stations: dict[str, FakeStation]) -> None:
    screen, thread = live_monitor(broker, seconds=8)
    try:
        wait_until(lambda: screen.documents())
        first = by_station(screen.documents()[-1])
        assert first["st-alarm"]["alarms"] == 1 and first["st-gap"]["missing"] == 0
        link = Link(broker.host, broker.port)
        hot, gap = stations["st-alarm"], stations["st-gap"]
        second = alarm(hot.id, "fm-main", HealthState.WARNING, datetime.now(UTC))
        link.publish(hot.health("fm-main", HealthState.WARNING, [second]))
        link.publish(gap.health("ups-main", HealthState.OK))
        gap.number(gap.build.health("ups-main", HealthState.WARNING, None, [], NOW))  # lost
        link.publish(gap.health("ups-main", HealthState.OK))
        wait_until(
            lambda: (
                by_station(screen.documents()[-1])["st-gap"]["missing"] == 1
                and by_station(screen.documents()[-1])["st-alarm"]["alarms"] == 2
            )
        )
        last = by_station(screen.documents()[-1])
        assert last["st-gap"]["flags"] == ["GAP 1"]
        assert last["st-alarm"]["devices"]["warning"] == 1
        link.close()
    finally:
        thread.join(timeout=20)
    assert not thread.is_alive()


def test_bad_messages_are_counted_and_do_not_stop_it(
    broker: LocalBroker, stations: dict[str, FakeStation]
) -> None:
    link = Link(broker.host, broker.port)
    link.raw("bctv/v1/st-bad/status", b"{not json", retain=True)
    link.raw("bctv/v1/st-bad/ups/health", json.dumps({"station": "st-bad"}).encode(), retain=True)
    link.raw("bctv/v1/st-bad/checklist/report", b"x" * (2 * 1024 * 1024), retain=True)
    link.raw("bctv/v1/st-bad/cmd/health", b"{}", retain=True)
    link.close()
    done = fieldagent("monitor", "--broker", broker.url, "--once", "--json", "--timeout", "10")
    document = json.loads(done.stdout)
    assert document["rejected"] == {"not JSON": 1, "bad health": 1, "foreign topic": 1}
    assert "st-bad" not in by_station(document)
    assert set(by_station(document)) == {"st-offline", "st-gap", "st-alarm", "st-nocheck"}
    assert "ignored a message of 20971" in done.stderr  # and its topic: read, never kept
    assert "on bctv/v1/st-bad/checklist/report" in done.stderr
