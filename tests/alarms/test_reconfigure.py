"""AlarmEngine.reconfigure: a reloaded station file keeps what still holds (active
alarms, delays in progress, maintenance), ends the alarms of removed devices, and
judges changed devices by their new rules; on a hand-moved clock."""

from __future__ import annotations

from drivers import REGISTRY
from fieldagent.alarms.engine import REASON_NO_RULE, REASON_REMOVED
from tests.alarms import FM, UPS, Station, replay, station_config, transitions, with_limits

VSWR = "rf.vswr"  # fm_transmitter_nautel: warn 1.5, crit 2.0; delay 10 s
CHARGE = "ups.battery.charge_pct"


def test_an_unchanged_device_keeps_its_alarms_and_its_delay_in_progress() -> None:
    station = Station(station_config([FM, UPS]))
    station.poll("fm-main", {VSWR: 1.7})
    station.poll("fm-main", {VSWR: 1.7}, after=10)  # raised
    station.poll("ups1", {CHARGE: 100})
    station.poll("fm-main", {VSWR: 2.5}, after=1)  # critical: its delay runs
    events = station.engine.reconfigure(station_config([FM]), REGISTRY)
    assert [e.alarm.device for e in events] == []  # ups1 had no alarm: nothing to end
    assert station.engine.active("fm-main")[0].severity.value == "warning"
    [up] = station.poll("fm-main", {VSWR: 2.5}, after=10)  # its delay counted across the reload
    assert up.alarm.severity.value == "critical"
    replay(station.events)


def test_a_removed_device_ends_its_alarms_with_a_reason() -> None:
    station = Station(station_config([FM, {**UPS, "retries": 1}]))
    station.poll("ups1", error="timeout")  # unreachable
    assert station.engine.active("ups1")
    events = station.engine.reconfigure(station_config([FM]), REGISTRY)
    assert transitions(events) == [("cleared", "ups1/poll/unreachable", "unreachable")]
    assert events[0].reason == REASON_REMOVED
    assert station.engine.active("ups1") == []
    station.tick(after=3600)
    assert station.engine.active("ups1") == [], "no stale alarm for a device that is gone"


def test_a_removed_device_in_maintenance_ends_its_maintenance_alarm() -> None:
    ups = {**UPS, "maintenance_until": "2026-11-28T14:00:00+07:00"}
    station = Station(station_config([FM, ups]))
    assert transitions(station.tick()) == [("raised", "-/maintenance[device=ups1]/on", "warning")]
    events = station.engine.reconfigure(station_config([FM]), REGISTRY)
    assert transitions(events) == [("cleared", "-/maintenance[device=ups1]/on", "warning")]
    assert events[0].reason == REASON_REMOVED


def test_an_unchanged_device_stays_in_maintenance() -> None:
    ups = {**UPS, "maintenance_until": "2026-11-28T14:00:00+07:00"}
    station = Station(station_config([FM, ups]))
    station.tick()
    assert station.engine.reconfigure(station_config([ups]), REGISTRY) == []
    assert station.engine.maintenance_until("ups1") is not None


def test_a_device_added_is_judged_from_then_on() -> None:
    station = Station(station_config([FM]))
    station.engine.reconfigure(station_config([FM, {**UPS, "retries": 1}]), REGISTRY)
    events = station.poll("ups1", error="timeout")
    assert transitions(events) == [("raised", "ups1/poll/unreachable", "unreachable")]


def test_a_limit_taken_off_ends_the_alarm_it_raised() -> None:
    limited = with_limits(UPS, ups__battery__charge_pct={"warn_low": 50, "delay_s": 0})
    station = Station(station_config([limited]))
    assert transitions(station.poll("ups1", {CHARGE: 30})) == [
        ("raised", "ups1/ups.battery.charge_pct/low", "warning")
    ]
    off = with_limits(UPS, ups__battery__charge_pct={"warn_low": "off", "crit_low": "off"})
    events = station.engine.reconfigure(station_config([off]), REGISTRY, ["ups1"])
    assert transitions(events) == [("cleared", "ups1/ups.battery.charge_pct/low", "warning")]
    assert events[0].reason == REASON_NO_RULE
    assert station.poll("ups1", {CHARGE: 30}, after=10) == []
    replay(station.events + events)


def test_new_limits_keep_an_alarm_that_still_holds_and_restart_its_delays() -> None:
    station = Station(station_config([FM]))
    station.poll("fm-main", {VSWR: 1.7})
    station.poll("fm-main", {VSWR: 1.7}, after=10)  # raised, warning
    station.poll("fm-main", {VSWR: 2.5}, after=1)  # critical's delay runs
    stricter = station_config([FM], limits={VSWR: {"crit_high": 1.8}})
    assert station.engine.reconfigure(stricter, REGISTRY, ["fm-main"]) == []
    assert station.poll("fm-main", {VSWR: 2.5}, after=9) == []  # its delay starts again
    [up] = station.poll("fm-main", {VSWR: 2.5}, after=10)
    assert (up.alarm.severity.value, up.alarm.limit) == ("critical", 1.8)
