"""The satellite IRD driver: the unlocked-input quirk, BER on the wire, limits, scenarios.

The conformance suite checks each scenario's end state; these tests cover how
the rain fade develops, the fixup over real UDP, and what the model's
encodings mean.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drivers import ird_satellite as ird
from fieldagent.driver import RawValue
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality, Reading, Value
from fieldagent.sim.device import ABSENT
from fieldagent.sim.snmp_agent import SnmpSimulator
from tests.simrunner import SimRunner, by_key, health_of, played, poll_readings, suggested_drivers

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOST = "127.0.0.31"
DRIVER = ird.DRIVER
row = ird.row


def device_at(scenario: str, elapsed_s: float) -> dict[str, Value]:
    """What the simulated IRD shows `elapsed_s` into `scenario`."""
    return played(DRIVER, scenario, elapsed_s)[0].snapshot()


def decoded(values: dict[str, Value]) -> dict[str, Reading]:
    """The readings a poll of an IRD showing `values` gives, after the driver's fixup."""
    return by_key(DRIVER.decode(DRIVER.encode(values), TS))


def health(values: dict[str, Value]) -> HealthState:
    return health_of(DRIVER, decoded(values).values(), TS, "ird1")


def poll(sim: SnmpSimulator) -> dict[str, Reading]:
    return poll_readings(sim, DRIVER, "ird1")


def test_an_unlocked_input_shows_its_carrier_measurements_missing_not_as_alarms() -> None:
    readings = decoded(device_at("signal_loss", 5))
    for key in ird.CARRIER_MEASUREMENTS:
        reading = readings[row(key, 1)]
        assert (reading.value, reading.quality) == (None, Quality.MISSING), key
        assert "input 1 not locked" in reading.detail
    assert readings[row(ird.SIGNAL, 1)].value == ird.NO_RF_DBM
    assert readings[row(ird.SERVICE, 1)].value == "VTV1 HD"
    assert all(readings[row(key, 2)].quality is Quality.OK for key in ird.CARRIER_MEASUREMENTS)
    problems = evaluate(DRIVER, PollResult("ird1", TS, tuple(readings.values()))).problems
    # One fault, the lost lock, plus the starved tuner's level: no margin or BER alarm.
    assert {p.metric: p.state for p in problems} == {
        row(ird.LOCKED, 1): HealthState.CRITICAL,
        row(ird.SIGNAL, 1): HealthState.WARNING,
    }


def test_without_a_lock_reading_the_measurements_are_kept() -> None:
    objects: dict[str, RawValue] = DRIVER.encode(device_at("signal_loss", 5))
    del objects[DRIVER.oid_of(row(ird.LOCKED, 1))]
    readings = by_key(DRIVER.decode(objects, TS))
    assert row(ird.LOCKED, 1) not in readings
    assert readings[row(ird.LINK_MARGIN, 1)].value == 0.0
    assert readings[row(ird.LINK_MARGIN, 1)].quality is Quality.OK


def test_the_fixup_works_over_udp_and_spares_the_other_input(sims: SimRunner) -> None:
    sim = sims.serve("ird_satellite", HOST)
    sim.device.play("signal_loss")
    readings = poll(sim)
    assert readings[row(ird.LOCKED, 1)].value is False
    assert readings[row(ird.CN, 1)].quality is Quality.MISSING
    assert readings[row(ird.CN, 2)].value == 11.2
    assert readings[row(ird.LINK_MARGIN, 2)].value == 4.4


def test_ber_travels_as_errored_bits_per_billion() -> None:
    metric = DRIVER.metric(row(ird.BER, 1))
    assert metric.encode(1e-8) == 10
    assert metric.decode(10, TS).value == 1e-8
    assert metric.decode(2_500, TS).value == pytest.approx(2.5e-6)
    assert metric.decode(0, TS).value == 0.0
    assert metric.encode(4e-10) == 0  # below the resolution: clean enough to read as none
    assert metric.decode(1_000_000_001, TS).quality is Quality.INVALID  # a BER above 1


@pytest.mark.parametrize(
    ("ber", "state"),
    [
        (0.0, HealthState.OK),
        (1e-5, HealthState.OK),
        (5e-5, HealthState.WARNING),
        (2e-4, HealthState.WARNING),
        (3e-4, HealthState.CRITICAL),
    ],
)
def test_ber_limits_end_at_the_quasi_error_free_threshold(ber: float, state: HealthState) -> None:
    metric = DRIVER.metric(row(ird.BER, 1))
    assert metric.bad_state(metric.decode(metric.encode(ber), TS))[0] is state


