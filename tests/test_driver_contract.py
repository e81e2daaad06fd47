"""The driver contract: decoding raw values, limits, quirks, and the simulator's encoding."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import REGISTRY, get_driver
from drivers import docsis_cmts as cmts
from drivers.docsis_cmts import DRIVER as CMTS
from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Limits,
    Maturity,
    Metric,
    RawValue,
    Register,
    RegisterKind,
    SimModel,
    ValueType,
    row_key,
)
from fieldagent.model import HealthState, Quality, Reading, Value

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MODEL = Maturity.MODEL


def test_scaling_turns_tenths_into_engineering_units() -> None:
    reading = UPS.metric("ups.battery.voltage_v").decode(2301, TS)
    assert (reading.value, reading.unit, reading.quality) == (230.1, "V", Quality.OK)
    assert UPS.metric("ups.input.frequency_hz").decode(499, TS).value == 49.9


def test_encode_is_the_inverse_of_decode_for_every_simulated_value() -> None:
    """Per metric; a driver with its own encoder (FloatingPoint text, say) as a whole."""
    for driver in REGISTRY.values():
        initial = driver.simulator.initial
        if driver.simulator.encoder is not None:
            decoded = {r.key: r.value for r in driver.decode(driver.encode(initial), TS)}
            assert {key: decoded.get(key) for key in initial} == dict(initial), driver.name
            continue
        for key, value in initial.items():
            metric = driver.metric(key)
            assert metric.decode(metric.encode(value), TS).value == value, key


@pytest.mark.parametrize(
    ("raw", "quality", "detail"),
    [
        (None, Quality.MISSING, "no such object"),
        (-1, Quality.MISSING, "sentinel -1"),
        (b"garbage", Quality.INVALID, "expected a number"),
    ],
)
def test_untrusted_raw_values_become_qualities_not_exceptions(
    raw: object, quality: Quality, detail: str
) -> None:
    reading = UPS.metric("ups.battery.charge_pct").decode(raw, TS)  # type: ignore[arg-type]
    assert reading.value is None
    assert reading.quality is quality
    assert detail in reading.detail


def test_unknown_enum_value_is_invalid() -> None:
    reading = UPS.metric("ups.output.source").decode(42, TS)
    assert reading.quality is Quality.INVALID
    assert "42" in reading.detail


def test_text_with_padding_and_bad_utf8_is_cleaned() -> None:
    reading = UPS.metric("ups.ident.model").decode(b"Castle 3K\x00\x00 \xff", TS)
    assert reading.quality is Quality.OK
    assert str(reading.value).startswith("Castle 3K")


@pytest.mark.parametrize(
    ("value", "state", "limit"),
    [
        (100, HealthState.OK, None),
        (50, HealthState.OK, None),
        (49, HealthState.WARNING, 50),
        (15, HealthState.WARNING, 50),
        (14, HealthState.CRITICAL, 15),
    ],
)
def test_charge_limits(value: int, state: HealthState, limit: float | None) -> None:
    metric = UPS.metric("ups.battery.charge_pct")
    assert metric.bad_state(metric.decode(value, TS)) == (state, limit)


def test_high_limits() -> None:
    limits = Limits(warn_high=1.5, crit_high=2.0)
    assert limits.evaluate(1.4) == (HealthState.OK, None)
    assert limits.evaluate(1.6) == (HealthState.WARNING, 1.5)
    assert limits.evaluate(2.1) == (HealthState.CRITICAL, 2.0)


def test_output_source_battery_is_a_warning() -> None:
    metric = UPS.metric("ups.output.source")
    assert metric.bad_state(metric.decode(5, TS))[0] is HealthState.WARNING
    assert metric.bad_state(metric.decode(3, TS))[0] is HealthState.OK


def _objects(**overrides: Value) -> dict[str, RawValue]:
    """What a UPS with the simulator's initial values (and `overrides`) serves, by OID."""
    values = {**UPS.simulator.initial, **{k.replace("__", "."): v for k, v in overrides.items()}}
    return UPS.encode(values)


def test_zero_runtime_at_full_charge_on_mains_is_shown_missing() -> None:
    readings = {r.key: r for r in UPS.decode(_objects(ups__battery__runtime_min=0), TS)}
    runtime = readings["ups.battery.runtime_min"]
    assert runtime.quality is Quality.MISSING
    assert "no estimate" in runtime.detail


def test_zero_runtime_on_battery_stays_a_real_value() -> None:
    readings = {
        r.key: r
        for r in UPS.decode(
            _objects(ups__battery__runtime_min=0, ups__output__source="battery"), TS
        )
    }
    assert readings["ups.battery.runtime_min"].value == 0
    assert readings["ups.battery.runtime_min"].quality is Quality.OK


def test_registry_lookup_names_known_drivers() -> None:
    with pytest.raises(KeyError, match="ups_rfc1628"):
        get_driver("nope")


