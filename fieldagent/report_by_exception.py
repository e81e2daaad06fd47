"""Report by exception: which readings of a poll compact telemetry sends, and when all of them.

A district station's readings barely move between two polls: sending every
value every 5 s is what made the uplink cost 280 MB a day.  So, as a SCADA
gateway does, a reading is sent only when it changed since the value last
*sent* (not last read, so a slow drift is reported once it adds up to the
deadband, never lost in steps below it):

- a number moved further than its deadband (`Metric.deadband`, or the
  device's own in the station file; None or 0: any change);
- any other value (enum, text, truth value, a counter's rate) changed at all;
- its quality, detail or in-use flag changed.

A poll in which nothing changed sends nothing.  A snapshot (every value of the
device) goes out on the first poll after a start, whenever the set of readings
changes (a table row appeared or went, the device stopped or started
answering), when the device's error changes, and at least every
`snapshot_interval_s` (at the first poll once it has passed since the last
snapshot), devices staggered over the interval so that they do not all send
theirs in the same second.  A subscriber rebuilds the full state from
the last snapshot plus the changes after it (docs/mqtt-topics.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fieldagent.driver import Driver, ValueType, base_key
from fieldagent.model import PollResult, Quality, Reading, Value

Clock = Callable[[], float]
"""Monotonic seconds: `time.monotonic` in the agent, a fake in tests."""


@dataclass(frozen=True)
class Changes:
    """What one poll sends: its readings to carry, and whether they are the whole set."""

    full: bool
    readings: tuple[Reading, ...]


@dataclass(frozen=True)
class _Sent:
    """The last value sent of one reading key, with what qualifies it."""

    value: Value
    quality: Quality
    detail: str
    in_use: bool

    @classmethod
    def of(cls, reading: Reading) -> _Sent:
        return cls(reading.value, reading.quality, reading.detail, reading.in_use)


def deadbands_of(driver: Driver, overrides: Mapping[str, float]) -> dict[str, float | None]:
    """Metric key -> report deadband on this device: the station file's, else the driver's.

    Only numbers have one; every other type reports any change.
    """
    return {
        m.key: (overrides.get(m.key, m.deadband) if m.type is ValueType.NUMBER else None)
        for m in driver.metrics
    }


def moved(old: Value, new: Value, deadband: float | None) -> bool:
    """Whether `new` is news against the value last sent, `old`.

    Numbers compare against the deadband (strictly further than it); everything
    else, and a number whose type changed (int to float shows differently), on
    any change.  A value that is not finite is news unless it is the same.
    """
    if _number(old) and _number(new):
        assert isinstance(old, int | float) and isinstance(new, int | float)
        if not (math.isfinite(old) and math.isfinite(new)):
            return repr(old) != repr(new)
        if deadband is not None and deadband > 0:
            return abs(new - old) > deadband
    return type(old) is not type(new) or old != new


def _number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class DeviceReporter:
    """The report-by-exception state of one device: what was last sent of each reading."""

    def __init__(
        self,
        deadbands: Mapping[str, float | None],
        snapshot_interval_s: float,
        first_snapshot_after_s: float,
        clock: Clock,
    ) -> None:
        """`first_snapshot_after_s` (0 to the interval): when the second snapshot is due
        after the first poll's, which staggers the device among the station's others."""
        self._deadbands = dict(deadbands)
        self._interval = snapshot_interval_s
        self._offset = first_snapshot_after_s
        self._clock = clock
        self._sent: dict[str, _Sent] = {}
        self._error: str | None = None
        self._due: float | None = None  # None: no snapshot sent yet

    def report(self, result: PollResult) -> Changes | None:
        """What this poll sends (None: nothing changed), remembered as sent.

        Call it only for a message that will be put in the outbox: its values are
        the baseline of the next comparison.
        """
        now = self._clock()
        readings = {r.key: r for r in result.readings}
        if self._snapshot_due(now, result, readings):
            self._due = now + (self._offset if self._due is None else self._interval)
            self._sent = {key: _Sent.of(r) for key, r in readings.items()}
            self._error = result.error
            return Changes(True, tuple(readings.values()))
        changed = tuple(r for key, r in readings.items() if self._changed(self._sent[key], r))
        if not changed:
            return None
        self._sent.update({r.key: _Sent.of(r) for r in changed})
        return Changes(False, changed)

    def _snapshot_due(
        self, now: float, result: PollResult, readings: Mapping[str, Reading]
    ) -> bool:
        return (
            self._due is None
            or now >= self._due
            or result.error != self._error
            or readings.keys() != self._sent.keys()
        )

    def _changed(self, sent: _Sent, reading: Reading) -> bool:
        if (sent.quality, sent.detail, sent.in_use) != (
            reading.quality,
            reading.detail,
            reading.in_use,
        ):
            return True
        return moved(sent.value, reading.value, self._deadbands.get(base_key(reading.key)))
