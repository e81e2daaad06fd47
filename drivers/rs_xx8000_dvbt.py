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

Per exciter, one row each (``[exciter=1]`` is exciter A, ``[exciter=2]``
exciter B: IndexAB, a(1) b(2)).  The NetCCU serves each exciter's summary flags
as two scalars of summaryInfo, one per exciter (`Metric.row_sources`), and its
measurements in exciterStatusTable (detailedInfo 20, ``...4.1.3.20.1.C.N``,
indexed by excStatusExcIdx):

====================================== ======================================= =====================
object (``...4.1.``)                   MIB says                                read as
====================================== ======================================= =====================
summaryFaultExcA/B ``2.7.0, 2.9.0``    TruthValue, a summary fault of the      exciter.fault
                                       exciter
noConnectionExcA/B ``2.17.0, 2.19.0``  TruthValue, no connection between the   exciter.no_connection
                                       NetCCU and the exciter
activeExcA/B ``2.21.0, 2.23.0``        TruthValue, the exciter is currently    exciter.on_air
                                       active (on the program path)
excStatusVSWR ``3.20.1.9.N``           FloatingPoint, Voltage Standing Wave    exciter.vswr
                                       Ratio
excStatusRfOutputAgcRegulation         FloatingPoint, Percent: the RF          exciter.agc_pct
``3.20.1.4.N``                         regulator's operating point, "should
                                       be around 50 per cent"
excStatusFailDelay ``3.20.1.40.N``     FailDelayStatus: off(1) not used,       exciter.fail_delay
                                       warning(2) GPS not sufficient for time
                                       drift prediction, ok(3)
====================================== ======================================= =====================

An exciter's fault is critical (the NetCCU's own summary fault follows it, as
the MIB says: "a fault of at least one module"), its VSWR is judged like the
output's (> 1.5 / > 2.0), an operating point below 20 % or above 80 % is a
warning (the regulator is running out of range to hold the level), and so is
a fail delay warning (an SFN site may mute after a GPS loss).  Which exciter
is on air is listed, not judged: standing by is what a reserve does.

Which exciters are in use: the MIB has no object that says an exciter is fitted
or configured.  The reserve concept (single transmitter, dual drive, active or
passive reserve) is a compliance statement of the MIB, not an object the
NetCCU serves, and exciter B's objects belong to the dual-drive group, which a
single transmitter need not serve (then there is no exciter B row at all: a
row whose objects are absent is not read).  The nearest object is
noConnectionExcA/B: the NetCCU has no connection to an exciter a single-drive
transmitter does not have.  So an exciter's rows are judged while
`exciter.no_connection` reads false (`rows_in_use`), and listed, not judged,
while it reads true.  A reserve exciter that is fitted and standing by is
connected, so it is judged: a bad VSWR of the reserve raises its alarm, since
a changeover would put it on air.  Whether a reserve standing by keeps its RF
output up (and so reads a meaningful VSWR and operating point) depends on the
reserve concept, which the MIB does not describe; a station whose reserve
idles with its output off widens those limits in its `[device.limits]`
(``"exciter.agc_pct"``, ``"exciter.vswr"``).  The price of using the connection: a
fitted exciter whose link to the NetCCU breaks reads no_connection true as
well, and its rows are then not judged.  The transmitter's summary fault and
warning and its RF readings stay judged; what names the lost link is the
NetCCU's txNetCCUNoConnectionToExcA/B event (a dual-drive event, so a
single-drive NetCCU does not send it for the exciter it lacks), which this
driver does not map to an alarm yet.

FloatingPoint (RS-XX8000-COMMON-MIB) is an OCTET STRING holding a decimal
number in ASCII ("512.3", "0.3142E1"), so this driver parses it (`_decode`)
and rounds it to the metric's `decimals` (0.1 W, 0.01 of VSWR, 0.1 %).
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
from drivers._snmp_tables import column_rows
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Identity,
    Limits,
    Maturity,
    Metric,
    Objects,
    OidValue,
    RawValue,
    RowsInUse,
    Scenario,
    SimModel,
    TrapAction,
    TrapRule,
    ValueType,
    row_key,
)
from fieldagent.model import HealthState, Quality, Reading, Value

