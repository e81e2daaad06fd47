"""Checks shared by the SNMP and the serial conformance suites."""

from __future__ import annotations

from fieldagent.driver import Driver, Metric, ValueType
from fieldagent.health import snapshot_state
from fieldagent.model import HealthState, PollResult, Quality


def health_of(driver: Driver, result: PollResult) -> HealthState:
    """The device's state after this one poll (one failure is unreachable)."""
    return snapshot_state(driver, result)


def assert_sane(metric: Metric, value: object, key: str) -> None:
    """A good reading's value has the metric's type, and a number is in its valid range."""
    if metric.type is ValueType.ENUM:
        assert value in metric.enum.values(), key
    elif metric.type is ValueType.BOOL:
        assert isinstance(value, bool), key
    elif metric.type is ValueType.TEXT:
        assert isinstance(value, str), key
    else:
        assert isinstance(value, int | float) and not isinstance(value, bool), key
        if metric.type is ValueType.NUMBER:
            assert metric.in_range(float(value)), (key, value, metric.valid)


def assert_all_ok_and_healthy(driver: Driver, result: PollResult) -> None:
    """Every reading ok, with its declared unit and a sane value; the device healthy."""
    for reading in result.readings:
        metric = driver.metric(reading.key)
        assert reading.quality is Quality.OK, (reading.key, reading.detail)
        assert reading.unit == metric.unit, reading.key
        assert_sane(metric, reading.value, reading.key)
    assert health_of(driver, result) is HealthState.OK
