"""The driver contract: what a driver declares, and how raw values become readings.

A driver is data, not a class hierarchy: a name, a kind, a protocol and a table
of metrics.  The core reads the table to build requests, decode answers,
evaluate limits and serve simulators, so a new device model is mostly a new
table.  The core never knows a vendor's OID; a driver never knows about MQTT.

A metric's `source` says where it is read, in its protocol's form (checked
when the driver is built, `source_problem`): a dotted OID for SNMP, a command
for ASCII, a `Register` for Modbus, a reader key for `local`.  A metric is
either a scalar (one OID) or a table column (`table="input"`): the column is
walked and every row becomes its own reading, keyed ``key[input=2]`` by the
row's OID suffix.  A device may serve each row of a table as its own scalar
object instead (R&S's summaryFaultExcA and summaryFaultExcB, one per exciter):
`row_sources` names each row's object, and those are read by GET.  Drivers
whose rows cannot be described by a column (ENTITY-SENSOR rows whose *type*
picks the metric, say) replace the table decode with `decoder` and the
simulator's with `encoder`.

Multi-channel equipment lists rows nothing uses (unconfigured channels, idle
inputs); a driver says which column tells (`RowsInUse`), and the decode marks
those rows' readings `in_use=False` for health, alarms and checklists to skip.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fieldagent.model import HealthState, Quality, Reading, Value


class Counter(int):
    """A raw counter value that remembers its width (32 or 64 bits).

    It is an int everywhere; a simulator uses the width to serve it as the
    device would (SNMP Counter32 / Counter64, unsigned, beyond INTEGER's range).
    """

    bits: int

    def __new__(cls, value: int, bits: int = 32) -> Counter:
        counter = super().__new__(cls, value)
        counter.bits = bits
        return counter


@dataclass(frozen=True)
class Malformed:
    """A raw value a device sent that could not be parsed; `detail` says what was wrong.

    Text protocols use it for a garbled, truncated or mismatched reply, so the
    metric reads `invalid` with the reason instead of a guess.
    """

    detail: str


RawValue = int | float | str | bytes | None | Malformed
"""A value as the transport got it; None means the device has no such object."""


class OidValue(str):
    """A raw value that is an OBJECT IDENTIFIER (sysObjectID, say), not text."""


class Gauge(int):
    """A raw SNMP Gauge32 (unsigned 32-bit, does not wrap): an int that is served as one.

    A plain int is served as INTEGER; a replayed walk keeps the type it recorded,
    because some managers read a Gauge32 differently from an INTEGER.
    """


class TimeTicks(int):
    """A raw SNMP TimeTicks (hundredths of a second, unsigned 32-bit), served as one."""


class IpAddress(bytes):
    """A raw SNMP IpAddress: its four octets, served as IpAddress, not as an OCTET STRING.

    Shown as text (`str`, a TEXT reading, a published trap varbind) it is the dotted
    quad a technician knows, never the octets.
    """

    def __str__(self) -> str:
        return ".".join(str(octet) for octet in self)


class Opaque(bytes):
    """A raw SNMP Opaque: BER octets a device wraps, served unchanged as Opaque."""


class Null(bytes):
    """An SNMP NULL a device serves as an object's value (not an absent object, which is None).

    It is a (always empty) bytes only so that it is a `RawValue`.
    """

    def __new__(cls) -> Null:
        return super().__new__(cls, b"")


Objects = Mapping[str, RawValue]
"""What one poll read: `Metric.source_key` (OID, command, ``holding:1024``) -> raw value."""


class Maturity(enum.StrEnum):
    """How far a driver can be trusted at a real station; every driver declares it.

    `check-config` warns about a device whose driver is a `model`: its OIDs,
    commands or registers may not be what the real device serves.
    """

    STABLE = "stable"
    """Built on a published MIB or protocol document, read as it defines the objects."""
    MODEL = "model"
    """Built from a description (a private MIB, a manual's style): check it against the device."""


class AlarmClass(enum.StrEnum):
    """What a metric measures, as far as alarm timing is concerned; every metric declares it.

    It picks the default alarm delay, clear delay of the metric's rules
    (fieldagent/alarms/rules.py): audio loss is confirmed longer than a power
    drop, a temperature clears slower than it rises.
    """

    AUDIO = "audio"
    """Audio loss, modulation."""
    POWER = "power"
    """RF or optical power, VSWR, mains and battery voltage, current, frequency."""
    TEMPERATURE = "temperature"
    """A temperature in °C."""
    STATE = "state"
    """An enum or true/false value judged by its states."""
    RATE = "rate"
    """A counter, judged as its rate per second."""
    OTHER = "other"
    """Any other value."""


class Quantity(enum.StrEnum):
    """The physical quantity a number metric measures, when a driver declares one.

    Declared, never inferred from a key or a unit: dashboards (Home Assistant's
    device classes, `fieldagent/homeassistant/`) show a value by it.  Each quantity
    goes with the units `QUANTITY_UNITS` lists; `quantity_problem` checks the pair.
    """

    POWER = "power"
    VOLTAGE = "voltage"
    CURRENT = "current"
    TEMPERATURE = "temperature"
    FREQUENCY = "frequency"
    BATTERY_CHARGE = "battery_charge"
    """A battery's state of charge, in %."""
    DURATION = "duration"
    SIGNAL_LEVEL = "signal_level"
    """A received signal's level or ratio, in dB or dBm."""


QUANTITY_UNITS: Mapping[Quantity, frozenset[str]] = {
    Quantity.POWER: frozenset({"W", "kW"}),
    Quantity.VOLTAGE: frozenset({"V", "mV"}),
    Quantity.CURRENT: frozenset({"A", "mA"}),
    Quantity.TEMPERATURE: frozenset({"°C"}),
    Quantity.FREQUENCY: frozenset({"Hz", "kHz", "MHz"}),
    Quantity.BATTERY_CHARGE: frozenset({"%"}),
    Quantity.DURATION: frozenset({"s", "min", "h", "d"}),
    Quantity.SIGNAL_LEVEL: frozenset({"dB", "dBm"}),
}
"""The units each quantity may be declared with (the units its dashboards accept)."""


class ValueType(enum.StrEnum):
    NUMBER = "number"
    ENUM = "enum"
    TEXT = "text"
    BOOL = "bool"
    COUNTER = "counter"
    """A wrapping counter; the agent publishes its rate per second between polls."""


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


_ROW_KEY = re.compile(r"^(?P<key>[^\[\]]+)\[(?P<label>[A-Za-z_]+)=(?P<index>[^\]]+)\]$")


def row_key(key: str, label: str, index: str) -> str:
    """The reading key of one table row: ``ird.cn_db[input=2]``."""
    return f"{key}[{label}={index}]"


@dataclass(frozen=True)
class RowsInUse:
    """Which column of a table says whether a row is in use, and which values mean it is.

    Multi-channel equipment lists rows nothing uses: a CMTS the logical upstream
    channels nobody configured (SNR 0), an IRD the inputs with no dish.  Judged as
    they read, they would raise critical alarms for what is not there.  The device
    says so itself (IF-MIB ifAdminStatus, a vendor's enable flag); the driver
    declares where, never the core from names: `column` is the key of a metric of
    `table`, `values` its decoded values (enum labels, true / false) that mean
    "in use".  A row whose column is not read `ok` counts as in use: a row is never
    hidden on a value the agent does not have.
    """

    table: str
    column: str
    values: frozenset[str | bool]

    def unused(self, readings: Iterable[Reading]) -> frozenset[str]:
        """The row indexes of `table` whose column reads a value outside `values`."""
        unused = set()
        for reading in readings:
            parts = split_row_key(reading.key)
            if parts is None or parts[:2] != (self.column, self.table):
                continue
            if reading.quality is Quality.OK and reading.value not in self.values:
                unused.add(parts[2])
        return frozenset(unused)


def split_row_key(key: str) -> tuple[str, str, str] | None:
    """``ird.cn_db[input=2]`` -> ("ird.cn_db", "input", "2"); None for a scalar key."""
    match = _ROW_KEY.match(key)
    return (match["key"], match["label"], match["index"]) if match else None


def _row_of(key: str) -> tuple[str, str] | None:
    """(table, index) of a row key; None for a scalar key."""
    parts = split_row_key(key)
    return (parts[1], parts[2]) if parts else None


def base_key(key: str) -> str:
    """The metric key of a reading key: ``ird.cn_db[input=2]`` -> "ird.cn_db"."""
    parts = split_row_key(key)
    return parts[0] if parts else key


class RegisterKind(enum.StrEnum):
    """The Modbus data table a value lives in (its read function)."""

    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE = "discrete"


class RegisterType(enum.StrEnum):
    U16 = "u16"
    S16 = "s16"
    U32 = "u32"
    S32 = "s32"
    FLOAT32 = "float32"
    BIT = "bit"


class WordOrder(enum.StrEnum):
    """Which 16-bit word of a 32-bit value comes first (devices disagree)."""

    BIG = "big"
    LITTLE = "little"


@dataclass(frozen=True)
class Register:
    """Where a Modbus value is: table, 0-based address, type and word order."""

    kind: RegisterKind
    address: int
    type: RegisterType = RegisterType.U16
    word_order: WordOrder = WordOrder.BIG

    @property
    def count(self) -> int:
        """How many registers (or bits) the value spans."""
        return 2 if self.type in (RegisterType.U32, RegisterType.S32, RegisterType.FLOAT32) else 1


Source = str | Register
"""Where a metric is read; its form is the driver's protocol's (see `SOURCE_FORMS`)."""

_SOURCE_FORMS: Mapping[str, tuple[re.Pattern[str] | None, str]] = {
    "snmp": (re.compile(r"[0-2](\.\d+)+"), "a dotted numeric OID (1.3.6.1...)"),
    "ascii": (re.compile(r"[!-~]+"), "a command: printable ASCII without spaces"),
    "modbus": (None, "a Register (table, address, type)"),
    "local": (re.compile(r"[a-z][a-z0-9_:]*"), "a reader key (lower-case name)"),
}
"""Per protocol: the pattern of a text source (None: a `Register`), and its form in words."""


def source_problem(protocol: str, source: Source) -> str | None:
    """Why `source` is not a source of `protocol`, or None when it is one."""
    if protocol not in _SOURCE_FORMS:
        return f"unknown protocol {protocol!r} (known: {', '.join(_SOURCE_FORMS)})"
    pattern, form = _SOURCE_FORMS[protocol]
    if pattern is None:
        fits = isinstance(source, Register)
    elif isinstance(source, str):
        # An ASCII command is sent as "CMD?" and answered "CMD=value": neither may be in it.
        fits = pattern.fullmatch(source) is not None and not {"?", "="} & set(source)
    else:
        fits = False
    return None if fits else f"{protocol} source must be {form}, not {source!r}"


def quantity_problem(value_type: ValueType, unit: str, quantity: Quantity | None) -> str | None:
    """Why `quantity` cannot be declared for a metric of this type and unit, or None."""
    if quantity is None:
        return None
    if value_type is not ValueType.NUMBER:
        return f"a {value_type} metric has no quantity (only numbers have one)"
    units = QUANTITY_UNITS[quantity]
    if unit not in units:
        return f"quantity {quantity} goes with {', '.join(sorted(units))}, not {unit!r}"
    return None


def deadband_problem(value_type: ValueType, deadband: float | None) -> str | None:
    """Why `deadband` cannot be a metric's report deadband, or None when it can.

    Only a number has a distance to move: a counter's rate, an enum, a truth
    value or a text is reported on any change.
    """
    if deadband is None:
        return None
    if value_type is not ValueType.NUMBER:
        return f"a {value_type} metric has no deadband (any change is reported)"
    if not math.isfinite(deadband) or deadband < 0:
        return f"deadband must be a finite number >= 0, not {deadband!r}"
    return None


class LineFault(enum.StrEnum):
    """Faults of a serial line a simulator can play (beyond not answering at all)."""

    SLOW_REPLY = "slow_reply"
    GARBAGE = "garbage"
    CRC_ERROR = "crc_error"
    UNPLUG = "unplug"


@dataclass(frozen=True)
class Metric:
    """One row of a driver's metric table.

    Engineering value = raw * scale / divisor, rounded to `decimals` (derived
    from scale and divisor when not given).  `valid` is the range a sane
    device can report; outside it the reading is `invalid`.  `sentinels` are
    raw values a device uses to say "not available" (e.g. -1).  `states` maps
    enum labels (or booleans) to the state they put the device in.
    `row_sources` (for a `table` metric only) maps each row index to the object
    that serves it, when the device has no column to walk but one scalar per row
    (``{"1": <exciter A's OID>, "2": <exciter B's OID>}``); `source` then names the
    group they live in, and a row whose object the device does not serve is not
    read.  `alarm_class` (keyword only, no default) picks the alarm delays.
    `deadband` (a number's only) is how far, in the metric's unit, its value must
    move from the last one published before compact telemetry reports it again
    (`fieldagent.report_by_exception`); None reports any change, as for counters, enums
    and text.  It is not the alarm deadband around a limit (`alarms/rules.py`).
    """

    key: str
    unit: str
    source: Source
    title: str
    type: ValueType = ValueType.NUMBER
    scale: float = 1.0
    divisor: float = 1.0
    decimals: int | None = None
    enum: Mapping[int, str] = field(default_factory=dict)
    valid: tuple[float | None, float | None] = (None, None)
    limits: Limits = Limits()
    states: Mapping[str | bool, HealthState] = field(default_factory=dict)
    sentinels: frozenset[int] = frozenset()
    table: str | None = None
    counter_bits: int = 32
    row_sources: Mapping[str, str] = field(default_factory=dict)
    alarm_class: AlarmClass = field(kw_only=True)
    title_vi: str | None = field(default=None, kw_only=True)
    """The title in Vietnamese, for alarm messages; the shipped drivers' are in
    fieldagent/alarms/messages.py (`TITLES_VI`), a profile gives its own."""
    deadband: float | None = field(default=None, kw_only=True)
    """Report-by-exception deadband, absolute, in `unit` (numbers only; None: any change)."""
    dashboard: bool = field(default=False, kw_only=True)
    """One of the device's main values (forward power, battery charge, fuel): what a
    dashboard shows of it (Home Assistant discovery).  Scalars only: a table's rows
    are not known before the device is read."""
    quantity: Quantity | None = field(default=None, kw_only=True)
    """What the number measures, when declared (see `Quantity`)."""

    @property
    def is_column(self) -> bool:
        return self.table is not None

    @property
    def source_key(self) -> str:
        """The source as a poll's objects are keyed: the OID, command or reader key as it
        is, a register as ``holding:1024``."""
        if isinstance(self.source, Register):
            return f"{self.source.kind}:{self.source.address}"
        return self.source

    @property
    def register(self) -> Register | None:
        """The Modbus register of a Modbus metric."""
        return self.source if isinstance(self.source, Register) else None

    def decode(self, raw: RawValue, ts: datetime, key: str | None = None) -> Reading:
        """Turn a transport value into a reading; never raises on device input."""
        key = key or self.key
        if raw is None:
            return self._reading(key, None, Quality.MISSING, ts, "device has no such object")
        if isinstance(raw, Malformed):
            return self._reading(key, None, Quality.INVALID, ts, raw.detail)
        if self.type is ValueType.TEXT:
            return self._reading(key, _as_text(raw), Quality.OK, ts)
        if self.type is ValueType.ENUM and isinstance(raw, str | bytes):
            return self._enum_from_text(key, _as_text(raw), ts)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            detail = f"expected a number, got {raw!r:.60}"
            return self._reading(key, None, Quality.INVALID, ts, detail)
        if isinstance(raw, int) and raw in self.sentinels:
            return self._reading(key, None, Quality.MISSING, ts, f"device sentinel {raw}")
        if self.type is ValueType.ENUM:
            label = self.enum.get(int(raw))
            if label is None:
                return self._reading(key, None, Quality.INVALID, ts, f"unknown enum value {raw}")
            return self._reading(key, label, Quality.OK, ts)
        if self.type is ValueType.BOOL:
            if raw not in (0, 1, 2):
                return self._reading(key, None, Quality.INVALID, ts, f"not a truth value: {raw}")
            return self._reading(key, raw == 1, Quality.OK, ts)  # 1 true; 0 or 2 (TruthValue) false
        if self.type is ValueType.COUNTER:
            if not isinstance(raw, int) or not 0 <= raw < (1 << self.counter_bits):
                detail = f"not a {self.counter_bits}-bit counter: {raw}"
                return self._reading(key, None, Quality.INVALID, ts, detail)
            return self._reading(key, raw, Quality.OK, ts)
        value = self.scaled(raw)
        if not self.in_range(value):
            detail = f"{value:g} outside the valid range {self._range_text()}"
            return self._reading(key, None, Quality.INVALID, ts, detail)
        return self._reading(key, value, Quality.OK, ts)

    def _enum_from_text(self, key: str, text: str, ts: datetime) -> Reading:
        """Text protocols answer an enum by its name ("remote", "open")."""
        for label in self.enum.values():
            if label.lower() == text.lower():
                return self._reading(key, label, Quality.OK, ts)
        return self._reading(key, None, Quality.INVALID, ts, f"unknown enum value {text!r:.40}")

    def scaled(self, raw: int | float) -> float | int:
        if self.scale == 1 and self.divisor == 1:
            return raw
        value = raw * self.scale / self.divisor
        return round(value, self.precision)

    @property
    def precision(self) -> int:
        """Decimal places of the engineering value."""
        if self.decimals is not None:
            return self.decimals
        # 0.1 -> 1 place, divisor 1000 -> 3 places: no binary noise like 230.10000000000002.
        return _places(self.scale) + max(0, math.ceil(math.log10(self.divisor)))

    def in_range(self, value: float) -> bool:
        low, high = self.valid
        if not math.isfinite(value):
            return False
        return (low is None or value >= low) and (high is None or value <= high)

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
        if self.type is ValueType.BOOL:
            if not isinstance(value, bool):
                raise ValueError(f"{self.key}: expected true or false, got {value!r}")
            return 1 if value else 2
        if isinstance(value, str | bool):
            raise ValueError(f"{self.key}: expected a number, got {value!r}")
        if self.type is ValueType.COUNTER:
            return Counter(int(value) % (1 << self.counter_bits), self.counter_bits)
        encoded: int = round(float(value) * self.divisor / self.scale)
        return encoded

    def bad_state(self, reading: Reading) -> tuple[HealthState, float | None]:
        """The state a good reading puts this metric in, and the limit it broke."""
        if reading.quality is not Quality.OK or reading.value is None:
            return HealthState.OK, None
        if isinstance(reading.value, str | bool):
            return self.states.get(reading.value, HealthState.OK), None
        return self.limits.evaluate(float(reading.value))

    def _range_text(self) -> str:
        low, high = self.valid
        return f"[{'' if low is None else f'{low:g}'}, {'' if high is None else f'{high:g}'}]"

    def _reading(
        self, key: str, value: Value, quality: Quality, ts: datetime, detail: str = ""
    ) -> Reading:
        return Reading(key, value, self.unit, quality, ts, detail)


def _places(number: float) -> int:
    exponent = Decimal(repr(number)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _as_text(raw: RawValue) -> str:
    if isinstance(raw, IpAddress):
        return str(raw)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace").strip("\x00").strip()
    return str(raw).strip()


Fixup = Callable[[dict[str, Reading]], None]
"""A driver hook that corrects known device quirks across the readings of one poll."""

Decoder = Callable[["Driver", Objects, datetime], list[Reading]]
"""Replaces the table decode for drivers whose rows a column cannot describe."""

Encoder = Callable[["Driver", Mapping[str, Value]], dict[str, RawValue]]
"""The simulator's side of a `Decoder`: values by reading key -> objects by OID."""


@dataclass(frozen=True)
class LocalContext:
    """What a `local` driver may read: the state directory, and the filesystem root
    (so /proc and /sys can be a prepared tree in tests)."""

    state_dir: Path
    root: Path = Path("/")


LocalReaderFn = Callable[[LocalContext], dict[str, RawValue]]
"""A `local` driver's reader: reader key -> raw value, for the keys of its metrics' `source`."""

ScenarioStep = Callable[[MutableMapping[str, Value], Mapping[str, Value], float], None]
"""Moves simulated values along.

Called with the live values, a snapshot of them when the scenario began, and
the seconds since then, so a step is a pure function of time (repeatable).
"""


@dataclass(frozen=True)
class Expect:
    """What a scenario must do to the readings, checked by the conformance suite.

    `values`: reading key -> expected value.
    `health`: the device state the scenario leads to (after `after_s` of scenario time).
    """

    health: HealthState | None = None
    values: Mapping[str, Value] = field(default_factory=dict)
    after_s: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """A named simulator condition; `silent` devices do not answer at all."""

    name: str
    description: str
    step: ScenarioStep | None = None
    silent: bool = False
    expect: Expect = Expect()
    line_fault: LineFault | None = None


@dataclass(frozen=True)
class SimModel:
    """How a driver's simulator starts, what faults it can play, how its values wander.

    `initial` is keyed by reading key (row keys for table metrics); `noise`
    by metric key: the amplitude of a slow, deterministic wobble added when
    the simulator is asked for live-looking values.
    """

    initial: Mapping[str, Value]
    scenarios: Mapping[str, Scenario]
    extra_objects: Mapping[str, RawValue] = field(default_factory=dict)
    noise: Mapping[str, float] = field(default_factory=dict)
    encoder: Encoder | None = None


@dataclass(frozen=True)
class Identity:
    """How `fieldagent identify` recognises the device family.

    `sys_object_ids`: sysObjectID prefixes of the vendor's products.
    `probe_oid`: a subtree only this family serves (a standard MIB's table,
    say); a device matches when one GETNEXT at it returns an OID inside it.
    """

    sys_object_ids: tuple[str, ...] = ()
    probe_oid: str | None = None


class TrapAction(enum.StrEnum):
    """What a known trap does to its alarm."""

    RAISE = "raise"
    CLEAR = "clear"


@dataclass(frozen=True)
class TrapRule:
    """One row of a driver's trap map: a known trap that raises or clears an alarm.

    `trap_oid` is the notification's OID in SMIv2 form (snmpTrapOID.0); a v1
    trap of the same notification (enterprise, specific-trap) matches it too.
    `alarm` names the alarm (``ups.on_battery``); `severity` is the state it
    puts the device in when raised (OK for a clear).  `value_oid` names the
    varbind that carries the alarm's value, `instance_oid` the varbind whose
    value tells alarms of the same name apart (the alarmed object's OID, say).
    Both name the object: a varbind matches it with or without an instance
    suffix.  `when` narrows the rule to traps whose varbinds have one of the
    given values (all conditions must hold), so one notification can raise or
    clear depending on a state it carries; a missing varbind fails the condition.

    `cleared_by` is the reading key whose return to normal (no limit broken,
    no state mapped to warning or critical) proves the alarm's cause over:
    traps are UDP and get lost, so polls that show it normal for that
    reading's clear delay clear an alarm a trap raised.  None when no reading
    tells (only a clearing trap clears the alarm).  When it is the alarm's own
    key (a flag the driver also reads), the trap sets that reading's own
    `state` condition and the readings carry on from there.  Every rule of one
    alarm names the same reading (`Driver.trap_cleared_by`).
    """

    trap_oid: str
    alarm: str
    action: TrapAction
    severity: HealthState
    message_vi: str
    message_en: str
    value_oid: str | None = None
    instance_oid: str | None = None
    when: Mapping[str, frozenset[int | str]] = field(default_factory=dict)
    cleared_by: str | None = None

    def matches(self, varbinds: Mapping[str, RawValue]) -> bool:
        """Whether a trap with these varbinds (its OID already matched) meets `when`."""
        for object_oid, values in self.when.items():
            value = find_varbind(varbinds, object_oid)
            if isinstance(value, bytes):
                value = _as_text(value)
            if value is None or value not in values:
                return False
        return True


def find_varbind(varbinds: Mapping[str, RawValue], object_oid: str) -> RawValue:
    """The value of the varbind for an object, with or without an instance suffix."""
    if object_oid in varbinds:
        return varbinds[object_oid]
    prefix = object_oid + "."
    return next((v for oid, v in varbinds.items() if oid.startswith(prefix)), None)


@dataclass(frozen=True)
class Driver:
    """A device family: identity, metric table, quirk hooks and simulator model.

    `maturity` (keyword only, no default) says whether it is built on a
    published MIB or is a model of one.
    """

    name: str
    title: str
    kind: str
    protocol: str
    metrics: tuple[Metric, ...]
    simulator: SimModel
    maturity: Maturity = field(kw_only=True)
    fixup: Fixup | None = None
    decoder: Decoder | None = None
    walk_roots: tuple[str, ...] = ()
    identity: Identity = Identity()
    local_reader: LocalReaderFn | None = None
    default_port: int = 161
    description: str = ""
    sample_config: str = ""
    traps: tuple[TrapRule, ...] = ()
    rows_in_use: tuple[RowsInUse, ...] = ()

    def __post_init__(self) -> None:
        problems = [
            f"{metric.key}: {problem}"
            for metric in self.metrics
            for source in (metric.source, *metric.row_sources.values())
            if (problem := source_problem(self.protocol, source)) is not None
        ]
        problems += [
            f"{metric.key}: row_sources need a table"
            for metric in self.metrics
            if metric.row_sources and metric.table is None
        ]
        problems += [
            f"{metric.key}: {problem}"
            for metric in self.metrics
            if (problem := deadband_problem(metric.type, metric.deadband)) is not None
        ]
        problems += [
            f"{metric.key}: {problem}"
            for metric in self.metrics
            if (problem := quantity_problem(metric.type, metric.unit, metric.quantity)) is not None
        ]
        problems += [
            f"{metric.key}: a dashboard metric must be a scalar, not a table column"
            for metric in self.metrics
            if metric.dashboard and metric.table is not None
        ]
        if problems:
            raise ValueError(f"driver {self.name}: " + "; ".join(problems))

    def with_scaling(self, multipliers: Mapping[str, float]) -> Driver:
        """This driver with some metrics' scale multiplied: a card that misreports scale.

        Some UPS cards send charge in tenths of a percent; the station file
        says so per device (`[device.scaling]`) instead of a driver per card.
        """
        if not multipliers:
            return self
        metrics = tuple(
            replace(m, scale=m.scale * multipliers[m.key]) if m.key in multipliers else m
            for m in self.metrics
        )
        return replace(self, metrics=metrics)

    def metric(self, key: str) -> Metric:
        """The metric of a reading key (scalar or row key)."""
        parts = split_row_key(key)
        base = parts[0] if parts else key
        for metric in self.metrics:
            if metric.key == base and (parts is None) == (metric.table is None):
                return metric
        raise KeyError(f"driver {self.name} has no metric {key!r}")

    def trap_cleared_by(self, alarm: str) -> str | None:
        """The reading that proves a trap alarm's cause over (`TrapRule.cleared_by`), if any.

        `alarm` is the alarm's key, with or without its instance (``hms.alarm[oid=...]``).
        """
        name = base_key(alarm)
        return next((rule.cleared_by for rule in self.traps if rule.alarm == name), None)

    def scalar_oids(self) -> dict[str, str]:
        """OID -> reading key of every scalar metric and of every row served as a scalar
        (`Metric.row_sources`): what one GET asks for."""
        oids = {m.source_key: m.key for m in self.metrics if not m.is_column}
        for metric in self.metrics:
            for index, source in metric.row_sources.items():
                oids[source] = row_key(metric.key, str(metric.table), index)
        return oids

    def walks(self) -> tuple[str, ...]:
        """Every subtree a poll walks: table columns and the decoder's roots."""
        columns = (
            ()
            if self.decoder
            else tuple(m.source_key for m in self.metrics if m.is_column and not m.row_sources)
        )
        return tuple(dict.fromkeys(columns + self.walk_roots))

    def oid_of(self, key: str) -> str:
        """The OID that serves a reading key (row keys add the row index, or name the row's
        own object: `Metric.row_sources`)."""
        metric = self.metric(key)
        parts = split_row_key(key)
        if parts is None:
            return metric.source_key
        if metric.row_sources:
            source = metric.row_sources.get(parts[2])
            if source is None:
                raise KeyError(f"driver {self.name}: {metric.key} has no row {parts[2]!r}")
            return source
        return f"{metric.source_key}.{parts[2]}"

    def decode(self, objects: Objects, ts: datetime) -> tuple[Reading, ...]:
        """Decode one poll's objects (by OID) and apply the quirk hook."""
        if self.decoder is not None:
            decoded = self.decoder(self, objects, ts)
        else:
            decoded = [r for m in self.metrics for r in self._decode_metric(m, objects, ts)]
        readings = {r.key: r for r in decoded}
        if self.fixup is not None:
            self.fixup(readings)
        return self.mark_rows_in_use(readings.values())

    def mark_rows_in_use(self, readings: Iterable[Reading]) -> tuple[Reading, ...]:
        """The readings, those of rows the device says are not in use marked `in_use=False`."""
        readings = tuple(readings)
        unused = {
            (declared.table, index)
            for declared in self.rows_in_use
            for index in declared.unused(readings)
        }
        if not unused:
            return readings
        return tuple(
            replace(reading, in_use=False) if _row_of(reading.key) in unused else reading
            for reading in readings
        )

    def encode(self, values: Mapping[str, Value]) -> dict[str, RawValue]:
        """Values by reading key -> raw objects by OID, as the device would serve them."""
        if self.simulator.encoder is not None:
            return self.simulator.encoder(self, values)
        return {self.oid_of(key): self.metric(key).encode(value) for key, value in values.items()}

    def _decode_metric(self, metric: Metric, objects: Objects, ts: datetime) -> list[Reading]:
        if not metric.is_column:
            return [metric.decode(objects.get(metric.source_key), ts)]
        assert metric.table is not None
        if metric.row_sources:  # a row whose object the device does not serve is not a row
            return [
                metric.decode(raw, ts, row_key(metric.key, metric.table, index))
                for index, source in metric.row_sources.items()
                if (raw := objects.get(source)) is not None
            ]
        prefix = metric.source_key + "."
        return [
            metric.decode(raw, ts, row_key(metric.key, metric.table, oid[len(prefix) :]))
            for oid, raw in objects.items()
            if oid.startswith(prefix)
        ]