_XX8000 = "1.3.6.1.4.1.2566.127.1.2.167"
"""rsXx8000: every R&S series-8000 transmitter."""
_DVB_TX = f"{_XX8000}.4"
"""rsXx8000DvbTx: the DVB-T/H transmitters of the series."""
_SUMMARY = f"{_DVB_TX}.1.2"
"""summaryInfo of rsXx8000DvbTx."""
_EXC_STATUS = f"{_DVB_TX}.1.3.20.1"
"""exciterStatusEntry (detailedInfo 20), indexed by excStatusExcIdx (IndexAB: 1 a, 2 b)."""
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

EXCITERS = "exciter"
"""The exciter rows' label: ``[exciter=1]`` is exciter A, ``[exciter=2]`` exciter B (IndexAB)."""
EXCITER_A, EXCITER_B = "1", "2"
EXC_FAULT = "exciter.fault"
EXC_NO_CONNECTION = "exciter.no_connection"
EXC_ON_AIR = "exciter.on_air"
EXC_VSWR = "exciter.vswr"
EXC_AGC = "exciter.agc_pct"
EXC_FAIL_DELAY = "exciter.fail_delay"
AGC_WARN_LOW_PCT, AGC_WARN_HIGH_PCT = 20.0, 80.0
"""The RF regulator's operating point "should be around 50 per cent" (the MIB); beyond these
it is running out of range to hold the output level."""


def exciter_row(key: str, exciter: str) -> str:
    """The reading key of one exciter's value: ``exciter.vswr[exciter=2]``."""
    return row_key(key, EXCITERS, exciter)


def _per_exciter(a: int, b: int) -> dict[str, str]:
    """Row index -> the summaryInfo object of exciter A and of exciter B."""
    return {EXCITER_A: f"{_SUMMARY}.{a}.0", EXCITER_B: f"{_SUMMARY}.{b}.0"}


_FLOATING_POINT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
"""The FloatingPoint textual convention's grammar."""

DECIMALS = {tx.FORWARD: 1, tx.REFLECTED: 1, tx.VSWR: 2}
"""What the parsed powers and the computed VSWR are rounded to."""

EXCITER_METRICS = (
    Metric(
        EXC_FAULT,
        "",
        _SUMMARY,
        "Exciter summary fault",
        ValueType.BOOL,
        states={True: HealthState.CRITICAL},
        table=EXCITERS,
        row_sources=_per_exciter(7, 9),  # summaryFaultExcA / summaryFaultExcB
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        EXC_NO_CONNECTION,
        "",
        _SUMMARY,
        "No connection between the NetCCU and the exciter (not fitted, or its link lost)",
        ValueType.BOOL,
        table=EXCITERS,
        row_sources=_per_exciter(17, 19),  # noConnectionExcA / noConnectionExcB
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        EXC_ON_AIR,
        "",
        _SUMMARY,
        "Exciter active (on the program path; the other one is the reserve)",
        ValueType.BOOL,
        table=EXCITERS,
        row_sources=_per_exciter(21, 23),  # activeExcA / activeExcB
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        EXC_VSWR,
        "",
        f"{_EXC_STATUS}.9",  # excStatusVSWR, FloatingPoint
        "Exciter output VSWR",
        decimals=2,
        valid=(1.0, 100.0),
        limits=Limits(warn_high=tx.VSWR_WARN, crit_high=tx.VSWR_CRIT),
        table=EXCITERS,
        deadband=0.02,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        EXC_AGC,
        "%",
        f"{_EXC_STATUS}.4",  # excStatusRfOutputAgcRegulation, FloatingPoint, Percent
        "Exciter RF regulator operating point (about 50 % when well set)",
        decimals=1,
        valid=(0.0, 100.0),
        limits=Limits(warn_low=AGC_WARN_LOW_PCT, warn_high=AGC_WARN_HIGH_PCT),
        table=EXCITERS,
        deadband=1.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        EXC_FAIL_DELAY,
        "",
        f"{_EXC_STATUS}.40",  # excStatusFailDelay, FailDelayStatus
        "SFN time drift prediction (fail delay): GPS good enough to ride out a loss",
        ValueType.ENUM,
        enum={1: "off", 2: "warning", 3: "ok"},
        states={"warning": HealthState.WARNING},
        table=EXCITERS,
        alarm_class=AlarmClass.STATE,
    ),
)

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
    *EXCITER_METRICS,
)

