"""Physical sensors, standard ENTITY-SENSOR-MIB (RFC 3433), prefix 1.3.6.1.2.1.99.

Covers any agent that lists its sensors in entPhySensorTable: equipment-room
sensor hubs, PDUs, rectifiers, switches and routers.  Everything read here is
standard (RFC 3433 and ENTITY-MIB, RFC 6933); no private MIB is involved.

A row of entPhySensorTable (1.3.6.1.2.1.99.1.1.1.{column}.{entPhysicalIndex})
is read exactly as the RFC defines it:

- entPhySensorType (column 1) picks the metric: celsius -> env.temperature_c,
  percentRH -> env.humidity_pct, voltsAC -> power.ac_voltage_v, voltsDC ->
  power.dc_voltage_v, amperes -> power.current_a, watts -> power.power_w,
  hertz -> power.frequency_hz, rpm -> env.fan_rpm, cmm -> env.airflow_cmm,
  truthvalue -> env.contact (true/false).  other and unknown carry no unit:
  they become `sensor.value` with the agent's own unit text in `sensor.units`
  (entPhySensorUnitsDisplay, column 6).
- The value (column 4) is raw x 10^(3 x (scale - 9)) (entPhySensorScale,
  column 2: yocto(1) .. units(9) .. yotta(17)), divided by 10^precision
  when entPhySensorPrecision (column 3) is 1..9.  A precision of 0 or -8..-1
  ("number of accurate digits") does not move the decimal point.
- For the fixed-point types (voltsAC, voltsDC, amperes, watts, hertz, celsius,
  cmm) the RFC reserves +1000000000 for overflow and -1000000000 for
  underflow: such a reading is `invalid` with "overflow"/"underflow" in its
  detail (often an open or shorted probe).  For other/unknown these are
  ordinary values.  Any raw value outside +/-1000000000 is `invalid`.
- entPhySensorOperStatus (column 5) is its own reading, `sensor.status`: when
  it is unavailable or nonoperational the value reading is `missing` (the
  status in its detail), since the agent says the number means nothing.
  nonoperational ("the agent believes the sensor is broken") is a WARNING: a
  dead probe leaves part of the room unwatched.  unavailable is not: it is
  usually transient (the hub is still reading the probe).  A missing or
  garbled status does not hide the value.

Rows are keyed by entPhysicalIndex (`env.temperature_c[sensor=2]`), which is
stable when a technician renames a probe; the name, ENTITY-MIB
entPhysicalName (1.3.6.1.2.1.47.1.1.1.1.7.{entPhysicalIndex}), is published
as the companion text reading `sensor.name[sensor=2]`.  Names of entities
that are not sensors (chassis, modules) are ignored.

Limits are equipment-room defaults (230/220 V 50 Hz mains as in Vietnam).
DC voltage, current, power and airflow have none: the right bounds depend on
the circuit.  A truthvalue sensor (door, smoke, water) has no bad state by
default either: whether "true" means alarm depends on how it is wired.

Simulator: an equipment-room sensor hub (chassis entPhysicalIndex 1, twelve
sensors 2..13).  It serves columns 1 to 6; entPhySensorValueTimeStamp and
entPhySensorValueUpdateRate (TimeTicks, Unsigned32) are not simulated and not
read.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, replace
from datetime import datetime

from drivers._snmp_tables import column_rows, index_order
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
    ValueType,
    row_key,
)
from fieldagent.model import HealthState, Quality, Reading, Value

_ENTRY = "1.3.6.1.2.1.99.1.1.1"
"""entPhySensorEntry: columns 1 type .. 6 unitsDisplay, indexed by entPhysicalIndex."""
TYPE_COLUMN = f"{_ENTRY}.1"
SCALE_COLUMN = f"{_ENTRY}.2"
PRECISION_COLUMN = f"{_ENTRY}.3"
VALUE_COLUMN = f"{_ENTRY}.4"
STATUS_COLUMN = f"{_ENTRY}.5"
UNITS_COLUMN = f"{_ENTRY}.6"
NAME_COLUMN = "1.3.6.1.2.1.47.1.1.1.1.7"
"""ENTITY-MIB entPhysicalName."""

TABLE = "sensor"

OTHER, UNKNOWN, VOLTS_AC, VOLTS_DC, AMPERES, WATTS, HERTZ = 1, 2, 3, 4, 5, 6, 7
CELSIUS, PERCENT_RH, RPM, CMM, TRUTHVALUE = 8, 9, 10, 11, 12
FIXED_POINT_TYPES = frozenset({VOLTS_AC, VOLTS_DC, AMPERES, WATTS, HERTZ, CELSIUS, CMM})
"""The types for which RFC 3433 reserves +/-1000000000 for overflow / underflow."""

VALUE_LIMIT = 1_000_000_000
"""EntitySensorValue is -1000000000..1000000000."""

UNITS_SCALE = 9
"""EntitySensorDataScale units(9): 10^0; each step is a factor of 1000."""

SENSOR_STATUS = {1: "ok", 2: "unavailable", 3: "nonoperational"}


def _value_metric(
    key: str,
    unit: str,
    title: str,
    *,
    valid: tuple[float | None, float | None] = (None, None),
    limits: Limits | None = None,
    decimals: int | None = None,
    value_type: ValueType = ValueType.NUMBER,
    deadband: float | None = None,
    alarm_class: AlarmClass,
) -> Metric:
    """A sensor reading: every type is served in entPhySensorValue, one row per sensor.

    `decimals` only sets how finely the simulator's noise moves the value: the
    decoder takes the real precision from each row's entPhySensorPrecision.
    """
    return Metric(
        key,
        unit,
        VALUE_COLUMN,
        title,
        value_type,
        decimals=decimals,
        valid=valid,
        limits=limits or Limits(),
        table=TABLE,
        alarm_class=alarm_class,
        deadband=deadband,
    )


UNTYPED = _value_metric(
    "sensor.value",
    "",
    "Value of an other/unknown sensor",
    valid=(-VALUE_LIMIT, VALUE_LIMIT),
    deadband=30.0,
    alarm_class=AlarmClass.OTHER,
)
METRIC_OF_TYPE: Mapping[int, Metric] = {
    VOLTS_AC: _value_metric(
        "power.ac_voltage_v",
        "V",
        "AC voltage",
        decimals=1,
        valid=(0, 1000),
        limits=Limits(warn_low=198, crit_low=180, warn_high=242, crit_high=255),
        deadband=5.0,
        alarm_class=AlarmClass.POWER,
    ),
    VOLTS_DC: _value_metric(
        "power.dc_voltage_v",
        "V",
        "DC voltage",
        decimals=2,
        valid=(-600, 600),
        deadband=0.5,
        alarm_class=AlarmClass.POWER,
    ),
    AMPERES: _value_metric(
        "power.current_a",
        "A",
        "Current",
        decimals=2,
        valid=(-10_000, 10_000),
        deadband=0.5,
        alarm_class=AlarmClass.POWER,
    ),
    WATTS: _value_metric(
        "power.power_w",
        "W",
        "Power",
        valid=(-10_000_000, 10_000_000),
        deadband=60.0,
        alarm_class=AlarmClass.POWER,
    ),
    HERTZ: _value_metric(
        "power.frequency_hz",
        "Hz",
        "Frequency",
        decimals=1,
        valid=(0, 1000),
        limits=Limits(warn_low=49, crit_low=47, warn_high=51, crit_high=53),
        deadband=0.2,
        alarm_class=AlarmClass.POWER,
    ),
    CELSIUS: _value_metric(
        "env.temperature_c",
        "°C",
        "Temperature",
        decimals=1,
        valid=(-50, 150),
        limits=Limits(warn_high=35, crit_high=45),
        deadband=1.0,
        alarm_class=AlarmClass.TEMPERATURE,
    ),
    PERCENT_RH: _value_metric(
        "env.humidity_pct",
        "%",
        "Relative humidity",
        valid=(0, 100),
        limits=Limits(warn_high=80, crit_high=90),
        deadband=3.0,
        alarm_class=AlarmClass.OTHER,
    ),
    RPM: _value_metric(
        "env.fan_rpm",
        "rpm",
        "Fan speed",
        valid=(0, 100_000),
        limits=Limits(warn_low=500),
        deadband=60.0,
        alarm_class=AlarmClass.OTHER,
    ),
    CMM: _value_metric(
        "env.airflow_cmm",
        "m³/min",
        "Airflow",
        valid=(0, 10_000),
        deadband=0.5,
        alarm_class=AlarmClass.OTHER,
    ),
    TRUTHVALUE: _value_metric(
        "env.contact",
        "",
        "Contact (true/false sensor)",
        value_type=ValueType.BOOL,
        alarm_class=AlarmClass.STATE,
    ),
    OTHER: UNTYPED,
    UNKNOWN: UNTYPED,
}
STATUS = Metric(
    "sensor.status",
    "",
    STATUS_COLUMN,
    "Sensor status (entPhySensorOperStatus)",
    ValueType.ENUM,
    enum=SENSOR_STATUS,
    states={"nonoperational": HealthState.WARNING},
    table=TABLE,
    alarm_class=AlarmClass.STATE,
)
NAME = Metric(
    "sensor.name",
    "",
    NAME_COLUMN,
    "Sensor name (entPhysicalName)",
    ValueType.TEXT,
    table=TABLE,
    alarm_class=AlarmClass.OTHER,
)
UNITS = Metric(
    "sensor.units",
    "",
    UNITS_COLUMN,
    "Units of an other/unknown sensor (entPhySensorUnitsDisplay)",
    ValueType.TEXT,
    table=TABLE,
    alarm_class=AlarmClass.OTHER,
)

METRICS = (
    *(METRIC_OF_TYPE[t] for t in (CELSIUS, PERCENT_RH, VOLTS_AC, VOLTS_DC, AMPERES, WATTS)),
    *(METRIC_OF_TYPE[t] for t in (HERTZ, RPM, CMM, TRUTHVALUE)),
    UNTYPED,
    STATUS,
    NAME,
    UNITS,
)


@dataclass(frozen=True)
class SensorRow:
    """The columns of one entPhySensorEntry as the device served them (None: absent)."""

    index: str
    type: RawValue = None
    scale: RawValue = None
    precision: RawValue = None
    value: RawValue = None
    status: RawValue = None
    units: RawValue = None


_ROW_COLUMNS = {
    "type": TYPE_COLUMN,
    "scale": SCALE_COLUMN,
    "precision": PRECISION_COLUMN,
    "value": VALUE_COLUMN,
    "status": STATUS_COLUMN,
    "units": UNITS_COLUMN,
}


def sensor_rows(objects: Objects) -> list[SensorRow]:
    """Every row that has at least one column in entPhySensorTable, in index order."""
    columns = {field: column_rows(objects, oid) for field, oid in _ROW_COLUMNS.items()}
    indexes = sorted({i for rows in columns.values() for i in rows}, key=index_order)
    return [
        SensorRow(
            index,
            type=columns["type"].get(index),
            scale=columns["scale"].get(index),
            precision=columns["precision"].get(index),
            value=columns["value"].get(index),
            status=columns["status"].get(index),
            units=columns["units"].get(index),
        )
        for index in indexes
    ]


def _decode(driver: Driver, objects: Objects, ts: datetime) -> list[Reading]:
    """The sensor table: one value, status and name reading per row (plus units if untyped)."""
    names = column_rows(objects, NAME_COLUMN)
    readings: list[Reading] = []
    for row in sensor_rows(objects):
        readings.append(decode_value(row, ts))
        readings.append(STATUS.decode(row.status, ts, row_key(STATUS.key, TABLE, row.index)))
        readings.append(NAME.decode(names.get(row.index), ts, row_key(NAME.key, TABLE, row.index)))
        if row.type in (OTHER, UNKNOWN):
            readings.append(UNITS.decode(row.units, ts, row_key(UNITS.key, TABLE, row.index)))
    return readings


def decode_value(row: SensorRow, ts: datetime) -> Reading:
    """The sensor's value in engineering units, or why it has none."""
    sensor_type, raw = row.type, row.value
    if not isinstance(sensor_type, int) or sensor_type not in METRIC_OF_TYPE:
        detail = f"entPhySensorType {sensor_type!r:.40} is not an RFC 3433 sensor type"
        return _reading(UNTYPED, row.index, None, Quality.INVALID, ts, detail)
    metric = METRIC_OF_TYPE[sensor_type]
    if row.status in (2, 3):
        detail = f"no value: sensor {SENSOR_STATUS[int(row.status)]} (entPhySensorOperStatus)"
        return _reading(metric, row.index, None, Quality.MISSING, ts, detail)
    if raw is None:
        return metric.decode(None, ts, row_key(metric.key, TABLE, row.index))
    if not isinstance(raw, int) or isinstance(raw, bool):
        detail = f"expected an integer, got {raw!r:.60}"
        return _reading(metric, row.index, None, Quality.INVALID, ts, detail)
    problem = _raw_problem(sensor_type, raw)
    if problem:
        return _reading(metric, row.index, None, Quality.INVALID, ts, problem)
    if metric.type is ValueType.BOOL:
        return metric.decode(raw, ts, row_key(metric.key, TABLE, row.index))
    scaled = row_metric(metric, row.scale, row.precision)
    if isinstance(scaled, str):
        return _reading(metric, row.index, None, Quality.INVALID, ts, scaled)
    return scaled.decode(raw, ts, row_key(metric.key, TABLE, row.index))