# -- rows not in use -----------------------------------------------------------------------


def test_every_rows_in_use_declaration_names_a_state_column_of_its_table() -> None:
    declared = [(d, r) for d in REGISTRY.values() for r in d.rows_in_use]
    assert {d.name for d, _ in declared} >= {"docsis_cmts", "ird_satellite", "dvbt2_transmitter"}
    for driver, rows in declared:
        column = driver.metric(row_key(rows.column, rows.table, "1"))
        assert column.table == rows.table, driver.name
        assert column.type in (ValueType.ENUM, ValueType.BOOL), driver.name
        known: set[str | bool] = (
            set(column.enum.values()) if column.type is ValueType.ENUM else {True, False}
        )
        assert rows.values and rows.values <= known, driver.name


def _cmts_readings(**changes: Value) -> dict[str, Reading]:
    values = {**CMTS.simulator.initial, **{k.replace("__", "."): v for k, v in changes.items()}}
    objects = {oid: raw for oid, raw in CMTS.encode(values).items() if raw is not None}
    return {r.key: r for r in CMTS.decode(objects, TS)}


def test_every_reading_of_a_row_the_device_says_is_unused_is_marked_and_still_there() -> None:
    readings = _cmts_readings()
    unused = {k for k, r in readings.items() if not r.in_use}
    assert unused == {
        row_key(metric.key, cmts.TABLE, channel)
        for metric in CMTS.metrics
        for channel in cmts.UNCONFIGURED
    }
    assert readings[row_key(cmts.SNR, cmts.TABLE, "8")].value == 0
    assert readings[row_key(cmts.SNR, cmts.TABLE, "8")].quality is Quality.OK


def test_a_row_whose_in_use_column_is_not_read_counts_as_in_use() -> None:
    admin = row_key(cmts.ADMIN_STATUS, cmts.TABLE, "8")
    readings = _cmts_readings(**{admin: None})  # the CMTS serves no ifAdminStatus for it
    assert admin not in readings
    assert readings[row_key(cmts.SNR, cmts.TABLE, "8")].in_use
    assert not readings[row_key(cmts.SNR, cmts.TABLE, "9")].in_use


def test_interface_rows_of_no_upstream_channel_are_left_out() -> None:
    extra = {"1.3.6.1.2.1.2.2.1.7.1": 1, "1.3.6.1.2.1.2.2.1.8.1": 1}  # IF-MIB, an Ethernet port
    objects = {**CMTS.encode(dict(CMTS.simulator.initial)), **extra}
    keys = {r.key for r in CMTS.decode(objects, TS)}
    assert row_key(cmts.ADMIN_STATUS, cmts.TABLE, "1") not in keys
    assert row_key(cmts.ADMIN_STATUS, cmts.TABLE, "4") in keys


def _alarm_class_problem(metric: Metric) -> str | None:
    """Why a metric's declared alarm class does not fit its type and unit, if it does not."""
    cls, kind = metric.alarm_class, metric.type
    if (kind is ValueType.COUNTER) != (cls is AlarmClass.RATE):
        return "counters, and only counters, are of class rate"
    if kind in (ValueType.ENUM, ValueType.BOOL) and cls not in (AlarmClass.STATE, AlarmClass.AUDIO):
        return "an enum or true/false value is of class state (or audio)"
    if cls is AlarmClass.STATE and kind not in (ValueType.ENUM, ValueType.BOOL):
        return "class state is for enum and true/false values"
    is_temperature = kind is ValueType.NUMBER and metric.unit == "°C"
    if is_temperature != (cls is AlarmClass.TEMPERATURE) and cls is not AlarmClass.AUDIO:
        return "numbers in °C, and only they, are of class temperature"
    if kind is ValueType.TEXT and cls is not AlarmClass.OTHER:
        return "a text value raises no alarm: class other"
    return None


@pytest.mark.parametrize("driver", REGISTRY.values(), ids=lambda d: d.name)
def test_every_metric_declares_an_alarm_class_that_fits_its_type_and_unit(driver: Driver) -> None:
    problems = {m.key: _alarm_class_problem(m) for m in driver.metrics}
    assert {key: p for key, p in problems.items() if p} == {}


@pytest.mark.parametrize("driver", REGISTRY.values(), ids=lambda d: d.name)
def test_a_driver_its_docstring_calls_a_model_declares_itself_one(driver: Driver) -> None:
    origin = REGISTRY.origins[driver.name]
    if origin.endswith(".toml"):  # a profile: its comments say what a module's docstring says
        text = Path(origin).read_text(encoding="utf-8")
    else:
        text = importlib.import_module(origin.removesuffix(".py").replace("/", ".")).__doc__ or ""
    if re.search(r"\bMODEL\b", text):  # the word, not INOVONICS-MODEL640-MIB
        assert driver.maturity is Maturity.MODEL


