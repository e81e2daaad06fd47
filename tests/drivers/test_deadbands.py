"""Every shipped driver's report deadbands: above its simulator's noise, inside its limits.

A deadband below the noise would report the wobble on every poll (no saving);
one as wide as the step between two limits could hide a value crossing from
warning to critical until the next snapshot.
"""

from __future__ import annotations

import itertools
import math

import pytest

from drivers import REGISTRY
from fieldagent.driver import AlarmClass, Driver, Metric, ValueType, deadband_problem

SHIPPED = sorted(REGISTRY)


def limit_gap(metric: Metric) -> float:
    """The smallest distance between two of the metric's declared limits (inf: fewer than two)."""
    limits = metric.limits
    bounds = sorted(
        {
            b
            for b in (limits.crit_low, limits.warn_low, limits.warn_high, limits.crit_high)
            if b is not None
        }
    )
    return min((b - a for a, b in itertools.pairwise(bounds)), default=math.inf)


@pytest.mark.parametrize("name", SHIPPED)
def test_deadbands_are_above_the_noise_and_inside_the_limits(name: str) -> None:
    driver: Driver = REGISTRY[name]
    for metric in driver.metrics:
        noise = driver.simulator.noise.get(metric.key)
        if noise:
            assert metric.deadband is not None, f"{name}: {metric.key} is noisy but has no deadband"
            assert metric.deadband > noise, f"{name}: {metric.key} {metric.deadband} <= {noise}"
        if metric.deadband is not None:
            gap = limit_gap(metric)
            assert metric.deadband < gap, f"{name}: {metric.key} {metric.deadband} >= gap {gap}"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_analogue_measurement_declares_a_deadband(name: str) -> None:
    """Power, temperature and audio levels are analogue: reporting each jitter is waste."""
    analogue = {AlarmClass.POWER, AlarmClass.TEMPERATURE, AlarmClass.AUDIO}
    driver = REGISTRY[name]
    missing = [
        m.key
        for m in driver.metrics
        if m.type is ValueType.NUMBER and m.alarm_class in analogue and m.deadband is None
    ]
    assert missing == [], f"{name}: no deadband on {missing}"


def test_a_deadband_is_refused_on_what_is_not_a_number() -> None:
    assert deadband_problem(ValueType.ENUM, 1.0) == (
        "a enum metric has no deadband (any change is reported)"
    )
    assert deadband_problem(ValueType.COUNTER, 0.0) is not None
    assert deadband_problem(ValueType.NUMBER, -1.0) is not None
    assert deadband_problem(ValueType.NUMBER, math.nan) is not None
    assert deadband_problem(ValueType.NUMBER, 0.0) is None
    assert deadband_problem(ValueType.NUMBER, None) is None
