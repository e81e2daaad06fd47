"""FM transmitter with an RS-232 ASCII remote-control port (WorldCast Ecreso style).

Covers FM transmitters of district stations (the 1 kW sets, say) whose remote
port speaks a line-based command/response protocol: the agent sends
``TX.PFWD?`` + CR, the transmitter answers ``TX.PFWD=1000`` + CR LF.  The
framing, error replies and value formats are the ASCII dialect of
`fieldagent.transports.ascii`.  The command table below is a MODEL of such
a port, modelled on WorldCast Ecreso / Crown-style commands, not a vendor's
published command set: check it against the transmitter's own
remote-control manual before relying on it in service.

    command          key                      wire format
    TX.PFWD          rf.forward_power_w       W, integer          "1000" = 1000 W
    TX.PREF          rf.reflected_power_w     tenths of a W       "32" = 3.2 W
    TX.VSWR          rf.vswr                  hundredths          "112" = 1.12
    TX.VSWR.MAX      rf.vswr_limit            tenths              "020" = "20" = 2.0
    TX.ALARM.VSWR    tx.alarm.high_swr        1 / 0               critical when 1
    TX.INTERLOCK     tx.interlock             OPEN / CLOSE        open is critical
    TX.RFPRESENT     tx.on_air                1 / 0               off air is critical
    TX.FAULT         tx.alarm.fault           1 / 0               critical when 1
    TX.WARNING       tx.alarm.warning         1 / 0               warning when 1
    TX.MODE          tx.control_mode          LOCAL / REMOTE      local is a warning
    TX.SBY           tx.standby               1 / 0               informational

`rf.vswr_limit` is the transmitter's own VSWR fold-back threshold (its
TX.ALARM.VSWR trips above it); it is reported, not judged.  An open
interlock means the transmitter cannot go on air (a door, the antenna
changeover or the dummy load is not closed): critical.  Local control
means the remote port is switched off at the front panel, usually a switch
forgotten after maintenance: the station cannot be controlled remotely, a
warning.  Standby is informational: being off air is judged by tx.on_air.

Default limits are for a 1 kW set (forward < 800 W / < 500 W, reflected
> 50 W / > 100 W, VSWR > 1.5 / > 2.0), from the shared transmitter helpers.
Quirk handled: with RF off the VSWR reading is meaningless and is shown
missing (`_transmitter.blank_vswr_without_power`).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import replace

from drivers import _transmitter as tx
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Maturity,
    Metric,
    Scenario,
    ScenarioStep,
    SimModel,
    ValueType,
)
from fieldagent.model import HealthState, Value

NOMINAL_W = 1000.0
"""The district FM set the default limits are for."""

VSWR_LIMIT = "rf.vswr_limit"
HIGH_SWR = "tx.alarm.high_swr"
INTERLOCK = "tx.interlock"
FAULT = "tx.alarm.fault"
WARNING = "tx.alarm.warning"
CONTROL_MODE = "tx.control_mode"
STANDBY = "tx.standby"


def _reflected_in_tenths(metric: Metric) -> Metric:
    """TX.PREF is sent in tenths of a watt, TX.PFWD in whole watts."""
    return replace(metric, divisor=10) if metric.key == tx.REFLECTED else metric


def _flag(key: str, command: str, title: str, state: HealthState | None) -> Metric:
    """A 1 / 0 flag; `state` is what it puts the transmitter in when set."""
    states: dict[str | bool, HealthState] = {} if state is None else {True: state}
    return Metric(
        key, "", command, title, ValueType.BOOL, states=states, alarm_class=AlarmClass.STATE
    )


METRICS = (
    *(
        _reflected_in_tenths(m)
        for m in tx.rf_metrics(
            forward_oid="TX.PFWD",
            reflected_oid="TX.PREF",
            vswr_oid="TX.VSWR",
            on_air_oid="TX.RFPRESENT",
            nominal_w=NOMINAL_W,
            power_divisor=1,
            vswr_divisor=100,
        )
    ),
    Metric(
        VSWR_LIMIT,
        "",
        "TX.VSWR.MAX",
        "VSWR fold-back threshold (the transmitter's own)",
        divisor=10,
        valid=(1.0, 10.0),
        deadband=0.0,  # a setting: any change is news
        alarm_class=AlarmClass.POWER,
    ),
    _flag(HIGH_SWR, "TX.ALARM.VSWR", "VSWR alarm", HealthState.CRITICAL),
    Metric(
        INTERLOCK,
        "",
        "TX.INTERLOCK",
        "Safety interlock (open: cannot go on air)",
        ValueType.ENUM,
        enum={0: "open", 1: "close"},
        states={"open": HealthState.CRITICAL},
        alarm_class=AlarmClass.STATE,
    ),
    _flag(FAULT, "TX.FAULT", "Summary fault", HealthState.CRITICAL),
    _flag(WARNING, "TX.WARNING", "Summary warning", HealthState.WARNING),
    Metric(
        CONTROL_MODE,
        "",
        "TX.MODE",
        "Control mode (local: remote control is off)",
        ValueType.ENUM,
        enum={0: "local", 1: "remote"},
        states={"local": HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
    _flag(STANDBY, "TX.SBY", "Standby", None),
)


def _raise_alarms(values: MutableMapping[str, Value]) -> None:
    """The flags the transmitter's controller derives from its own readings."""
    values[HIGH_SWR] = tx.number(values, tx.VSWR) > tx.number(values, VSWR_LIMIT)
    values[FAULT] = values[HIGH_SWR] is True or values[INTERLOCK] == "open"


