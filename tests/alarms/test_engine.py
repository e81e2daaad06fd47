"""The alarm engine: delays, clear delays, deadband, overrides, states, devices that
stop answering, maintenance, traps and texts, driven by a hand-moved clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drivers import REGISTRY
from fieldagent.alarms import AlarmEvent, Transition
from fieldagent.alarms.engine import REASON_CAUSE_OVER, REASON_MAINTENANCE, REASON_SUPERSEDED
from fieldagent.alarms.messages import TITLES_VI
from fieldagent.driver import ValueType
from fieldagent.model import HealthState, PollResult, Quality, Reading, Value
from tests.alarms import (
    CMTS,
    FM,
    IRD,
    STATION,
    T0,
    UPS,
    Station,
    replay,
    station_config,
    transitions,
    with_limits,
)

VSWR = "rf.vswr"
REFLECTED = "rf.reflected_power_w"


def fm_station(**limits: dict[str, object]) -> Station:
    return Station(station_config([with_limits(FM, **limits)]))


# ---------------------------------------------------------------- delays


def test_limit_alarm_waits_for_the_whole_delay() -> None:
    station = fm_station()  # rf.vswr: warn 1.5, crit 2.0; power kind: delay 10 s
    assert station.poll("fm-main", {VSWR: 1.7}) == []
    assert station.poll("fm-main", {VSWR: 1.7}, after=5) == []
    [raised] = station.poll("fm-main", {VSWR: 1.7}, after=5)
    assert raised.transition is Transition.RAISED
    alarm = raised.alarm
    assert alarm.alarm_id == f"{STATION}/fm-main/rf.vswr/high"
    assert (alarm.device, alarm.rule, alarm.condition) == ("fm-main", VSWR, "high")
    assert (alarm.severity, alarm.value, alarm.limit) == (HealthState.WARNING, 1.7, 1.5)
    assert alarm.raised_at == T0 + timedelta(seconds=10)
    assert alarm.cleared_at is None and alarm.duration_s is None
    assert station.poll("fm-main", {VSWR: 1.7}, after=10) == [], "no repeat while it holds"
    assert station.engine.device_state("fm-main") is HealthState.WARNING


def test_an_excursion_shorter_than_the_delay_never_raises() -> None:
    station = fm_station()
    for value in (1.7, 1.2, 1.8, 1.1, 1.7, 1.3):
        assert station.poll("fm-main", {VSWR: value}, after=5) == []
    assert station.engine.active("fm-main") == []


def test_delay_zero_acts_on_the_first_reading() -> None:
    station = fm_station(rf__vswr={"delay_s": 0, "clear_delay_s": 0})
    assert transitions(station.poll("fm-main", {VSWR: 2.5})) == [
        ("raised", "fm-main/rf.vswr/high", "critical")
    ]
    assert transitions(station.poll("fm-main", {VSWR: 1.0}, after=1)) == [
        ("cleared", "fm-main/rf.vswr/high", "critical")
    ]


def test_clear_delay_needs_the_condition_gone_for_all_of_it() -> None:
    station = fm_station(rf__vswr={"delay_s": 0, "clear_delay_s": 30})
    station.poll("fm-main", {VSWR: 1.7})
    assert station.poll("fm-main", {VSWR: 1.2}, after=10) == []
    assert station.poll("fm-main", {VSWR: 1.2}, after=10) == []
    assert station.poll("fm-main", {VSWR: 1.7}, after=5) == [], "back: the clear timer restarts"
    assert station.poll("fm-main", {VSWR: 1.2}, after=5) == []
    assert station.poll("fm-main", {VSWR: 1.2}, after=29) == []
    [cleared] = station.poll("fm-main", {VSWR: 1.2}, after=1)
    assert cleared.transition is Transition.CLEARED
    assert cleared.alarm.cleared_at == station.clock.now
    assert cleared.alarm.duration_s == 60.0


def test_a_failed_poll_restarts_the_delay() -> None:
    station = fm_station()
    station.poll("fm-main", {VSWR: 1.7})
    station.poll("fm-main", error="timeout", after=5)
    assert station.poll("fm-main", {VSWR: 1.7}, after=5) == [], "no evidence across the gap"
    assert len(station.poll("fm-main", {VSWR: 1.7}, after=10)) == 1


def test_deadband_holds_the_alarm_until_the_value_is_well_back() -> None:
    station = fm_station(rf__vswr={"delay_s": 0, "clear_delay_s": 0, "deadband": 0.1})
    assert len(station.poll("fm-main", {VSWR: 1.55})) == 1
    for value in (1.45, 1.41, 1.5, 1.42):  # below the limit, inside the deadband
        assert station.poll("fm-main", {VSWR: value}, after=10) == []
    [cleared] = station.poll("fm-main", {VSWR: 1.39}, after=10)
    assert cleared.transition is Transition.CLEARED
    assert station.poll("fm-main", {VSWR: 1.49}, after=10) == [], "not raised again below 1.5"


def test_severity_changes_are_single_events_both_ways() -> None:
    station = fm_station(rf__vswr={"delay_s": 10, "clear_delay_s": 20, "deadband": 0.05})
    station.poll("fm-main", {VSWR: 1.7})
    assert transitions(station.poll("fm-main", {VSWR: 1.8}, after=10)) == [
        ("raised", "fm-main/rf.vswr/high", "warning")
    ]
    assert station.poll("fm-main", {VSWR: 2.3}, after=5) == []
    [up] = station.poll("fm-main", {VSWR: 2.2}, after=10)
    assert up.transition is Transition.SEVERITY_CHANGED
    assert (up.previous, up.alarm.severity, up.alarm.value, up.alarm.limit) == (
        HealthState.WARNING,
        HealthState.CRITICAL,
        2.2,
        2.0,
    )
    assert up.alarm.raised_at == T0 + timedelta(seconds=10), "the raise time stays"
    assert up.alarm.changed_at == station.clock.now
    assert station.poll("fm-main", {VSWR: 1.97}, after=10) == [], "inside the critical deadband"
    station.poll("fm-main", {VSWR: 1.7}, after=10)
    [down] = station.poll("fm-main", {VSWR: 1.7}, after=20)
    assert (down.transition, down.previous, down.alarm.severity) == (
        Transition.SEVERITY_CHANGED,
        HealthState.CRITICAL,
        HealthState.WARNING,
    )
    assert (down.alarm.value, down.alarm.limit) == (1.7, 1.5)
    station.poll("fm-main", {VSWR: 1.2}, after=10)
    assert transitions(station.poll("fm-main", {VSWR: 1.2}, after=20)) == [
        ("cleared", "fm-main/rf.vswr/high", "warning")
    ]
    assert replay(station.events) == {}


def test_straight_to_critical_is_one_raise() -> None:
    station = fm_station()
    station.poll("fm-main", {REFLECTED: 310})
    assert transitions(station.poll("fm-main", {REFLECTED: 320}, after=10)) == [
        ("raised", "fm-main/rf.reflected_power_w/high", "critical")
    ]


def test_a_reading_past_a_higher_limit_when_the_delay_ends_raises_that_level() -> None:
    """The demo's UPS: charge below 50 % (warning) for the delay, by then below 15 % too."""
    station = Station(station_config([UPS]))  # charge: % (delay 10 s); status: state (10 s)
    station.poll("ups1", {"ups.battery.charge_pct": 40, "ups.battery.status": "low"})
    events = station.poll(
        "ups1", {"ups.battery.charge_pct": 0, "ups.battery.status": "depleted"}, after=10
    )
    assert sorted(transitions(events)) == [
        ("raised", "ups1/ups.battery.charge_pct/low", "critical"),
        ("raised", "ups1/ups.battery.status/state", "critical"),
    ]
    charge = next(e.alarm for e in events if e.alarm.rule == "ups.battery.charge_pct")
    assert (charge.value, charge.limit) == (0, 15)
    assert charge.message_en.endswith("0 % (limit 15 %)"), charge.message_en


