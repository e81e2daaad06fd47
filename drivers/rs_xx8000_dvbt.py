"""Rohde & Schwarz XX8000-series DVB-T/T2 transmitter (NetCCU800), on R&S's published
RS-XX8000-DVB-TX-MIB.

Every object is the MIB's own, under ``rsXx8000DvbTx`` =
``1.3.6.1.4.1.2566.127.1.2.167.4`` (R&S enterprise 2566, broadcast
transmitters, series 8000); the transmitter's summary (``summaryInfo``,
``...4.1.2``) is read as scalars:

=================================== ========================================== =====================
object (``...4.1.2.``)              MIB says                                   read as
=================================== ========================================== =====================
summaryFaultTx ``1.0``              TruthValue, the front panel's Fault LED    tx.summary_fault
summaryWarningTx ``2.0``            TruthValue, the Warning LED                tx.summary_warning
localModeTx ``3.0``                 TruthValue, true = local (the Local LED)   tx.local_mode
rfOnTx ``4.0``                      TruthValue, RF present                     tx.on_air
forwardPower ``5.0``                FloatingPoint, Watt (sum of both output    rf.forward_power_w
                                    stages in active reserve)
reflectedPower ``6.0``              FloatingPoint, Watt (not served by low-    rf.reflected_power_w
                                    power systems)
=================================== ========================================== =====================

FloatingPoint (RS-XX8000-COMMON-MIB) is an OCTET STRING holding a decimal
number in ASCII ("512.3", "0.3142E1"), so this driver parses it (`_decode`)
and rounds it to the metric's `decimals` (0.1 W).
The transmitter serves no VSWR of its output: `rf.vswr` is computed from the
forward and reflected power (s = (1 + g) / (1 - g), g = sqrt(Pr / Pf)), and is
missing while there is (almost) no forward power, or no reflected power
(low-power systems).  A fault the NetCCU reports is critical, a warning a
warning; local mode is a warning, since the remote control is then locked out.

Traps: the MIB's transmitter events (``...167.4.3.2.0.N``) carry
``eventEvent`` (``...167.1.2.3.3``: active(1) coming, inactive(2) going);
txSummaryFault and txSummaryWarning raise and clear the summary alarms.

Identity: the MIB does not say what sysObjectID a NetCCU answers; the DVB
summary subtree is what identifies the family (a sysObjectID under
rsXx8000DvbTx, which the simulator answers, is taken too; the FM and ATV
members of the series live beside it under rsXx8000 and are not matched).
Default limits are for a 500 W transmitter (forward < 400 / < 250 W,
reflected > 25 / > 50 W, VSWR > 1.5 / > 2.0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import replace
from datetime import datetime

from drivers import _transmitter as tx
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Identity,
    Maturity,
    Metric,
    Objects,
    OidValue,
    RawValue,
    Scenario,
    SimModel,
    TrapAction,
    TrapRule,
    ValueType,
)
from fieldagent.model import HealthState, Quality, Reading, Value

_XX8000 = "1.3.6.1.4.1.2566.127.1.2.167"
"""rsXx8000: every R&S series-8000 transmitter."""
_DVB_TX = f"{_XX8000}.4"
"""rsXx8000DvbTx: the DVB-T/H transmitters of the series."""
_SUMMARY = f"{_DVB_TX}.1.2"
"""summaryInfo of rsXx8000DvbTx."""
_EVENTS = f"{_DVB_TX}.3.2.0"
"""eventsTxV2: the transmitter's notifications."""
EVENT_STATE = f"{_XX8000}.1.2.3.3"
"""eventEvent: active(1) when the event comes, inactive(2) when it goes."""
EVENT_ACTIVE, EVENT_INACTIVE = 1, 2
TRAP_SUMMARY_FAULT = f"{_EVENTS}.1"
TRAP_SUMMARY_WARNING = f"{_EVENTS}.2"

NOMINAL_W = 500.0
"""The typical district DVB-T2 transmitter the default limits are for."""

SUMMARY_FAULT = "tx.summary_fault"
SUMMARY_WARNING = "tx.summary_warning"
LOCAL_MODE = "tx.local_mode"

_FLOATING_POINT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
"""The FloatingPoint textual convention's grammar."""

DECIMALS = {tx.FORWARD: 1, tx.REFLECTED: 1, tx.VSWR: 2}
"""What the parsed powers and the computed VSWR are rounded to."""

