"""What a profile file may say: pydantic models of its TOML tables.

A profile declares what a data-only driver module declares: identity,
metrics, rows in use, a trap map and the simulator's model.  Keys are checked
here (types, patterns, unknown keys); how the parts fit together (a state
names an enum label, a scenario sets a metric the profile has) is checked
when the profile is built (`build.py`), so every problem is reported at once.

The TOML layout, one table per concept::

    [profile]            name, title, kind, protocol, maturity, description,
                         default_port, sample_config, mibs
    [identity]           sys_object_ids, probe
    [[metric]]           key, title, title_vi, source, unit, type, scale, divisor,
                         decimals, enum, valid_min, valid_max, limits, states,
                         sentinels, table, row_sources, counter_bits, alarm_class,
                         deadband, dashboard, quantity, register_type, word_order (Modbus)
    [[rows_in_use]]      table, column, values
    [[trap]]             oid, alarm, action, severity, message_vi, message_en,
                         value_oid, instance_oid, when, cleared_by
    [simulator]          initial, noise, objects
    [[simulator.scenario]]  name, description, silent, line_fault,
                         set, add, ramp, expect
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fieldagent.driver import (
    AlarmClass,
    LineFault,
    Maturity,
    Quantity,
    RegisterType,
    TrapAction,
    ValueType,
    WordOrder,
)
from fieldagent.model import HealthState

DriverName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
"""A driver's name as station files write it: lower case, digits, underscores."""

MetricKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
"""A metric key of the shared vocabulary (``rf.forward_w``, ``offair.rssi_dbuv``)."""

TableLabel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]{1,32}$")]
"""The row label of a table metric's reading keys (``ird.cn_db[input=2]``)."""

NumericOid = Annotated[str, StringConstraints(pattern=r"^[0-2](\.\d+)+$")]

ObjectName = Annotated[
    str,
    StringConstraints(pattern=r"^([0-2](\.\d+)+|[A-Za-z][A-Za-z0-9-]*::[A-Za-z][\w-]*(\.\d+)*)$"),
]
"""An SNMP object: a dotted OID, or ``MIB-NAME::object`` (with an instance suffix)
when the profile lists the MIB files (`[profile] mibs`)."""

SimValue = str | bool | int | float
"""A simulated value in engineering units, as TOML writes it."""


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Header(Strict):
    """`[profile]`: who the driver is."""

    name: DriverName
    title: str = Field(min_length=1, max_length=200)
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    protocol: Literal["snmp", "ascii", "modbus"]
    maturity: Maturity
    description: str = Field(default="", max_length=2000)
    default_port: int = Field(default=161, ge=1, le=65535)
    sample_config: str = Field(default="", max_length=4000)
    mibs: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list, max_length=32
    )
    """MIB files (relative to the profile) whose object names `source`, `oid` and the
    identity may use instead of numbers."""


class IdentitySection(Strict):
    """`[identity]`: how `fieldagent identify` recognises the device."""

    sys_object_ids: list[ObjectName] = Field(default_factory=list, max_length=64)
    probe: ObjectName | None = None


class LimitsSection(Strict):
    warn_low: float | None = None
    crit_low: float | None = None
    warn_high: float | None = None
    crit_high: float | None = None