def test_low_limits() -> None:
    station = fm_station(rf__forward_power_w={"delay_s": 0})  # warn 1600 W, crit 1000 W
    [raised] = station.poll("fm-main", {"rf.forward_power_w": 1200})
    assert (raised.alarm.condition, raised.alarm.severity, raised.alarm.limit) == (
        "low",
        HealthState.WARNING,
        1600,
    )


def test_kind_defaults_audio_loss_waits_30_seconds() -> None:
    station = fm_station()
    station.poll("fm-main", {"tx.alarm.audio_loss": True})
    assert station.poll("fm-main", {"tx.alarm.audio_loss": True}, after=20) == []
    [raised] = station.poll("fm-main", {"tx.alarm.audio_loss": True}, after=10)
    assert raised.alarm.severity is HealthState.CRITICAL
    assert raised.alarm.message_vi == "Mất âm thanh: có"


# ---------------------------------------------------------------- overrides


def test_device_overrides_beat_station_overrides_beat_the_driver() -> None:
    standby = {**FM, "id": "fm-standby", "host": "127.0.0.9"}
    config = station_config(
        [with_limits(FM, rf__vswr={"warn_high": 1.8, "crit_high": 2.2}), standby],
        limits={VSWR: {"warn_high": 1.3, "crit_high": 1.6, "delay_s": 0}},
    )
    station = Station(config)
    assert station.poll("fm-main", {VSWR: 1.7}) == [], "the device's own warn_high is 1.8"
    [standby_alarm] = station.poll("fm-standby", {VSWR: 1.4})
    assert (standby_alarm.alarm.severity, standby_alarm.alarm.limit) == (HealthState.WARNING, 1.3)
    [main_alarm] = station.poll("fm-main", {VSWR: 1.9}, after=1)
    assert (main_alarm.alarm.severity, main_alarm.alarm.limit) == (HealthState.WARNING, 1.8)
    assert main_alarm.alarm.raised_at == station.clock.now, "delay_s 0 from the station level"


