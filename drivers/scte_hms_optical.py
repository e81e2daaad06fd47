"""Headend optics, SCTE HMS MIBs (SCTE 38 series), enterprise 1.3.6.1.4.1.5591.1.

Covers 1550 nm headend optical transmitters and EDFAs whose SNMP agent
implements the SCTE HMS headend MIBs (common at cable-TV headends; SCTE HMS
MIBs are public standards, not a vendor's private MIB).  A box that is only a
transmitter or only an EDFA simply has no rows in the other tables.  Every
table here is indexed by ENTITY-MIB entPhysicalIndex, so one agent can report
several cards.  Objects read (all standard):

- SCTE-HMS-HE-COMMON-MIB heCommonTemperature, ...5591.1.11.2.1.1.1.1.1.1.2
  .{entPhysicalIndex} (0.1 °C): `module.temperature_c[module=<entPhysicalIndex>]`.
  It is a column of heCommonTable, not a scalar: there is no .0 instance.
- SCTE-HMS-HE-OPTICAL-TRANSMITTER-MIB heOpTxLaserEntry, ...5591.1.11.1.1.1.1.3.1
  .{column}.{entPhysicalIndex}.{heOpTxLaserIndex}: 2 temperature (0.1 °C),
  3 bias current (mA), 4 output power (0.1 dBm), 5 TEC current (mA), 6 laser
  type (text), 7 wavelength (0.01 nm), 8 output status.  Rows are
  `...[laser=<entPhysicalIndex>.<laserIndex>]`.
- SCTE-HMS-HE-OPTICAL-AMPLIFIER-MIB heOpAmpInputPower ...5591.1.11.1.3.1.1.2.1.2
  and heOpAmpOutputPower ...5591.1.11.1.3.1.1.4.1.4 (0.1 dBm), rows
  `edfa.input_dbm[input=<entPhysicalIndex>.<port>]`, `edfa.output_dbm[output=...]`.
- SCTE-HMS-PROPERTY-MIB currentAlarmTable, ...5591.1.1.2.1: one row per alarm
  that is active now, indexed by the alarmed object's OID (an OBJECT
  IDENTIFIER index: its length, then its sub-identifiers); column 2
  currentAlarmAlarmState (2 HIHI, 3 HI, 4 LO, 5 LOLO, 6 discreteMajor,
  7 discreteMinor; there is no "nominal": a cleared alarm's row is gone),
  column 3 currentAlarmAlarmValue (the alarmed object's raw value).

Alarm model: the decoder turns the alarm table into two readings,
`hms.alarms.active` (how many rows; WARNING above 0, so an alarm raised by the
device's own thresholds shows even where this driver's limits do not reach)
and `hms.alarms.text` (each alarm as "<reading key> <state> (<value>)" when the
OID is one this driver reads, else "<oid> <state> (raw <value>)").  Both are
derived: their metric OID is the currentAlarmAlarmState column they are
counted from.  A garbled row (a state that is not a number, or not 2..7) makes
both `invalid` rather than a wrong count.  Per-alarm readings are not
published: their keys would come and go with the alarms.

Quirk handled: HeOnOffStatus is off(1) / on(2), not a TruthValue, so the
laser status is an enum (a boolean would read "off" as true).

Simulator: a headend shelf with a controller (entPhysicalIndex 1), a 1550 nm
transmitter card (2, laser 2.1) and a dual-output EDFA card (3, input 3.1,
outputs 3.1 and 3.2).  Like a real HMS agent it raises a current-alarm row
for every monitored value beyond its thresholds; the simulated device's
thresholds are this driver's default limits (LO/LOLO = warning/critical low,
HI/HIHI = high).  It leaves out currentAlarmOID (column 1, an OBJECT
IDENTIFIER the simulator cannot serve; the row index carries the same OID)
and currentAlarmLogTime.  The `hms.alarms.*` values of the simulator are
placeholders: what a poll reads is counted from the served alarm rows.

Traps (see `TRAPS`): SCTE-HMS-HE-COMMON-MIB heCommonAlarmEvent,
1.3.6.1.4.1.5591.1.0.5, sent when an alarm of the box is raised or cleared.
Its varbinds are columns of heCommonLogEntry, ...5591.1.11.2.1.1.1.2.3.1
.{column}.{heCommonLogIndex}: 2 heCommonLogOID (the alarmed object), 3
heCommonLogValue (its value), 4 heCommonLogState (1 nominal, 2 HIHI, 3 HI,
4 LO, 5 LOLO, 6 discreteMajor, 7 discreteMinor, 8 informational), 5
heCommonLogTime, 7 heCommonLogModuleIdOID, 8 heCommonLogCardType, 9
heCommonLogAlias.  The state picks the rule: HIHI, LOLO and discreteMajor
raise `hms.alarm` as critical, HI, LO and discreteMinor as warning, nominal
clears it; one alarm per alarmed object (`instance_oid` heCommonLogOID), as
in currentAlarmTable.  An informational event matches no rule: it arrives as
an unknown trap with its varbinds.  A lost "nominal" event is made good by
the polls (`cleared_by`): once currentAlarmTable has been empty
(`hms.alarms.active` 0) for its clear delay, every alarm a trap raised clears;
while another object is in alarm, a trap-raised alarm waits for its own
"nominal" event.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime

from drivers._snmp_tables import column_rows, in_subtree, index_order
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Identity,
    Limits,
    Maturity,
    Metric,
    Objects,
    RawValue,
    Scenario,
    SimModel,
    TrapAction,
    TrapRule,
    ValueType,
    row_key,
)
from fieldagent.model import HealthState, Quality, Reading, Value

_HMS = "1.3.6.1.4.1.5591.1"
_HE_OPTICS = f"{_HMS}.11.1"
_MODULE_TEMPERATURE = f"{_HMS}.11.2.1.1.1.1.1.1.2"
"""heCommonTemperature (heCommonEntry column 2), index entPhysicalIndex."""
_LASER = f"{_HE_OPTICS}.1.1.1.3.1"
"""heOpTxLaserEntry, index entPhysicalIndex.heOpTxLaserIndex."""
_AMP_INPUT_POWER = f"{_HE_OPTICS}.3.1.1.2.1.2"
_AMP_OUTPUT_POWER = f"{_HE_OPTICS}.3.1.1.4.1.4"
CURRENT_ALARM = f"{_HMS}.1.2.1"
"""currentAlarmEntry, index = the alarmed object's OID (length-prefixed)."""
ALARM_STATE_COLUMN = f"{CURRENT_ALARM}.2"
ALARM_VALUE_COLUMN = f"{CURRENT_ALARM}.3"

