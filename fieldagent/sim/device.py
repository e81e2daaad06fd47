"""One simulated device: live values, the scenario it plays, the objects it serves.

Values are kept in engineering units (what the front panel shows) and turned
into raw protocol values with the driver's own `Metric.encode`, so a wrong
scale or enum in a driver table shows up against the simulator exactly as it
would against real equipment.  The device knows nothing about UDP: protocol
servers ask it for `objects()` on every request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from fieldagent.driver import Driver, Metric, RawValue, Scenario
from fieldagent.model import Value

Oid = tuple[int, ...]
Clock = Callable[[], float]
"""Monotonic seconds; injectable so tests move time without sleeping."""

NORMAL = "normal"
_NORMAL = Scenario(NORMAL, "initial values, no fault")
"""Used when a driver declares no `normal` scenario of its own: every device can go back."""

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def parse_oid(text: str) -> Oid:
    """'1.3.6.1.2.1.1.1.0' -> (1, 3, 6, 1, 2, 1, 1, 1, 0); ValueError on a malformed OID."""
    try:
        oid = tuple(int(part) for part in text.strip().strip(".").split("."))
    except ValueError:
        raise ValueError(f"malformed OID {text!r}") from None
    if len(oid) < 2 or min(oid) < 0:
        raise ValueError(f"malformed OID {text!r}")
    return oid


def check_raw(where: str, raw: RawValue) -> RawValue:
    """Refuse an integer a protocol cannot carry, before a request is served.

    SNMP INTEGER (and every register protocol we simulate) is 32-bit signed; a
    value outside that range would fail deep inside the protocol stack while
    answering, far from the `set` that caused it.
    """
    if isinstance(raw, int) and not INT32_MIN <= raw <= INT32_MAX:
        raise ValueError(f"{where}: raw value {raw} is outside the 32-bit integer range")
    return raw


class SimulatedDevice:
    """A driver's device, alive: values can be set and fault scenarios played.

    A scenario's step is applied to a copy of the live values at read time, so
    what a poll sees is a pure function of the time since the scenario began
    (`time_scale` makes that time run faster, e.g. to drain a battery in a test).
    A `set` changes the live value; a scenario step that drives the same key
    wins while the scenario plays.
    """

    def __init__(
        self,
        driver: Driver,
        *,
        name: str | None = None,
        clock: Clock = time.monotonic,
        time_scale: float = 1.0,
    ) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
        self.driver = driver
        self.name = name or driver.name
        self._clock = clock
        self._time_scale = time_scale
        self._metrics = {metric.key: metric for metric in driver.metrics}
        self._oids = {metric.key: parse_oid(metric.oid) for metric in driver.metrics}
        self._extra = {
            parse_oid(oid): check_raw(f"{self._label} extra object {oid}", raw)
            for oid, raw in driver.simulator.extra_objects.items()
        }
        self._scenarios = MappingProxyType({NORMAL: _NORMAL, **driver.simulator.scenarios})
        self._initial = self._checked_initial(driver.simulator.initial)
        self._lock = threading.Lock()
        self._values = dict(self._initial)
        self._scenario = self._scenarios[NORMAL]
        self._start_values = dict(self._initial)
        self._started = clock()

    @property
    def scenario(self) -> str:
        """The name of the scenario being played."""
        with self._lock:
            return self._scenario.name

    @property
    def silent(self) -> bool:
        """True while the device must not answer at all (a dead card, a cut cable)."""
        with self._lock:
            return self._scenario.silent

    @property
    def scenarios(self) -> Mapping[str, Scenario]:
        """Every scenario this device can play, by name (always including `normal`)."""
        return self._scenarios

    def set(self, key: str, value: Value) -> None:
        """Change one live value; KeyError for an unknown key, ValueError if unencodable."""
        self._raw(self._metric(key), value)
        with self._lock:
            self._values[key] = value

    def play(self, name: str) -> None:
        """Start scenario `name` from the current values (`normal` restores the initial ones)."""
        scenario = self._scenarios.get(name)
        if scenario is None:
            known = ", ".join(sorted(self._scenarios))
            raise KeyError(f"{self._label} has no scenario {name!r} (known: {known})")
        with self._lock:
            now = self._clock()
            # Carry the old scenario's effect over, so switching faults is continuous.
            self._values = dict(self._initial) if name == NORMAL else self._stepped(now)
            self._scenario = scenario
            self._start_values = dict(self._values)
            self._started = now

    def snapshot(self) -> dict[str, Value]:
        """The values a poll would see now, in engineering units."""
        with self._lock:
            return self._stepped(self._clock())

    def objects(self) -> dict[Oid, RawValue]:
        """Every object the device serves now, by OID; a None value means absent."""
        values = self.snapshot()
        objects = dict(self._extra)
        for key, metric in self._metrics.items():
            objects[self._oids[key]] = self._raw(metric, values.get(key))
        return objects

    @property
    def _label(self) -> str:
        return self.name if self.name == self.driver.name else f"{self.name} ({self.driver.name})"

    def _metric(self, key: str) -> Metric:
        metric = self._metrics.get(key)
        if metric is None:
            raise KeyError(f"{self._label} has no metric {key!r}")
        return metric

    def _raw(self, metric: Metric, value: Value) -> RawValue:
        """Encode `value` as the device would send it, or say why it cannot be."""
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{self._label}: {metric.key}: {value!r} is not a finite number")
        try:
            raw = metric.encode(value)
        except ValueError as exc:
            raise ValueError(f"{self._label}: {exc}") from None
        return check_raw(f"{self._label}: {metric.key} = {value!r}", raw)

    def _checked_initial(self, initial: Mapping[str, Value]) -> dict[str, Value]:
        """Every metric's starting value, refusing a driver whose SimModel is inconsistent."""
        for key, value in initial.items():
            self._raw(self._metric(key), value)
        return {key: initial.get(key) for key in self._metrics}

    def _stepped(self, now: float) -> dict[str, Value]:
        values = dict(self._values)
        step = self._scenario.step
        if step is not None:
            elapsed = max(0.0, now - self._started) * self._time_scale
            step(values, self._start_values, elapsed)
        return values