def test_off_removes_a_driver_limit() -> None:
    station = fm_station(rf__vswr={"warn_high": "off", "delay_s": 0})
    assert station.poll("fm-main", {VSWR: 1.9}) == []
    assert len(station.poll("fm-main", {VSWR: 2.1})) == 1


def test_row_override_and_disabled_row() -> None:
    ird = with_limits(
        IRD,
        **{
            "ird.link_margin_db": {"delay_s": 0},
            "ird.link_margin_db[input=2]": {"warn_low": 3.0},
            "ird.locked[input=3]": {"enabled": False},
        },
    )
    station = Station(station_config([ird]))
    events = station.poll(
        "ird1",
        {
            "ird.link_margin_db[input=1]": 2.0,
            "ird.link_margin_db[input=2]": 2.0,
            "ird.locked[input=3]": False,
        },
    )
    assert transitions(events) == [("raised", "ird1/ird.link_margin_db[input=2]/low", "warning")]
    assert (
        events[0].alarm.message_vi == "Độ dự trữ đường truyền (đầu vào 2) thấp: 2 dB (ngưỡng 3 dB)"
    )
    assert events[0].alarm.message_en == "Low link margin (input 2): 2 dB (limit 3 dB)"


# ---------------------------------------------------------------- states and rates


def test_enum_states_raise_escalate_and_clear() -> None:
    station = Station(station_config([with_limits(UPS, ups__output__source={"delay_s": 0})]))
    [raised] = station.poll("ups1", {"ups.output.source": "battery"})
    assert (raised.alarm.condition, raised.alarm.severity, raised.alarm.value) == (
        "state",
        HealthState.WARNING,
        "battery",
    )
    assert raised.alarm.message_vi == "Nguồn cấp đầu ra UPS: ắc quy"
    assert raised.alarm.message_en == "Output source: battery"
    [worse] = station.poll("ups1", {"ups.output.source": "none"}, after=10)
    assert (worse.transition, worse.alarm.severity) == (
        Transition.SEVERITY_CHANGED,
        HealthState.CRITICAL,
    )
    assert station.poll("ups1", {"ups.output.source": "normal"}, after=10) == []
    [cleared] = station.poll("ups1", {"ups.output.source": "normal"}, after=10)
    assert cleared.transition is Transition.CLEARED


