"""A device's health from one poll: limits and states as they are, no delay.

Used where one poll is all there is (`fieldagent poll`, a `--once` snapshot,
driver tests); the daemon's health comes from the alarm engine, which adds
delays, hysteresis, and `unreachable` after several lost polls.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldagent.driver import Driver
from fieldagent.model import HealthState, PollResult, Value


@dataclass(frozen=True)
class Problem:
    """One metric outside its limits, or in a bad state."""

    metric: str
    title: str
    value: Value
    unit: str
    state: HealthState
    limit: float | None


@dataclass(frozen=True)
class DeviceHealth:
    """A device's state and the metrics that put it there."""

    state: HealthState
    problems: tuple[Problem, ...]


def evaluate(driver: Driver, result: PollResult) -> DeviceHealth:
    """The worst state among the metrics of one answered poll.

    Rows the device says are not in use (`Reading.in_use`) are left out.
    """
    problems: list[Problem] = []
    for reading in result.readings:
        if not reading.in_use:
            continue
        metric = driver.metric(reading.key)
        state, limit = metric.bad_state(reading)
        if state is not HealthState.OK:
            problems.append(
                Problem(reading.key, metric.title, reading.value, reading.unit, state, limit)
            )
    worst = HealthState.worst([p.state for p in problems])
    return DeviceHealth(worst, tuple(problems))


def snapshot_state(driver: Driver, result: PollResult) -> HealthState:
    """A device's state from one poll alone: unreachable if it did not answer."""
    return evaluate(driver, result).state if result.answered else HealthState.UNREACHABLE
