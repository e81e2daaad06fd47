"""The Nautel FM transmitter driver: limits, alarm model, VSWR quirk, fault scenarios.

The conformance suite already checks every scenario's end state; these tests
cover how the faults develop, what the shared transmitter helpers compute,
and the quirk and identity over real UDP.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drivers import REGISTRY
from drivers import _transmitter as tx
from drivers import fm_transmitter_nautel as nautel
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality, Value
from fieldagent.sim.device import ABSENT, SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from tests.simrunner import SimRunner, StepClock, by_key, played, poll_once, suggested_drivers

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOST = "127.0.0.7"
DRIVER = nautel.DRIVER


def device_at(scenario: str, elapsed_s: float) -> dict[str, Value]:
    """What the simulated transmitter shows `elapsed_s` into `scenario`."""
    return dict(played(DRIVER, scenario, elapsed_s)[0].snapshot())


def poll(sim: SnmpSimulator) -> PollResult:
    return poll_once(sim, DRIVER, "fm1")


@pytest.mark.parametrize(
    ("key", "value", "state"),
    [
        (tx.FORWARD, 2000, HealthState.OK),
        (tx.FORWARD, 1599, HealthState.WARNING),
        (tx.FORWARD, 999, HealthState.CRITICAL),
        (tx.REFLECTED, 100, HealthState.OK),
        (tx.REFLECTED, 101, HealthState.WARNING),
        (tx.REFLECTED, 201, HealthState.CRITICAL),
        (tx.VSWR, 1.5, HealthState.OK),
        (tx.VSWR, 1.51, HealthState.WARNING),
        (tx.VSWR, 2.01, HealthState.CRITICAL),
        (tx.PA_TEMPERATURE, 61, HealthState.WARNING),
        (tx.PA_TEMPERATURE, 71, HealthState.CRITICAL),
        ("fan.speed_rpm", 1200, HealthState.WARNING),
        ("audio.modulation_peak_pct", 115, HealthState.WARNING),
    ],
)
def test_default_limits_are_those_of_a_2_kw_set(key: str, value: float, state: HealthState) -> None:
    metric = DRIVER.metric(key)
    raw = metric.encode(value)
    assert metric.bad_state(metric.decode(raw, TS))[0] is state


def test_values_come_in_thousandths_and_fan_speed_unscaled() -> None:
    assert DRIVER.metric(tx.FORWARD).decode(1_987_654, TS).value == 1987.654
    assert DRIVER.metric(tx.VSWR).decode(1120, TS).value == 1.12
    assert DRIVER.metric("fan.speed_rpm").decode(3400, TS).value == 3400


def test_the_transmitter_s_rf_state_0_reads_off_air_and_critical() -> None:
    metric = DRIVER.metric(tx.ON_AIR)
    off, on = metric.decode(0, TS), metric.decode(1, TS)
    assert (off.value, on.value) == (False, True)
    assert metric.bad_state(off)[0] is HealthState.CRITICAL
    assert metric.bad_state(on)[0] is HealthState.OK


def test_alarm_oids_are_the_ones_the_docstring_documents() -> None:
    doc_lines = (nautel.__doc__ or "").splitlines()
    for n, (key, _, state, _) in enumerate(nautel.ALARMS, start=1):
        assert DRIVER.metric(key).source_key == f"1.3.6.1.4.1.28142.1.300.512.{n}.0"
        line = next(line for line in doc_lines if line.strip().startswith(f".512.{n}.0 "))
        assert line.split()[-2:] == [key, str(state)], line


def test_reflected_power_follows_vswr_and_the_limits_agree() -> None:
    assert tx.reflected_w(nautel.NOMINAL_W, 1.0) == 0
    assert tx.reflected_w(nautel.NOMINAL_W, 1.12) == pytest.approx(6.4, abs=0.05)
    # At 2:1 a 2 kW set reflects 222 W: the VSWR and reflected-power limits go critical together.
    assert tx.reflected_w(nautel.NOMINAL_W, 2.0) == pytest.approx(222.2, abs=0.1)


def test_high_vswr_develops_over_the_ramp_then_holds() -> None:
    start, halfway, end, later = (device_at("high_vswr", t) for t in (0, 30, 60, 600))
    assert start[tx.VSWR] == pytest.approx(1.12)
    assert halfway[tx.VSWR] == pytest.approx(1.71)
    assert halfway["tx.alarm.high_swr"] is False
    assert end[tx.VSWR] == later[tx.VSWR] == pytest.approx(2.3)
    assert end["tx.alarm.high_swr"] is True and end["tx.alarm.high_reflected"] is True
    assert end[tx.REFLECTED] == pytest.approx(310.4, abs=0.1)
    assert device_at("high_vswr", 30) == halfway  # a pure function of scenario time


def test_power_drop_warns_without_going_critical() -> None:
    values = device_at("power_drop", 600)
    assert values[tx.FORWARD] == pytest.approx(1200)
    assert values["tx.alarm.forward_low"] is True
    # Reflected power falls with forward power: same antenna, same VSWR.
    assert values[tx.REFLECTED] == pytest.approx(tx.reflected_w(1200, 1.12))
    readings = DRIVER.decode(DRIVER.encode(values), TS)
    health = evaluate(DRIVER, PollResult("fm1", TS, readings, None, 0.0))
    assert health.state is HealthState.WARNING
    assert {p.metric for p in health.problems} == {tx.FORWARD, "tx.alarm.forward_low"}


def test_off_air_raises_the_summary_not_forward_low() -> None:
    values = device_at("off_air", 0)
    assert values[tx.ON_AIR] is False and values["tx.alarm.off_air"] is True
    assert values["tx.alarm.forward_low"] is False  # no power is off air, not "low"


def test_alarms_no_reading_explains_keep_what_a_test_set() -> None:
    clock = StepClock()
    device = SimulatedDevice(DRIVER, clock=clock)
    device.set("tx.alarm.fan_fail", True)
    device.play("overheat")
    clock.advance(90)
    values = device.snapshot()
    assert values["tx.alarm.fan_fail"] is True
    assert values["tx.alarm.pa_over_temp"] is True


def test_off_air_over_udp_shows_vswr_missing_not_an_antenna_fault(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, HOST)
    sim.device.play("off_air")
    sim.device.inject(DRIVER.oid_of(tx.VSWR), 0)  # what an idle coupler may report
    result = poll(sim)
    readings = by_key(result.readings)
    assert readings[tx.VSWR].quality is Quality.MISSING
    assert "VSWR undefined" in readings[tx.VSWR].detail
    problems = {p.metric for p in evaluate(DRIVER, result).problems}
    assert tx.VSWR not in problems
    assert {tx.ON_AIR, tx.FORWARD, "tx.alarm.off_air"} <= problems


def test_vswr_stays_as_read_when_forward_power_is_not_known(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, HOST)
    sim.device.set(tx.VSWR, 1.8)
    sim.device.inject(DRIVER.oid_of(tx.FORWARD), ABSENT)
    readings = by_key(poll(sim).readings)
    assert readings[tx.FORWARD].quality is Quality.MISSING
    assert (readings[tx.VSWR].value, readings[tx.VSWR].quality) == (1.8, Quality.OK)


def test_a_fan_fail_alarm_alone_is_a_warning(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, HOST)
    sim.device.set("tx.alarm.fan_fail", True)
    health = evaluate(DRIVER, poll(sim))
    assert health.state is HealthState.WARNING
    assert [p.metric for p in health.problems] == ["tx.alarm.fan_fail"]


def test_identify_suggests_this_driver_only(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, HOST)
    assert suggested_drivers(sim, REGISTRY.values(), "fm1") == [DRIVER.name]