class MetricSection(Strict):
    """`[[metric]]`: one row of the metric table (see `fieldagent.driver.Metric`)."""

    key: MetricKey
    title: str = Field(min_length=1, max_length=200)
    title_vi: str | None = Field(default=None, min_length=1, max_length=200)
    """The title in Vietnamese, for alarm messages (else the English one)."""
    source: str = Field(min_length=1, max_length=200)
    """Where it is read, in the protocol's form: an OID or ``MIB::name`` (snmp), a
    command (ascii), ``holding:1024`` / ``input:`` / ``coil:`` / ``discrete:`` (modbus)."""
    alarm_class: AlarmClass
    unit: str = Field(default="", max_length=16)
    type: ValueType = ValueType.NUMBER
    scale: float = 1.0
    divisor: float = Field(default=1.0, gt=0)
    decimals: int | None = Field(default=None, ge=0, le=9)
    enum: dict[str, str] = Field(default_factory=dict)
    """Raw integer (written as a TOML key, ``"1" = "locked"``) -> label."""
    valid_min: float | None = None
    valid_max: float | None = None
    limits: LimitsSection | None = None
    states: dict[str, HealthState] = Field(default_factory=dict)
    """Enum label (or ``true`` / ``false`` for a bool) -> the state it puts the device in."""
    sentinels: list[int] = Field(default_factory=list, max_length=64)
    table: TableLabel | None = None
    row_sources: dict[Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)*$")], ObjectName] = (
        Field(default_factory=dict)
    )
    """Row index -> the object serving that row, for a device with one scalar per row
    (exciter A and B) instead of a column: read by GET (SNMP only)."""
    counter_bits: Literal[32, 64] = 32
    deadband: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """How far a number moves, in its unit, before compact telemetry reports it again
    (None: any change)."""
    dashboard: bool = False
    """One of the device's main values, shown on dashboards (Home Assistant discovery)."""
    quantity: Quantity | None = None
    """What the number measures (power, voltage, temperature, ...), when it is one of them."""
    register_type: RegisterType | None = None
    word_order: WordOrder | None = None


class RowsInUseSection(Strict):
    """`[[rows_in_use]]`: which column of a table says a row is in use (`RowsInUse`)."""

    table: TableLabel
    column: MetricKey
    values: list[str | bool] = Field(min_length=1)


class TrapSection(Strict):
    """`[[trap]]`: one rule of the trap map (see `fieldagent.driver.TrapRule`)."""

    oid: ObjectName
    alarm: MetricKey
    action: TrapAction
    severity: HealthState
    message_vi: str = Field(min_length=1, max_length=200)
    message_en: str = Field(min_length=1, max_length=200)
    value_oid: ObjectName | None = None
    instance_oid: ObjectName | None = None
    when: dict[str, list[int | str]] = Field(default_factory=dict)
    """Varbind object (OID or name) -> the values that make the rule apply."""
    cleared_by: str | None = None


class ExpectSection(Strict):
    health: HealthState | None = None
    values: dict[str, SimValue] = Field(default_factory=dict)
    after_s: float = Field(default=0.0, ge=0)


class RampSection(Strict):
    """A value moving in a straight line from where it was to `to` over `over_s` seconds."""

    to: float
    over_s: float = Field(gt=0)


class ScenarioSection(Strict):
    """`[[simulator.scenario]]`: a named condition, said as data.

    `set` holds values from the start; `add` adds to the value the scenario
    started from (one more switch-over); `ramp` moves a number along a straight
    line and holds it there.
    """

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    description: str = Field(min_length=1, max_length=300)
    silent: bool = False
    line_fault: LineFault | None = None
    set: dict[str, SimValue] = Field(default_factory=dict)
    add: dict[str, float] = Field(default_factory=dict)
    ramp: dict[str, RampSection] = Field(default_factory=dict)
    expect: ExpectSection = ExpectSection()


class OidObject(Strict):
    """An extra object whose value is an OBJECT IDENTIFIER (sysObjectID, say)."""

    oid: NumericOid


class SimulatorSection(Strict):
    """`[simulator]`: the simulated device's values, wobble, extra objects and scenarios."""

    initial: dict[str, SimValue] = Field(default_factory=dict)
    """Reading key (row keys for table metrics) -> starting value."""
    noise: dict[str, float] = Field(default_factory=dict)
    objects: dict[NumericOid, str | int | OidObject] = Field(default_factory=dict)
    """Objects served besides the metrics (sysDescr, sysObjectID, a version)."""
    scenario: list[ScenarioSection] = Field(default_factory=list)


class ProfileFile(Strict):
    """A whole profile file."""

    profile: Header
    identity: IdentitySection = IdentitySection()
    metric: list[MetricSection] = Field(min_length=1, max_length=2000)
    rows_in_use: list[RowsInUseSection] = Field(default_factory=list)
    trap: list[TrapSection] = Field(default_factory=list, max_length=500)
    simulator: SimulatorSection = SimulatorSection()