def _raw_problem(sensor_type: int, raw: int) -> str | None:
    """Why a raw EntitySensorValue cannot be used, by RFC 3433's own rules."""
    if not -VALUE_LIMIT <= raw <= VALUE_LIMIT:
        return f"raw {raw} outside the valid range of EntitySensorValue [-1e9, 1e9]"
    if sensor_type in FIXED_POINT_TYPES and raw == VALUE_LIMIT:
        return "sensor overflow (+1000000000): above what the sensor can measure"
    if sensor_type in FIXED_POINT_TYPES and raw == -VALUE_LIMIT:
        return "sensor underflow (-1000000000): below what the sensor can measure"
    return None


def row_metric(metric: Metric, scale: RawValue, precision: RawValue) -> Metric | str:
    """`metric` scaled for one row's entPhySensorScale and entPhySensorPrecision.

    Returns why the row cannot be scaled instead when the columns are absent or
    outside the RFC's ranges: guessing a scale would publish wrong numbers.
    """
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 17:
        return f"entPhySensorScale {scale!r:.40} is not a scale (1 yocto .. 17 yotta)"
    if not isinstance(precision, int) or isinstance(precision, bool) or not -8 <= precision <= 9:
        return f"entPhySensorPrecision {precision!r:.40} is not a precision (-8 .. 9)"
    exponent = 3 * (scale - UNITS_SCALE)
    places = max(precision, 0)  # -8..-1 count accurate digits; they do not move the point
    return replace(
        metric,
        scale=10.0**exponent,
        divisor=10**places,
        decimals=max(0, places - exponent),
    )


