"""The rule book: for every reading of every device, which alarm rule applies.

A rule is built in layers, each one overriding only the keys it gives:

1. the driver's metric declaration (limits, states) and the defaults of the
   metric's declared alarm class (delays: `CLASS_DEFAULTS`; deadband: `deadband_for`);
2. the station-wide `[limits."KEY"]` of the station file (by metric key, for
   every device whose driver has that metric);
3. the device's `[device.limits."KEY"]` (by metric key);
4. the device's `[device.limits."KEY[label=index]"]` (one row of a table metric).

A limit given as "off" removes the limit of the layer below; `states` merge
label by label.  The config checks every layer against the drivers when the
file is loaded (fieldagent/config.py), so here a layer always fits its metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fieldagent.config import Config, DeviceSection, LimitRule
from fieldagent.driver import AlarmClass, Driver, Limits, Metric, ValueType, split_row_key
from fieldagent.model import HealthState


@dataclass(frozen=True)
class ClassDefaults:
    delay_s: float
    clear_delay_s: float


CLASS_DEFAULTS: Mapping[AlarmClass, ClassDefaults] = {
    AlarmClass.AUDIO: ClassDefaults(30.0, 30.0),
    AlarmClass.POWER: ClassDefaults(10.0, 30.0),
    AlarmClass.TEMPERATURE: ClassDefaults(10.0, 60.0),
    AlarmClass.STATE: ClassDefaults(10.0, 10.0),
    AlarmClass.RATE: ClassDefaults(60.0, 60.0),
    AlarmClass.OTHER: ClassDefaults(10.0, 30.0),
}
"""Default alarm delay and clear delay, in seconds, by the metric's declared alarm class."""

DEADBAND_BY_UNIT: Mapping[str, float] = {
    "°C": 1.0,
    "%": 1.0,
    "dB": 0.3,
    "dBm": 0.3,
    "dBc": 0.3,
    "-dBc": 0.3,
}
"""Default deadband of a metric by its unit, in that unit."""

RELATIVE_DEADBAND = 0.01
"""Default deadband of other units: this fraction of each limit's magnitude."""

STALE_INTERVALS = 3
"""A device without a fresh answer for this many poll intervals is stale."""

INVALID_INTERVALS = 3
"""A watched metric reading `invalid` for this many intervals raises a warning."""


@dataclass(frozen=True)
class Rule:
    """Everything the engine needs to judge one reading key of one device."""

    key: str
    metric: Metric
    limits: Limits
    states: Mapping[str | bool, HealthState] = field(default_factory=dict)
    delay_s: float = 10.0
    clear_delay_s: float = 30.0
    deadband: float | None = None
    enabled: bool = True

    @property
    def numeric(self) -> bool:
        return self.metric.type in (ValueType.NUMBER, ValueType.COUNTER)

    @property
    def watched(self) -> bool:
        """Whether any alarm can come from this reading."""
        if not self.enabled or self.metric.type is ValueType.TEXT:
            return False
        if self.numeric:
            return any(v is not None for v in _all_limits(self.limits))
        return any(state is not HealthState.OK for state in self.states.values())

    def side_limits(self, condition: str) -> tuple[tuple[HealthState, float], ...]:
        """The limits of `condition` ("low" or "high"), warning first; unset ones left out."""
        low = condition == "low"
        pairs = (
            (HealthState.WARNING, self.limits.warn_low if low else self.limits.warn_high),
            (HealthState.CRITICAL, self.limits.crit_low if low else self.limits.crit_high),
        )
        return tuple((level, limit) for level, limit in pairs if limit is not None)

    def deadband_for(self, limit: float) -> float:
        """How far back past `limit` a value must come before that limit releases."""
        if self.deadband is not None:
            return self.deadband
        by_unit = DEADBAND_BY_UNIT.get(self.metric.unit)
        return by_unit if by_unit is not None else abs(limit) * RELATIVE_DEADBAND


def _all_limits(limits: Limits) -> tuple[float | None, ...]:
    return (limits.warn_low, limits.crit_low, limits.warn_high, limits.crit_high)


def _state_key(metric: Metric, label: str) -> str | bool:
    if metric.type is ValueType.BOOL:
        return label == "true"
    return label


def build_rule(key: str, metric: Metric, layers: list[LimitRule | None]) -> Rule:
    """The rule of one reading key: the metric's declaration with `layers` laid over it."""
    defaults = CLASS_DEFAULTS[metric.alarm_class]
    limits = metric.limits
    states: dict[str | bool, HealthState] = dict(metric.states)
    delay_s, clear_delay_s = defaults.delay_s, defaults.clear_delay_s
    deadband: float | None = None
    enabled = True
    for layer in layers:
        if layer is None:
            continue
        limits = layer.apply_to(limits)
        for label, level in layer.states.items():
            states[_state_key(metric, label)] = HealthState(level)
        delay_s = layer.delay_s if layer.delay_s is not None else delay_s
        clear_delay_s = layer.clear_delay_s if layer.clear_delay_s is not None else clear_delay_s
        deadband = layer.deadband if layer.deadband is not None else deadband
        enabled = layer.enabled if layer.enabled is not None else enabled
    return Rule(key, metric, limits, states, delay_s, clear_delay_s, deadband, enabled)


class RuleBook:
    """The rules of one station file: per device, per reading key (cached)."""

    def __init__(self, config: Config, drivers: Mapping[str, Driver]) -> None:
        self._config = config
        self._devices = {d.id: d for d in config.device}
        self._drivers: dict[str, Driver] = {}
        for device in config.device:
            driver = drivers.get(device.id) or drivers.get(device.driver)
            if driver is None:
                raise KeyError(f"no driver for device {device.id!r} (driver {device.driver!r})")
            self._drivers[device.id] = driver
        self._cache: dict[tuple[str, str], Rule | None] = {}

    @property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(self._devices)

    def has_device(self, device_id: str) -> bool:
        return device_id in self._devices

    def device(self, device_id: str) -> DeviceSection:
        try:
            return self._devices[device_id]
        except KeyError:
            known = ", ".join(self._devices) or "none"
            raise KeyError(f"no device {device_id!r} in the config (devices: {known})") from None

    def driver(self, device_id: str) -> Driver:
        self.device(device_id)
        return self._drivers[device_id]

    def rule(self, device_id: str, key: str) -> Rule | None:
        """The rule of a reading key; None when the driver has no such metric."""
        cache_key = (device_id, key)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._build(device_id, key)
        return self._cache[cache_key]

    def _build(self, device_id: str, key: str) -> Rule | None:
        device = self.device(device_id)
        try:
            metric = self._drivers[device_id].metric(key)
        except KeyError:
            return None
        layers = [self._config.limits.get(metric.key), device.limits.get(metric.key)]
        if split_row_key(key) is not None:
            layers.append(device.limits.get(key))
        return build_rule(key, metric, layers)

    def stale_after_s(self, device_id: str) -> float:
        return STALE_INTERVALS * self.device(device_id).interval

    def invalid_delay_s(self, device_id: str, rule: Rule) -> float:
        return max(rule.delay_s, INVALID_INTERVALS * self.device(device_id).interval)