def test_bool_state_and_state_overrides() -> None:
    fm = with_limits(
        FM,
        tx__on_air={"delay_s": 0},
        tx__alarm__fan_fail={"states": {"true": "critical"}, "delay_s": 0},
    )
    station = Station(station_config([fm]))
    events = station.poll("fm-main", {"tx.on_air": False, "tx.alarm.fan_fail": True})
    assert transitions(events) == [
        ("raised", "fm-main/tx.on_air/state", "critical"),
        ("raised", "fm-main/tx.alarm.fan_fail/state", "critical"),
    ]
    assert events[0].alarm.message_en == "RF on air: no"
    assert events[0].alarm.message_vi == "Đang phát sóng RF: không"


def test_a_state_mapped_to_ok_raises_nothing() -> None:
    fm = {
        "id": "fm-standby",
        "driver": "fm_transmitter_ascii",
        "serial_port": "/dev/ttyUSB0",
        "limits": {"tx.control_mode": {"states": {"local": "ok"}, "delay_s": 0}},
    }
    station = Station(station_config([fm]))
    assert station.poll("fm-standby", {"tx.control_mode": "local"}) == []


def test_counter_rates_are_judged_by_the_same_limits() -> None:
    cmts = with_limits(CMTS, docsis__upstream__uncorrectable_cw_per_s={"delay_s": 0})
    station = Station(station_config([cmts]))
    key = "docsis.upstream.uncorrectable_cw_per_s[channel=3]"
    [raised] = station.poll("cmts1", {key: 12.5})
    assert (raised.alarm.severity, raised.alarm.limit, raised.alarm.unit) == (
        HealthState.CRITICAL,
        10,
        "cw/s",
    )
    assert "12.5 cw/s" in raised.alarm.message_en and "10 cw/s" in raised.alarm.message_vi


def _cmts_poll(station: Station, after: float, **changes: Value) -> list[AlarmEvent]:
    """One poll of cmts1 as the driver decodes the simulated CMTS with `changes` (row keys)."""
    driver = REGISTRY["docsis_cmts"]
    ts = station.clock.advance(after)
    values = {**driver.simulator.initial, **changes}
    result = PollResult("cmts1", ts, driver.decode(driver.encode(values), ts))
    events = station.engine.observe("cmts1", result)
    station.events += events
    return events


def test_channels_not_in_use_raise_nothing_and_a_channel_taken_out_of_use_clears() -> None:
    snr = "docsis.upstream.snr_db"
    immediate = {"delay_s": 0, "clear_delay_s": 0}
    cmts = with_limits(
        CMTS, docsis__upstream__snr_db=immediate, docsis__upstream__oper_status=immediate
    )
    station = Station(station_config([cmts]))
    # ifIndex 8-11: unconfigured logical channels, SNR 0, ifAdminStatus down.
    assert _cmts_poll(station, 0) == []
    assert station.engine.device_state("cmts1") is HealthState.OK
    noisy = {f"{snr}[channel=4]": 15.0}
    assert transitions(_cmts_poll(station, 10, **noisy)) == [
        ("raised", f"cmts1/{snr}[channel=4]/low", "critical")
    ]
    retired = {**noisy, "docsis.upstream.admin_status[channel=4]": "down"}
    [cleared] = _cmts_poll(station, 10, **retired)
    assert (cleared.transition, cleared.alarm.rule) == (Transition.CLEARED, f"{snr}[channel=4]")
    broken = {"docsis.upstream.oper_status[channel=5]": "down"}
    assert transitions(_cmts_poll(station, 10, **broken)) == [
        ("raised", "cmts1/docsis.upstream.oper_status[channel=5]/state", "critical")
    ]


# ---------------------------------------------------------------- quality


