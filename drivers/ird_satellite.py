"""Satellite IRD (integrated receiver-decoder) at a cable headend: one status row per input.

The vendor MIBs of headend IRDs are private.  This driver is a MODEL built on
the table layout of the Scopus IRD-2900 satellite status table,
``1.3.6.1.4.1.4466.1.2.10.1.1.1.2.1.{column}.{input}`` (enterprise 4466,
Scopus), whose published columns are:

====== ================================ ==========================================
column meaning                           model's encoding (INTEGER unless noted)
====== ================================ ==========================================
3      Eb/N0                            tenths of a dB
4      link margin (C/N above the       tenths of a dB (negative below the
       EN 300 421 threshold of the FEC) threshold)
5      post-Viterbi BER                 errored bits per 10^9 bits (see below)
6      signal quality                   percent, C/N [dB] / 36 x 100
9      C/N                              tenths of a dB
====== ================================ ==========================================

Lock state, input signal level and the service (channel) name are not among
the published columns; the model serves them at columns 101 (lock, TruthValue
1 locked / 2 not), 102 (signal level, tenths of a dBm) and 103 (service name,
DisplayString), and whether the input is in use at all at column 104 (TruthValue
1 enabled / 2 disabled: an input with no dish on it).  They lie beyond the
published column numbers on purpose: a real IRD-2900, which has no such
columns, then yields no reading for them rather than a misread one.  The
encodings are the model's too; check them against the vendor's MIB file before
trusting a real unit, and correct a scale with `[device.scaling]`.

BER is a float such as 1e-8 and SNMP has no float: it travels as an integer
count of errored bits per 10^9 (1e-8 -> 10), i.e. a divisor of 10^9.  Below
1e-9 it reads 0, which is what an operator needs: the alarm thresholds are
orders of magnitude higher.

Rows are keyed ``[input=N]`` by the row index the IRD serves; the simulator
uses 1 and 2 (a real IRD-2900 was seen with a large index such as 1392508928).

PBI DCH-series IRDs (enterprise 1070) have a driver on their published MIB,
`ird_pbi_dch`: use it for them (the demo station does).  This model stays for
station files that name it.

An input the IRD reports disabled is not in use (`rows_in_use`): listed, but
its lost lock and empty measurements raise nothing; without column 104 every
input counts as in use.

Quirk handled: an unlocked input has no carrier to measure, yet an IRD may go
on serving numbers for it (the model serves zeros).  Those would raise a critical link margin
and a pile of other alarms for what is one fault, the lost lock; `_fixup`
shows them as missing instead.  The signal level stays: it tells a dead LNB
or cable (no RF at all) from a lost or moved carrier.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from drivers._satellite import (
    NO_RF_DBM,
    RAIN_FADE_DB_PER_S,
    RAIN_FADE_MAX_DB,
    UNEXPECTED_SERVICE,
    rain_fade_db,
    sim_number,
)
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Identity,
    Limits,
    Maturity,
    Metric,
    OidValue,
    RowsInUse,
    Scenario,
    SimModel,
    ValueType,
    row_key,
    split_row_key,
)
from fieldagent.model import HealthState, Quality, Reading, Value

_SCOPUS = "1.3.6.1.4.1.4466"
_STATUS = f"{_SCOPUS}.1.2.10.1.1.1.2.1"
"""The Scopus-style satellite status entry: columns below, then the input index."""

TABLE = "input"

LOCKED = "ird.locked"
CN = "ird.cn_db"
EBN0 = "ird.ebn0_db"
LINK_MARGIN = "ird.link_margin_db"
BER = "ird.ber"
QUALITY = "ird.signal_quality_pct"
SIGNAL = "ird.signal_dbm"
SERVICE = "ird.service"
ENABLED = "ird.input_enabled"

LINK_MARGIN_WARN_DB = 1.0
"""Below 1 dB of margin a little more rain takes the picture: time to look."""
LINK_MARGIN_CRIT_DB = 0.3
"""At 0.3 dB the receiver is on the cliff edge of the FEC: errors are imminent."""
QEF_BER = 2e-4
"""DVB-S quasi-error-free limit after Viterbi (EN 300 421): beyond it Reed-Solomon fails."""
BER_WARN = 1e-5
"""Twenty times below the QEF limit: still a clean picture, but the margin is going."""
SIGNAL_RANGE_DBM = (-65.0, -25.0)
"""The usual L-band input range of an IRD tuner; outside it the tuner is starved or overloaded."""

METRICS = (
    Metric(
        LOCKED,
        "",
        f"{_STATUS}.101",
        "Demodulator locked",
        ValueType.BOOL,
        states={False: HealthState.CRITICAL},
        table=TABLE,
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        CN,
        "dB",
        f"{_STATUS}.9",
        "C/N",
        scale=0.1,
        valid=(-10, 50),
        table=TABLE,
        deadband=0.3,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        EBN0,
        "dB",
        f"{_STATUS}.3",
        "Eb/N0",
        scale=0.1,
        valid=(-10, 50),
        table=TABLE,
        deadband=0.3,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        LINK_MARGIN,
        "dB",
        f"{_STATUS}.4",
        "Link margin",
        scale=0.1,
        valid=(-30, 50),
        limits=Limits(warn_low=LINK_MARGIN_WARN_DB, crit_low=LINK_MARGIN_CRIT_DB),
        table=TABLE,
        deadband=0.3,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        BER,
        "",
        f"{_STATUS}.5",
        "Post-Viterbi bit error rate",
        divisor=1e9,
        valid=(0, 1),
        limits=Limits(warn_high=BER_WARN, crit_high=QEF_BER),
        table=TABLE,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        QUALITY,
        "%",
        f"{_STATUS}.6",
        "Signal quality",
        valid=(0, 100),
        table=TABLE,
        deadband=2.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        SIGNAL,
        "dBm",
        f"{_STATUS}.102",
        "Input signal level",
        scale=0.1,
        valid=(-100, 0),
        limits=Limits(warn_low=SIGNAL_RANGE_DBM[0], warn_high=SIGNAL_RANGE_DBM[1]),
        table=TABLE,
        deadband=1.0,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        SERVICE,
        "",
        f"{_STATUS}.103",
        "Service name",
        ValueType.TEXT,
        table=TABLE,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        ENABLED,
        "",
        f"{_STATUS}.104",
        "Input in use",
        ValueType.BOOL,
        table=TABLE,
        alarm_class=AlarmClass.STATE,
    ),
)

CARRIER_MEASUREMENTS = (CN, EBN0, LINK_MARGIN, BER, QUALITY)
"""What an unlocked input cannot measure (the signal level it still can)."""


def _fixup(readings: dict[str, Reading]) -> None:
    """Show an unlocked input's carrier measurements as missing, not as alarms."""
    for reading in list(readings.values()):
        parts = split_row_key(reading.key)
        if parts is None or parts[0] != LOCKED or reading.value is not False:
            continue
        index = parts[2]
        for key in CARRIER_MEASUREMENTS:
            measured = readings.get(row_key(key, TABLE, index))
            if measured is not None and measured.quality is Quality.OK:
                readings[measured.key] = Reading(
                    measured.key,
                    None,
                    measured.unit,
                    Quality.MISSING,
                    measured.ts,
                    f"input {index} not locked: nothing to measure",
                )


