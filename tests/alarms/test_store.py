"""Alarm state across a restart: a new engine on the same state dir raises nothing twice,
and clears what cleared meanwhile."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from fieldagent.alarms import Alarm, AlarmEvent, AlarmStore, Transition
from fieldagent.alarms.engine import REASON_REMOVED
from fieldagent.config import Config
from fieldagent.model import HealthState
from fieldagent.outbox import Kind
from tests.alarms import (
    FM,
    STATION,
    T0,
    UPS,
    Clock,
    Station,
    station_config,
    transitions,
    with_limits,
)
from tests.outbox import draft, open_outbox

CHARGE = "ups.battery.charge_pct"


def ups_config(**device: object) -> Config:
    return station_config([with_limits({**UPS, **device}, ups__battery__charge_pct={"delay_s": 0})])


def run(config: Config, state: Path, clock: Clock) -> tuple[Station, AlarmStore]:
    """Start an agent's alarm side on `state`: the store, and an engine restored from it."""
    store = AlarmStore(state)
    station = Station(
        config, clock, restored=store.load_active(), maintenance=store.load_maintenance()
    )
    return station, store


def persist(store: AlarmStore, events: list[AlarmEvent]) -> list[AlarmEvent]:
    store.apply(events)
    return events


def test_an_alarm_active_before_a_restart_is_not_raised_again(tmp_path: Path) -> None:
    clock = Clock()
    first, store = run(ups_config(), tmp_path, clock)
    [raised] = persist(store, first.poll("ups1", {CHARGE: 10, "ups.output.source": "normal"}))
    store.close()

    second, store = run(ups_config(), tmp_path, clock)
    assert second.engine.active("ups1") == [raised.alarm]
    assert persist(store, second.poll("ups1", {CHARGE: 10}, after=30)) == []
    assert persist(store, second.tick(after=5)) == []
    assert second.engine.device_state("ups1") is HealthState.CRITICAL
    assert persist(store, second.poll("ups1", {CHARGE: 90}, after=10)) == []
    [cleared] = persist(store, second.poll("ups1", {CHARGE: 90}, after=30))
    assert cleared.alarm.raised_at == T0, "the original raise time survives the restart"
    assert store.load_active() == []
    store.close()


def test_an_alarm_whose_condition_cleared_meanwhile_clears_after_its_clear_delay(
    tmp_path: Path,
) -> None:
    clock = Clock()
    first, store = run(ups_config(), tmp_path, clock)
    persist(store, first.poll("ups1", {CHARGE: 10}))
    store.close()

    clock.advance(3600)
    second, store = run(ups_config(), tmp_path, clock)
    assert persist(store, second.poll("ups1", {CHARGE: 95})) == []  # clear delay 30 s from here
    assert persist(store, second.poll("ups1", {CHARGE: 95}, after=20)) == []
    [cleared] = persist(store, second.poll("ups1", {CHARGE: 95}, after=10))
    assert cleared.transition is Transition.CLEARED
    assert cleared.alarm.duration_s == 3630.0
    store.close()

    third, store = run(ups_config(), tmp_path, clock)
    assert third.engine.all_active() == []
    store.close()


def test_severity_changes_and_values_round_trip(tmp_path: Path) -> None:
    clock = Clock()
    fm = with_limits(FM, rf__vswr={"delay_s": 0}, tx__on_air={"delay_s": 0})
    first, store = run(station_config([fm]), tmp_path, clock)
    persist(store, first.poll("fm-main", {"rf.vswr": 1.7, "tx.on_air": False}))
    persist(store, first.poll("fm-main", {"rf.vswr": 2.4, "tx.on_air": False}, after=10))
    before = first.engine.all_active()
    store.close()

    store = AlarmStore(tmp_path)
    after = store.load_active()
    assert after == before
    assert {a.rule: a.value for a in after} == {"rf.vswr": 2.4, "tx.on_air": False}
    assert next(a for a in after if a.rule == "rf.vswr").severity is HealthState.CRITICAL
    store.close()


def test_unreachable_survives_a_restart_until_the_device_answers(tmp_path: Path) -> None:
    clock = Clock()
    first, store = run(ups_config(retries=2), tmp_path, clock)
    persist(store, first.poll("ups1", error="no reply", after=10))
    persist(store, first.poll("ups1", error="no reply", after=10))
    store.close()

    second, store = run(ups_config(retries=2), tmp_path, clock)
    assert persist(store, second.poll("ups1", error="no reply", after=10)) == []
    assert persist(store, second.tick(after=300)) == [], "unreachable: never stale on top"
    assert transitions(persist(store, second.poll("ups1", {}, after=10))) == [
        ("cleared", "ups1/poll/unreachable", "unreachable")
    ]
    store.close()