METRICS = (
    *(
        replace(metric, decimals=DECIMALS.get(metric.key))
        for metric in tx.rf_metrics(
            forward_oid=f"{_SUMMARY}.5.0",
            reflected_oid=f"{_SUMMARY}.6.0",
            vswr_oid=f"{_SUMMARY}.6.0",  # computed from it and the forward power
            on_air_oid=f"{_SUMMARY}.4.0",
            nominal_w=NOMINAL_W,
            power_divisor=1,
            vswr_divisor=1,
        )
    ),
    Metric(
        SUMMARY_FAULT,
        "",
        f"{_SUMMARY}.1.0",
        "Summary fault",
        ValueType.BOOL,
        states={True: HealthState.CRITICAL},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        SUMMARY_WARNING,
        "",
        f"{_SUMMARY}.2.0",
        "Summary warning",
        ValueType.BOOL,
        states={True: HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        LOCAL_MODE,
        "",
        f"{_SUMMARY}.3.0",
        "Local mode (remote control locked out)",
        ValueType.BOOL,
        states={True: HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
)

_POWERS = (tx.FORWARD, tx.REFLECTED)
"""The FloatingPoint objects this driver parses."""


def parse_floating_point(raw: RawValue) -> float | None:
    """A FloatingPoint value ("512.3", "0.3142E1") as a number; None when it is not one.

    A plain INTEGER is taken as the number it is: some agents serve whole numbers so.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(raw, str) or not _FLOATING_POINT.fullmatch(raw.strip()):
        return None
    value = float(raw.strip())
    return value if math.isfinite(value) else None


def _power(metric: Metric, raw: RawValue, ts: datetime) -> Reading:
    """A FloatingPoint power, rounded to the metric's resolution and checked against its range."""
    if raw is None:
        return metric.decode(None, ts)
    value = parse_floating_point(raw)
    if value is None:
        detail = f"not a FloatingPoint number: {raw!r:.60}"
        return Reading(metric.key, None, metric.unit, Quality.INVALID, ts, detail)
    value = round(value, metric.precision)
    if not metric.in_range(value):
        detail = f"{value:g} outside the valid range [{metric.valid[0]:g}, {metric.valid[1]:g}]"
        return Reading(metric.key, None, metric.unit, Quality.INVALID, ts, detail)
    return Reading(metric.key, value, metric.unit, Quality.OK, ts)


def vswr_of(forward_w: float, reflected_w: float) -> float:
    """VSWR from forward and reflected power (inf when all of it comes back)."""
    gamma = math.sqrt(reflected_w / forward_w)
    return math.inf if gamma >= 1 else (1 + gamma) / (1 - gamma)


def _vswr(metric: Metric, readings: Mapping[str, Reading], ts: datetime) -> Reading:
    """The output's VSWR, computed; not OK when a power it comes from is not."""

    def reading(value: float | None, quality: Quality, detail: str = "") -> Reading:
        return Reading(tx.VSWR, value, metric.unit, quality, ts, detail)

    for key in _POWERS:
        source = readings[key]
        if source.quality is not Quality.OK:
            return reading(None, source.quality, f"from {key}: {source.detail}")
    forward, reflected = (readings[key].value for key in _POWERS)
    assert isinstance(forward, int | float) and isinstance(reflected, int | float)
    if forward < tx.VSWR_MIN_FORWARD_W:
        detail = f"no forward power (< {tx.VSWR_MIN_FORWARD_W:g} W): VSWR undefined"
        return reading(None, Quality.MISSING, detail)
    value = round(vswr_of(forward, reflected), metric.precision)
    if not metric.in_range(value):
        return reading(None, Quality.INVALID, f"{value:g} outside the valid range")
    return reading(value, Quality.OK)


def _decode(driver: Driver, objects: Objects, ts: datetime) -> list[Reading]:
    """TruthValues as declared, the FloatingPoint powers parsed, the VSWR computed."""
    readings: dict[str, Reading] = {}
    for metric in driver.metrics:
        raw = objects.get(metric.source_key)
        if metric.key in _POWERS:
            readings[metric.key] = _power(metric, raw, ts)
        elif metric.key != tx.VSWR:
            readings[metric.key] = metric.decode(raw, ts)
    readings[tx.VSWR] = _vswr(driver.metric(tx.VSWR), readings, ts)
    return list(readings.values())


def _encode(driver: Driver, values: Mapping[str, Value]) -> dict[str, RawValue]:
    """What a NetCCU serves: powers as FloatingPoint text, no VSWR object of its own."""
    objects: dict[str, RawValue] = {}
    for key, value in values.items():
        metric = driver.metric(key)
        if key in _POWERS:
            objects[metric.source_key] = None if value is None else f"{tx.number(values, key):.1f}"
        elif key != tx.VSWR:
            objects[metric.source_key] = metric.encode(value)
    return objects


HIGH_VSWR = 2.3
RAMP_S = 60.0
HIGH_REFLECTED_W = round(tx.reflected_w(NOMINAL_W, HIGH_VSWR), 1)


def _reflection(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
) -> None:
    """An antenna or feeder fault: reflected power climbs until the VSWR is HIGH_VSWR; the
    NetCCU's summary fault follows once the VSWR is past the critical limit."""
    reflected = tx.ramp(tx.number(start, tx.REFLECTED), HIGH_REFLECTED_W, elapsed, RAMP_S)
    values[tx.REFLECTED] = round(reflected, 1)
    vswr = vswr_of(tx.number(values, tx.FORWARD), reflected)
    values[SUMMARY_FAULT] = vswr > tx.VSWR_CRIT


def _rf_off(values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float) -> None:
    """RF off after a trip: no power, and the NetCCU shows its summary fault."""
    tx.rf_off(values, start, elapsed)
    values[SUMMARY_FAULT] = True


def _local(values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float) -> None:
    """A technician left the transmitter in local mode: on air, but out of remote control."""
    values[LOCAL_MODE] = True


SIMULATOR = SimModel(
    initial={  # the VSWR is computed from the powers: no value of its own to serve
        tx.FORWARD: NOMINAL_W,
        tx.REFLECTED: 2.0,
        tx.ON_AIR: True,
        SUMMARY_FAULT: False,
        SUMMARY_WARNING: False,
        LOCAL_MODE: False,
    },
    scenarios={
        "normal": Scenario(
            "normal",
            "500 W on air, 2 W reflected (VSWR 1.13), no fault, no warning, in remote",
            expect=Expect(HealthState.OK, {tx.FORWARD: NOMINAL_W, tx.VSWR: 1.13}),
        ),
        "high_vswr": Scenario(
            "high_vswr",
            f"antenna fault: reflected power climbs to {HIGH_REFLECTED_W:g} W in {RAMP_S:g} s "
            f"(VSWR {HIGH_VSWR}), the NetCCU reports a summary fault",
            _reflection,
            expect=Expect(
                HealthState.CRITICAL,
                {tx.VSWR: HIGH_VSWR, tx.REFLECTED: HIGH_REFLECTED_W, SUMMARY_FAULT: True},
                after_s=RAMP_S + 30,
            ),
        ),
        "off_air": Scenario(
            "off_air",
            "RF off (a trip): no forward power, summary fault",
            _rf_off,
            expect=Expect(
                HealthState.CRITICAL,
                {tx.ON_AIR: False, tx.FORWARD: 0.0, tx.VSWR: None, SUMMARY_FAULT: True},
            ),
        ),
        "local_mode": Scenario(
            "local_mode",
            "left in local mode: on air, remote control locked out",
            _local,
            expect=Expect(HealthState.WARNING, {LOCAL_MODE: True, tx.ON_AIR: True}),
        ),
    },
    noise={tx.FORWARD: 5, tx.REFLECTED: 0.2},
    encoder=_encode,
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "R&S NetCCU800, DVB-T transmitter (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue(_DVB_TX),
    },
)

TRAPS = (
    TrapRule(
        TRAP_SUMMARY_FAULT,
        SUMMARY_FAULT,
        TrapAction.RAISE,
        HealthState.CRITICAL,
        "Máy phát báo lỗi tổng (Summary Fault)",
        "Transmitter summary fault",
        when={EVENT_STATE: frozenset({EVENT_ACTIVE})},
        cleared_by=SUMMARY_FAULT,
    ),
    TrapRule(
        TRAP_SUMMARY_FAULT,
        SUMMARY_FAULT,
        TrapAction.CLEAR,
        HealthState.OK,
        "Máy phát hết lỗi tổng",
        "Transmitter summary fault gone",
        when={EVENT_STATE: frozenset({EVENT_INACTIVE})},
        cleared_by=SUMMARY_FAULT,
    ),
    TrapRule(
        TRAP_SUMMARY_WARNING,
        SUMMARY_WARNING,
        TrapAction.RAISE,
        HealthState.WARNING,
        "Máy phát báo cảnh báo tổng (Summary Warning)",
        "Transmitter summary warning",
        when={EVENT_STATE: frozenset({EVENT_ACTIVE})},
        cleared_by=SUMMARY_WARNING,
    ),
    TrapRule(
        TRAP_SUMMARY_WARNING,
        SUMMARY_WARNING,
        TrapAction.CLEAR,
        HealthState.OK,
        "Máy phát hết cảnh báo tổng",
        "Transmitter summary warning gone",
        when={EVENT_STATE: frozenset({EVENT_INACTIVE})},
        cleared_by=SUMMARY_WARNING,
    ),
)

DRIVER = Driver(
    name="rs_xx8000_dvbt",
    title="R&S XX8000 DVB-T/T2 transmitter (RS-XX8000-DVB-TX-MIB)",
    kind="transmitter",
    protocol="snmp",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    decoder=_decode,
    identity=Identity(sys_object_ids=(_DVB_TX,), probe_oid=_SUMMARY),
    traps=TRAPS,
    description=(
        "A Rohde & Schwarz XX8000-series DVB-T/T2 transmitter (NetCCU800) on R&S's published "
        "MIB: forward and reflected power, VSWR (computed), RF on, summary fault and warning, "
        "local mode; summary fault and warning traps."
    ),
    sample_config="""[[device]]
id = "dvbt2-1"
driver = "rs_xx8000_dvbt"
host = "192.168.1.40"
community = "public"
interval = 10
""",
)