def _reading(
    metric: Metric, index: str, value: Value, quality: Quality, ts: datetime, detail: str
) -> Reading:
    return Reading(row_key(metric.key, TABLE, index), value, metric.unit, quality, ts, detail)


@dataclass(frozen=True)
class SimFormat:
    """How the simulated hub encodes one sensor type: scale, precision, unit text."""

    scale: int
    precision: int
    units: str

    @property
    def factor(self) -> float:
        """Engineering value per raw unit."""
        return 10.0 ** (3 * (self.scale - UNITS_SCALE) - self.precision)


SIM_FORMAT: Mapping[int, SimFormat] = {
    CELSIUS: SimFormat(UNITS_SCALE, 1, "C"),
    PERCENT_RH: SimFormat(UNITS_SCALE, 0, "%RH"),
    VOLTS_AC: SimFormat(UNITS_SCALE, 1, "V AC"),
    VOLTS_DC: SimFormat(8, 0, "mV DC"),  # milli: the RFC's scale at work
    AMPERES: SimFormat(UNITS_SCALE, 2, "A"),
    WATTS: SimFormat(10, 2, "kW"),  # kilo with 2 decimals: 10 W steps
    HERTZ: SimFormat(UNITS_SCALE, 1, "Hz"),
    RPM: SimFormat(UNITS_SCALE, 0, "RPM"),
    CMM: SimFormat(UNITS_SCALE, 0, "CMM"),
    TRUTHVALUE: SimFormat(UNITS_SCALE, 0, ""),
    OTHER: SimFormat(UNITS_SCALE, 0, ""),
}
_SIM_TYPE = {metric.key: code for code, metric in METRIC_OF_TYPE.items() if code != UNKNOWN}
"""Metric key -> the type code the simulator serves it as (untyped rows as other)."""


