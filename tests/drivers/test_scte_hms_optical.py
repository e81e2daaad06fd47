"""The SCTE HMS headend optics driver: tables, the current-alarm model, fault scenarios.

The conformance suite checks each scenario's end state; these tests cover the
alarm table decode (OID index, garbled rows, descriptions), the simulated
agent's own thresholds, how the faults develop, and the alarms over real UDP.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drivers import scte_hms_optical as hms
from fieldagent.driver import RawValue
from fieldagent.model import HealthState, Quality, Reading
from fieldagent.sim.device import SimulatedDevice
from tests.simrunner import SimRunner, by_key, health_of, played, poll_readings, served_objects

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = hms.DRIVER
HOST = "127.0.0.12"

LASER_OUTPUT_OID = "1.3.6.1.4.1.5591.1.11.1.1.1.1.3.1.4.2.1"
EDFA_INPUT_OID = "1.3.6.1.4.1.5591.1.11.1.3.1.1.2.1.2.3.1"


def alarm_row(oid: str, state: RawValue, value: RawValue) -> dict[str, RawValue]:
    """A currentAlarmTable row as an HMS agent serves it: indexed by the alarmed OID."""
    index = f"{len(oid.split('.'))}.{oid}"
    return {f"{hms.ALARM_STATE_COLUMN}.{index}": state, f"{hms.ALARM_VALUE_COLUMN}.{index}": value}


def decoded(objects: dict[str, RawValue]) -> dict[str, Reading]:
    return by_key(DRIVER.decode(objects, TS))


def health(readings: dict[str, Reading]) -> HealthState:
    return health_of(DRIVER, readings.values(), TS, "tx")


def test_the_documented_oids_are_the_ones_read() -> None:
    assert DRIVER.oid_of("optical.output_dbm[laser=2.1]") == LASER_OUTPUT_OID
    assert DRIVER.oid_of("edfa.input_dbm[input=3.1]") == EDFA_INPUT_OID
    assert DRIVER.oid_of("module.temperature_c[module=1]") == (
        "1.3.6.1.4.1.5591.1.11.2.1.1.1.1.1.1.2.1"
    )
    assert DRIVER.oid_of("edfa.output_dbm[output=3.2]") == (
        "1.3.6.1.4.1.5591.1.11.1.3.1.1.4.1.4.3.2"
    )
    assert hms.CURRENT_ALARM == "1.3.6.1.4.1.5591.1.1.2.1"


def test_tenths_and_hundredths_become_engineering_units() -> None:
    readings = decoded(
        {
            LASER_OUTPUT_OID: 87,
            EDFA_INPUT_OID: -35,
            "1.3.6.1.4.1.5591.1.11.1.1.1.1.3.1.7.2.1": 155_012,
            "1.3.6.1.4.1.5591.1.11.2.1.1.1.1.1.1.2.1": 312,
        }
    )
    assert readings["optical.output_dbm[laser=2.1]"].value == 8.7
    assert readings["edfa.input_dbm[input=3.1]"].value == -3.5
    assert readings["optical.wavelength_nm[laser=2.1]"].value == 1550.12
    assert readings["module.temperature_c[module=1]"].value == 31.2


@pytest.mark.parametrize(
    ("raw", "label", "state"), [(2, "on", HealthState.OK), (1, "off", HealthState.CRITICAL)]
)
def test_laser_status_is_he_on_off_status_not_a_truth_value(
    raw: int, label: str, state: HealthState
) -> None:
    readings = decoded({"1.3.6.1.4.1.5591.1.11.1.1.1.1.3.1.8.2.1": raw})
    assert readings["optical.laser_status[laser=2.1]"].value == label
    assert health(readings) is state


def test_no_alarm_rows_is_zero_active_alarms() -> None:
    readings = decoded({})
    assert readings[hms.ALARM_COUNT].value == 0
    assert readings[hms.ALARM_TEXT].value == ""
    assert health(readings) is HealthState.OK


def test_alarm_rows_are_counted_and_named_after_the_readings_they_concern() -> None:
    readings = decoded(
        {
            **alarm_row(EDFA_INPUT_OID, 5, -95),
            **alarm_row(LASER_OUTPUT_OID, 4, 45),
            **alarm_row("1.3.6.1.4.1.5591.1.11.1.2.9", 6, 1),
        }
    )
    assert readings[hms.ALARM_COUNT].value == 3
    assert readings[hms.ALARM_TEXT].value == (
        "optical.output_dbm[laser=2.1] LO (4.5 dBm); "
        "1.3.6.1.4.1.5591.1.11.1.2.9 discreteMajor (raw 1); "
        "edfa.input_dbm[input=3.1] LOLO (-9.5 dBm)"
    )
    assert health(readings) is HealthState.WARNING  # the device's alarm alone


@pytest.mark.parametrize(
    ("index", "oid"),
    [
        ("5.1.3.6.1.4", "1.3.6.1.4"),  # OBJECT IDENTIFIER index: length first
        ("1.3.6.1.4", "1.3.6.1.4"),  # an agent that leaves the length out
        ("9.1.3.6", "9.1.3.6"),  # a length that does not match: taken as-is
    ],
)
def test_the_alarmed_oid_is_read_from_the_row_index(index: str, oid: str) -> None:
    assert hms.alarmed_oid(index) == oid


@pytest.mark.parametrize(
    ("state", "word"), [(b"\xff garbage", "expected a number"), (1, "outside the valid range")]
)
def test_a_garbled_alarm_row_makes_the_alarm_readings_invalid(state: RawValue, word: str) -> None:
    readings = decoded(
        {**alarm_row(LASER_OUTPUT_OID, 3, 95), **alarm_row(EDFA_INPUT_OID, state, 0)}
    )
    for key in (hms.ALARM_COUNT, hms.ALARM_TEXT):
        assert (readings[key].value, readings[key].quality) == (None, Quality.INVALID)
        assert word in readings[key].detail


@pytest.mark.parametrize(
    ("key", "value", "alarm"),
    [
        ("optical.output_dbm", 8.5, None),
        ("optical.output_dbm", 4.9, "LO"),
        ("optical.output_dbm", 2.9, "LOLO"),
        ("optical.laser_bias_ma", 91, "HI"),
        ("optical.laser_bias_ma", 111, "HIHI"),
        ("edfa.input_dbm", -5.0, None),
        ("edfa.input_dbm", -8.1, "LOLO"),
        ("optical.laser_status", "off", "discreteMajor"),
        ("optical.laser_status", "on", None),
        ("optical.laser_type", "DFB", None),
    ],
)
def test_the_simulated_agent_alarms_at_the_driver_s_limits(
    key: str, value: float | str, alarm: str | None
) -> None:
    metric = next(m for m in DRIVER.metrics if m.key == key)
    assert hms.device_alarm(metric, value) == alarm


def test_the_simulated_agent_serves_an_alarm_row_with_the_raw_value() -> None:
    values = {**DRIVER.simulator.initial, "optical.output_dbm[laser=2.1]": 2.5}
    objects = DRIVER.encode(values)
    index = f"18.{LASER_OUTPUT_OID}"  # an OBJECT IDENTIFIER index: 18 sub-identifiers
    assert objects[f"{hms.ALARM_STATE_COLUMN}.{index}"] == 5  # LOLO
    assert objects[f"{hms.ALARM_VALUE_COLUMN}.{index}"] == 25
    assert sum(oid.startswith(hms.ALARM_STATE_COLUMN) for oid in objects) == 1


def test_the_simulated_shelf_reads_back_its_own_values() -> None:
    initial = DRIVER.simulator.initial
    readings = decoded(DRIVER.encode(initial))
    assert set(readings) == set(initial)
    assert all(readings[key].value == value for key, value in initial.items())


def device_at(scenario: str, elapsed_s: float) -> SimulatedDevice:
    return played(DRIVER, scenario, elapsed_s)[0]


def read(device: SimulatedDevice) -> dict[str, Reading]:
    return decoded(served_objects(device))


@pytest.mark.parametrize(
    ("elapsed_s", "state", "alarms"),
    [
        (0, HealthState.OK, ""),
        (60, HealthState.OK, ""),  # 5.5 dBm, 79 mA
        (80, HealthState.WARNING, "optical.output_dbm[laser=2.1] LO (4.5 dBm)"),
        (
            100,
            HealthState.WARNING,
            "optical.laser_bias_ma[laser=2.1] HI (95 mA); "
            "optical.output_dbm[laser=2.1] LO (3.5 dBm)",
        ),
        (
            120,
            HealthState.CRITICAL,
            "optical.laser_bias_ma[laser=2.1] HI (103 mA); "
            "optical.output_dbm[laser=2.1] LOLO (2.5 dBm)",
        ),
    ],
)
def test_laser_degradation_goes_from_warning_to_critical_with_device_alarms(
    elapsed_s: float, state: HealthState, alarms: str
) -> None:
    readings = read(device_at("laser_degraded", elapsed_s))
    assert readings[hms.ALARM_TEXT].value == alarms
    assert health(readings) is state


def test_laser_degradation_settles_at_its_floor_and_ceiling() -> None:
    values = device_at("laser_degraded", 3600).snapshot()
    assert values[hms.LASER_OUTPUT] == hms.LASER_FLOOR_DBM
    assert values[hms.LASER_BIAS] == hms.BIAS_CEILING_MA


@pytest.mark.parametrize(
    ("elapsed_s", "edfa_in", "edfa_out", "state"),
    [
        (0, 1.0, 19.5, HealthState.OK),
        (12, -5.0, 19.5, HealthState.OK),  # at the warning bound
        (13, -5.5, 19.5, HealthState.WARNING),
        (16, -7.0, 18.5, HealthState.WARNING),  # below -6 dBm the output sags
        (19, -8.5, 17.0, HealthState.CRITICAL),
        (600, -10.0, 15.5, HealthState.CRITICAL),
    ],
)
def test_low_edfa_input_warns_then_goes_critical_and_the_output_sags(
    elapsed_s: float, edfa_in: float, edfa_out: float, state: HealthState
) -> None:
    readings = read(device_at("edfa_low_input", elapsed_s))
    assert readings[hms.EDFA_IN].value == edfa_in
    assert readings[hms.EDFA_OUTPUTS[0]].value == edfa_out
    assert health(readings) is state


def test_scenario_steps_are_pure_functions_of_time() -> None:
    for name in DRIVER.simulator.scenarios:
        assert device_at(name, 95).snapshot() == device_at(name, 95).snapshot(), name


def test_alarm_rows_survive_a_real_walk(sims: SimRunner) -> None:
    device, clock = played(DRIVER, "laser_degraded")
    simulator = sims.serve_device(device, HOST)
    clock.advance(150)
    device.set("optical.laser_status[laser=2.1]", "off")
    readings = poll_readings(simulator, DRIVER, "tx")
    assert readings[hms.ALARM_COUNT].value == 3
    assert readings[hms.ALARM_TEXT].value == (
        "optical.laser_bias_ma[laser=2.1] HIHI (115 mA); "
        "optical.output_dbm[laser=2.1] LOLO (1.0 dBm); "
        "optical.laser_status[laser=2.1] discreteMajor (off)"
    )
