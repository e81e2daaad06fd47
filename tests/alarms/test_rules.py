"""The rule book: defaults by kind of metric, and overrides laid over them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers import REGISTRY
from fieldagent.alarms.rules import RuleBook, build_rule
from fieldagent.driver import AlarmClass, Limits, Metric, ValueType
from fieldagent.model import HealthState
from tests.alarms import CMTS, FM, IRD, UPS, station_config, with_limits


@pytest.mark.parametrize(
    ("driver", "key", "alarm_class", "delay", "clear"),
    [
        ("fm_transmitter_nautel", "tx.alarm.audio_loss", AlarmClass.AUDIO, 30, 30),
        ("fm_transmitter_nautel", "audio.modulation_peak_pct", AlarmClass.AUDIO, 30, 30),
        ("fm_transmitter_nautel", "rf.forward_power_w", AlarmClass.POWER, 10, 30),
        ("fm_transmitter_nautel", "rf.vswr", AlarmClass.POWER, 10, 30),
        ("entity_sensors", "power.ac_voltage_v", AlarmClass.POWER, 10, 30),
        ("scte_hms_optical", "optical.output_dbm", AlarmClass.POWER, 10, 30),
        ("fm_transmitter_nautel", "pa.temperature_c", AlarmClass.TEMPERATURE, 10, 60),
        ("ups_rfc1628", "ups.output.source", AlarmClass.STATE, 10, 10),
        ("fm_transmitter_nautel", "tx.on_air", AlarmClass.STATE, 10, 10),
        ("docsis_cmts", "docsis.upstream.uncorrectable_cw_per_s", AlarmClass.RATE, 60, 60),
        ("ups_rfc1628", "ups.battery.charge_pct", AlarmClass.OTHER, 10, 30),
        ("ird_satellite", "ird.link_margin_db", AlarmClass.OTHER, 10, 30),
    ],
)
def test_declared_classes_and_their_default_delays(
    driver: str, key: str, alarm_class: AlarmClass, delay: float, clear: float
) -> None:
    metric = _metric(driver, key)
    assert metric.alarm_class is alarm_class
    rule = build_rule(key, metric, [])
    assert (rule.delay_s, rule.clear_delay_s) == (delay, clear)


def test_the_declared_class_picks_the_delays_not_the_key_or_unit() -> None:
    power = _metric("fm_transmitter_nautel", "rf.forward_power_w")
    as_audio = replace(power, alarm_class=AlarmClass.AUDIO)
    rule = build_rule(power.key, as_audio, [])
    assert (rule.delay_s, rule.clear_delay_s) == (30, 30)


def _metric(driver: str, key: str) -> Metric:
    return next(m for m in REGISTRY[driver].metrics if m.key == key)


def test_default_deadbands_by_unit_and_relative() -> None:
    book = RuleBook(station_config([FM, UPS, IRD]), REGISTRY)
    assert book.rule("fm-main", "pa.temperature_c").deadband_for(70) == 1.0  # type: ignore[union-attr]
    assert book.rule("ups1", "ups.battery.charge_pct").deadband_for(15) == 1.0  # type: ignore[union-attr]
    margin = book.rule("ird1", "ird.link_margin_db[input=1]")
    assert margin is not None and margin.deadband_for(1.0) == 0.3
    vswr = book.rule("fm-main", "rf.vswr")
    assert vswr is not None and vswr.deadband_for(2.0) == pytest.approx(0.02)
    assert vswr.deadband_for(1.5) == pytest.approx(0.015)


def test_layers_override_key_by_key() -> None:
    config = station_config(
        [
            with_limits(
                IRD,
                **{
                    "ird.link_margin_db": {"crit_low": 0.5, "delay_s": 20},
                    "ird.link_margin_db[input=2]": {"warn_low": "off", "clear_delay_s": 5},
                },
            )
        ],
        limits={"ird.link_margin_db": {"warn_low": 2.0, "deadband": 0.2, "delay_s": 15}},
    )
    book = RuleBook(config, REGISTRY)
    row1 = book.rule("ird1", "ird.link_margin_db[input=1]")
    row2 = book.rule("ird1", "ird.link_margin_db[input=2]")
    assert row1 is not None and row2 is not None
    assert row1.limits == Limits(warn_low=2.0, crit_low=0.5)
    assert (row1.delay_s, row1.clear_delay_s, row1.deadband) == (20, 30, 0.2)
    assert row2.limits == Limits(warn_low=None, crit_low=0.5)
    assert (row2.delay_s, row2.clear_delay_s) == (20, 5)


def test_states_merge_label_by_label_and_enabled_switches_a_metric_off() -> None:
    config = station_config(
        [with_limits(UPS, ups__output__source={"states": {"bypass": "warning"}}), CMTS],
        limits={
            "ups.output.source": {"states": {"battery": "critical"}},
            "docsis.upstream.snr_db": {"enabled": False},
        },
    )
    book = RuleBook(config, REGISTRY)
    source = book.rule("ups1", "ups.output.source")
    assert source is not None and dict(source.states) == {
        "battery": HealthState.CRITICAL,
        "none": HealthState.CRITICAL,
        "bypass": HealthState.WARNING,
    }
    snr = book.rule("cmts1", "docsis.upstream.snr_db[channel=1]")
    assert snr is not None and not snr.watched
    assert book.rule("ups1", "no.such.metric") is None


def test_a_text_metric_or_a_number_without_limits_is_not_watched() -> None:
    book = RuleBook(station_config([UPS]), REGISTRY)
    assert not book.rule("ups1", "ups.ident.model").watched  # type: ignore[union-attr]
    assert not book.rule("ups1", "ups.input.voltage_v").watched  # type: ignore[union-attr]
    assert book.rule("ups1", "ups.battery.charge_pct").watched  # type: ignore[union-attr]


MIGRATED = frozenset(
    {
        "agent_host",
        "changeover_ascii",
        "docsis_cmts",
        "dvbt2_transmitter",
        "entity_sensors",
        "fm_transmitter_ascii",
        "fm_transmitter_nautel",
        "generator_modbus",
        "ird_satellite",
        "scte_hms_optical",
        "ups_rfc1628",
    }
)
"""The drivers whose alarm classes used to be inferred from key, type and unit."""


def _inferred_class(metric: Metric) -> AlarmClass:
    """How the rule book chose the class before metrics declared it (kept to prove the
    declarations changed no delay)."""
    if "audio" in metric.key:
        return AlarmClass.AUDIO
    if metric.type in (ValueType.BOOL, ValueType.ENUM):
        return AlarmClass.STATE
    if metric.type is ValueType.COUNTER:
        return AlarmClass.RATE
    if metric.unit == "°C":
        return AlarmClass.TEMPERATURE
    power_units = {"W", "kW", "mW", "dBm", "V", "A", "Hz"}
    if metric.unit in power_units or "power" in metric.key or metric.key.startswith("rf."):
        return AlarmClass.POWER
    return AlarmClass.OTHER


def test_every_declared_alarm_class_is_the_one_key_and_unit_gave() -> None:
    assert set(REGISTRY) >= MIGRATED
    for name in sorted(MIGRATED):
        for metric in REGISTRY[name].metrics:
            assert metric.alarm_class is _inferred_class(metric), (name, metric.key)