def sim_raw(sensor_type: int, value: Value) -> RawValue:
    """The entPhySensorValue the simulated hub serves for an engineering value."""
    if value is None:
        return None
    metric = METRIC_OF_TYPE[sensor_type]
    if metric.type is ValueType.BOOL:
        return metric.encode(value)
    if isinstance(value, str | bool):
        raise ValueError(f"{metric.key}: expected a number, got {value!r}")
    return round(float(value) / SIM_FORMAT[sensor_type].factor)


def sim_value(sensor_type: int, raw: int) -> float:
    """The engineering value the simulated hub serves as `raw` (for over/underflow)."""
    return raw * SIM_FORMAT[sensor_type].factor


def _encode(driver: Driver, values: Mapping[str, Value]) -> dict[str, RawValue]:
    """The hub's objects: a full entPhySensorEntry per value, then names, statuses, units."""
    rows: dict[str, RawValue] = {}
    explicit: dict[str, RawValue] = {}
    for key, value in values.items():
        metric = driver.metric(key)
        if metric.source_key != VALUE_COLUMN:
            explicit[driver.oid_of(key)] = metric.encode(value)
            continue
        sensor_type = _SIM_TYPE[metric.key]
        fmt, index = SIM_FORMAT[sensor_type], driver.oid_of(key)[len(VALUE_COLUMN) + 1 :]
        rows[f"{TYPE_COLUMN}.{index}"] = sensor_type
        rows[f"{SCALE_COLUMN}.{index}"] = fmt.scale
        rows[f"{PRECISION_COLUMN}.{index}"] = fmt.precision
        rows[f"{VALUE_COLUMN}.{index}"] = sim_raw(sensor_type, value)
        rows[f"{UNITS_COLUMN}.{index}"] = fmt.units
    return {**rows, **explicit}