_POWERS = (tx.FORWARD, tx.REFLECTED)
"""The powers the VSWR is computed from."""
_FLOATING = frozenset({*_POWERS, EXC_VSWR, EXC_AGC})
"""The metrics served as FloatingPoint text, which this driver parses."""
_EXCITER_COLUMNS = tuple(m.source_key for m in EXCITER_METRICS if not m.row_sources)
"""The exciterStatusTable columns a poll walks."""


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


def _floating(metric: Metric, raw: RawValue, ts: datetime, key: str) -> Reading:
    """A FloatingPoint value, rounded to the metric's resolution and checked against its range."""
    if raw is None:
        return metric.decode(None, ts, key)
    value = parse_floating_point(raw)
    if value is None:
        detail = f"not a FloatingPoint number: {raw!r:.60}"
        return Reading(key, None, metric.unit, Quality.INVALID, ts, detail)
    value = round(value, metric.precision)
    if not metric.in_range(value):
        detail = f"{value:g} outside the valid range [{metric.valid[0]:g}, {metric.valid[1]:g}]"
        return Reading(key, None, metric.unit, Quality.INVALID, ts, detail)
    return Reading(key, value, metric.unit, Quality.OK, ts)


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


def _served(metric: Metric, objects: Objects) -> list[tuple[str, RawValue]]:
    """(reading key, raw value) of a metric: its scalar, or the rows the NetCCU serves (a row
    whose object is absent is not a row: a single-drive NetCCU may serve no exciter B)."""
    if metric.table is None:
        return [(metric.key, objects.get(metric.source_key))]
    if metric.row_sources:
        rows = {i: objects.get(oid) for i, oid in metric.row_sources.items()}
    else:
        rows = column_rows(objects, metric.source_key)
    return [
        (row_key(metric.key, metric.table, i), raw) for i, raw in rows.items() if raw is not None
    ]


def _decode(driver: Driver, objects: Objects, ts: datetime) -> list[Reading]:
    """TruthValues and enums as declared, FloatingPoint text parsed, the VSWR computed."""
    readings: dict[str, Reading] = {}
    for metric in driver.metrics:
        if metric.key == tx.VSWR:
            continue
        for key, raw in _served(metric, objects):
            floating = metric.key in _FLOATING
            readings[key] = (
                _floating(metric, raw, ts, key) if floating else metric.decode(raw, ts, key)
            )
    readings[tx.VSWR] = _vswr(driver.metric(tx.VSWR), readings, ts)
    return list(readings.values())


def _encode(driver: Driver, values: Mapping[str, Value]) -> dict[str, RawValue]:
    """What a NetCCU serves: FloatingPoint values as text, no VSWR object of its own."""
    objects: dict[str, RawValue] = {}
    for key, value in values.items():
        metric = driver.metric(key)
        if metric.key in _FLOATING:
            text = None if value is None else f"{tx.number(values, key):.{metric.precision}f}"
            objects[driver.oid_of(key)] = text
        elif key != tx.VSWR:
            objects[driver.oid_of(key)] = metric.encode(value)
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


UNFITTED_B: dict[str, Value] = {
    EXC_NO_CONNECTION: True,
    EXC_ON_AIR: False,
    EXC_FAULT: True,
    EXC_VSWR: 3.0,
    EXC_AGC: 99.0,
    EXC_FAIL_DELAY: "warning",
}
"""What the single-drive scenario's exciter B reads: the NetCCU has no connection to it, and
every other value would alarm if it were judged."""


