"""Automatic changeover unit (ACU) of a main/standby transmitter pair, RS-232 ASCII port.

A changeover unit watches two transmitters (A and B) and, when the one on
air fails, switches the antenna (a coaxial RF switch) to the other after a
delay.  Its remote port speaks the line-based ASCII dialect of
`fieldagent.transports.ascii` (``ACU.POS?`` + CR -> ``ACU.POS=MAIN`` + CR LF).
The command table below is a MODEL of such a port, in the style of the
WorldCast / Crown remote commands, not a vendor's published command set:
check it against the unit's own manual before relying on it in service.

    command          key                             wire format
    ACU.CURRENT_MAIN changeover.main_tx              A / B (which set is the main)
    ACU.POS          changeover.position             MAIN / STANDBY (which is on air)
    ACU.READY        changeover.ready                1 / 0 (armed to switch)
    ACU.FAULT        changeover.fault                1 / 0 (the switch itself failed)
    ACU.DELAY        changeover.delay_s              0..99 s, fault-to-switch delay
    ACU.SWLAST       changeover.last_switch_reason   text, e.g. TX A FAULT
    ACU.ITER.MEAS    changeover.switch_count         switches since reset

Health: on STANDBY is a warning (the station is on air, but on its backup:
the main needs repair and nothing protects the backup); not ready is a
warning (the pair is unprotected); a unit fault is critical (a coaxial
switch that failed may be stuck between positions, cutting the antenna off).

`changeover.last_switch_reason` is TEXT, not an enum: units word their
reasons freely ("TX A FAULT", "MANUAL", "NONE") and an unforeseen word must
read as what it is, not as invalid.  `changeover.switch_count` is a plain
NUMBER, not a COUNTER: switches are rare events, and their count matters
(one more switch since yesterday), a rate per second would not.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from drivers import _transmitter as tx
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Expect,
    Maturity,
    Metric,
    Scenario,
    SimModel,
    ValueType,
)
from fieldagent.model import HealthState, Value

MAIN_TX = "changeover.main_tx"
POSITION = "changeover.position"
READY = "changeover.ready"
FAULT = "changeover.fault"
DELAY = "changeover.delay_s"
LAST_REASON = "changeover.last_switch_reason"
SWITCH_COUNT = "changeover.switch_count"

METRICS = (
    Metric(
        MAIN_TX,
        "",
        "ACU.CURRENT_MAIN",
        "Transmitter designated main",
        ValueType.ENUM,
        enum={1: "A", 2: "B"},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        POSITION,
        "",
        "ACU.POS",
        "Switch position (standby: on air on the backup)",
        ValueType.ENUM,
        enum={0: "main", 1: "standby"},
        states={"standby": HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        READY,
        "",
        "ACU.READY",
        "Ready to switch over",
        ValueType.BOOL,
        states={False: HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        FAULT,
        "",
        "ACU.FAULT",
        "Changeover unit fault",
        ValueType.BOOL,
        states={True: HealthState.CRITICAL},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        DELAY,
        "s",
        "ACU.DELAY",
        "Fault-to-switch delay",
        valid=(0, 99),
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        LAST_REASON,
        "",
        "ACU.SWLAST",
        "Reason of the last switch",
        ValueType.TEXT,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        SWITCH_COUNT,
        "",
        "ACU.ITER.MEAS",
        "Switch-overs since the count was reset",
        valid=(0, 9_999_999),
        alarm_class=AlarmClass.OTHER,
    ),
)

TX_A_FAULT = "TX A FAULT"


def switch_to_standby(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
) -> None:
    """Transmitter A fails: the unit puts B on the antenna and counts one more switch."""
    values[POSITION] = "standby"
    values[LAST_REASON] = TX_A_FAULT
    values[SWITCH_COUNT] = int(tx.number(start, SWITCH_COUNT)) + 1


INITIAL_SWITCHES = 3

SIMULATOR = SimModel(
    initial={
        MAIN_TX: "A",
        POSITION: "main",
        READY: True,
        FAULT: False,
        DELAY: 5,
        LAST_REASON: "MANUAL",
        SWITCH_COUNT: INITIAL_SWITCHES,
    },
    scenarios={
        "normal": Scenario(
            "normal",
            "A is main and on air, the unit is armed, 5 s delay",
            expect=Expect(HealthState.OK, {POSITION: "main", READY: True}),
        ),
        "switched_to_standby": Scenario(
            "switched_to_standby",
            "transmitter A failed: B is on air, one more switch, reason TX A FAULT",
            switch_to_standby,
            expect=Expect(
                HealthState.WARNING,
                {
                    POSITION: "standby",
                    SWITCH_COUNT: INITIAL_SWITCHES + 1,
                    LAST_REASON: TX_A_FAULT,
                    MAIN_TX: "A",
                },
            ),
        ),
    },
)

DRIVER = Driver(
    name="changeover_ascii",
    title="Transmitter changeover unit (RS-232 ASCII remote port, modelled command set)",
    kind="changeover",
    protocol="ascii",
    maturity=Maturity.MODEL,
    metrics=METRICS,
    simulator=SIMULATOR,
    description=(
        "Main/standby transmitter changeover units read over an RS-232 ASCII port: switch "
        "position, readiness, fault, delay and last switch (a model of the command set)."
    ),
    sample_config="""[[device]]
id = "acu"
driver = "changeover_ascii"
serial_port = "/dev/serial/by-id/usb-Prolific_USB-Serial_Controller-if00-port0"
baud = 9600
timeout = 1.0
interval = 10
""",
)