def test_invalid_readings_warn_after_three_intervals() -> None:
    station = fm_station()  # interval 10 s: invalid for 30 s
    invalid = {VSWR: Quality.INVALID}
    assert station.poll("fm-main", quality=invalid) == []
    assert station.poll("fm-main", {VSWR: 1.1}, after=10) == [], "one garbled reply is nothing"
    for _ in range(3):
        assert station.poll("fm-main", quality=invalid, after=10) == []
    [raised] = station.poll("fm-main", quality=invalid, after=10)
    assert (raised.alarm.condition, raised.alarm.severity) == ("invalid", HealthState.WARNING)
    assert raised.alarm.message_en == "Invalid reading: VSWR (garbled reply)"
    assert (
        raised.alarm.message_vi
        == "Giá trị đọc không hợp lệ: Hệ số sóng đứng (VSWR) (garbled reply)"
    )
    station.poll("fm-main", {VSWR: 1.1}, after=10)
    assert [e.transition for e in station.poll("fm-main", {VSWR: 1.1}, after=30)] == [
        Transition.CLEARED
    ]


def test_invalid_readings_neither_raise_nor_clear_a_limit_alarm() -> None:
    station = fm_station(rf__vswr={"delay_s": 0, "clear_delay_s": 0})
    station.poll("fm-main", {VSWR: 1.7})
    assert station.poll("fm-main", quality={VSWR: Quality.INVALID}, after=10) == []
    assert [a.condition for a in station.engine.active("fm-main")] == ["high"]


def test_missing_or_vanished_readings_clear_after_the_clear_delay() -> None:
    station = Station(station_config([with_limits(UPS, ups__battery__runtime_min={"delay_s": 0})]))
    station.poll("ups1", {"ups.battery.runtime_min": 3})
    assert station.poll("ups1", {"ups.battery.runtime_min": None}, after=10) == []
    # runtime_min is "other": clear delay 30 s; then the reading vanishes altogether
    assert station.poll("ups1", {}, after=10) == []
    assert [e.transition for e in station.poll("ups1", {}, after=20)] == [Transition.CLEARED]


# ---------------------------------------------------------------- unreachable and stale


def test_unreachable_after_retries_failures_and_recovery() -> None:
    station = Station(station_config([{**UPS, "retries": 3}]))
    assert station.poll("ups1", error="no reply", after=10) == []
    assert station.poll("ups1", error="no reply", after=10) == []
    [raised] = station.poll("ups1", error="no reply", after=10)
    assert (raised.alarm.rule, raised.alarm.condition, raised.alarm.severity) == (
        "poll",
        "unreachable",
        HealthState.UNREACHABLE,
    )
    assert (raised.alarm.value, raised.alarm.limit) == (3, 3)
    assert (
        raised.alarm.message_en == "ups1 not answering: 3 polls in a row failed (limit 3): no reply"
    )
    assert raised.alarm.message_vi.startswith("Mất liên lạc với ups1: 3 lần đọc liên tiếp")
    assert station.poll("ups1", error="no reply", after=10) == []
    assert station.engine.device_state("ups1") is HealthState.UNREACHABLE
    assert station.engine.station_state() is HealthState.UNREACHABLE
    [cleared] = station.poll("ups1", {"ups.output.source": "normal"}, after=10)
    assert cleared.alarm.duration_s == 20.0
    assert station.engine.device_state("ups1") is HealthState.OK


def test_a_limit_alarm_outlives_an_outage() -> None:
    station = Station(
        station_config(
            [with_limits({**UPS, "retries": 1}, ups__battery__charge_pct={"delay_s": 0})]
        )
    )
    station.poll("ups1", {"ups.battery.charge_pct": 10})
    station.poll("ups1", error="no reply", after=10)
    conditions = {a.condition for a in station.engine.active("ups1")}
    assert conditions == {"low", "unreachable"}
    station.poll("ups1", {"ups.battery.charge_pct": 10}, after=10)
    assert {a.condition for a in station.engine.active("ups1")} == {"low"}


def test_stale_after_three_intervals_without_an_answer() -> None:
    station = Station(station_config([{**UPS, "interval": 10}]))
    assert station.tick(after=30) == []
    [stale] = station.tick(after=1)
    assert (stale.alarm.condition, stale.alarm.severity, stale.alarm.limit) == (
        "stale",
        HealthState.WARNING,
        30.0,
    )
    assert stale.alarm.message_en == "No fresh data from ups1 for 31 s (limit 30 s)"
    assert station.tick(after=60) == []
    [cleared] = station.poll("ups1", {}, after=1)
    assert cleared.alarm.condition == "stale" and cleared.transition is Transition.CLEARED