@pytest.mark.parametrize(
    ("protocol", "source", "form"),
    [
        ("snmp", "TX.PFWD", "a dotted numeric OID"),
        ("snmp", "iso.3.6.1", "a dotted numeric OID"),
        ("ascii", "TX.PFWD?", "a command"),
        ("ascii", Register(RegisterKind.HOLDING, 1024), "a command"),
        ("modbus", "holding:1024", "a Register"),
        ("local", "/proc/loadavg", "a reader key"),
    ],
)
def test_a_source_not_of_the_drivers_protocol_is_refused_when_the_driver_is_built(
    protocol: str, source: str | Register, form: str
) -> None:
    metric = Metric("probe.value", "", source, "Value", alarm_class=AlarmClass.OTHER)
    with pytest.raises(ValueError) as refused:
        Driver("probe", "Probe", "test", protocol, (metric,), SimModel({}, {}), maturity=MODEL)
    message = str(refused.value)
    assert message.startswith(f"driver probe: probe.value: {protocol} source must be {form}")
    assert message.endswith(f", not {source!r}")


def test_each_protocols_own_source_form_is_accepted() -> None:
    register = Register(RegisterKind.INPUT, 3)
    for protocol, source in [
        ("snmp", "1.3.6.1.2.1.33.1.2.4.0"),
        ("ascii", "ACU.ITER.MEAS"),
        ("modbus", register),
        ("local", "local:load_1m"),
    ]:
        metric = Metric("probe.value", "", source, "Value", alarm_class=AlarmClass.OTHER)
        driver = Driver(
            "probe", "Probe", "test", protocol, (metric,), SimModel({}, {}), maturity=MODEL
        )
        assert driver.metric("probe.value").source == source
    assert Metric("m", "", register, "M", alarm_class=AlarmClass.OTHER).source_key == "input:3"


# -- rows served as scalars (row_sources) ---------------------------------------------------

_PER_ROW = {"1": "1.3.6.1.4.1.32473.9.7.0", "2": "1.3.6.1.4.1.32473.9.9.0"}
"""A device that serves one table's rows as two scalars (one per exciter, say)."""


def _per_row_driver(**row_sources: str) -> Driver:
    fault = Metric(
        "exciter.fault",
        "",
        "1.3.6.1.4.1.32473.9",
        "Exciter fault",
        ValueType.BOOL,
        table="exciter",
        row_sources=row_sources or _PER_ROW,
        alarm_class=AlarmClass.STATE,
    )
    vswr = Metric(
        "exciter.vswr",
        "",
        "1.3.6.1.4.1.32473.9.20.1.9",
        "VSWR",
        divisor=100,
        table="exciter",
        alarm_class=AlarmClass.POWER,
    )
    return Driver("probe", "Probe", "test", "snmp", (fault, vswr), SimModel({}, {}), maturity=MODEL)


def test_rows_served_as_scalars_are_got_not_walked_and_read_as_rows() -> None:
    driver = _per_row_driver()
    fault_b = row_key("exciter.fault", "exciter", "2")
    assert driver.scalar_oids() == {
        _PER_ROW["1"]: row_key("exciter.fault", "exciter", "1"),
        _PER_ROW["2"]: fault_b,
    }
    assert driver.walks() == ("1.3.6.1.4.1.32473.9.20.1.9",)
    assert driver.oid_of(fault_b) == _PER_ROW["2"]
    assert driver.oid_of(row_key("exciter.vswr", "exciter", "2")).endswith(".20.1.9.2")
    objects = driver.encode({fault_b: True, row_key("exciter.vswr", "exciter", "2"): 1.1})
    assert objects == {_PER_ROW["2"]: 1, "1.3.6.1.4.1.32473.9.20.1.9.2": 110}
    objects[_PER_ROW["1"]] = None  # exciter A's object is not served: no row of it
    readings = {r.key: r.value for r in driver.decode(objects, TS)}
    assert readings == {fault_b: True, row_key("exciter.vswr", "exciter", "2"): 1.1}
    with pytest.raises(KeyError, match="no row '3'"):
        driver.oid_of(row_key("exciter.fault", "exciter", "3"))


def test_row_sources_are_checked_when_the_driver_is_built() -> None:
    with pytest.raises(ValueError, match=r"exciter.fault: snmp source must be .*'exciter-b'"):
        _per_row_driver(**{"1": "1.3.6.1.4.1.32473.9.7.0", "2": "exciter-b"})
    scalar = Metric(
        "tx.fault",
        "",
        "1.3.6.1.4.1.32473.9",
        "Fault",
        ValueType.BOOL,
        row_sources=_PER_ROW,
        alarm_class=AlarmClass.STATE,
    )
    with pytest.raises(ValueError, match=r"tx\.fault: row_sources need a table"):
        Driver("probe", "Probe", "test", "snmp", (scalar,), SimModel({}, {}), maturity=MODEL)