def _single_drive(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
) -> None:
    """A single-drive transmitter: exciter B is not fitted; its rows read what would alarm."""
    for key, value in UNFITTED_B.items():
        values[exciter_row(key, EXCITER_B)] = value


RESERVE_VSWR = 2.4


def _reserve_vswr(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
) -> None:
    """The reserve exciter (B, connected, standing by) sees a bad match at its output."""
    values[exciter_row(EXC_VSWR, EXCITER_B)] = RESERVE_VSWR


_DUAL_DRIVE: dict[str, dict[str, Value]] = {
    EXCITER_A: {EXC_ON_AIR: True, EXC_VSWR: 1.08, EXC_AGC: 50.4},
    EXCITER_B: {EXC_ON_AIR: False, EXC_VSWR: 1.12, EXC_AGC: 49.1},
}
_HEALTHY: dict[str, Value] = {EXC_FAULT: False, EXC_NO_CONNECTION: False, EXC_FAIL_DELAY: "ok"}
EXCITER_INITIAL: dict[str, Value] = {
    exciter_row(key, exciter): value
    for exciter, row in _DUAL_DRIVE.items()
    for key, value in {**_HEALTHY, **row}.items()
}
"""A dual-drive transmitter: exciter A on air, exciter B the connected reserve."""


SIMULATOR = SimModel(
    initial={  # the VSWR is computed from the powers: no value of its own to serve
        tx.FORWARD: NOMINAL_W,
        tx.REFLECTED: 2.0,
        tx.ON_AIR: True,
        SUMMARY_FAULT: False,
        SUMMARY_WARNING: False,
        LOCAL_MODE: False,
        **EXCITER_INITIAL,
    },
    scenarios={
        "normal": Scenario(
            "normal",
            "500 W on air, 2 W reflected (VSWR 1.13), no fault, no warning, in remote; "
            "dual drive: exciter A on air, exciter B the connected reserve",
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
        "single_drive": Scenario(
            "single_drive",
            "exciter B is not fitted: no connection to it, and it reads a fault, VSWR 3.0, "
            "AGC 99 %: listed, not judged",
            _single_drive,
            expect=Expect(
                HealthState.OK,
                {
                    exciter_row(EXC_NO_CONNECTION, EXCITER_B): True,
                    exciter_row(EXC_VSWR, EXCITER_B): 3.0,
                    exciter_row(EXC_ON_AIR, EXCITER_A): True,
                },
            ),
        ),
        "reserve_vswr": Scenario(
            "reserve_vswr",
            f"the reserve exciter (B, connected, standing by) reads VSWR {RESERVE_VSWR}: "
            "judged like the one on air",
            _reserve_vswr,
            expect=Expect(
                HealthState.CRITICAL,
                {
                    exciter_row(EXC_VSWR, EXCITER_B): RESERVE_VSWR,
                    exciter_row(EXC_ON_AIR, EXCITER_B): False,
                },
            ),
        ),
    },
    noise={tx.FORWARD: 5, tx.REFLECTED: 0.2, EXC_VSWR: 0.01, EXC_AGC: 0.5},
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
    walk_roots=_EXCITER_COLUMNS,
    rows_in_use=(RowsInUse(EXCITERS, EXC_NO_CONNECTION, frozenset({False})),),
    identity=Identity(sys_object_ids=(_DVB_TX,), probe_oid=_SUMMARY),
    traps=TRAPS,
    description=(
        "A Rohde & Schwarz XX8000-series DVB-T/T2 transmitter (NetCCU800) on R&S's published "
        "MIB: forward and reflected power, VSWR (computed), RF on, summary fault and warning, "
        "local mode; per exciter (A, B) its fault, which one is on air, its output VSWR, RF "
        "regulator operating point and SFN fail delay status, an exciter the NetCCU has no "
        "connection to (not fitted) not judged; summary fault and warning traps."
    ),
    sample_config="""[[device]]
id = "dvbt2-1"
driver = "rs_xx8000_dvbt"
host = "192.168.1.40"
community = "public"
interval = 10
""",
)