ROOM = "2"
HUMIDITY = "3"
INTAKE = "4"
ROOM_TEMPERATURE = row_key("env.temperature_c", TABLE, ROOM)
ROOM_HUMIDITY = row_key("env.humidity_pct", TABLE, HUMIDITY)
INTAKE_TEMPERATURE = row_key("env.temperature_c", TABLE, INTAKE)

CO2 = "13"

SENSORS: tuple[tuple[str, int, str, Value], ...] = (
    (ROOM, CELSIUS, "Room temperature", 24),
    (HUMIDITY, PERCENT_RH, "Room humidity", 55),
    (INTAKE, CELSIUS, "Rack 1 intake temperature", 27),
    ("5", VOLTS_AC, "Mains voltage L1", 226),
    ("6", HERTZ, "Mains frequency", 50),
    ("7", AMPERES, "Mains current L1", 12),
    ("8", WATTS, "Equipment power", 2600),
    ("9", VOLTS_DC, "DC bus 48 V", 54),
    ("10", RPM, "Rack 1 exhaust fan", 2400),
    ("11", CMM, "Rack 1 airflow", 12),
    ("12", TRUTHVALUE, "Door open", False),
    (CO2, OTHER, "CO2", 650),
)
"""The simulated hub: entPhysicalIndex, sensor type, entPhysicalName, initial value."""