def test_stale_survives_a_restart_until_the_device_answers(tmp_path: Path) -> None:
    clock = Clock()
    first, store = run(ups_config(), tmp_path, clock)
    [stale] = persist(store, first.tick(after=31))
    store.close()

    second, store = run(ups_config(), tmp_path, clock)
    assert second.tick(after=1) == []
    assert second.engine.active("ups1") == [stale.alarm]
    assert [e.transition for e in second.poll("ups1", {}, after=1)] == [Transition.CLEARED]
    store.close()


def test_alarms_of_a_device_removed_from_the_file_are_cleared(tmp_path: Path) -> None:
    clock = Clock()
    first, store = run(
        station_config([with_limits(UPS, ups__battery__charge_pct={"delay_s": 0}), FM]),
        tmp_path,
        clock,
    )
    persist(store, first.poll("ups1", {CHARGE: 10}))
    store.close()

    second, store = run(station_config([FM]), tmp_path, clock)
    [cleared] = persist(store, second.tick())
    assert (cleared.transition, cleared.alarm.device, cleared.reason) == (
        Transition.CLEARED,
        "ups1",
        REASON_REMOVED,
    )
    assert store.load_active() == []
    store.close()


def test_maintenance_survives_a_restart_and_expires_meanwhile(tmp_path: Path) -> None:
    clock = Clock()
    first, store = run(ups_config(), tmp_path, clock)
    persist(store, first.engine.set_maintenance("ups1", T0 + timedelta(hours=1)))
    store.save_maintenance(first.engine.maintenance_overrides)
    store.close()

    clock.advance(600)
    second, store = run(ups_config(), tmp_path, clock)
    assert persist(store, second.tick()) == [], "still in maintenance: nothing raised again"
    assert second.engine.maintenance_until("ups1") == T0 + timedelta(hours=1)
    store.close()

    clock.advance(3600)
    third, store = run(ups_config(), tmp_path, clock)
    events = persist(store, third.tick())
    assert ("cleared", "-/maintenance[device=ups1]/on", "warning") in transitions(events)
    store.close()


def test_a_maintenance_command_gives_way_when_the_file_changes(tmp_path: Path) -> None:
    clock = Clock()
    planned = T0 + timedelta(days=2)
    first, store = run(ups_config(maintenance_until=planned), tmp_path, clock)
    persist(store, first.tick())
    persist(store, first.engine.set_maintenance("ups1", None))  # ended early by command
    store.save_maintenance(first.engine.maintenance_overrides)
    store.close()

    same_file, store = run(ups_config(maintenance_until=planned), tmp_path, clock)
    assert same_file.tick() == [] and same_file.engine.maintenance_until("ups1") is None
    store.close()

    later = planned + timedelta(days=1)
    edited, store = run(ups_config(maintenance_until=later), tmp_path, clock)
    assert transitions(edited.tick()) == [("raised", "-/maintenance[device=ups1]/on", "warning")]
    assert edited.engine.maintenance_until("ups1") == later
    store.close()


def test_alarm_of_another_station_id_is_cleared(tmp_path: Path) -> None:
    clock = Clock()
    first, store = run(ups_config(), tmp_path, clock)
    [raised] = first.poll("ups1", {CHARGE: 10})
    foreign = replace(raised.alarm, station="elsewhere", alarm_id="elsewhere/ups1/x/low")
    second = Station(ups_config(), clock, restored=[foreign])
    assert [(e.transition, e.alarm.station) for e in second.tick()] == [
        (Transition.CLEARED, "elsewhere")
    ]
    store.close()


def test_store_shares_state_db_with_the_outbox_in_wal_mode(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    store = AlarmStore(tmp_path)
    assert [outbox.put(draft(Kind.ALARM)), outbox.put(draft(Kind.ALARM))] == [1, 2]
    alarm = Alarm(
        f"{STATION}/ups1/ups.output.source/state",
        STATION,
        "ups1",
        "ups.output.source",
        "state",
        HealthState.WARNING,
        T0,
        "battery",
        None,
        "Nguồn cấp đầu ra UPS: ắc quy",
        "Output source: battery",
    )
    store.apply([AlarmEvent(Transition.RAISED, T0, alarm)])
    assert store.load_active() == [alarm]
    assert outbox.put(draft(Kind.ALARM)) == 3
    outbox.close()
    store.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"meta", "outbox", "alarm_active", "alarm_maintenance"} <= tables
