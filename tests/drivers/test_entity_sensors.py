"""The ENTITY-SENSOR-MIB driver: RFC 3433 scaling, over/underflow, sensor status, names.

The conformance suite checks the simulated hub end to end; these tests pin the
RFC's arithmetic and edge cases one row at a time, how the scenarios develop,
the names and statuses over real UDP, and a recording written by hand from the
MIBs, replayed by snmpsim.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import REGISTRY
from drivers import entity_sensors as es
from fieldagent.driver import RawValue
from fieldagent.health import evaluate
from fieldagent.model import HealthState, Quality, Reading, Value
from fieldagent.sim.device import SimulatedDevice
from tests.simrunner import (
    SimRunner,
    by_key,
    health_of,
    played,
    poll_readings,
    served_objects,
    suggested_for,
)
from tests.support.snmpsim import DATA, Replay, ReplayFn, needs_snmpsim, poll_each

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = es.DRIVER
HOST = "127.0.0.11"


def sensor(
    index: int,
    sensor_type: RawValue,
    value: RawValue,
    *,
    scale: RawValue = 9,
    precision: RawValue = 0,
    status: RawValue = 1,
    units: RawValue = "",
    name: RawValue = None,
) -> dict[str, RawValue]:
    """One entPhySensorEntry (and its entPhysicalName) as a poll would return it."""
    columns = (es.TYPE_COLUMN, es.SCALE_COLUMN, es.PRECISION_COLUMN, es.VALUE_COLUMN)
    raws = (sensor_type, scale, precision, value)
    objects = {f"{column}.{index}": raw for column, raw in zip(columns, raws, strict=True)}
    objects[f"{es.STATUS_COLUMN}.{index}"] = status
    objects[f"{es.UNITS_COLUMN}.{index}"] = units
    objects[f"{es.NAME_COLUMN}.{index}"] = name
    return objects


def decoded(objects: dict[str, RawValue]) -> dict[str, Reading]:
    return by_key(DRIVER.decode(objects, TS))


def health(readings: dict[str, Reading]) -> HealthState:
    return health_of(DRIVER, readings.values(), TS, "hub")


@pytest.mark.parametrize(
    ("sensor_type", "scale", "precision", "raw", "key", "value"),
    [
        (es.CELSIUS, 9, 1, 253, "env.temperature_c", 25.3),  # the RFC's own example
        (es.CELSIUS, 9, 1, -51, "env.temperature_c", -5.1),
        (es.VOLTS_DC, 8, 0, 54_000, "power.dc_voltage_v", 54.0),  # milli
        (es.VOLTS_DC, 8, 2, -4_812_345, "power.dc_voltage_v", -48.12345),
        (es.WATTS, 10, 2, 260, "power.power_w", 2600),  # kilo, 2 decimals
        (es.AMPERES, 7, 0, 1500, "power.current_a", 0.0015),  # micro
        (es.HERTZ, 9, 2, 5001, "power.frequency_hz", 50.01),
        (es.VOLTS_AC, 9, 0, 231, "power.ac_voltage_v", 231),
        (es.CELSIUS, 9, -2, 42, "env.temperature_c", 42),  # accurate digits: no shift
        (es.PERCENT_RH, 9, 0, 63, "env.humidity_pct", 63),
        (es.RPM, 9, 0, 2400, "env.fan_rpm", 2400),
        (es.CMM, 9, 0, 12, "env.airflow_cmm", 12),
    ],
)
def test_value_is_raw_times_scale_over_ten_to_the_precision(
    sensor_type: int, scale: int, precision: int, raw: int, key: str, value: float
) -> None:
    reading = decoded(sensor(5, sensor_type, raw, scale=scale, precision=precision))[
        f"{key}[sensor=5]"
    ]
    assert reading.quality is Quality.OK
    assert reading.value == pytest.approx(value)
    assert reading.unit == DRIVER.metric(reading.key).unit


@pytest.mark.parametrize(
    ("raw", "word"), [(1_000_000_000, "overflow"), (-1_000_000_000, "underflow")]
)
@pytest.mark.parametrize("sensor_type", sorted(es.FIXED_POINT_TYPES))
def test_fixed_point_types_reserve_one_billion_for_over_and_underflow(
    sensor_type: int, raw: int, word: str
) -> None:
    readings = decoded(sensor(7, sensor_type, raw))
    reading = readings[f"{es.METRIC_OF_TYPE[sensor_type].key}[sensor=7]"]
    assert (reading.value, reading.quality) == (None, Quality.INVALID)
    assert word in reading.detail
    assert health(readings) is HealthState.OK


def test_one_billion_is_an_ordinary_value_for_an_untyped_sensor() -> None:
    readings = decoded(sensor(9, es.OTHER, 1_000_000_000, units="ppb"))
    assert readings["sensor.value[sensor=9]"].value == 1_000_000_000
    assert readings["sensor.units[sensor=9]"].value == "ppb"


def test_humidity_is_bounded_by_its_range_not_by_overflow() -> None:
    reading = decoded(sensor(3, es.PERCENT_RH, 1_000_000_000))["env.humidity_pct[sensor=3]"]
    assert reading.quality is Quality.INVALID
    assert "overflow" not in reading.detail and "outside the valid range" in reading.detail


@pytest.mark.parametrize("raw", [1_000_000_001, -(2**31)])
def test_a_raw_value_beyond_entity_sensor_value_is_invalid(raw: int) -> None:
    reading = decoded(sensor(2, es.OTHER, raw))["sensor.value[sensor=2]"]
    assert reading.quality is Quality.INVALID
    assert "EntitySensorValue" in reading.detail


@pytest.mark.parametrize(
    ("status", "state", "word"),
    [(2, HealthState.OK, "unavailable"), (3, HealthState.WARNING, "nonoperational")],
)
def test_a_sensor_that_is_not_ok_has_no_value_and_says_why(
    status: int, state: HealthState, word: str
) -> None:
    readings = decoded(sensor(2, es.CELSIUS, 999, status=status, name="Room temperature"))
    value = readings["env.temperature_c[sensor=2]"]
    assert (value.value, value.quality) == (None, Quality.MISSING)
    assert word in value.detail
    assert readings["sensor.status[sensor=2]"].value == word
    assert readings["sensor.name[sensor=2]"].value == "Room temperature"
    assert health(readings) is state


@pytest.mark.parametrize("status", [None, b"\xff", 9])
def test_a_missing_or_garbled_status_does_not_hide_the_value(status: RawValue) -> None:
    readings = decoded(sensor(2, es.CELSIUS, 240, precision=1, status=status))
    assert readings["env.temperature_c[sensor=2]"].value == 24.0
    assert readings["sensor.status[sensor=2]"].quality is not Quality.OK


@pytest.mark.parametrize(
    ("scale", "precision", "word"),
    [(None, 0, "entPhySensorScale"), (18, 0, "entPhySensorScale"), (9, 10, "Precision")],
)
def test_a_value_that_cannot_be_scaled_is_invalid_not_guessed(
    scale: RawValue, precision: RawValue, word: str
) -> None:
    reading = decoded(sensor(4, es.VOLTS_AC, 2300, scale=scale, precision=precision))[
        "power.ac_voltage_v[sensor=4]"
    ]
    assert (reading.value, reading.quality) == (None, Quality.INVALID)
    assert word in reading.detail


@pytest.mark.parametrize("sensor_type", [13, 0, None, b"celsius"])
def test_a_row_of_unknown_type_is_one_invalid_untyped_value(sensor_type: RawValue) -> None:
    readings = decoded(sensor(6, sensor_type, 42))
    assert readings["sensor.value[sensor=6]"].quality is Quality.INVALID
    assert "entPhySensorType" in readings["sensor.value[sensor=6]"].detail
    assert "sensor.units[sensor=6]" not in readings


def test_truthvalue_reads_true_and_false_and_has_no_bad_state() -> None:
    readings = decoded({**sensor(12, es.TRUTHVALUE, 1), **sensor(14, es.TRUTHVALUE, 2)})
    assert readings["env.contact[sensor=12]"].value is True
    assert readings["env.contact[sensor=14]"].value is False
    assert health(readings) is HealthState.OK


def test_names_come_from_entity_mib_and_other_entities_are_ignored() -> None:
    objects = {**sensor(2, es.CELSIUS, 240, precision=1, name=b"Room\x00")}
    objects[f"{es.NAME_COLUMN}.1"] = b"Chassis"  # not a sensor
    objects[f"{es.NAME_COLUMN}.3"] = None
    readings = decoded({**objects, **sensor(3, es.PERCENT_RH, 50)})
    assert readings["sensor.name[sensor=2]"].value == "Room"
    assert readings["sensor.name[sensor=3]"].quality is Quality.MISSING
    assert not any(key.endswith("[sensor=1]") for key in readings)


def test_units_text_is_published_for_untyped_sensors_only() -> None:
    readings = decoded({**sensor(2, es.CELSIUS, 24, units="C"), **sensor(3, es.UNKNOWN, 7)})
    assert "sensor.units[sensor=2]" not in readings
    assert readings["sensor.units[sensor=3]"].value == ""


def test_rows_come_out_in_index_order() -> None:
    objects = {**sensor(10, es.RPM, 1), **sensor(9, es.RPM, 2), **sensor(100, es.RPM, 3)}
    values = [r.key for r in DRIVER.decode(objects, TS) if r.key.startswith("env.fan_rpm")]
    assert values == ["env.fan_rpm[sensor=9]", "env.fan_rpm[sensor=10]", "env.fan_rpm[sensor=100]"]


def test_the_simulated_hub_reads_back_its_own_values() -> None:
    initial = DRIVER.simulator.initial
    readings = decoded(DRIVER.encode(initial))
    assert set(readings) == set(initial)
    for key, value in initial.items():
        assert readings[key].value == pytest.approx(value), key
        assert readings[key].quality is Quality.OK, key


def test_the_simulated_hub_uses_real_scales() -> None:
    objects = DRIVER.encode(DRIVER.simulator.initial)
    assert objects[f"{es.SCALE_COLUMN}.9"] == 8  # DC bus in millivolts
    assert objects[f"{es.VALUE_COLUMN}.9"] == 54_000
    assert objects[f"{es.VALUE_COLUMN}.8"] == 260  # 2.60 kW


def device_at(scenario: str, elapsed_s: float) -> SimulatedDevice:
    return played(DRIVER, scenario, elapsed_s)[0]


def read(device: SimulatedDevice) -> dict[str, Reading]:
    return decoded(served_objects(device))


@pytest.mark.parametrize(
    ("elapsed_s", "state"),
    [
        (0, HealthState.OK),
        (80, HealthState.OK),  # intake at 35.0 °C: at the bound is not beyond it
        (90, HealthState.WARNING),
        (190, HealthState.CRITICAL),  # intake 46 °C, room 43 °C
        (1000, HealthState.CRITICAL),
    ],
)
def test_aircon_failure_warms_the_room_to_warning_then_critical(
    elapsed_s: float, state: HealthState
) -> None:
    readings = read(device_at("aircon_fail", elapsed_s))
    assert readings[es.ROOM_TEMPERATURE].value == pytest.approx(min(50.0, 24 + 0.1 * elapsed_s))
    assert readings[es.INTAKE_TEMPERATURE].value == pytest.approx(min(50.0, 27 + 0.1 * elapsed_s))
    assert health(readings) is state


def test_overflow_scenario_serves_exactly_one_billion() -> None:
    device = device_at("overflow", 5)
    assert device.objects()[(*map(int, es.VALUE_COLUMN.split(".")), int(es.INTAKE))] == 10**9
    reading = read(device)[es.INTAKE_TEMPERATURE]
    assert reading.quality is Quality.INVALID and "overflow" in reading.detail


def test_scenario_steps_are_pure_functions_of_time() -> None:
    for name in DRIVER.simulator.scenarios:
        assert device_at(name, 75).snapshot() == device_at(name, 75).snapshot(), name


def test_sensor_failure_over_udp_keeps_names_and_says_which_probe(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, HOST)
    sim.device.play("sensor_fail")
    readings = poll_readings(sim, DRIVER, "hub")
    assert readings["sensor.name[sensor=2]"].value == "Room temperature"
    assert readings["sensor.status[sensor=2]"].value == "nonoperational"
    assert "nonoperational" in readings[es.ROOM_TEMPERATURE].detail
    assert readings["env.contact[sensor=12]"].value is False
    assert readings["sensor.units[sensor=13]"].value == "ppm"
    assert not any(key.endswith("[sensor=1]") for key in readings)


def test_a_value_set_by_hand_reaches_the_poller_in_the_hub_s_scale(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, HOST)
    values: dict[str, Value] = {
        "power.dc_voltage_v[sensor=9]": 53.62,
        "power.power_w[sensor=8]": 3140,
    }
    for key, value in values.items():
        sim.device.set(key, value)
    readings = poll_readings(sim, DRIVER, "hub")
    for key, value in values.items():
        assert readings[key].value == pytest.approx(value), key


# -- the recording written by hand from the MIBs -----------------------------------------

RECORDING = DATA / "entity_sensors_hand_written.snmprec"


@pytest.fixture
def recorded_hub(replay: ReplayFn, tmp_path: Path) -> Replay:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(RECORDING, data)
    return replay(data, "127.0.0.78")


@needs_snmpsim
def test_the_hand_written_recording_reads_as_the_rfc_says(recorded_hub: Replay) -> None:
    """Every column RFC 3433 defines is served (the simulator serves 1-6): the time stamp
    and update rate are walked and left alone; the hub itself (chassis) is no sensor."""
    (result,) = poll_each([(recorded_hub.device(RECORDING.stem, DRIVER.name), DRIVER)])

    assert result.error is None
    readings = {r.key: (r.value, r.quality) for r in result.readings}
    names = {k: v for k, (v, _) in readings.items() if k.startswith("sensor.name")}
    assert len(names) == 11 and names["sensor.name[sensor=10]"] == "Door"
    statuses = {k: v for k, (v, _) in readings.items() if k.startswith("sensor.status")}
    assert set(statuses.values()) == {"ok", "nonoperational"}
    values = {k: r for k, r in readings.items() if not k.startswith(("sensor.name", "sensor.st"))}
    assert values == {
        "env.temperature_c[sensor=2]": (24.3, Quality.OK),  # 243, precision 1
        "env.humidity_pct[sensor=3]": (56, Quality.OK),
        "power.ac_voltage_v[sensor=4]": (227, Quality.OK),
        "power.dc_voltage_v[sensor=5]": (53.52, Quality.OK),  # 53520 milli
        "power.current_a[sensor=6]": (12.4, Quality.OK),
        "power.power_w[sensor=7]": (2800, Quality.OK),  # 28 tenths of a kilo
        "power.frequency_hz[sensor=8]": (50.0, Quality.OK),
        "env.fan_rpm[sensor=9]": (2400, Quality.OK),
        "env.contact[sensor=10]": (False, Quality.OK),  # TruthValue false(2)
        "sensor.value[sensor=11]": (101.3, Quality.OK),  # other: its units as text
        "sensor.units[sensor=11]": ("kPa", Quality.OK),
        "env.temperature_c[sensor=12]": (None, Quality.MISSING),  # nonoperational
    }
    assert statuses["sensor.status[sensor=12]"] == "nonoperational"
    assert evaluate(DRIVER, result).state is HealthState.WARNING


@needs_snmpsim
def test_identify_suggests_this_driver_for_the_recording(recorded_hub: Replay) -> None:
    device = recorded_hub.device(RECORDING.stem, DRIVER.name)
    assert suggested_for(device, REGISTRY.values()) == [DRIVER.name]