@pytest.mark.parametrize(
    ("raw", "state"),
    [(37, HealthState.OK), (10, HealthState.OK), (9, HealthState.WARNING), (3, HealthState.WARNING),
     (2, HealthState.CRITICAL), (-5, HealthState.CRITICAL)],
)  # fmt: skip
def test_link_margin_in_tenths_warns_below_1_db_and_is_critical_below_0_3(
    raw: int, state: HealthState
) -> None:
    metric = DRIVER.metric(row(ird.LINK_MARGIN, 2))
    assert metric.bad_state(metric.decode(raw, TS))[0] is state


def test_rain_fade_warns_then_goes_critical_as_the_margin_falls() -> None:
    timeline = [(0, HealthState.OK), (160, HealthState.OK), (180, HealthState.WARNING),
                (200, HealthState.WARNING), (215, HealthState.CRITICAL)]  # fmt: skip
    margins: list[float] = []
    for elapsed, state in timeline:
        values = device_at("rain_fade", elapsed)
        margin = values[row(ird.LINK_MARGIN, 2)]
        assert isinstance(margin, float)
        margins.append(margin)
        assert health(values) is state, elapsed
    assert margins == sorted(margins, reverse=True)


def test_rain_fade_stops_at_its_deepest_and_spares_input_1() -> None:
    deepest = device_at("rain_fade", 300)
    assert deepest == device_at("rain_fade", 3_000)
    readings = decoded(deepest)
    assert readings[row(ird.LINK_MARGIN, 2)].value == -0.6
    assert readings[row(ird.CN, 2)].value == 6.2
    assert readings[row(ird.SIGNAL, 2)].value == -50.5
    assert readings[row(ird.LOCKED, 2)].value is True
    assert readings[row(ird.BER, 2)].value == pytest.approx(ird.ber_at(-0.6), rel=1e-3)
    assert readings[row(ird.QUALITY, 2)].value == ird.quality_pct(6.2)
    initial = ird.SIMULATOR.initial
    assert all(deepest[k] == initial[k] for k in initial if k.endswith("[input=1]"))


def test_ber_model_crosses_the_qef_limit_at_zero_margin() -> None:
    assert ird.ber_at(0.0) == ird.QEF_BER
    assert ird.ber_at(1.0) == pytest.approx(ird.QEF_BER / 100)
    assert ird.ber_at(-10.0) == ird.WORST_BER


@pytest.mark.parametrize(("cn", "pct"), [(36.0, 100), (10.5, 29), (0.0, 0), (-3.0, 0), (40, 100)])
def test_signal_quality_follows_the_scopus_definition(cn: float, pct: int) -> None:
    assert ird.quality_pct(cn) == pct


def test_a_changed_service_is_reported_without_an_alarm() -> None:
    values = device_at("service_changed", 1)
    readings = decoded(values)
    assert readings[row(ird.SERVICE, 2)].value == ird.UNEXPECTED_SERVICE
    assert readings[row(ird.SERVICE, 1)].value == "VTV1 HD"
    assert health(values) is HealthState.OK


def test_rows_are_keyed_by_the_index_the_ird_serves() -> None:
    index = "1392508928"  # as a real IRD-2900 numbers its input
    objects: dict[str, RawValue] = {
        f"{DRIVER.metric(row(ird.CN, 1)).source_key}.{index}": 105,
        f"{DRIVER.metric(row(ird.SERVICE, 1)).source_key}.{index}": b"VTV1 HD\x00",
    }
    readings = {r.key: r.value for r in DRIVER.decode(objects, TS)}
    assert readings == {f"ird.cn_db[input={index}]": 10.5, f"ird.service[input={index}]": "VTV1 HD"}


def test_identify_recognises_the_simulated_ird(sims: SimRunner) -> None:
    sim = sims.serve("ird_satellite", HOST)
    sim.device.inject("1.3.6.1.2.1.1.2.0", ABSENT)  # without sysObjectID: by the status table
    assert suggested_drivers(sim, [DRIVER], "ird1") == ["ird_satellite"]
