"""UPS, standard UPS-MIB (RFC 1628), prefix 1.3.6.1.2.1.33.1.

Works with any SNMP card that implements the RFC (APC, Eaton, Riello, Santak
and the many OEM "UPS-MIB" cards seen at district stations).  Values are read
exactly as the RFC defines them; known card quirks are corrected in `_fixup`.

Cards that report charge or runtime in another scale (seen: charge in tenths
of a percent) are read correctly with a per-device `[device.scaling]` override.

Traps (UPS-MIB upsTraps, 1.3.6.1.2.1.33.2; see `TRAPS`):

- upsTrapOnBattery (.2.1) raises `ups.on_battery` (warning, value: minutes
  remaining).  RFC 1628 sends it on the switch to battery and about once a
  minute while on battery, never on the way back.
- upsTrapAlarmEntryRemoved (.2.4) for upsAlarmOnBattery (upsAlarmDescr
  1.3.6.1.2.1.33.1.6.3.2) clears it: RFC 1628 sends the removal of every alarm
  but upsAlarmTestInProgress.  Traps get lost, and some cards never send
  removals: polls clear it too (`cleared_by`), once `ups.output.source` has
  read a source that is no alarm (normal, bypass...) for its clear delay.
- upsTrapAlarmEntryAdded / Removed (.2.3 / .2.4) for upsAlarmLowBattery raise /
  clear `ups.battery_low` (critical; polls clear it too once
  `ups.battery.status` has read normal for its clear delay); for any other
  well-known alarm they raise / clear `ups.alarm[oid=<upsAlarmDescr>]`
  (warning), one alarm per alarm kind: no reading of this driver tells when
  those are over, so only their removal trap clears them.
  The RFC sends no "added" trap for upsAlarmOnBattery (the on-battery trap
  stands for it); a card that does raises `ups.on_battery` with it too, so
  the removal clears the same alarm.
- upsTrapTestCompleted (.2.2) is not an alarm: it arrives as an unknown trap
  with its varbinds.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Identity,
    Limits,
    Maturity,
    Metric,
    OidValue,
    Quantity,
    Scenario,
    SimModel,
    TrapAction,
    TrapRule,
    ValueType,
)
from fieldagent.model import HealthState, Quality, Reading, Value

_UPS = "1.3.6.1.2.1.33.1"

BATTERY_STATUS = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
OUTPUT_SOURCE = {
    1: "other",
    2: "none",
    3: "normal",
    4: "bypass",
    5: "battery",
    6: "booster",
    7: "reducer",
}

METRICS = (
    Metric(
        "ups.ident.manufacturer",
        "",
        f"{_UPS}.1.1.0",
        "Manufacturer",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "ups.ident.model",
        "",
        f"{_UPS}.1.2.0",
        "Model",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "ups.battery.status",
        "",
        f"{_UPS}.2.1.0",
        "Battery status",
        ValueType.ENUM,
        enum=BATTERY_STATUS,
        states={"low": HealthState.WARNING, "depleted": HealthState.CRITICAL},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        "ups.battery.on_battery_s",
        "s",
        f"{_UPS}.2.2.0",
        "Seconds on battery",
        valid=(0, None),
        deadband=60.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "ups.battery.runtime_min",
        "min",
        f"{_UPS}.2.3.0",
        "Estimated minutes remaining",
        valid=(0, 10_000),
        limits=Limits(warn_low=10, crit_low=5),
        sentinels=frozenset({-1}),
        deadband=1.0,
        dashboard=True,
        quantity=Quantity.DURATION,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "ups.battery.charge_pct",
        "%",
        f"{_UPS}.2.4.0",
        "Estimated charge remaining",
        valid=(0, 100),
        limits=Limits(warn_low=50, crit_low=15),
        sentinels=frozenset({-1}),
        deadband=1.0,
        dashboard=True,
        quantity=Quantity.BATTERY_CHARGE,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "ups.battery.voltage_v",
        "V",
        f"{_UPS}.2.5.0",
        "Battery voltage",
        scale=0.1,
        valid=(0, 1000),
        deadband=0.5,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        "ups.battery.temperature_c",
        "°C",
        f"{_UPS}.2.7.0",
        "Battery temperature",
        valid=(-40, 100),
        # Cards without a battery sensor answer 0; at a station in Vietnam 0 °C is not real.
        sentinels=frozenset({-1, 0}),
        deadband=1.0,
        dashboard=True,
        quantity=Quantity.TEMPERATURE,
        alarm_class=AlarmClass.TEMPERATURE,
    ),
    Metric(
        "ups.input.voltage_v",
        "V",
        f"{_UPS}.3.3.1.3.1",
        "Input voltage (line 1)",
        valid=(0, 600),
        deadband=5.0,
        dashboard=True,
        quantity=Quantity.VOLTAGE,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        "ups.input.frequency_hz",
        "Hz",
        f"{_UPS}.3.3.1.2.1",
        "Input frequency (line 1)",
        scale=0.1,
        valid=(0, 100),
        deadband=0.2,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        "ups.output.source",
        "",
        f"{_UPS}.4.1.0",
        "Output source",
        ValueType.ENUM,
        enum=OUTPUT_SOURCE,
        states={
            "battery": HealthState.WARNING,
            "none": HealthState.CRITICAL,
        },
        dashboard=True,
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        "ups.output.load_pct",
        "%",
        f"{_UPS}.4.4.1.5.1",
        "Output load (line 1)",
        valid=(0, 250),
        deadband=3.0,
        dashboard=True,
        alarm_class=AlarmClass.OTHER,
    ),
)


def _fixup(readings: dict[str, Reading]) -> None:
    """Correct a quirk of real UPS cards.

    Many cards answer 0 minutes remaining at 100 % charge while on mains: they
    have no estimate.  Raising a critical runtime alarm from that would be a
    false alarm at every station, so the value is shown as missing (no estimate).
    """
    runtime = readings["ups.battery.runtime_min"]
    charge = readings["ups.battery.charge_pct"]
    source = readings["ups.output.source"]
    if (
        runtime.quality is Quality.OK
        and runtime.value == 0
        and charge.value == 100
        and source.value == "normal"
    ):
        readings[runtime.key] = Reading(
            runtime.key,
            None,
            runtime.unit,
            Quality.MISSING,
            runtime.ts,
            "card reports 0 min at full charge on mains: no estimate",
        )


MAINS_FAIL_CHARGE_DROP_PER_S = 1.0
"""How fast the simulated battery drains in `mains_fail` (percent per second)."""

FULL_RUNTIME_MIN = 40.0

FLOAT_VOLTAGE_V = 81.6
"""The simulated string of six 12 V lead-acid blocks on mains: float charge, 13.6 V a block."""
FULL_ON_BATTERY_V = 75.6
"""The string under load at full charge (12.6 V a block): mains lost, the float is gone."""
CUT_OFF_V = 63.0
"""The string at 0 % (10.5 V a block): the UPS's end-of-discharge voltage."""