def test_unreachable_supersedes_stale() -> None:
    station = Station(station_config([{**UPS, "interval": 10, "retries": 5}]))
    for _ in range(3):
        assert station.poll("ups1", error="timeout", after=10) == []
    assert transitions(station.poll("ups1", error="timeout", after=10)) == [
        ("raised", "ups1/poll/stale", "warning")
    ]
    events = station.poll("ups1", error="timeout", after=10)
    assert transitions(events) == [
        ("raised", "ups1/poll/unreachable", "unreachable"),
        ("cleared", "ups1/poll/stale", "warning"),
    ]
    assert events[1].reason == REASON_SUPERSEDED
    assert station.tick(after=100) == [], "no stale while unreachable"


# ---------------------------------------------------------------- maintenance


def test_maintenance_from_the_station_file_suppresses_and_says_so() -> None:
    until = T0 + timedelta(hours=2)
    ups = with_limits({**UPS, "maintenance_until": until}, ups__output__source={"delay_s": 0})
    station = Station(station_config([ups]))
    [on] = station.tick()
    assert on.alarm.device is None and on.alarm.severity is HealthState.WARNING
    assert on.alarm.rule == "maintenance[device=ups1]"
    assert on.alarm.alarm_id == f"{STATION}/-/maintenance[device=ups1]/on"
    assert on.alarm.message_en == (
        "Maintenance mode on for ups1 until 2026-11-28 14:00 +07:00: its alarms are suppressed"
    )
    assert "bảo trì" in on.alarm.message_vi and "14:00 +07:00" in on.alarm.message_vi
    assert station.engine.active() == [on.alarm]
    assert station.engine.maintenance_until("ups1") == until
    assert station.poll("ups1", {"ups.output.source": "battery"}, after=60) == []
    assert station.poll("ups1", error="down", after=60) == []
    assert station.tick(after=3600) == [], "no stale either"
    assert station.engine.device_state("ups1") is HealthState.OK
    assert station.engine.station_state() is HealthState.WARNING
    station.clock.now = until
    events = station.tick()
    assert transitions(events) == [
        ("cleared", "-/maintenance[device=ups1]/on", "warning"),
        ("raised", "ups1/poll/stale", "warning"),
        ("raised", "ups1/ups.output.source/state", "warning"),
    ], "what holds when maintenance ends is raised at once"
    assert station.engine.maintenance_until("ups1") is None


def test_maintenance_by_command_clears_active_alarms_and_ends_on_command() -> None:
    station = Station(station_config([with_limits(UPS, ups__output__source={"delay_s": 0})]))
    station.poll("ups1", {"ups.output.source": "battery"})
    events = station.engine.set_maintenance("ups1", T0 + timedelta(hours=1))
    assert transitions(events) == [
        ("raised", "-/maintenance[device=ups1]/on", "warning"),
        ("cleared", "ups1/ups.output.source/state", "warning"),
    ]
    assert events[1].reason == REASON_MAINTENANCE
    assert station.poll("ups1", {"ups.output.source": "battery"}, after=60) == []
    assert station.engine.set_maintenance("ups1", T0 + timedelta(hours=3)) == []
    assert station.engine.maintenance_until("ups1") == T0 + timedelta(hours=3)
    assert "15:00 +07:00" in station.engine.active()[0].message_en, "the new end is shown"
    events = station.engine.set_maintenance("ups1", None)
    assert transitions(events) == [
        ("cleared", "-/maintenance[device=ups1]/on", "warning"),
        ("raised", "ups1/ups.output.source/state", "warning"),
    ]


def test_maintenance_in_the_past_is_no_maintenance() -> None:
    ups = {**UPS, "maintenance_until": T0 - timedelta(minutes=1)}
    station = Station(station_config([ups]))
    assert station.tick() == []
    with pytest.raises(ValueError, match="timezone"):
        station.engine.set_maintenance("ups1", T0.replace(tzinfo=None))
    with pytest.raises(KeyError, match="no device 'nope'"):
        station.engine.set_maintenance("nope", None)


# ---------------------------------------------------------------- traps


