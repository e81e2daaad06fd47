"""PBI DCH-4000P / DCH-5000P satellite IRD, on PBI's published PBI-4000P-5000P-MIB.

PBI (enterprise 1070) receivers are common at Vietnamese headends.  Their MIB
(``p4000-p5000`` = ``1.3.6.1.4.1.1070.3.1.1.104``) serves one DVB-S/S2 tuner as
scalars; every object below is the MIB's own, and the encodings come from its
SYNTAX and DESCRIPTION, checked against a published capture of a DCH-4000P
(LibreNMS's test data: lock 1, strength 250, C/N 130, Eb/N0 110, BER 8):

=================================== ========================================== =====================
object (``...104.``)                MIB says                                   read as
=================================== ========================================== =====================
tunerLock ``1.1.1.0``               INTEGER, "yes: 1, no: 0"                   ird.locked
tunerStrength ``1.1.6.0``           INTEGER, "tuner signal strength"           ird.signal_dbm: raw
                                                                               x -0.1 (250 -> -25.0
                                                                               dBm, positive tenths
                                                                               below 0 dBm)
tunerBER ``1.1.7.0``                INTEGER, "tuner signal BER"                ird.ber_code, as is
tunerCN ``1.1.8.0``                 INTEGER, "tuner carrier noise"             ird.cn_db: tenths
tunerEbNo ``1.1.9.0``               INTEGER, "tuner Eb/No"                     ird.ebn0_db: tenths
programNumber ``9.1.2.0``           DisplayString, the programme the decoder   ird.service
                                    is set to decode
videoOutputStatus ``9.2.14.0``      DisplayString ("Video:Ok")                 ird.video_status
audioOutputStatus ``9.3.6.0``       DisplayString ("Audio:Ok")                 ird.audio_status
demodulatorMode ``14.6.0``          INTEGER, "DVB-S, DVB-S2: 0, 1"             ird.dvb_mode
operationMode ``14.7.0``            INTEGER 0..13, the DVB-S2 MODCOD           ird.link_margin_db
                                    (QPSK 1/2 ... 8PSK 9/10)                   (with the C/N)
=================================== ========================================== =====================

The MIB states no unit for the strength, C/N and Eb/N0; tenths of a dB (and
tenths of a dB below 0 dBm for the strength) are what the capture and
LibreNMS's PBI sensors read; a strength of 0 (0 dBm, far above what a tuner
takes) is read as no measurement, as LibreNMS does.  The MIB gives BER no encoding at all: the
capture reads 8 on a clean 13 dB carrier, so `ird.ber_code` is published as
the receiver reports it and raises no alarm (check it against the receiver's
front panel before setting limits on it).

Link margin is not served: it is computed as C/N minus the C/N a DVB-S2
receiver needs for quasi-error-free reception at the MODCOD in use (EN 302 307
table 13, AWGN, ideal: real receivers need some tenths of a dB more, so the
margin reads a little high).  In DVB-S mode the MIB gives no FEC rate and the
margin is missing.  An unlocked tuner has nothing to measure: its C/N, Eb/N0,
BER and margin are shown missing, not as alarms (the strength stays: it tells
a dead LNB from a lost carrier).

The programme number is a DisplayString in the MIB; the capture answers it
as an INTEGER, which reads as its digits.  It names what the receiver decodes,
so the line-up check compares those names (or numbers) with the licence.

Identity: a DCH answers sysObjectID with net-snmp's generic Linux OID
(1.3.6.1.4.1.2021.250.10 in the capture), so the tuner status subtree is what
identifies it.  The MIB defines no traps.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime

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
    Objects,
    OidValue,
    Quantity,
    RawValue,
    Scenario,
    SimModel,
    ValueType,
)
from fieldagent.model import HealthState, Quality, Reading, Value

_P4000 = "1.3.6.1.4.1.1070.3.1.1.104"
"""p4000-p5000 (PBI-4000P-5000P-MIB), under PBI's basicInfo."""
_TUNER = f"{_P4000}.1.1"
"""tunerStatusEntry: the tuner's scalars."""
_S2 = f"{_P4000}.14"
"""s2Input: the DVB-S/S2 demodulator settings."""

LOCKED = "ird.locked"
SIGNAL = "ird.signal_dbm"
BER_CODE = "ird.ber_code"
CN = "ird.cn_db"
EBN0 = "ird.ebn0_db"
LINK_MARGIN = "ird.link_margin_db"
DVB_MODE = "ird.dvb_mode"
SERVICE = "ird.service"
VIDEO = "ird.video_status"
AUDIO = "ird.audio_status"

DVB_S, DVB_S2 = "DVB-S", "DVB-S2"