def row(key: str, index: int) -> str:
    """The reading key of `key` on input `index`."""
    return row_key(key, TABLE, str(index))


def quality_pct(cn_db: float) -> int:
    """Signal quality as Scopus documents the column: C/N [dB] / 36 x 100, within 0..100."""
    return max(0, min(100, round(cn_db / 36 * 100)))


BER_DECADES_PER_DB = 2.0
"""Slope of the Viterbi waterfall: one dB of margin is worth about two decades of BER."""
WORST_BER = 0.5
"""A coin toss: no receiver reports worse."""


def ber_at(margin_db: float) -> float:
    """Post-Viterbi BER at a link margin: the QEF limit at 0 dB, falling steeply above it."""
    return min(WORST_BER, QEF_BER * 10 ** (-BER_DECADES_PER_DB * margin_db))


SIGNAL_LOSS_INPUT = 1


def _signal_loss(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Input 1 loses its carrier: unlocked, no RF, and the IRD serves zeros."""
    values[row(LOCKED, SIGNAL_LOSS_INPUT)] = False
    values[row(SIGNAL, SIGNAL_LOSS_INPUT)] = NO_RF_DBM
    for key in CARRIER_MEASUREMENTS:
        values[row(key, SIGNAL_LOSS_INPUT)] = 0


RAIN_FADE_INPUT = 2


def _rain_fade(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Rain on input 2's path: carrier and margin fall together, BER climbs, lock holds.

    From the initial 4.4 dB of margin: a warning after 170 s, critical after 205 s.
    """
    fade = rain_fade_db(elapsed_s)
    for key in (CN, EBN0, LINK_MARGIN, SIGNAL):
        values[row(key, RAIN_FADE_INPUT)] = sim_number(start[row(key, RAIN_FADE_INPUT)]) - fade
    cn = sim_number(values[row(CN, RAIN_FADE_INPUT)])
    margin = sim_number(values[row(LINK_MARGIN, RAIN_FADE_INPUT)])
    values[row(QUALITY, RAIN_FADE_INPUT)] = quality_pct(cn)
    values[row(BER, RAIN_FADE_INPUT)] = ber_at(margin)


SERVICE_CHANGED_INPUT = 2


def _service_changed(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The uplink swaps the service on input 2: the signal is fine, the content is not ours."""
    values[row(SERVICE, SERVICE_CHANGED_INPUT)] = UNEXPECTED_SERVICE


DISABLED_INPUT = 2


def _input_disabled(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Input 2's dish is taken away and the input disabled: unlocked, no RF, no service."""
    values[row(ENABLED, DISABLED_INPUT)] = False
    values[row(LOCKED, DISABLED_INPUT)] = False
    values[row(SIGNAL, DISABLED_INPUT)] = NO_RF_DBM
    values[row(SERVICE, DISABLED_INPUT)] = ""
    for key in CARRIER_MEASUREMENTS:
        values[row(key, DISABLED_INPUT)] = 0


SIMULATOR = SimModel(
    initial={
        row(LOCKED, 1): True,
        row(CN, 1): 10.5,
        row(EBN0, 1): 8.7,
        row(LINK_MARGIN, 1): 3.7,
        row(BER, 1): 0.0,
        row(QUALITY, 1): quality_pct(10.5),
        row(SIGNAL, 1): -42.0,
        row(SERVICE, 1): "VTV1 HD",
        row(ENABLED, 1): True,
        row(LOCKED, 2): True,
        row(CN, 2): 11.2,
        row(EBN0, 2): 9.4,
        row(LINK_MARGIN, 2): 4.4,
        row(BER, 2): 0.0,
        row(QUALITY, 2): quality_pct(11.2),
        row(SIGNAL, 2): -45.5,
        row(SERVICE, 2): "VTV3 HD",
        row(ENABLED, 2): True,
    },
    scenarios={
        "signal_loss": Scenario(
            "signal_loss",
            "input 1 loses its carrier (dead LNB or cable): unlocked, no RF",
            _signal_loss,
            expect=Expect(
                HealthState.CRITICAL,
                {
                    row(LOCKED, 1): False,
                    row(SIGNAL, 1): NO_RF_DBM,
                    row(LINK_MARGIN, 1): None,
                    row(LOCKED, 2): True,
                },
            ),
        ),
        "rain_fade": Scenario(
            "rain_fade",
            f"rain on input 2: margin falls {RAIN_FADE_DB_PER_S:g} dB/s by up to "
            f"{RAIN_FADE_MAX_DB:g} dB (warning after 170 s, critical after 205 s)",
            _rain_fade,
            expect=Expect(
                HealthState.CRITICAL,
                {row(LINK_MARGIN, 2): -0.6, row(LOCKED, 2): True},
                after_s=300,
            ),
        ),
        "input_disabled": Scenario(
            "input_disabled",
            f"input {DISABLED_INPUT} is disabled (no dish on it): unlocked, listed, not judged",
            _input_disabled,
            expect=Expect(
                HealthState.OK,
                {row(ENABLED, DISABLED_INPUT): False, row(LOCKED, DISABLED_INPUT): False},
            ),
        ),
        "service_changed": Scenario(
            "service_changed",
            f"input 2 now carries {UNEXPECTED_SERVICE!r}, not on the line-up",
            _service_changed,
            expect=Expect(HealthState.OK, {row(SERVICE, 2): UNEXPECTED_SERVICE}),
        ),
    },
    noise={CN: 0.2, EBN0: 0.2, LINK_MARGIN: 0.2, SIGNAL: 0.5},
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "Satellite IRD, 2 inputs (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue(f"{_SCOPUS}.1"),
    },
)

DRIVER = Driver(
    name="ird_satellite",
    title="Satellite IRD (Scopus-style status table, modelled)",
    kind="ird",
    protocol="snmp",
    maturity=Maturity.MODEL,
    metrics=METRICS,
    simulator=SIMULATOR,
    fixup=_fixup,
    identity=Identity(sys_object_ids=(_SCOPUS,), probe_oid=_STATUS),
    rows_in_use=(RowsInUse(TABLE, ENABLED, frozenset({True})),),
    description="Satellite IRD at a headend: lock, C/N, Eb/N0, link margin, BER, level and "
    "service name per input (model of a Scopus-style private MIB; for PBI DCH IRDs use "
    "ird_pbi_dch); disabled inputs are listed but not judged.",
    sample_config="""[[device]]
id = "ird1"
driver = "ird_satellite"
host = "192.168.1.31"
community = "public"
interval = 10
""",
)