def test_external_alarms_raise_and_clear_at_once() -> None:
    station = Station(station_config([UPS]))
    engine = station.engine
    args = ("ups1", "trap.upsTrapOnBattery", "on_battery")
    [raised] = engine.external(*args, HealthState.WARNING, 1, "UPS chạy ắc quy", "UPS on battery")
    assert (raised.alarm.message_vi, raised.alarm.value) == ("UPS chạy ắc quy", 1)
    assert engine.external(*args, HealthState.WARNING, 2, "UPS chạy ắc quy", "UPS on battery") == []
    [worse] = engine.external(*args, HealthState.CRITICAL, 3, "Sắp cạn", "Nearly empty")
    assert (
        worse.transition is Transition.SEVERITY_CHANGED and worse.alarm.message_en == "Nearly empty"
    )
    [cleared] = engine.external(*args, None, None, "", "")
    assert cleared.transition is Transition.CLEARED
    assert engine.external(*args, None, None, "", "") == []


HMS = {"id": "optical1", "driver": "scte_hms_optical", "host": "127.0.0.6"}
LASER_OUTPUT = "1.3.6.1.4.1.5591.1.11.1.1.1.1.3.1.4.2.1"
TRAP_CAUSES = [
    # device, alarm a trap raises, its severity, the reading that tells, bad, normal, clear delay
    (UPS, "ups.on_battery", HealthState.WARNING, "ups.output.source", "battery", "normal", 10),
    (UPS, "ups.battery_low", HealthState.CRITICAL, "ups.battery.status", "low", "normal", 10),
    (HMS, f"hms.alarm[oid={LASER_OUTPUT}]", HealthState.CRITICAL, "hms.alarms.active", 1, 0, 30),
]


@pytest.mark.parametrize(
    ("device", "alarm", "severity", "key", "bad", "normal", "clear_s"),
    TRAP_CAUSES,
    ids=[alarm.split("[")[0] for _, alarm, *_ in TRAP_CAUSES],
)
def test_a_trap_alarm_is_cleared_by_polls_that_show_its_cause_over(
    device: dict[str, str],
    alarm: str,
    severity: HealthState,
    key: str,
    bad: Value,
    normal: Value,
    clear_s: int,
) -> None:
    """Traps get lost: the reading the driver names (`cleared_by`) clears the alarm too."""
    station = Station(station_config([device]))
    engine, device_id = station.engine, device["id"]
    assert REGISTRY[device["driver"]].trap_cleared_by(alarm) == key
    [raised] = engine.external(device_id, alarm, "trap", severity, None, "vi", "en")
    assert raised.transition is Transition.RAISED
    before = station.clock.now - timedelta(seconds=1)
    old = Reading(key, normal, "", Quality.OK, before, "")
    assert engine.observe(device_id, PollResult(device_id, before, (old,))) == []
    assert station.poll(device_id, {key: normal}, after=clear_s) == [], "only from now on"
    assert station.poll(device_id, {key: bad}, after=clear_s) == [], "the cause is still there"
    assert station.poll(device_id, {key: normal}, after=1) == []
    assert station.poll(device_id, {}, quality={key: Quality.BAD}, after=clear_s) == []
    assert station.poll(device_id, {key: normal}, after=1) == [], "no evidence restarts it"
    assert station.poll(device_id, {key: normal}, after=clear_s - 1) == []
    [cleared] = station.poll(device_id, {key: normal}, after=1)
    assert cleared.transition is Transition.CLEARED
    assert cleared.alarm.alarm_id == f"{STATION}/{device_id}/{alarm}/trap"
    assert cleared.reason == f"{REASON_CAUSE_OVER}: {key} {normal}"
    assert engine.active(device_id) == []


def test_a_new_trap_restarts_the_clear_delay_of_the_polls() -> None:
    station = Station(station_config([UPS]))
    raise_args = ("ups1", "ups.on_battery", "trap", HealthState.WARNING, 30, "vi", "en")
    station.engine.external(*raise_args)
    station.poll("ups1", {"ups.output.source": "normal"}, after=1)
    station.clock.advance(5)
    station.engine.external(*raise_args)  # upsTrapOnBattery again, a minute on battery
    assert station.poll("ups1", {"ups.output.source": "normal"}, after=5) == []
    [cleared] = station.poll("ups1", {"ups.output.source": "normal"}, after=10)
    assert cleared.transition is Transition.CLEARED