def _initial() -> dict[str, Value]:
    values: dict[str, Value] = {}
    for index, sensor_type, name, value in SENSORS:
        values[row_key(METRIC_OF_TYPE[sensor_type].key, TABLE, index)] = value
        values[row_key(STATUS.key, TABLE, index)] = "ok"
        values[row_key(NAME.key, TABLE, index)] = name
    values[row_key(UNITS.key, TABLE, CO2)] = "ppm"
    return values


AIRCON_WARMING_C_PER_S = 0.1
"""How fast the room warms once the air conditioner stops (a small closed room)."""
AIRCON_MAX_C = 50.0


def _aircon_fail(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The air conditioner stops: room and rack intake warm steadily, up to 50 °C."""
    for key in (ROOM_TEMPERATURE, INTAKE_TEMPERATURE):
        begin = start[key]
        if isinstance(begin, int | float) and not isinstance(begin, bool):
            values[key] = round(
                min(AIRCON_MAX_C, float(begin) + AIRCON_WARMING_C_PER_S * elapsed_s), 1
            )


def _sensor_fail(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The room probe breaks (nonoperational); the humidity probe cannot be read (unavailable)."""
    values[row_key(STATUS.key, TABLE, ROOM)] = "nonoperational"
    values[row_key(STATUS.key, TABLE, HUMIDITY)] = "unavailable"


def _overflow(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The intake probe's cable is cut: the hub serves +1000000000 with status still ok."""
    values[INTAKE_TEMPERATURE] = sim_value(CELSIUS, VALUE_LIMIT)


SIMULATOR = SimModel(
    initial=_initial(),
    scenarios={
        "aircon_fail": Scenario(
            "aircon_fail",
            f"air conditioning stops: room warms {AIRCON_WARMING_C_PER_S:g} °C/s",
            _aircon_fail,
            expect=Expect(HealthState.CRITICAL, {ROOM_TEMPERATURE: 48.0}, after_s=240),
        ),
        "sensor_fail": Scenario(
            "sensor_fail",
            "room temperature probe nonoperational, humidity probe unavailable",
            _sensor_fail,
            expect=Expect(
                HealthState.WARNING,
                {
                    ROOM_TEMPERATURE: None,
                    ROOM_HUMIDITY: None,
                    row_key(STATUS.key, TABLE, ROOM): "nonoperational",
                    row_key(STATUS.key, TABLE, HUMIDITY): "unavailable",
                },
            ),
        ),
        "overflow": Scenario(
            "overflow",
            "rack intake probe open: value +1000000000 (overflow), status ok",
            _overflow,
            expect=Expect(HealthState.OK, {INTAKE_TEMPERATURE: None}),
        ),
    },
    noise={
        "env.temperature_c": 0.5,
        "env.humidity_pct": 2,
        "power.ac_voltage_v": 3,
        "power.dc_voltage_v": 0.2,
        "power.current_a": 0.3,
        "power.power_w": 40,
        "power.frequency_hz": 0.1,
        "env.fan_rpm": 40,
        "sensor.value": 20,
    },
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "Equipment room sensor hub (simulated)",
        "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.8072.3.2.10",
        f"{NAME_COLUMN}.1": "Sensor hub chassis",
    },
    encoder=_encode,
)

DRIVER = Driver(
    name="entity_sensors",
    title="Physical sensors (RFC 3433 ENTITY-SENSOR-MIB)",
    kind="sensors",
    protocol="snmp",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    decoder=_decode,
    walk_roots=(_ENTRY, NAME_COLUMN),
    identity=Identity(probe_oid=TYPE_COLUMN),
    description=(
        "Any agent that lists its temperature, humidity, voltage, current, power, "
        "fan and contact sensors in the standard ENTITY-SENSOR-MIB (RFC 3433)."
    ),
    sample_config="""[[device]]
id = "room-sensors"
driver = "entity_sensors"
host = "192.168.1.40"
community = "public"
interval = 30
""",
)
