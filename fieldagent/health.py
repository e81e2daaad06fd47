"""From readings to a device's health: limits now, delays and hysteresis later.

The tracker also decides when silence becomes `unreachable`: one lost poll on
a flaky link is not an outage, `unreachable_after` lost polls in a row are.
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
    """A device's state, why, and the metrics that put it there."""

    state: HealthState
    problems: tuple[Problem, ...]
    reason: str | None = None

    def same_as(self, other: DeviceHealth | None) -> bool:
        return other is not None and (self.state, self.problems, self.reason) == (
            other.state,
            other.problems,
            other.reason,
        )


def evaluate(driver: Driver, result: PollResult) -> DeviceHealth:
    """The worst state among the metrics of one answered poll."""
    problems: list[Problem] = []
    for reading in result.readings:
        metric = driver.metric(reading.key)
        state, limit = metric.bad_state(reading)
        if state is not HealthState.OK:
            problems.append(
                Problem(reading.key, metric.title, reading.value, reading.unit, state, limit)
            )
    worst = HealthState.worst([p.state for p in problems])
    return DeviceHealth(worst, tuple(problems))


class HealthTracker:
    """Follows one device across polls; knows its failures in a row."""

    def __init__(self, driver: Driver, unreachable_after: int) -> None:
        self._driver = driver
        self._unreachable_after = max(1, unreachable_after)
        self._failures = 0
        self._last: DeviceHealth | None = None

    @property
    def failures_in_a_row(self) -> int:
        return self._failures

    @property
    def current(self) -> DeviceHealth | None:
        return self._last

    def update(self, result: PollResult) -> DeviceHealth | None:
        """The device's health after this poll; None while it is not yet known.

        A device that was never read and has failed fewer than
        `unreachable_after` times has no health yet: publishing "ok" for it
        would be a guess.
        """
        if result.answered:
            self._failures = 0
            self._last = evaluate(self._driver, result)
            return self._last
        self._failures += 1
        if self._failures >= self._unreachable_after:
            self._last = DeviceHealth(
                HealthState.UNREACHABLE,
                (),
                f"{result.error} ({self._failures} polls in a row)",
            )
        return self._last