def test_a_restored_trap_alarm_is_cleared_by_polls() -> None:
    first = Station(station_config([UPS]))
    [raised] = first.engine.external(
        "ups1", "ups.on_battery", "trap", HealthState.WARNING, 30, "vi", "en"
    )
    station = Station(station_config([UPS]), clock=first.clock, restored=[raised.alarm])
    station.poll("ups1", {"ups.output.source": "normal"}, after=1)
    [cleared] = station.poll("ups1", {"ups.output.source": "normal"}, after=10)
    assert cleared.alarm.alarm_id == raised.alarm.alarm_id


def test_a_trap_alarm_no_reading_tells_stays_until_its_clearing_trap() -> None:
    station = Station(station_config([UPS]))
    alarm = "ups.alarm[oid=1.3.6.1.2.1.33.1.6.3.8]"  # upsAlarmInputBad: no reading tells
    station.engine.external("ups1", alarm, "trap", HealthState.WARNING, None, "vi", "en")
    for _ in range(5):
        assert station.poll("ups1", {"ups.output.source": "normal"}, after=30) == []
    [cleared] = station.engine.external("ups1", alarm, "trap", None, None, "vi", "en")
    assert cleared.transition is Transition.CLEARED


# ---------------------------------------------------------------- texts


def test_messages_carry_value_and_limit_in_both_languages() -> None:
    station = fm_station(rf__reflected_power_w={"delay_s": 0})
    [raised] = station.poll("fm-main", {REFLECTED: 310})
    assert raised.alarm.message_vi == "Công suất phản xạ cao: 310 W (ngưỡng 200 W)"
    assert raised.alarm.message_en == "High reflected power: 310 W (limit 200 W)"
    [temp] = Station(station_config([with_limits(FM, pa__temperature_c={"delay_s": 0})])).poll(
        "fm-main", {"pa.temperature_c": 72.5}
    )
    assert (
        temp.alarm.message_vi
        == "Nhiệt độ khối khuếch đại công suất (PA) cao: 72.5 °C (ngưỡng 70 °C)"
    )
    assert temp.alarm.message_en == "High heatsink temperature: 72.5 °C (limit 70 °C)"


def test_every_alarmable_metric_has_a_vietnamese_title() -> None:
    missing = sorted(
        {
            f"{driver.name}: {metric.key}"
            for driver in REGISTRY.values()
            for metric in driver.metrics
            if metric.type is not ValueType.TEXT
            and metric.key not in TITLES_VI
            and metric.title_vi is None
        }
    )
    assert missing == [], "add them to TITLES_VI in fieldagent/alarms/messages.py"


def test_a_trap_on_a_polled_condition_raises_at_once_and_polls_carry_on() -> None:
    station = fm_station()  # tx.alarm.high_swr: True -> critical, state delay 10 s
    engine = station.engine
    key = "tx.alarm.high_swr"
    [raised] = engine.external(
        "fm-main", key, "state", HealthState.CRITICAL, 1, "Tắt phát do SWR cao", "High SWR"
    )
    assert raised.alarm.alarm_id == f"{STATION}/fm-main/{key}/state"
    assert raised.alarm.message_en == "High SWR"
    assert station.poll("fm-main", {key: True}, after=5) == [], "the poll confirms it"
    assert station.poll("fm-main", {key: False}, after=5) == []
    [cleared] = station.poll("fm-main", {key: False}, after=10)
    assert cleared.transition is Transition.CLEARED, "cleared by polls after the clear delay"
    engine.external("fm-main", key, "state", HealthState.CRITICAL, 1, "vi", "en")
    [trap_clear] = engine.external("fm-main", key, "state", None, 0, "vi", "en")
    assert trap_clear.transition is Transition.CLEARED
    assert station.poll("fm-main", {key: True}, after=1) == []
    [again] = station.poll("fm-main", {key: True}, after=10)
    assert again.alarm.message_en == "High SWR shutdown: yes", "texts of the readings now"