ALARM_STATES = {2: "HIHI", 3: "HI", 4: "LO", 5: "LOLO", 6: "discreteMajor", 7: "discreteMinor"}
ON_OFF = {1: "off", 2: "on"}
"""HeOnOffStatus."""

LASER = "laser"

METRICS = (
    Metric(
        "module.temperature_c",
        "°C",
        _MODULE_TEMPERATURE,
        "Module temperature (heCommonTemperature)",
        scale=0.1,
        valid=(-40, 125),
        limits=Limits(warn_high=40, crit_high=50),
        table="module",
        deadband=1.0,
        alarm_class=AlarmClass.TEMPERATURE,
    ),
    Metric(
        "optical.output_dbm",
        "dBm",
        f"{_LASER}.4",
        "Laser optical output power",
        scale=0.1,
        valid=(-40, 30),
        limits=Limits(warn_low=5, crit_low=3),
        table=LASER,
        deadband=0.2,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        "optical.laser_bias_ma",
        "mA",
        f"{_LASER}.3",
        "Laser bias current",
        valid=(0, 1000),
        limits=Limits(warn_high=90, crit_high=110),
        table=LASER,
        deadband=2.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "optical.laser_temperature_c",
        "°C",
        f"{_LASER}.2",
        "Laser temperature",
        scale=0.1,
        valid=(-25, 100),
        limits=Limits(warn_high=35, crit_high=45),
        table=LASER,
        deadband=0.2,
        alarm_class=AlarmClass.TEMPERATURE,
    ),
    Metric(
        "optical.tec_current_ma",
        "mA",
        f"{_LASER}.5",
        "Laser TEC current",
        valid=(-5000, 5000),
        table=LASER,
        deadband=15.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "optical.wavelength_nm",
        "nm",
        f"{_LASER}.7",
        "Laser wavelength",
        scale=0.01,
        valid=(1200, 1700),
        table=LASER,
        deadband=0.1,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "optical.laser_type",
        "",
        f"{_LASER}.6",
        "Laser type",
        ValueType.TEXT,
        table=LASER,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "optical.laser_status",
        "",
        f"{_LASER}.8",
        "Laser output status",
        ValueType.ENUM,
        enum=ON_OFF,
        states={"off": HealthState.CRITICAL},
        table=LASER,
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        "edfa.input_dbm",
        "dBm",
        _AMP_INPUT_POWER,
        "EDFA optical input power",
        scale=0.1,
        valid=(-40, 30),
        limits=Limits(warn_low=-5, crit_low=-8),
        table="input",
        deadband=0.3,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        "edfa.output_dbm",
        "dBm",
        _AMP_OUTPUT_POWER,
        "EDFA optical output power",
        scale=0.1,
        valid=(-40, 40),
        limits=Limits(warn_low=15, crit_low=12),
        table="output",
        deadband=0.2,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        "hms.alarms.active",
        "",
        ALARM_STATE_COLUMN,
        "Active HMS alarms (rows of currentAlarmTable)",
        valid=(0, None),
        limits=Limits(warn_high=0),
        dashboard=True,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "hms.alarms.text",
        "",
        ALARM_STATE_COLUMN,
        "Active HMS alarms, described",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
)
ALARM_COUNT = "hms.alarms.active"
ALARM_TEXT = "hms.alarms.text"
TABLE_METRICS = tuple(m for m in METRICS if m.is_column)


def _decode(driver: Driver, objects: Objects, ts: datetime) -> list[Reading]:
    """The tables row by row, then the alarm table as a count and a description."""
    readings = [
        metric.decode(raw, ts, row_key(metric.key, metric.table, index))
        for metric in TABLE_METRICS
        if metric.table is not None
        for index, raw in sorted(
            column_rows(objects, metric.source_key).items(), key=lambda row: index_order(row[0])
        )
    ]
    return readings + alarm_readings(objects, ts)


@dataclass(frozen=True)
class Alarm:
    """One row of currentAlarmTable."""

    oid: str
    state: str
    raw_value: RawValue


def alarm_readings(objects: Objects, ts: datetime) -> list[Reading]:
    """`hms.alarms.active` and `hms.alarms.text` from the rows of currentAlarmTable."""
    alarms = current_alarms(objects)
    if isinstance(alarms, str):
        return [
            Reading(ALARM_COUNT, None, "", Quality.INVALID, ts, alarms),
            Reading(ALARM_TEXT, None, "", Quality.INVALID, ts, alarms),
        ]
    text = "; ".join(describe(alarm, ts) for alarm in alarms)
    return [
        Reading(ALARM_COUNT, len(alarms), "", Quality.OK, ts),
        Reading(ALARM_TEXT, text, "", Quality.OK, ts),
    ]


def current_alarms(objects: Objects) -> list[Alarm] | str:
    """The active alarms in OID order, or why the table cannot be trusted.

    Everything in the currentAlarmAlarmState column counts, so one garbled
    state spoils the count instead of silently dropping an alarm.
    """
    values = column_rows(objects, ALARM_VALUE_COLUMN)
    alarms = []
    for oid, raw in objects.items():
        if raw is None or not in_subtree(oid, ALARM_STATE_COLUMN):
            continue
        if not isinstance(raw, int) or isinstance(raw, bool):
            return f"currentAlarmAlarmState at {oid}: expected a number, got {raw!r:.40}"
        if raw not in ALARM_STATES:
            return f"currentAlarmAlarmState {raw} at {oid} outside the valid range [2, 7]"
        index = oid[len(ALARM_STATE_COLUMN) + 1 :]
        alarms.append(Alarm(alarmed_oid(index), ALARM_STATES[raw], values.get(index)))
    return sorted(alarms, key=lambda alarm: index_order(alarm.oid))


def alarmed_oid(index: str) -> str:
    """The alarmed object's OID from a currentAlarmTable row index.

    The index is an OBJECT IDENTIFIER: its length, then its sub-identifiers.
    An agent that leaves the length out (IMPLIED-style) is read as-is.
    """
    length, _, rest = index.partition(".")
    if length.isdigit() and rest and len(rest.split(".")) == int(length):
        return rest
    return index


def describe(alarm: Alarm, ts: datetime) -> str:
    """One alarm for a human: the reading it concerns when this driver reads that object."""
    for metric in TABLE_METRICS:
        if metric.table is not None and alarm.oid.startswith(metric.source_key + "."):
            key = row_key(metric.key, metric.table, alarm.oid[len(metric.source_key) + 1 :])
            shown = metric.decode(alarm.raw_value, ts)
            value = "?" if shown.value is None else f"{shown.value} {metric.unit}".strip()
            return f"{key} {alarm.state} ({value})"
    return f"{alarm.oid} {alarm.state} (raw {alarm.raw_value!r})"


_ALARM_CODE = {label: code for code, label in ALARM_STATES.items()}


def device_alarm(metric: Metric, value: Value) -> str | None:
    """The alarm state a simulated HMS agent raises for `value` (None: nominal).

    Its thresholds are the metric's default limits: LOLO/HIHI at the critical
    bounds, LO/HI at the warning ones; an enum in a bad state is a discrete
    alarm (major when critical).
    """
    if isinstance(value, str):
        state = metric.states.get(value)
        if state is None:
            return None
        return "discreteMajor" if state is HealthState.CRITICAL else "discreteMinor"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    state, limit = metric.limits.evaluate(float(value))
    if state is HealthState.OK or limit is None:
        return None
    low = float(value) < limit
    if state is HealthState.CRITICAL:
        return "LOLO" if low else "HIHI"
    return "LO" if low else "HI"


def _encode(driver: Driver, values: Mapping[str, Value]) -> dict[str, RawValue]:
    """The tables as declared, plus a currentAlarmTable row per value beyond its thresholds."""
    objects: dict[str, RawValue] = {}
    for key, value in values.items():
        metric = driver.metric(key)
        if not metric.is_column:
            continue  # the alarm readings are counted from the rows below
        oid = driver.oid_of(key)
        objects[oid] = metric.encode(value)
        state = device_alarm(metric, value)
        if state is not None:
            index = f"{len(oid.split('.'))}.{oid}"
            objects[f"{ALARM_STATE_COLUMN}.{index}"] = _ALARM_CODE[state]
            objects[f"{ALARM_VALUE_COLUMN}.{index}"] = objects[oid]
    return objects


LASER_1 = "2.1"
EDFA_INPUT = "3.1"
LASER_OUTPUT = row_key("optical.output_dbm", LASER, LASER_1)
LASER_BIAS = row_key("optical.laser_bias_ma", LASER, LASER_1)
EDFA_IN = row_key("edfa.input_dbm", "input", EDFA_INPUT)
EDFA_OUTPUTS = (
    row_key("edfa.output_dbm", "output", "3.1"),
    row_key("edfa.output_dbm", "output", "3.2"),
)

LASER_FADE_DB_PER_S = 0.05
LASER_FLOOR_DBM = 1.0
BIAS_RISE_MA_PER_S = 0.4
BIAS_CEILING_MA = 115.0


def _number(value: Value, default: float) -> float:
    """A start value as a float (the default if the live value is not a number)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def _laser_degraded(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """An ageing laser: output power falls while the bias current climbs to hold it.

    From the simulator's start (+8.5 dBm, 55 mA) the output crosses the +5 dBm
    warning at 70 s and the +3 dBm critical bound at 110 s; the bias reaches
    the 90 mA warning at 87.5 s and 110 mA at 137.5 s.
    """
    output = _number(start[LASER_OUTPUT], 8.5) - LASER_FADE_DB_PER_S * elapsed_s
    bias = _number(start[LASER_BIAS], 55) + BIAS_RISE_MA_PER_S * elapsed_s
    values[LASER_OUTPUT] = round(max(LASER_FLOOR_DBM, output), 1)
    values[LASER_BIAS] = round(min(BIAS_CEILING_MA, bias))


FIBER_LOSS_DB_PER_S = 0.5
INPUT_FLOOR_DBM = -10.0
AGC_FLOOR_DBM = -6.0
"""Below this input the simulated EDFA can no longer hold its output power."""


def _edfa_low_input(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The feed fibre degrades: EDFA input falls to -10 dBm; output sags below -6 dBm in."""
    level = max(INPUT_FLOOR_DBM, _number(start[EDFA_IN], 1.0) - FIBER_LOSS_DB_PER_S * elapsed_s)
    values[EDFA_IN] = round(level, 1)
    sag = max(0.0, AGC_FLOOR_DBM - level)
    for key in EDFA_OUTPUTS:
        values[key] = round(_number(start[key], 19.5) - sag, 1)


SIMULATOR = SimModel(
    initial={
        row_key("module.temperature_c", "module", "1"): 31.0,
        row_key("module.temperature_c", "module", "2"): 33.5,
        row_key("module.temperature_c", "module", "3"): 34.0,
        LASER_OUTPUT: 8.5,
        LASER_BIAS: 55,
        row_key("optical.laser_temperature_c", LASER, LASER_1): 25.0,
        row_key("optical.tec_current_ma", LASER, LASER_1): 320,
        row_key("optical.wavelength_nm", LASER, LASER_1): 1550.12,
        row_key("optical.laser_type", LASER, LASER_1): "DFB 1550 nm",
        row_key("optical.laser_status", LASER, LASER_1): "on",
        EDFA_IN: 1.0,
        EDFA_OUTPUTS[0]: 19.5,
        EDFA_OUTPUTS[1]: 19.4,
        ALARM_COUNT: 0,
        ALARM_TEXT: "",
    },
    scenarios={
        "laser_degraded": Scenario(
            "laser_degraded",
            f"laser ageing: output falls {LASER_FADE_DB_PER_S:g} dB/s, "
            f"bias rises {BIAS_RISE_MA_PER_S:g} mA/s",
            _laser_degraded,
            expect=Expect(
                HealthState.CRITICAL,
                {LASER_OUTPUT: 1.0, LASER_BIAS: 115, ALARM_COUNT: 2},
                after_s=150,
            ),
        ),
        "edfa_low_input": Scenario(
            "edfa_low_input",
            f"feed fibre loss: EDFA input falls {FIBER_LOSS_DB_PER_S:g} dB/s to -10 dBm",
            _edfa_low_input,
            expect=Expect(HealthState.CRITICAL, {EDFA_IN: -10.0, ALARM_COUNT: 1}, after_s=30),
        ),
    },
    noise={
        "module.temperature_c": 0.5,
        "optical.output_dbm": 0.1,
        "optical.laser_bias_ma": 1,
        "optical.laser_temperature_c": 0.1,
        "optical.tec_current_ma": 10,
        "edfa.input_dbm": 0.2,
        "edfa.output_dbm": 0.1,
    },
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "Headend optical shelf: 1550 nm transmitter, EDFA (simulated)",
    },
    encoder=_encode,
)

