"""Inovonics 640 AARON FM rebroadcast receiver as an off-air monitor, on Inovonics's
published INOVONICS-MODEL640-MIB.

Tuned to the station's own frequency, it hears the signal as listeners do,
independently of the transmitter's own meters: an exciter that modulates
silence, a stereo generator that lost its pilot or an antenna that no longer
radiates show here even when the transmitter reports itself healthy.

Every object is the MIB's own, scalars under ``model640`` =
``1.3.6.1.4.1.42111.640`` (Inovonics, enterprise 42111):

=============================== ======================================= =======================
object (``...640.``)            MIB says                                read as
=============================== ======================================= =======================
frequency ``3.1.0``             Integer32 6500..10800, 10 kHz steps     offair.frequency_mhz
rssi ``3.3.0``                  Integer32 0..120, dBuV                  offair.rssi_dbuv
multipath ``3.5.0``             Integer32 0..100, %                     offair.multipath_pct
noise ``3.6.0``                 Integer32 0..100, % ultrasonic noise    offair.noise_pct
leftLeveldB ``3.7.0``           Integer32 -128..6, dB                   offair.audio_left_db
rightLeveldB ``3.8.0``          Integer32 -128..6, dB                   offair.audio_right_db
pi ``5.1.0``, ps ``5.3.0``      DisplayString, the RDS PI code and PS   offair.rds_pi,
                                                                        offair.rds_ps
audioLossAlarm ``6.1.1.0``      OnOff: off(0) on(1)                     offair.audio_loss
lowSignalAlarm ``6.1.2.0``      OnOff                                   offair.low_signal
rdsErrorAlarm ``6.1.3.0``       OnOff                                   offair.rds_error
pilotLossAlarm ``6.1.4.0``      OnOff                                   offair.pilot_loss
=============================== ======================================= =======================

The receiver's own alarms (their thresholds and times are set on the receiver)
decide health: audio loss and low signal are critical (listeners hear nothing
or noise), pilot loss and RDS errors warnings (the programme is still heard,
in mono or without its RDS).  Its traps (``...640.1.0.N``, each carrying the
alarm object, on or off) raise and clear the same alarms.  The Model 650 has
a different layout (an antenna object shifts ``nowPlaying``) and is not read
by this driver.  Identity: the MIB does not say what sysObjectID the receiver
answers; its ``nowPlaying`` subtree identifies it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Identity,
    Maturity,
    Metric,
    OidValue,
    Scenario,
    SimModel,
    TrapAction,
    TrapRule,
    ValueType,
)
from fieldagent.model import HealthState, Value

_MODEL640 = "1.3.6.1.4.1.42111.640"
_NOW_PLAYING = f"{_MODEL640}.3"
_ALARMS = f"{_MODEL640}.6.1"
_NOTIFICATIONS = f"{_MODEL640}.1.0"

FREQUENCY = "offair.frequency_mhz"
RSSI = "offair.rssi_dbuv"
MULTIPATH = "offair.multipath_pct"
NOISE = "offair.noise_pct"
LEFT = "offair.audio_left_db"
RIGHT = "offair.audio_right_db"
RDS_PI = "offair.rds_pi"
RDS_PS = "offair.rds_ps"
AUDIO_LOSS = "offair.audio_loss"
LOW_SIGNAL = "offair.low_signal"
RDS_ERROR = "offair.rds_error"
PILOT_LOSS = "offair.pilot_loss"

ON_OFF = {0: "off", 1: "on"}
"""The MIB's OnOff textual convention."""

ALARMS = (
    # key, alarmStatus column, title, state when on, Vietnamese and English trap texts
    (
        AUDIO_LOSS,
        1,
        "Audio loss",
        HealthState.CRITICAL,
        "Mất âm thanh thu sóng",
        "Off-air audio lost",
    ),
    (
        LOW_SIGNAL,
        2,
        "Low signal",
        HealthState.CRITICAL,
        "Tín hiệu thu sóng yếu",
        "Off-air signal low",
    ),
    (RDS_ERROR, 3, "RDS error / mismatch", HealthState.WARNING, "Lỗi RDS", "Off-air RDS error"),
    (PILOT_LOSS, 4, "Pilot loss", HealthState.WARNING, "Mất pilot stereo", "Off-air pilot lost"),
)