def _with_alarms(step: ScenarioStep) -> ScenarioStep:
    def alarmed(
        values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
    ) -> None:
        step(values, start, elapsed)
        _raise_alarms(values)

    return alarmed


def interlock_open(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
) -> None:
    """The interlock loop opens: the transmitter mutes its RF at once."""
    values[INTERLOCK] = "open"
    tx.rf_off(values, start, elapsed)


def local_control(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
) -> None:
    """The front-panel LOCAL/REMOTE switch left on local after maintenance."""
    values[CONTROL_MODE] = "local"


HIGH_VSWR = 2.3
RAMP_S = 60.0
"""The antenna fault develops over a minute of scenario time, then holds."""

SIMULATOR = SimModel(
    initial={
        tx.FORWARD: NOMINAL_W,
        tx.REFLECTED: 3.2,  # tx.reflected_w(1000, 1.12)
        tx.VSWR: 1.12,
        tx.ON_AIR: True,
        VSWR_LIMIT: 2.0,
        HIGH_SWR: False,
        INTERLOCK: "close",
        FAULT: False,
        WARNING: False,
        CONTROL_MODE: "remote",
        STANDBY: False,
    },
    scenarios={
        "normal": Scenario(
            "normal",
            "1 kW on air, VSWR 1.12, interlock closed, remote control, no alarm",
            expect=Expect(
                HealthState.OK,
                {tx.FORWARD: NOMINAL_W, tx.ON_AIR: True, INTERLOCK: "close"},
            ),
        ),
        "high_vswr": tx.high_vswr_scenario(
            NOMINAL_W,
            HIGH_VSWR,
            RAMP_S,
            _with_alarms,
            {HIGH_SWR: True, FAULT: True},
            "past the transmitter's own 2.0 limit; reflected power follows, VSWR alarm and"
            " summary fault",
        ),
        "interlock_open": Scenario(
            "interlock_open",
            "the interlock loop opens: RF muted, off air, summary fault",
            _with_alarms(interlock_open),
            expect=Expect(
                HealthState.CRITICAL,
                {INTERLOCK: "open", tx.ON_AIR: False, tx.FORWARD: 0, FAULT: True},
            ),
        ),
        "local_control": Scenario(
            "local_control",
            "the front-panel switch left on LOCAL: on air, but not remotely controllable",
            local_control,
            expect=Expect(HealthState.WARNING, {CONTROL_MODE: "local", tx.ON_AIR: True}),
        ),
    },
    noise={tx.FORWARD: 10, tx.REFLECTED: 0.5, tx.VSWR: 0.01},
)

DRIVER = Driver(
    name="fm_transmitter_ascii",
    title="FM transmitter (RS-232 ASCII remote port, modelled command set)",
    kind="transmitter",
    protocol="ascii",
    maturity=Maturity.MODEL,
    metrics=METRICS,
    simulator=SIMULATOR,
    fixup=tx.blank_vswr_without_power,
    description=(
        "FM transmitters read over an RS-232 ASCII remote port (Ecreso / Crown style): RF "
        "power, VSWR, interlock, alarms and control mode (a model of the vendor's command set)."
    ),
    sample_config="""[[device]]
id = "fm2"
driver = "fm_transmitter_ascii"
serial_port = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
baud = 9600
timeout = 1.0
interval = 10
""",
)
