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
import zlib
from collections.abc import Callable, Mapping
from types import MappingProxyType

from fieldagent.driver import (
    Counter,
    Driver,
    Expect,
    Gauge,
    IpAddress,
    LineFault,
    Metric,
    RawValue,
    Scenario,
    TimeTicks,
)
from fieldagent.model import HealthState, Value

Oid = tuple[int, ...]
Clock = Callable[[], float]
"""Monotonic seconds; injectable so tests move time without sleeping."""

NORMAL = "normal"
NO_REPLY = "no_reply"
_IMPLICIT = {
    NORMAL: Scenario(NORMAL, "initial values, no fault", expect=Expect(HealthState.OK)),
    NO_REPLY: Scenario(
        NO_REPLY, "does not answer at all", silent=True, expect=Expect(HealthState.UNREACHABLE)
    ),
}
"""Every device can go back to normal and can fall silent, whatever its driver declares."""

_LINE_FAULTS = {
    LineFault.SLOW_REPLY: Scenario(
        "slow_reply",
        "answers, but only after the request timeout",
        line_fault=LineFault.SLOW_REPLY,
        expect=Expect(HealthState.UNREACHABLE),
    ),
    LineFault.GARBAGE: Scenario(
        "garbage", "random bytes before and inside replies", line_fault=LineFault.GARBAGE
    ),
    LineFault.CRC_ERROR: Scenario(
        "crc_error", "replies with a wrong checksum", line_fault=LineFault.CRC_ERROR
    ),
    LineFault.UNPLUG: Scenario(
        "unplug",
        "the USB-serial adapter is pulled out (until another scenario is played)",
        line_fault=LineFault.UNPLUG,
        expect=Expect(HealthState.UNREACHABLE),
    ),
}
SERIAL_FAULTS = {
    "ascii": (LineFault.SLOW_REPLY, LineFault.GARBAGE, LineFault.UNPLUG),
    "modbus": (LineFault.SLOW_REPLY, LineFault.GARBAGE, LineFault.CRC_ERROR, LineFault.UNPLUG),
}
"""The line faults every device of a serial protocol can play."""


def implicit_scenarios(driver: Driver) -> dict[str, Scenario]:
    faults = [_LINE_FAULTS[f] for f in SERIAL_FAULTS.get(driver.protocol, ())]
    return {**_IMPLICIT, **{s.name: s for s in faults}}


NOISE_PERIOD_S = 120.0
"""Period of the simulated wobble: slow enough that limits are not crossed by noise alone."""

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1


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
    if isinstance(raw, Counter):
        if not 0 <= raw < (1 << raw.bits):
            raise ValueError(f"{where}: {raw} does not fit a {raw.bits}-bit counter")
        return raw
    if isinstance(raw, Gauge | TimeTicks):
        if not 0 <= raw <= UINT32_MAX:
            raise ValueError(f"{where}: {raw} does not fit an unsigned 32-bit {type(raw).__name__}")
        return raw
    if isinstance(raw, IpAddress) and len(raw) != 4:
        raise ValueError(f"{where}: an IpAddress has 4 octets, not {len(raw)}")
    if isinstance(raw, int) and not INT32_MIN <= raw <= INT32_MAX:
        raise ValueError(f"{where}: raw value {raw} is outside the 32-bit integer range")
    return raw