HE_COMMON_ALARM_EVENT = f"{_HMS}.0.5"
"""heCommonAlarmEvent (SCTE-HMS-HE-COMMON-MIB)."""
_LOG_ENTRY = f"{_HMS}.11.2.1.1.1.2.3.1"
"""heCommonLogEntry; its columns carry the event's varbinds."""
LOG_OID = f"{_LOG_ENTRY}.2"
LOG_VALUE = f"{_LOG_ENTRY}.3"
LOG_STATE = f"{_LOG_ENTRY}.4"
LOG_TIME = f"{_LOG_ENTRY}.5"
LOG_MODULE_ID_OID = f"{_LOG_ENTRY}.7"
LOG_CARD_TYPE = f"{_LOG_ENTRY}.8"
LOG_ALIAS = f"{_LOG_ENTRY}.9"
LOG_STATES = {
    1: "nominal",
    2: "HIHI",
    3: "HI",
    4: "LO",
    5: "LOLO",
    6: "discreteMajor",
    7: "discreteMinor",
    8: "informational",
}
"""heCommonLogState."""

HMS_ALARM = "hms.alarm"


def _hms_rule(
    states: frozenset[int | str], action: TrapAction, severity: HealthState, vi: str, en: str
) -> TrapRule:
    return TrapRule(
        HE_COMMON_ALARM_EVENT,
        HMS_ALARM,
        action,
        severity,
        vi,
        en,
        value_oid=LOG_VALUE,
        instance_oid=LOG_OID,
        when={LOG_STATE: states},
        cleared_by=ALARM_COUNT,
    )