REQUIRED_CN_DB: Mapping[int, tuple[str, float]] = {
    0: ("QPSK 1/2", 1.00),
    1: ("QPSK 2/3", 3.10),
    2: ("QPSK 3/4", 4.03),
    3: ("QPSK 3/5", 2.23),
    4: ("QPSK 4/5", 4.68),
    5: ("QPSK 5/6", 5.18),
    6: ("QPSK 8/9", 6.20),
    7: ("QPSK 9/10", 6.42),
    8: ("8PSK 2/3", 6.62),
    9: ("8PSK 3/4", 7.91),
    10: ("8PSK 3/5", 5.50),
    11: ("8PSK 5/6", 9.35),
    12: ("8PSK 8/9", 10.69),
    13: ("8PSK 9/10", 11.03),
}
"""operationMode (in the MIB's order) -> MODCOD and the Es/N0 it needs for quasi-error-free
reception (EN 302 307 table 13, normal frames, AWGN); the C/N of a matched receiver."""

LINK_MARGIN_WARN_DB = 1.0
"""Below 1 dB of margin a little more rain takes the picture: time to look."""
LINK_MARGIN_CRIT_DB = 0.3
"""At 0.3 dB the receiver is on the cliff edge of the FEC: errors are imminent."""
SIGNAL_RANGE_DBM = (-65.0, -25.0)
"""The usual L-band input range of an IRD tuner; outside it the tuner is starved or overloaded."""

