"""FM transmitter, Nautel-style SNMP agent (enterprise 1.3.6.1.4.1.28142, subtree .1.300).

Covers Nautel FM transmitters whose controller (the AUI of VS or GV series
sets, say: the 500 W to 10 kW transmitters of district stations) answers
SNMP.  Nautel's MIB is PRIVATE, not published: this table is a MODEL of it.
The reading OIDs below are the ones the project's equipment notes give; the
alarm-flag OIDs are placeholders of this model.  Check both against the
transmitter's own MIB export before relying on them in service.

Values are integers x1000 (divisor 1000), except the fan speed (plain rpm):

    .256.256.0   forward power (W)          .256.271.0   heatsink temperature (°C)
    .256.257.0   reflected power (W)        .256.281.0   fan speed (rpm, unscaled)
    .256.303.0   VSWR (ratio, e.g. 1.12)    .1025.291.0  peak modulation (%)
    .256.35.0    RF state: 0 off, 1 on (read as the boolean `tx.on_air`)

Alarm flags (0 clear, 1 active), each its own boolean metric; their OIDs are
placeholders of this model (a block .512.n.0 of the same subtree):

    .512.1.0  high SWR shutdown           tx.alarm.high_swr        critical
    .512.2.0  high reflected power        tx.alarm.high_reflected  warning
    .512.3.0  forward power low           tx.alarm.forward_low     warning
    .512.4.0  PA over-temperature         tx.alarm.pa_over_temp    critical
    .512.5.0  power supply AC fail        tx.alarm.ac_fail         critical
    .512.6.0  fan fail                    tx.alarm.fan_fail        warning
    .512.7.0  audio loss                  tx.alarm.audio_loss      critical
    .512.8.0  exciter PLL unlock          tx.alarm.pll_unlock      critical
    .512.9.0  off air (critical summary)  tx.alarm.off_air         critical

Default limits are for the typical 2 kW set (VSWR > 1.5 / > 2.0, reflected
> 100 W / > 200 W, forward < 1600 W / < 1000 W, heatsink > 60 / > 70 °C);
per-transmitter limits (a 500 W set, say) are to come from the station
configuration.  Quirk handled: with RF off the VSWR reading is meaningless
and is shown missing, not as an antenna fault (`_transmitter.blank_vswr_without_power`).
The simulator serves RF off as TruthValue 2, which reads the same as the
transmitter's 0.

Traps (see `TRAPS`): a MODELLED alarm-summary notification, like the MIB
itself a placeholder of this model, under the transmitter's subtree:

    .0.1  alarm summary (1.3.6.1.4.1.28142.1.300.0.1)

It carries the one alarm flag that changed as its varbind (.512.n.0 above,
1 active, 0 clear; TruthValue 2 reads as clear too).  Active raises the flag's
alarm under the flag's metric key (`tx.alarm.high_swr`, ...) with the flag's
severity; clear clears it.  The flag is also a reading (`cleared_by` is the
flag's own key): the trap sets the flag's `state` condition at once, and polls
carry on from there (a flag read clear for its clear delay clears it).  Check
the OID and varbinds against the transmitter's own MIB export and trap
settings before relying on them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from drivers import _transmitter as tx
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Identity,
    Limits,
    Maturity,
    Metric,
    OidValue,
    Scenario,
    ScenarioStep,
    SimModel,
    TrapAction,
    TrapRule,
    ValueType,
)
from fieldagent.model import HealthState, Value

_NAUTEL = "1.3.6.1.4.1.28142"
_TX = f"{_NAUTEL}.1.300"
_ALARMS = f"{_TX}.512"

NOMINAL_W = 2000.0
"""The typical district FM transmitter the default limits are for."""

HIGH_SWR = "tx.alarm.high_swr"
HIGH_REFLECTED = "tx.alarm.high_reflected"
FORWARD_LOW = "tx.alarm.forward_low"
PA_OVER_TEMP = "tx.alarm.pa_over_temp"
OFF_AIR = "tx.alarm.off_air"

ALARMS = (
    (HIGH_SWR, "High SWR shutdown", HealthState.CRITICAL, AlarmClass.STATE),
    (HIGH_REFLECTED, "High reflected power", HealthState.WARNING, AlarmClass.STATE),
    (FORWARD_LOW, "Forward power low", HealthState.WARNING, AlarmClass.STATE),
    (PA_OVER_TEMP, "PA over-temperature", HealthState.CRITICAL, AlarmClass.STATE),
    ("tx.alarm.ac_fail", "Power supply AC fail", HealthState.CRITICAL, AlarmClass.STATE),
    ("tx.alarm.fan_fail", "Fan fail", HealthState.WARNING, AlarmClass.STATE),
    ("tx.alarm.audio_loss", "Audio loss", HealthState.CRITICAL, AlarmClass.AUDIO),
    ("tx.alarm.pll_unlock", "Exciter PLL unlock", HealthState.CRITICAL, AlarmClass.STATE),
    (OFF_AIR, "Off air (critical summary)", HealthState.CRITICAL, AlarmClass.STATE),
)
"""Alarm flags in OID order (.512.1.0 first): key, title, state when active, alarm class."""

METRICS = (
    *tx.rf_metrics(
        forward_oid=f"{_TX}.256.256.0",
        reflected_oid=f"{_TX}.256.257.0",
        vswr_oid=f"{_TX}.256.303.0",
        on_air_oid=f"{_TX}.256.35.0",
        nominal_w=NOMINAL_W,
        power_divisor=1000,
        vswr_divisor=1000,
    ),
    tx.pa_temperature(f"{_TX}.256.271.0", "Heatsink temperature", divisor=1000),
    Metric(
        "fan.speed_rpm",
        "rpm",
        f"{_TX}.256.281.0",
        "Fan speed",
        valid=(0, 20_000),
        limits=Limits(warn_low=1500),
        deadband=60.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "audio.modulation_peak_pct",
        "%",
        f"{_TX}.1025.291.0",
        "Peak modulation (100 % = 75 kHz deviation)",
        divisor=1000,
        valid=(0, 300),
        limits=Limits(warn_high=110),
        deadband=5.0,
        alarm_class=AlarmClass.AUDIO,
    ),
    *(
        Metric(
            key,
            "",
            f"{_ALARMS}.{n}.0",
            title,
            ValueType.BOOL,
            states={True: state},
            alarm_class=alarm_class,
        )
        for n, (key, title, state, alarm_class) in enumerate(ALARMS, start=1)
    ),
)


ALARM_SUMMARY_TRAP = f"{_TX}.0.1"
"""The modelled alarm-summary notification (a placeholder of this model)."""

ALARM_TEXT_VI = {
    HIGH_SWR: "Tắt phát do SWR cao",
    HIGH_REFLECTED: "Công suất phản xạ cao",
    FORWARD_LOW: "Công suất phát thấp",
    PA_OVER_TEMP: "Tầng công suất (PA) quá nhiệt",
    "tx.alarm.ac_fail": "Bộ nguồn mất điện AC",
    "tx.alarm.fan_fail": "Hỏng quạt",
    "tx.alarm.audio_loss": "Mất tín hiệu âm thanh",
    "tx.alarm.pll_unlock": "Bộ kích thích mất khóa PLL",
    OFF_AIR: "Máy phát mất sóng (tổng hợp nghiêm trọng)",
}
"""Vietnamese alarm texts, by alarm key (the English ones are the titles in ALARMS)."""

FLAG_ACTIVE = frozenset({1})
FLAG_CLEAR = frozenset({0, 2})


def _trap_rules() -> tuple[TrapRule, ...]:
    """A raise and a clear rule per alarm flag the summary trap can carry."""
    rules: list[TrapRule] = []
    for n, (key, title, state, _) in enumerate(ALARMS, start=1):
        flag = f"{_ALARMS}.{n}.0"
        vi = ALARM_TEXT_VI[key]
        rules += [
            TrapRule(
                ALARM_SUMMARY_TRAP,
                key,
                TrapAction.RAISE,
                state,
                vi,
                title,
                value_oid=flag,
                when={flag: FLAG_ACTIVE},
                cleared_by=key,
            ),
            TrapRule(
                ALARM_SUMMARY_TRAP,
                key,
                TrapAction.CLEAR,
                HealthState.OK,
                f"{vi}: đã hết",
                f"{title}: cleared",
                value_oid=flag,
                when={flag: FLAG_CLEAR},
                cleared_by=key,
            ),
        ]
    return tuple(rules)


TRAPS = _trap_rules()


def _raise_alarms(values: MutableMapping[str, Value]) -> None:
    """Set the alarm flags a real controller derives from its own readings.

    Only the flags that follow from a reading are driven; the others (AC,
    fan, audio, PLL) keep whatever a test set them to.
    """
    forward = tx.number(values, tx.FORWARD)
    on_air = values[tx.ON_AIR] is True
    reflected_trip = NOMINAL_W * tx.REFLECTED_CRIT_FRACTION
    values[HIGH_SWR] = tx.number(values, tx.VSWR) > tx.VSWR_CRIT
    values[HIGH_REFLECTED] = tx.number(values, tx.REFLECTED) > reflected_trip
    values[FORWARD_LOW] = on_air and forward < NOMINAL_W * tx.FORWARD_WARN_FRACTION
    values[PA_OVER_TEMP] = tx.number(values, tx.PA_TEMPERATURE) > tx.PA_TEMPERATURE_CRIT_C
    values[OFF_AIR] = not on_air


def _with_alarms(step: ScenarioStep) -> ScenarioStep:
    """A fault step followed by the alarms the transmitter would raise for it."""

    def alarmed(
        values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
    ) -> None:
        step(values, start, elapsed)
        _raise_alarms(values)

    return alarmed


HIGH_VSWR = 2.3
POWER_DROP_FRACTION = 0.6
OVERHEAT_C = 78.0
RAMP_S = 60.0
"""Scenario faults develop over a minute of scenario time, then hold."""

SIMULATOR = SimModel(
    initial={
        tx.FORWARD: NOMINAL_W,
        tx.REFLECTED: 6.4,  # tx.reflected_w(2000, 1.12)
        tx.VSWR: 1.12,
        tx.ON_AIR: True,
        tx.PA_TEMPERATURE: 42.0,
        "fan.speed_rpm": 3400,
        "audio.modulation_peak_pct": 96.0,
        **{key: False for key, *_ in ALARMS},
    },
    scenarios={
        "normal": Scenario(
            "normal",
            "2 kW on air, VSWR 1.12, heatsink 42 °C, no alarm",
            expect=Expect(HealthState.OK, {tx.FORWARD: NOMINAL_W, tx.ON_AIR: True}),
        ),
        "high_vswr": tx.high_vswr_scenario(
            NOMINAL_W,
            HIGH_VSWR,
            RAMP_S,
            _with_alarms,
            {HIGH_SWR: True, HIGH_REFLECTED: True},
        ),
        "power_drop": Scenario(
            "power_drop",
            f"failing PA module: forward power falls to {POWER_DROP_FRACTION * 100:g} %"
            f" in {RAMP_S:g} s",
            _with_alarms(tx.forward_drop(POWER_DROP_FRACTION, RAMP_S)),
            expect=Expect(
                HealthState.WARNING,
                {tx.FORWARD: NOMINAL_W * POWER_DROP_FRACTION, FORWARD_LOW: True},
                after_s=RAMP_S + 30,
            ),
        ),
        "off_air": Scenario(
            "off_air",
            "RF off: no forward power, off-air alarm",
            _with_alarms(tx.rf_off),
            expect=Expect(
                HealthState.CRITICAL,
                {tx.ON_AIR: False, tx.FORWARD: 0.0, OFF_AIR: True, FORWARD_LOW: False},
            ),
        ),
        "overheat": Scenario(
            "overheat",
            f"blocked air filter: heatsink rises to {OVERHEAT_C:g} °C in {RAMP_S:g} s",
            _with_alarms(tx.ramp_to(tx.PA_TEMPERATURE, OVERHEAT_C, RAMP_S)),
            expect=Expect(
                HealthState.CRITICAL,
                {tx.PA_TEMPERATURE: OVERHEAT_C, PA_OVER_TEMP: True},
                after_s=RAMP_S + 30,
            ),
        ),
    },
    noise={
        tx.FORWARD: 15,
        tx.REFLECTED: 1.5,
        tx.VSWR: 0.02,
        tx.PA_TEMPERATURE: 1.0,
        "fan.speed_rpm": 40,
        "audio.modulation_peak_pct": 3,
    },
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "Nautel FM transmitter (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue(_TX),
    },
)

DRIVER = Driver(
    name="fm_transmitter_nautel",
    title="FM transmitter (Nautel SNMP, modelled private MIB)",
    kind="transmitter",
    protocol="snmp",
    maturity=Maturity.MODEL,
    metrics=METRICS,
    simulator=SIMULATOR,
    fixup=tx.blank_vswr_without_power,
    identity=Identity(sys_object_ids=(_NAUTEL,), probe_oid=_TX),
    traps=TRAPS,
    description=(
        "Nautel FM transmitters read over SNMP: RF power, VSWR, heatsink, fan, modulation "
        "and alarm flags (a model of Nautel's private MIB)."
    ),
    sample_config="""[[device]]
id = "fm1"
driver = "fm_transmitter_nautel"
host = "192.168.1.30"
community = "public"
interval = 10
""",
)
