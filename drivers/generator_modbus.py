"""Diesel generator controller on Modbus RTU (RS-485), modelled on the DSE GenComm layout.

Deep Sea Electronics controllers (DSE 7310/7320, 6120, 4520, and the
gensets sold with them) publish their values in
"GenComm" pages: register = page x 256 + offset, 16-bit values, 32-bit
values most significant word first.  The instrumentation registers below
follow the published GenComm pages 3, 4 and 7; this table is a MODEL of that
layout, not a copy of a vendor file, so check it against the controller's
own GenComm document before relying on it.  Addresses are 0-based, as on
the wire (add 1 for a "40001"-style reference).

=============  ========  =========  ============  ====================================  ========
table          address   type       scale         metric                                GenComm
=============  ========  =========  ============  ====================================  ========
holding (fc3)  772       u16        enum          gen.mode: 0 stop (off), 1 auto,       page 3/4
                                                  2 manual
holding        1024      u16        1 kPa         gen.oil_pressure_kpa                  page 4/0
holding        1025      s16        1 °C          gen.coolant_temperature_c             page 4/1
holding        1026      s16        -             (oil temperature, read through)       page 4/2
holding        1027      u16        1 %           gen.fuel_pct                          page 4/3
holding        1028      u16        -             (charge alternator, read through)     page 4/4
holding        1029      u16        0.1 V         gen.battery_v                         page 4/5
holding        1030      u16        1 rpm         gen.engine_rpm                        page 4/6
holding        1798-99   u32, big   s / 3600      gen.run_hours (engine run time, s)    page 7/6
discrete (fc2) 0         bit        -             gen.running                           model
discrete       1-7       bit        -             gen.alarm.* (see `ALARMS`)            model
=============  ========  =========  ============  ====================================  ========

So a poll is four requests: 772, 1024-1030 (the two unused registers are
read through), 1798-1799 and discrete inputs 0-7.

The status and alarm bits are the model's own: GenComm packs each named
alarm into a 4-bit field of its alarm pages (2 = warning, 3 = shutdown) and
`Register` has no bit index, so the model serves them as discrete inputs,
one per condition.  Control modes other than the three named (test on
load, ...) read `invalid`: the model does not guess their meaning.

Quirk handled: GenComm marks a value it cannot give with a sentinel at the
top of the type's range (0xFFFF "unimplemented", 0xFFFE over range, 0xFFFD
under range, 0xFFFC transducer fault, 0xFFFB bad data; 0x7FFF... for signed
16-bit, 0xFFFFFFFF... for 32-bit): these read `missing`, never 65535 kPa.
Oil pressure and engine speed have no limits because a stopped engine
reads 0 for both; the controller's own alarm flags judge them while running.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Limits,
    Maturity,
    Metric,
    Quantity,
    Register,
    RegisterKind,
    RegisterType,
    Scenario,
    SimModel,
    ValueType,
    WordOrder,
)
from fieldagent.model import HealthState, Value

MODES = {0: "off", 1: "auto", 2: "manual"}


def _sentinels(top: int) -> frozenset[int]:
    """GenComm's five "no value" codes at the top of a type's range."""
    return frozenset(range(top - 4, top + 1))


U16_SENTINELS = _sentinels(0xFFFF)
S16_SENTINELS = _sentinels(0x7FFF)
U32_SENTINELS = _sentinels(0xFFFF_FFFF)


def _metric(key: str, unit: str, title: str, register: Register, **options: Any) -> Metric:
    """A metric read from a register (its objects are keyed ``holding:1024``)."""
    return Metric(key, unit, register, title, **options)


def _holding(address: int, type_: RegisterType = RegisterType.U16) -> Register:
    return Register(RegisterKind.HOLDING, address, type_)


def _discrete(address: int) -> Register:
    return Register(RegisterKind.DISCRETE, address, RegisterType.BIT)


ALARMS = (
    ("low_oil_pressure", "Low oil pressure (shutdown)", HealthState.CRITICAL),
    ("high_coolant_temperature", "High coolant temperature (shutdown)", HealthState.CRITICAL),
    ("overspeed", "Overspeed (shutdown)", HealthState.CRITICAL),
    ("fail_to_start", "Fail to start", HealthState.CRITICAL),
    ("low_fuel", "Low fuel level", HealthState.WARNING),
    ("battery_low", "Starter battery low voltage", HealthState.WARNING),
    ("emergency_stop", "Emergency stop pressed", HealthState.CRITICAL),
)
"""Alarm flags at discrete inputs 1.. in this order: key suffix, title, state when set."""

METRICS = (
    _metric(
        "gen.running",
        "",
        "Engine running",
        _discrete(0),
        type=ValueType.BOOL,
        dashboard=True,
        alarm_class=AlarmClass.STATE,
    ),
    _metric(
        "gen.mode",
        "",
        "Control mode",
        _holding(772),
        type=ValueType.ENUM,
        enum=MODES,
        # Left in off (stop), the set will not start when the mains fails.
        states={"off": HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
    _metric(
        "gen.oil_pressure_kpa",
        "kPa",
        "Oil pressure",
        _holding(1024),
        valid=(0, 1000),
        sentinels=U16_SENTINELS,
        deadband=10.0,
        alarm_class=AlarmClass.OTHER,
    ),
    _metric(
        "gen.coolant_temperature_c",
        "°C",
        "Coolant temperature",
        _holding(1025, RegisterType.S16),
        valid=(-40, 200),
        limits=Limits(warn_high=95, crit_high=105),
        sentinels=S16_SENTINELS,
        deadband=2.0,
        dashboard=True,
        quantity=Quantity.TEMPERATURE,
        alarm_class=AlarmClass.TEMPERATURE,
    ),
    _metric(
        "gen.fuel_pct",
        "%",
        "Fuel level",
        _holding(1027),
        valid=(0, 100),
        # The pre-holiday checklist asks for at least 75 %; these are the everyday alarms.
        limits=Limits(warn_low=50, crit_low=25),
        sentinels=U16_SENTINELS,
        deadband=1.0,
        dashboard=True,
        alarm_class=AlarmClass.OTHER,
    ),
    _metric(
        "gen.battery_v",
        "V",
        "Starter battery voltage",
        _holding(1029),
        scale=0.1,
        valid=(0, 40),
        # For a 12 V starter battery; a 24 V set needs its own limits.
        limits=Limits(warn_low=12.0, crit_low=11.5),
        sentinels=U16_SENTINELS,
        deadband=0.2,
        dashboard=True,
        quantity=Quantity.VOLTAGE,
        alarm_class=AlarmClass.POWER,
    ),
    _metric(
        "gen.engine_rpm",
        "rpm",
        "Engine speed",
        _holding(1030),
        valid=(0, 4000),
        sentinels=U16_SENTINELS,
        deadband=30.0,
        alarm_class=AlarmClass.OTHER,
    ),
    _metric(
        "gen.run_hours",
        "h",
        "Engine run hours",
        Register(RegisterKind.HOLDING, 1798, RegisterType.U32, WordOrder.BIG),
        divisor=3600,
        decimals=2,
        valid=(0, 200_000),
        sentinels=U32_SENTINELS,
        deadband=0.1,
        alarm_class=AlarmClass.OTHER,
    ),
    *(
        _metric(
            f"gen.alarm.{name}",
            "",
            title,
            _discrete(index),
            type=ValueType.BOOL,
            states={True: state},
            alarm_class=AlarmClass.STATE,
        )
        for index, (name, title, state) in enumerate(ALARMS, start=1)
    ),
)

RUNNING_RPM = 1500
RUNNING_OIL_PRESSURE_KPA = 380
RUNNING_COOLANT_C = 82
WARM_UP_C_PER_S = 0.1
FUEL_BURN_PCT_PER_S = 1 / 360
LOW_FUEL_ALARM_PCT = 20
"""The simulated controller's own low-fuel alarm level (as in the `fuel_low` scenario)."""
"""A station set on load burns about 10 % of its tank an hour."""
CHARGING_V = 13.8