METRICS = (
    Metric(
        LOCKED,
        "",
        f"{_TUNER}.1.0",
        "Tuner locked",
        ValueType.BOOL,
        states={False: HealthState.CRITICAL},
        dashboard=True,
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        SIGNAL,
        "dBm",
        f"{_TUNER}.6.0",
        "Input signal level",
        scale=-0.1,
        valid=(-100, 0),
        sentinels=frozenset({0}),
        limits=Limits(warn_low=SIGNAL_RANGE_DBM[0], warn_high=SIGNAL_RANGE_DBM[1]),
        deadband=1.0,
        dashboard=True,
        quantity=Quantity.SIGNAL_LEVEL,
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        BER_CODE,
        "",
        f"{_TUNER}.7.0",
        "BER as the receiver reports it (unpublished code)",
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        CN,
        "dB",
        f"{_TUNER}.8.0",
        "C/N",
        scale=0.1,
        valid=(-10, 50),
        deadband=0.3,
        dashboard=True,
        quantity=Quantity.SIGNAL_LEVEL,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        EBN0,
        "dB",
        f"{_TUNER}.9.0",
        "Eb/N0",
        scale=0.1,
        valid=(-10, 50),
        deadband=0.3,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        LINK_MARGIN,
        "dB",
        f"{_S2}.7.0",
        "Link margin (C/N above the DVB-S2 MODCOD's threshold)",
        decimals=1,
        valid=(-30, 50),
        limits=Limits(warn_low=LINK_MARGIN_WARN_DB, crit_low=LINK_MARGIN_CRIT_DB),
        deadband=0.3,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        DVB_MODE,
        "",
        f"{_S2}.6.0",
        "Demodulator mode",
        ValueType.ENUM,
        enum={0: DVB_S, 1: DVB_S2},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        SERVICE,
        "",
        f"{_P4000}.9.1.2.0",
        "Programme decoded",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        VIDEO,
        "",
        f"{_P4000}.9.2.14.0",
        "Decoder video output status",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        AUDIO,
        "",
        f"{_P4000}.9.3.6.0",
        "Decoder audio output status",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
)

CARRIER_MEASUREMENTS = (CN, EBN0, BER_CODE, LINK_MARGIN)
"""What an unlocked tuner cannot measure (the signal level it still can)."""

_DERIVED = frozenset({LINK_MARGIN})


def _decode(driver: Driver, objects: Objects, ts: datetime) -> list[Reading]:
    """The MIB's scalars as declared, the link margin computed, an unlocked tuner's
    carrier measurements shown missing."""
    readings = {
        m.key: m.decode(objects.get(m.source_key), ts)
        for m in driver.metrics
        if m.key not in _DERIVED
    }
    margin = driver.metric(LINK_MARGIN)
    readings[LINK_MARGIN] = _margin(margin, readings, objects.get(margin.source_key), ts)
    lock = readings[LOCKED]
    if lock.quality is Quality.OK and lock.value is False:
        for key in CARRIER_MEASUREMENTS:
            measured = readings[key]
            if measured.quality is Quality.OK:
                detail = "tuner not locked: nothing to measure"
                readings[key] = Reading(key, None, measured.unit, Quality.MISSING, ts, detail)
    return list(readings.values())


def _margin(
    metric: Metric, readings: Mapping[str, Reading], modcod: RawValue, ts: datetime
) -> Reading:
    """C/N minus what the MODCOD in use needs; not OK when either input is not."""
    cn = readings[CN]

    def reading(value: float | None, quality: Quality, detail: str = "") -> Reading:
        return Reading(LINK_MARGIN, value, metric.unit, quality, ts, detail)

    if cn.quality is not Quality.OK or not isinstance(cn.value, int | float):
        return reading(None, cn.quality, f"from {CN}: {cn.detail}")
    mode = readings[DVB_MODE]
    if mode.quality is not Quality.OK:
        return reading(None, mode.quality, f"from {DVB_MODE}: {mode.detail}")
    if mode.value != DVB_S2:
        return reading(None, Quality.MISSING, "DVB-S: the MIB gives no FEC rate to judge by")
    if modcod is None:
        return reading(None, Quality.MISSING, "device has no operationMode")
    if isinstance(modcod, bool) or not isinstance(modcod, int) or modcod not in REQUIRED_CN_DB:
        detail = f"operationMode {modcod!r:.40} is not a DVB-S2 MODCOD"
        return reading(None, Quality.INVALID, detail)
    value = round(cn.value - REQUIRED_CN_DB[modcod][1], metric.precision)
    if not metric.in_range(value):
        return reading(None, Quality.INVALID, f"{value:g} outside the valid range")
    return reading(value, Quality.OK)


def _encode(driver: Driver, values: Mapping[str, Value]) -> dict[str, RawValue]:
    """What the receiver serves: lock as 1 / 0 (the MIB's, not TruthValue's 2), and its
    MODCOD; the link margin it does not serve (it is computed from the C/N)."""
    objects: dict[str, RawValue] = {driver.metric(LINK_MARGIN).source_key: MODCOD}
    for key, value in values.items():
        metric = driver.metric(key)
        if key == LINK_MARGIN:
            continue
        if key == LOCKED and value is False:
            objects[metric.source_key] = 0
        else:
            objects[metric.source_key] = metric.encode(value)
    return objects


MODCOD = 9
"""The simulated receiver's MODCOD: 8PSK 3/4, as many DVB-S2 TV carriers use."""
_NEEDED_DB = REQUIRED_CN_DB[MODCOD][1]


def margin_at(cn_db: float) -> float:
    """The link margin the simulated receiver shows at a C/N."""
    return round(cn_db - _NEEDED_DB, 1)


def _signal_loss(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The carrier is gone (dead LNB or cable): unlocked, no RF, zeros for the rest."""
    values[LOCKED] = False
    values[SIGNAL] = NO_RF_DBM
    for key in (CN, EBN0, BER_CODE):
        values[key] = 0


def _rain_fade(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Rain on the path: C/N, Eb/N0 and level fall together, the margin with them, lock holds.

    From the initial 3.7 dB of margin: a warning after 135 s, critical after 170 s.
    """
    fade = rain_fade_db(elapsed_s)
    for key in (CN, EBN0, SIGNAL):
        values[key] = round(sim_number(start[key]) - fade, 1)


def _service_changed(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The receiver decodes another programme: the signal is fine, the content is not ours."""
    values[SERVICE] = UNEXPECTED_SERVICE


INITIAL_CN_DB = 11.6

SIMULATOR = SimModel(
    initial={  # the link margin is computed from the C/N: no value of its own to serve
        LOCKED: True,
        SIGNAL: -42.0,
        BER_CODE: 8,
        CN: INITIAL_CN_DB,
        EBN0: 9.8,
        DVB_MODE: DVB_S2,
        SERVICE: "VTV1 HD",
        VIDEO: "Video:Ok",
        AUDIO: "Audio:Ok",
    },
    scenarios={
        "signal_loss": Scenario(
            "signal_loss",
            "the carrier is lost (dead LNB or cable): unlocked, no RF",
            _signal_loss,
            expect=Expect(
                HealthState.CRITICAL,
                {LOCKED: False, SIGNAL: NO_RF_DBM, LINK_MARGIN: None, CN: None},
            ),
        ),
        "rain_fade": Scenario(
            "rain_fade",
            f"rain on the path: margin falls {RAIN_FADE_DB_PER_S:g} dB/s by up to "
            f"{RAIN_FADE_MAX_DB:g} dB (warning after 135 s, critical after 170 s)",
            _rain_fade,
            expect=Expect(
                HealthState.CRITICAL,
                {LINK_MARGIN: margin_at(INITIAL_CN_DB - RAIN_FADE_MAX_DB), LOCKED: True},
                after_s=300,
            ),
        ),
        "service_changed": Scenario(
            "service_changed",
            f"the receiver now decodes {UNEXPECTED_SERVICE!r}, not on the line-up",
            _service_changed,
            expect=Expect(HealthState.OK, {SERVICE: UNEXPECTED_SERVICE}),
        ),
    },
    noise={SIGNAL: 0.5},
    encoder=_encode,
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "Linux DCH-4000P (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue("1.3.6.1.4.1.2021.250.10"),
        "1.3.6.1.2.1.1.5.0": "DCH-4000P",
        "1.3.6.1.4.1.1070.3.1.1.13.0": 4444,
    },
)

DRIVER = Driver(
    name="ird_pbi_dch",
    title="PBI DCH-4000P/5000P satellite IRD (PBI-4000P-5000P-MIB)",
    kind="ird",
    protocol="snmp",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    decoder=_decode,
    identity=Identity(probe_oid=_TUNER),
    description="PBI DCH-series satellite IRD on PBI's published MIB: tuner lock, level, C/N, "
    "Eb/N0, BER code, DVB-S2 link margin, decoded programme, decoder video and audio status.",
    sample_config="""[[device]]
id = "ird1"
driver = "ird_pbi_dch"
host = "192.168.1.31"
community = "public"
interval = 10
""",
)
