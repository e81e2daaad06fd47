"""Counters into rates: a device reports a running total, central staff want a rate.

A Counter32 wraps to 0 after 2^32 - 1; a rate computed across the wrap must
not be a huge negative number.  A counter that goes *down* by more than a wrap
could explain (the device rebooted, the counter was reset) gives no rate for
that interval rather than a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from fieldagent.driver import Driver, ValueType
from fieldagent.model import Quality, Reading


@dataclass(frozen=True)
class _Sample:
    raw: int
    ts: datetime


class CounterRates:
    """Keeps the previous sample of every counter reading of one device."""

    def __init__(self) -> None:
        self._previous: dict[str, _Sample] = {}

    def apply(self, driver: Driver, readings: tuple[Reading, ...]) -> tuple[Reading, ...]:
        return tuple(self._rate(driver, r) for r in readings)

    def _rate(self, driver: Driver, reading: Reading) -> Reading:
        metric = driver.metric(reading.key)
        if metric.type is not ValueType.COUNTER:
            return reading
        if reading.quality is not Quality.OK or not isinstance(reading.value, int):
            return reading
        previous = self._previous.get(reading.key)
        self._previous[reading.key] = _Sample(reading.value, reading.ts)
        if previous is None:
            return replace(
                reading, value=None, quality=Quality.MISSING, detail="first sample: no rate yet"
            )
        seconds = (reading.ts - previous.ts).total_seconds()
        if seconds <= 0:
            return replace(
                reading, value=None, quality=Quality.MISSING, detail="no time between samples"
            )
        delta = counter_delta(previous.raw, reading.value, metric.counter_bits)
        if delta is None:
            return replace(reading, value=None, quality=Quality.MISSING, detail="counter reset")
        return replace(reading, value=round(delta / seconds, 3))


RESET_FRACTION = 0.5
"""A wrap that would imply counting more than half the counter's span is taken as a reset."""


def counter_delta(previous: int, current: int, bits: int) -> int | None:
    """How much a `bits`-wide counter advanced; None when it must have been reset."""
    span = 1 << bits
    if current >= previous:
        return current - previous
    wrapped = current + span - previous
    return wrapped if wrapped < span * RESET_FRACTION else None