def _number(values: Mapping[str, Value], key: str) -> float:
    value = values[key]
    return float(value) if isinstance(value, int | float) else 0.0


def _running(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Started on a mains failure: at speed, oil pressure up, warming, hours counting.

    The tank drains as it runs: below LOW_FUEL_ALARM_PCT the controller raises
    its low-fuel alarm, and once the tank is dry the engine stops (no speed,
    no oil pressure, no more hours), as a real set would.
    """
    start_fuel = _number(start, "gen.fuel_pct")
    dry_after_s = start_fuel / FUEL_BURN_PCT_PER_S
    run_s = min(elapsed_s, dry_after_s)
    running = elapsed_s < dry_after_s
    values["gen.running"] = running
    values["gen.engine_rpm"] = RUNNING_RPM if running else 0
    values["gen.oil_pressure_kpa"] = RUNNING_OIL_PRESSURE_KPA if running else 0
    values["gen.battery_v"] = CHARGING_V if running else start["gen.battery_v"]
    coolant = _number(start, "gen.coolant_temperature_c") + WARM_UP_C_PER_S * run_s
    values["gen.coolant_temperature_c"] = round(min(RUNNING_COOLANT_C, coolant))
    fuel = max(0.0, start_fuel - FUEL_BURN_PCT_PER_S * elapsed_s)
    values["gen.fuel_pct"] = round(fuel)
    values["gen.alarm.low_fuel"] = fuel < LOW_FUEL_ALARM_PCT
    values["gen.run_hours"] = _number(start, "gen.run_hours") + run_s / 3600


def _fuel_low(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The tank was not refilled after the last outage."""
    values["gen.fuel_pct"] = 20
    values["gen.alarm.low_fuel"] = True


def _battery_low(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The starter battery's charger failed: 11.8 V at rest."""
    values["gen.battery_v"] = 11.8
    values["gen.alarm.battery_low"] = True


def _left_off(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Someone pressed Stop after a test run and left it there."""
    values["gen.mode"] = "off"


def _fail_to_start(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Mains failed, the set cranked and gave up (no fuel to the pump, a flat battery...)."""
    values["gen.alarm.fail_to_start"] = True


INITIAL: dict[str, Value] = {
    "gen.running": False,
    "gen.mode": "auto",
    "gen.oil_pressure_kpa": 0,
    "gen.coolant_temperature_c": 40,  # the block heater keeps it warm for a quick start
    "gen.fuel_pct": 80,
    "gen.battery_v": 12.9,
    "gen.engine_rpm": 0,
    "gen.run_hours": 1234.5,
    **{f"gen.alarm.{name}": False for name, _, _ in ALARMS},
}

SIMULATOR = SimModel(
    initial=INITIAL,
    scenarios={
        "normal": Scenario(
            "normal",
            "stopped in auto, healthy, ready to start on a mains failure",
            expect=Expect(
                HealthState.OK,
                {"gen.running": False, "gen.mode": "auto", "gen.engine_rpm": 0, "gen.fuel_pct": 80},
            ),
        ),
        "generator_running": Scenario(
            "generator_running",
            f"running at {RUNNING_RPM} rpm on a mains failure, warming up, hours counting,"
            " the tank draining (low-fuel alarm below 20 %, stops when dry)",
            _running,
            expect=Expect(
                HealthState.OK,
                {
                    "gen.running": True,
                    "gen.engine_rpm": RUNNING_RPM,
                    "gen.oil_pressure_kpa": RUNNING_OIL_PRESSURE_KPA,
                    "gen.run_hours": 1234.6,
                    "gen.fuel_pct": 79,
                },
                after_s=360,
            ),
        ),
        "fuel_low": Scenario(
            "fuel_low",
            "tank at 20 %, low-fuel alarm",
            _fuel_low,
            expect=Expect(HealthState.CRITICAL, {"gen.fuel_pct": 20, "gen.alarm.low_fuel": True}),
        ),
        "battery_low": Scenario(
            "battery_low",
            "starter battery at 11.8 V, battery alarm",
            _battery_low,
            expect=Expect(
                HealthState.WARNING, {"gen.battery_v": 11.8, "gen.alarm.battery_low": True}
            ),
        ),
        "left_off": Scenario(
            "left_off",
            "control mode left in off (stop): will not start on a mains failure",
            _left_off,
            expect=Expect(HealthState.WARNING, {"gen.mode": "off"}),
        ),
        "fail_to_start": Scenario(
            "fail_to_start",
            "cranked on a mains failure and gave up",
            _fail_to_start,
            expect=Expect(HealthState.CRITICAL, {"gen.alarm.fail_to_start": True}),
        ),
    },
)

DRIVER = Driver(
    name="generator_modbus",
    title="Diesel generator controller (Modbus RTU, DSE GenComm model)",
    kind="generator",
    protocol="modbus",
    maturity=Maturity.MODEL,
    metrics=METRICS,
    simulator=SIMULATOR,
    description=(
        "A diesel generator controller read over Modbus RTU (RS-485), "
        "modelled on the Deep Sea Electronics GenComm register layout."
    ),
    sample_config="""[[device]]
id = "generator"
driver = "generator_modbus"
serial_port = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K5XYZ-if00-port0"
baud = 9600
unit = 10
timeout = 0.5
interval = 10
""",
)