def battery_voltage(charge_pct: float) -> float:
    """The simulated battery's voltage on battery at a charge: falls with the charge."""
    return round(CUT_OFF_V + (FULL_ON_BATTERY_V - CUT_OFF_V) * charge_pct / 100, 1)


def _mains_fail(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """On battery: charge falls steadily from where it was, runtime and voltage follow it."""
    start_charge = start["ups.battery.charge_pct"]
    if not isinstance(start_charge, int | float):
        start_charge = 100
    charge = max(0.0, float(start_charge) - MAINS_FAIL_CHARGE_DROP_PER_S * elapsed_s)
    values["ups.output.source"] = "battery"
    values["ups.input.voltage_v"] = 0
    values["ups.input.frequency_hz"] = 0.0
    values["ups.battery.on_battery_s"] = int(elapsed_s)
    values["ups.battery.charge_pct"] = round(charge)
    values["ups.battery.voltage_v"] = battery_voltage(charge)
    values["ups.battery.runtime_min"] = round(FULL_RUNTIME_MIN * charge / 100)
    values["ups.battery.status"] = "low" if charge < 25 else "normal"
    if charge <= 0:
        values["ups.battery.status"] = "depleted"


def _battery_low(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """An old battery: on battery at once, little charge left, runtime short."""
    values["ups.output.source"] = "battery"
    values["ups.input.voltage_v"] = 0
    values["ups.input.frequency_hz"] = 0.0
    values["ups.battery.on_battery_s"] = int(elapsed_s)
    values["ups.battery.status"] = "low"
    values["ups.battery.charge_pct"] = 30
    values["ups.battery.voltage_v"] = battery_voltage(30)
    values["ups.battery.runtime_min"] = 8


SIMULATOR = SimModel(
    initial={
        "ups.ident.manufacturer": "Santak",
        "ups.ident.model": "Castle 3K",
        "ups.battery.status": "normal",
        "ups.battery.on_battery_s": 0,
        "ups.battery.runtime_min": 40,
        "ups.battery.charge_pct": 100,
        "ups.battery.voltage_v": FLOAT_VOLTAGE_V,
        "ups.battery.temperature_c": 29,
        "ups.input.voltage_v": 226,
        "ups.input.frequency_hz": 50.0,
        "ups.output.source": "normal",
        "ups.output.load_pct": 37,
    },
    scenarios={
        "normal": Scenario("normal", "on mains, battery full", expect=Expect(HealthState.OK)),
        "mains_fail": Scenario(
            "mains_fail",
            f"mains lost: on battery, charge falling {MAINS_FAIL_CHARGE_DROP_PER_S:g} %/s,"
            f" battery voltage with it ({FULL_ON_BATTERY_V:g} V full, {CUT_OFF_V:g} V empty)",
            _mains_fail,
            expect=Expect(
                HealthState.CRITICAL,
                {"ups.output.source": "battery", "ups.input.voltage_v": 0},
                after_s=90,
            ),
        ),
        "battery_low": Scenario(
            "battery_low",
            "on battery with a worn battery: status low, 30 %, 8 min",
            _battery_low,
            expect=Expect(
                HealthState.WARNING,
                {"ups.battery.status": "low", "ups.battery.runtime_min": 8},
            ),
        ),
        "no_reply": Scenario(
            "no_reply",
            "the card stops answering",
            silent=True,
            expect=Expect(HealthState.UNREACHABLE),
        ),
    },
    noise={"ups.input.voltage_v": 3, "ups.output.load_pct": 2, "ups.battery.temperature_c": 0.5},
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "UPS SNMP card (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue("1.3.6.1.2.1.33"),
    },
)

_UPS_TRAPS = "1.3.6.1.2.1.33.2"
TRAP_ON_BATTERY = f"{_UPS_TRAPS}.1"
TRAP_TEST_COMPLETED = f"{_UPS_TRAPS}.2"
TRAP_ALARM_ADDED = f"{_UPS_TRAPS}.3"
TRAP_ALARM_REMOVED = f"{_UPS_TRAPS}.4"
ALARM_DESCR = f"{_UPS}.6.2.1.2"
"""upsAlarmDescr: the well-known alarm (an OID under upsWellKnownAlarms) of a table row."""
ALARM_ON_BATTERY = f"{_UPS}.6.3.2"
ALARM_LOW_BATTERY = f"{_UPS}.6.3.3"
MINUTES_REMAINING = f"{_UPS}.2.3"

ON_BATTERY = "ups.on_battery"
BATTERY_LOW = "ups.battery_low"
ON_BATTERY_CLEARED_BY = "ups.output.source"
"""Back to a source not mapped to an alarm (normal, bypass...): the UPS is off battery."""
BATTERY_LOW_CLEARED_BY = "ups.battery.status"
"""Back to normal: the battery is no longer low."""

TRAPS = (
    TrapRule(
        TRAP_ON_BATTERY,
        ON_BATTERY,
        TrapAction.RAISE,
        HealthState.WARNING,
        "UPS đang chạy bằng ắc quy (mất điện lưới)",
        "UPS on battery (mains power lost)",
        value_oid=MINUTES_REMAINING,
        cleared_by=ON_BATTERY_CLEARED_BY,
    ),
    TrapRule(
        TRAP_ALARM_ADDED,
        ON_BATTERY,
        TrapAction.RAISE,
        HealthState.WARNING,
        "UPS đang chạy bằng ắc quy (mất điện lưới)",
        "UPS on battery (mains power lost)",
        when={ALARM_DESCR: frozenset({ALARM_ON_BATTERY})},
        cleared_by=ON_BATTERY_CLEARED_BY,
    ),
    TrapRule(
        TRAP_ALARM_REMOVED,
        ON_BATTERY,
        TrapAction.CLEAR,
        HealthState.OK,
        "UPS đã trở lại điện lưới",
        "UPS back on mains power",
        when={ALARM_DESCR: frozenset({ALARM_ON_BATTERY})},
        cleared_by=ON_BATTERY_CLEARED_BY,
    ),
    TrapRule(
        TRAP_ALARM_ADDED,
        BATTERY_LOW,
        TrapAction.RAISE,
        HealthState.CRITICAL,
        "Ắc quy UPS sắp cạn",
        "UPS battery low",
        when={ALARM_DESCR: frozenset({ALARM_LOW_BATTERY})},
        cleared_by=BATTERY_LOW_CLEARED_BY,
    ),
    TrapRule(
        TRAP_ALARM_REMOVED,
        BATTERY_LOW,
        TrapAction.CLEAR,
        HealthState.OK,
        "Ắc quy UPS hết báo sắp cạn",
        "UPS battery no longer low",
        when={ALARM_DESCR: frozenset({ALARM_LOW_BATTERY})},
        cleared_by=BATTERY_LOW_CLEARED_BY,
    ),
    TrapRule(
        TRAP_ALARM_ADDED,
        "ups.alarm",
        TrapAction.RAISE,
        HealthState.WARNING,
        "UPS báo cảnh báo",
        "UPS alarm raised",
        instance_oid=ALARM_DESCR,
    ),
    TrapRule(
        TRAP_ALARM_REMOVED,
        "ups.alarm",
        TrapAction.CLEAR,
        HealthState.OK,
        "UPS hết cảnh báo",
        "UPS alarm cleared",
        instance_oid=ALARM_DESCR,
    ),
)
"""Checked in order: the first rule whose trap OID and `when` match is the trap's rule."""

DRIVER = Driver(
    name="ups_rfc1628",
    title="UPS (RFC 1628 UPS-MIB)",
    kind="ups",
    protocol="snmp",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    fixup=_fixup,
    identity=Identity(probe_oid=_UPS),
    traps=TRAPS,
    description="Any UPS whose SNMP card implements the standard UPS-MIB (RFC 1628).",
    sample_config="""[[device]]
id = "ups1"
driver = "ups_rfc1628"
host = "192.168.1.20"
community = "public"
interval = 10
""",
)