class Absent:
    """Marks an object a fault injection removes from what the device serves."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


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
        noise: bool = False,
    ) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
        self.driver = driver
        self.name = name or driver.name
        self._clock = clock
        self._time_scale = time_scale
        self._noise = noise
        self._extra = {
            parse_oid(oid): check_raw(f"{self._label} extra object {oid}", raw)
            for oid, raw in driver.simulator.extra_objects.items()
        }
        self._scenarios = MappingProxyType(
            {**implicit_scenarios(driver), **driver.simulator.scenarios}
        )
        self._initial = self._checked_initial(driver.simulator.initial)
        self._lock = threading.Lock()
        self._injected: dict[Oid, RawValue | Absent] = {}
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
    def line_fault(self) -> LineFault | None:
        """The serial-line fault being played, if any (the line simulator acts on it)."""
        with self._lock:
            return self._scenario.line_fault

    @property
    def scenarios(self) -> Mapping[str, Scenario]:
        """Every scenario this device can play, by name (always including `normal`)."""
        return self._scenarios

    def set(self, key: str, value: Value) -> None:
        """Change one live value; KeyError for an unknown key, ValueError if unencodable."""
        self._raw(self._metric(key), value)
        with self._lock:
            self._values[key] = value

    def inject(self, oid: str, raw: RawValue | Absent) -> None:
        """Serve `raw` at `oid` whatever the metric table says (ABSENT removes the object).

        For fault tests: a card that answers text where a number belongs, an
        out-of-range value, an object it does not have.  `clear_injections`
        goes back to serving the values.
        """
        with self._lock:
            self._injected[parse_oid(oid)] = raw

    def clear_injections(self) -> None:
        with self._lock:
            self._injected.clear()

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

    def live_values(self) -> dict[str, Value]:
        """What the device shows now: the snapshot, with the slow wobble when noise is on.

        Protocol servers that do not serve OIDs (serial ones) take their values here.
        """
        return self._noisy(self.snapshot()) if self._noise else self.snapshot()

    def objects(self) -> dict[Oid, RawValue]:
        """Every object the device serves now, by OID; a None value means absent."""
        values = self.live_values()
        try:
            encoded = self.driver.encode(values)
        except ValueError as exc:
            raise ValueError(f"{self._label}: {exc}") from None
        objects = dict(self._extra)
        for oid, raw in encoded.items():
            objects[parse_oid(oid)] = check_raw(f"{self._label}: {oid}", raw)
        with self._lock:
            injected = dict(self._injected)
        for oid_tuple, injected_raw in injected.items():
            if isinstance(injected_raw, Absent):
                objects.pop(oid_tuple, None)
            else:
                objects[oid_tuple] = injected_raw
        return objects

    def _noisy(self, values: dict[str, Value]) -> dict[str, Value]:
        """Add the driver's slow wobble: live-looking, yet a pure function of time."""
        now = self._clock() * self._time_scale
        for key, value in values.items():
            metric = self._metric(key)
            amplitude = self.driver.simulator.noise.get(metric.key, 0.0)
            # A value of exactly zero is a meter reading nothing (a transmitter off air, a
            # dead mains input): it stays zero, as on the device.
            if (
                amplitude
                and isinstance(value, int | float)
                and not isinstance(value, bool)
                and value != 0
            ):
                phase = zlib.crc32(key.encode()) / 2**32 * 2 * math.pi
                wobble = amplitude * math.sin(2 * math.pi * now / NOISE_PERIOD_S + phase)
                low, high = metric.valid
                wobbled = min(max(float(value) + wobble, _or(low, -math.inf)), _or(high, math.inf))
                noisy = round(wobbled, metric.precision)
                values[key] = (
                    int(noisy) if isinstance(value, int) and metric.precision == 0 else noisy
                )
        return values

    @property
    def _label(self) -> str:
        return self.name if self.name == self.driver.name else f"{self.name} ({self.driver.name})"

    def _metric(self, key: str) -> Metric:
        try:
            return self.driver.metric(key)
        except KeyError:
            raise KeyError(f"{self._label} has no metric {key!r}") from None

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
        """Every metric's starting value, refusing a driver whose SimModel is inconsistent.

        Scalars the model leaves out are absent (served as noSuchObject); table
        rows exist only where the model declares them.
        """
        for key, value in initial.items():
            self._raw(self._metric(key), value)
        scalars = {m.key: None for m in self.driver.metrics if not m.is_column}
        return {**scalars, **initial}

    def _stepped(self, now: float) -> dict[str, Value]:
        values = dict(self._values)
        step = self._scenario.step
        if step is not None:
            elapsed = max(0.0, now - self._started) * self._time_scale
            step(values, self._start_values, elapsed)
        return values


def _or(bound: float | None, default: float) -> float:
    return default if bound is None else bound
