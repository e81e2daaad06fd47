"""The driver contract: what a driver declares, and how raw values become readings.

A driver is data, not a class hierarchy: a name, a kind, a protocol and a table
of metrics.  The core reads the table to build requests, decode answers,
evaluate limits and serve simulators, so a new device model is mostly a new
table.  The core never knows a vendor's OID; a driver never knows about MQTT.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fieldagent.model import HealthState, Quality, Reading, Value

RawValue = int | float | str | bytes | None
"""A value as the transport got it; None means the device has no such object."""


class ValueType(enum.StrEnum):
    NUMBER = "number"
    ENUM = "enum"
    TEXT = "text"


@dataclass(frozen=True)
class Limits:
    """Warning and critical bounds; a value beyond a bound breaks it."""

    warn_low: float | None = None
    crit_low: float | None = None
    warn_high: float | None = None
    crit_high: float | None = None

    def evaluate(self, value: float) -> tuple[HealthState, float | None]:
        """The state this value puts the metric in, and the limit it broke."""
        if self.crit_low is not None and value < self.crit_low:
            return HealthState.CRITICAL, self.crit_low
        if self.crit_high is not None and value > self.crit_high:
            return HealthState.CRITICAL, self.crit_high
        if self.warn_low is not None and value < self.warn_low:
            return HealthState.WARNING, self.warn_low
        if self.warn_high is not None and value > self.warn_high:
            return HealthState.WARNING, self.warn_high
        return HealthState.OK, None


@dataclass(frozen=True)
class Metric:
    """One row of a driver's metric table.

    `scale` turns the raw integer into engineering units (value = raw * scale);
    `sentinels` are raw values a device uses to say "not supported" (e.g. -1);
    `state_severity` maps enum labels to the state they put the device in.
    """

    key: str
    unit: str
    oid: str
    title: str
    type: ValueType = ValueType.NUMBER
    scale: float = 1.0
    enum: Mapping[int, str] = field(default_factory=dict)
    limits: Limits = Limits()
    state_severity: Mapping[str, HealthState] = field(default_factory=dict)
    sentinels: frozenset[int] = frozenset()

    def decode(self, raw: RawValue, ts: datetime) -> Reading:
        """Turn a transport value into a reading; never raises on device input."""
        if raw is None:
            return self._reading(None, Quality.UNSUPPORTED, ts, "device has no such object")
        if self.type is ValueType.TEXT:
            return self._reading(_as_text(raw), Quality.GOOD, ts)
        if not isinstance(raw, int | float):
            return self._reading(None, Quality.INVALID, ts, f"expected a number, got {raw!r:.60}")
        if isinstance(raw, int) and raw in self.sentinels:
            return self._reading(None, Quality.UNSUPPORTED, ts, f"device sentinel {raw}")
        if self.type is ValueType.ENUM:
            label = self.enum.get(int(raw))
            if label is None:
                return self._reading(None, Quality.INVALID, ts, f"unknown enum value {raw}")
            return self._reading(label, Quality.GOOD, ts)
        return self._reading(_scaled(raw, self.scale), Quality.GOOD, ts)

    def encode(self, value: Value) -> RawValue:
        """The raw value a device would send for `value`; used by simulators."""
        if value is None:
            return None
        if self.type is ValueType.TEXT:
            return str(value)
        if self.type is ValueType.ENUM:
            for raw, label in self.enum.items():
                if label == value:
                    return raw
            raise ValueError(f"{self.key}: {value!r} is not one of {sorted(self.enum.values())}")
        if isinstance(value, str):
            raise ValueError(f"{self.key}: expected a number, got {value!r}")
        return round(float(value) / self.scale)

    def bad_state(self, reading: Reading) -> tuple[HealthState, float | None]:
        """The state a good reading puts this metric in, and the limit it broke."""
        if reading.quality is not Quality.GOOD or reading.value is None:
            return HealthState.OK, None
        if isinstance(reading.value, str):
            return self.state_severity.get(reading.value, HealthState.OK), None
        return self.limits.evaluate(float(reading.value))

    def _reading(self, value: Value, quality: Quality, ts: datetime, detail: str = "") -> Reading:
        return Reading(self.key, value, self.unit, quality, ts, detail)


def _scaled(raw: int | float, scale: float) -> float | int:
    if scale == 1.0:
        return raw
    # Round away binary noise (0.1 * 2301 == 230.10000000000002) to the scale's precision.
    exponent = Decimal(repr(scale)).as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return round(raw * scale, decimals)


def _as_text(raw: RawValue) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace").strip("\x00").strip()
    return str(raw).strip()


Fixup = Callable[[dict[str, Reading]], None]
"""A driver hook that corrects known device quirks across the readings of one poll."""

ScenarioStep = Callable[[MutableMapping[str, Value], Mapping[str, Value], float], None]
"""Moves simulated values along.

Called with the live values, a snapshot of them when the scenario began, and
the seconds since then, so a step is a pure function of time (repeatable).
"""


@dataclass(frozen=True)
class Scenario:
    """A named simulator condition; `silent` devices do not answer at all."""

    name: str
    description: str
    step: ScenarioStep | None = None
    silent: bool = False


@dataclass(frozen=True)
class SimModel:
    """How a driver's simulator starts and what faults it can play."""

    initial: Mapping[str, Value]
    scenarios: Mapping[str, Scenario]
    extra_objects: Mapping[str, RawValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Driver:
    """A device family: its identity, metric table, quirk hook and simulator model."""

    name: str
    title: str
    kind: str
    protocol: str
    metrics: tuple[Metric, ...]
    simulator: SimModel
    fixup: Fixup | None = None
    default_port: int = 161

    def metric(self, key: str) -> Metric:
        for metric in self.metrics:
            if metric.key == key:
                return metric
        raise KeyError(f"driver {self.name} has no metric {key!r}")

    def decode(self, raws: Mapping[str, RawValue], ts: datetime) -> tuple[Reading, ...]:
        """Decode one poll's raw values (by metric key) and apply the quirk hook."""
        readings = {m.key: m.decode(raws.get(m.key), ts) for m in self.metrics}
        if self.fixup is not None:
            self.fixup(readings)
        return tuple(readings[m.key] for m in self.metrics)