METRICS = (
    Metric(
        FREQUENCY,
        "MHz",
        f"{_NOW_PLAYING}.1.0",
        "Frequency",
        divisor=100,
        valid=(65, 108),
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        RSSI,
        "dBuV",
        f"{_NOW_PLAYING}.3.0",
        "Signal strength (RSSI)",
        valid=(0, 120),
        alarm_class=AlarmClass.POWER,
    ),
    Metric(
        MULTIPATH,
        "%",
        f"{_NOW_PLAYING}.5.0",
        "Multipath",
        valid=(0, 100),
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        NOISE,
        "%",
        f"{_NOW_PLAYING}.6.0",
        "Ultrasonic noise",
        valid=(0, 100),
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        LEFT,
        "dB",
        f"{_NOW_PLAYING}.7.0",
        "Left audio level",
        valid=(-128, 6),
        alarm_class=AlarmClass.AUDIO,
    ),
    Metric(
        RIGHT,
        "dB",
        f"{_NOW_PLAYING}.8.0",
        "Right audio level",
        valid=(-128, 6),
        alarm_class=AlarmClass.AUDIO,
    ),
    Metric(
        RDS_PI,
        "",
        f"{_MODEL640}.5.1.0",
        "RDS PI code",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        RDS_PS,
        "",
        f"{_MODEL640}.5.3.0",
        "RDS programme service name",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
    *(
        Metric(
            key,
            "",
            f"{_ALARMS}.{column}.0",
            title,
            ValueType.ENUM,
            enum=ON_OFF,
            states={"on": state},
            alarm_class=AlarmClass.STATE,
        )
        for key, column, title, state, _, _ in ALARMS
    ),
)

TRAPS = tuple(
    TrapRule(
        f"{_NOTIFICATIONS}.{column}",
        key,
        action,
        severity,
        message_vi if action is TrapAction.RAISE else f"{message_vi}: đã hết",
        message_en if action is TrapAction.RAISE else f"{message_en}: over",
        when={f"{_ALARMS}.{column}": frozenset({raw})},
        cleared_by=key,
    )
    for key, column, _, state, message_vi, message_en in ALARMS
    for action, severity, raw in (
        (TrapAction.RAISE, state, 1),
        (TrapAction.CLEAR, HealthState.OK, 0),
    )
)


def _audio_loss(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The carrier is there, the programme is silence (a dead audio link to the site)."""
    values[LEFT] = values[RIGHT] = -60
    values[AUDIO_LOSS] = "on"


def _carrier_loss(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The transmitter no longer reaches the receiver: noise, no pilot, no RDS, no audio."""
    values.update({RSSI: 8, NOISE: 85, LEFT: -70, RIGHT: -70, RDS_PI: "", RDS_PS: ""})
    values.update(dict.fromkeys((AUDIO_LOSS, LOW_SIGNAL, RDS_ERROR, PILOT_LOSS), "on"))


def _pilot_loss(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The stereo generator lost its 19 kHz pilot: the programme goes on in mono."""
    values[PILOT_LOSS] = "on"


SIMULATOR = SimModel(
    initial={
        FREQUENCY: 97.5,
        RSSI: 62,
        MULTIPATH: 4,
        NOISE: 3,
        LEFT: -14,
        RIGHT: -15,
        RDS_PI: "3201",
        RDS_PS: "HAMTAN",
        AUDIO_LOSS: "off",
        LOW_SIGNAL: "off",
        RDS_ERROR: "off",
        PILOT_LOSS: "off",
    },
    scenarios={
        "audio_loss": Scenario(
            "audio_loss",
            "silence on air: carrier present, audio below the receiver's threshold",
            _audio_loss,
            expect=Expect(HealthState.CRITICAL, {AUDIO_LOSS: "on", LEFT: -60, RSSI: 62}),
        ),
        "carrier_loss": Scenario(
            "carrier_loss",
            "the station's signal is gone: low signal, no pilot, no RDS, no audio",
            _carrier_loss,
            expect=Expect(HealthState.CRITICAL, {LOW_SIGNAL: "on", PILOT_LOSS: "on", RSSI: 8}),
        ),
        "pilot_loss": Scenario(
            "pilot_loss",
            "stereo pilot lost: the programme is heard in mono",
            _pilot_loss,
            expect=Expect(HealthState.WARNING, {PILOT_LOSS: "on", AUDIO_LOSS: "off"}),
        ),
    },
    noise={RSSI: 2, MULTIPATH: 2, LEFT: 3, RIGHT: 3},
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "Inovonics 640 AARON FM Rebroadcast Receiver (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue(_MODEL640),
        f"{_MODEL640}.2.2.0": "1.4.2",
    },
)

DRIVER = Driver(
    name="offair_inovonics640",
    title="Inovonics 640 FM off-air monitor (INOVONICS-MODEL640-MIB)",
    kind="offair",
    protocol="snmp",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    identity=Identity(sys_object_ids=(_MODEL640,), probe_oid=_NOW_PLAYING),
    traps=TRAPS,
    description="An Inovonics 640 AARON receiver tuned to the station's own FM signal, on "
    "Inovonics's published MIB: signal strength, multipath, noise, audio levels, RDS, and the "
    "receiver's audio-loss, low-signal, RDS and pilot-loss alarms and traps.",
    sample_config="""[[device]]
id = "offair-fm"
driver = "offair_inovonics640"
host = "192.168.1.60"
community = "public"
interval = 10
""",
)