TRAPS = (
    _hms_rule(
        frozenset({2, 5, 6}),
        TrapAction.RAISE,
        HealthState.CRITICAL,
        "Thiết bị quang headend báo cảnh báo nghiêm trọng",
        "Headend optics: critical alarm reported by the device",
    ),
    _hms_rule(
        frozenset({3, 4, 7}),
        TrapAction.RAISE,
        HealthState.WARNING,
        "Thiết bị quang headend báo cảnh báo",
        "Headend optics: warning reported by the device",
    ),
    _hms_rule(
        frozenset({1}),
        TrapAction.CLEAR,
        HealthState.OK,
        "Thiết bị quang headend: cảnh báo đã hết",
        "Headend optics: alarm cleared by the device",
    ),
)

DRIVER = Driver(
    name="scte_hms_optical",
    title="Headend optical transmitter / EDFA (SCTE HMS)",
    kind="optical",
    protocol="snmp",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    decoder=_decode,
    walk_roots=(*(m.source_key for m in TABLE_METRICS), CURRENT_ALARM),
    identity=Identity(probe_oid=_HE_OPTICS),
    traps=TRAPS,
    description=(
        "Headend 1550 nm optical transmitters and EDFAs with an SCTE HMS agent "
        "(laser, amplifier, module temperature and the device's own current alarms)."
    ),
    sample_config="""[[device]]
id = "optical-tx1"
driver = "scte_hms_optical"
host = "192.168.1.60"
community = "public"
interval = 15
""",
)
