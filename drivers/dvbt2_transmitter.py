"""DVB-T2 TV transmitter (gap filler / SFN site), SNMP: a MODEL of no vendor's MIB.

The DVB-T2 transmitters at district sites come from several vendors, most
with a private MIB.  Every OID below is therefore this driver's MODEL,
placed under 1.3.6.1.4.1.32473.2: 32473 is the enterprise number IANA
reserves for documentation (RFC 5612), so no real device can answer it by
accident.  Map a real transmitter by copying this driver and
replacing the OIDs with the ones of its MIB export; the keys, limits and
scenarios stay.  Rohde & Schwarz XX8000 transmitters have a driver on their
published MIB, `rs_xx8000_dvbt` (the demo station's); this model stays for
station files that name it.

Model layout (INTEGER values, scaled as noted; booleans are TruthValue 1/2):

    .1.1.0  forward (output) power, W x10     .2.1.0  MER, dB x10
    .1.2.0  reflected power, W x10            .2.2.0  TS input present
    .1.3.0  VSWR x100                         .3.1.0  GPS locked
    .1.4.0  RF on air                         .3.2.0  SFN synchronised
    .4.1.0  PA temperature, °C x10

and an exciter table, one row per exciter slot (``[exciter=N]``), as
dual-drive transmitters list both drives, fitted or not:

    .5.1.1.N  exciter state: 1 active (on air), 2 standby (the reserve),
              3 notFitted (an empty slot of a single-drive transmitter)
    .5.1.2.N  exciter fault (TruthValue)

An empty slot is not in use (`rows_in_use`: active or standby are): whatever
it reports (the model's `single_drive` sets its fault flag) raises nothing.  A fault of
the standby exciter is a warning (the reserve is lost; the active one still
carries the site, and losing air shows in forward power and on-air).

Health: TS input lost and SFN sync lost are critical (the site either mutes
or transmits out of step with its neighbours and interferes); GPS unlock
alone is a warning, because the reference oscillator holds SFN timing in
holdover for a while; SFN sync lost after it is what makes it critical.
Defaults are for a 500 W transmitter (forward < 400 / < 250 W, reflected
> 25 / > 50 W, VSWR > 1.5 / > 2.0, MER < 28 / < 24 dB, PA > 60 / > 70 °C).
Quirk handled: with RF off the VSWR reading is meaningless and is shown
missing (`_transmitter.blank_vswr_without_power`).
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
    RowsInUse,
    Scenario,
    SimModel,
    ValueType,
    row_key,
)
from fieldagent.model import HealthState, Value

_MODEL = "1.3.6.1.4.1.32473.2"

NOMINAL_W = 500.0
"""The typical district DVB-T2 transmitter the default limits are for."""

MER = "tx.mer_db"
TS_PRESENT = "ts.present"
GPS_LOCKED = "gps.locked"
SFN_SYNCED = "sfn.synced"
EXCITER_STATE = "exciter.state"
EXCITER_FAULT = "exciter.fault"
EXCITERS = "exciter"
"""The exciter table's row label."""

METRICS = (
    *tx.rf_metrics(
        forward_oid=f"{_MODEL}.1.1.0",
        reflected_oid=f"{_MODEL}.1.2.0",
        vswr_oid=f"{_MODEL}.1.3.0",
        on_air_oid=f"{_MODEL}.1.4.0",
        nominal_w=NOMINAL_W,
        power_divisor=10,
        vswr_divisor=100,
    ),
    Metric(
        MER,
        "dB",
        f"{_MODEL}.2.1.0",
        "Modulation error ratio (MER)",
        divisor=10,
        valid=(0, 60),
        limits=Limits(warn_low=28, crit_low=24),
        deadband=1.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        TS_PRESENT,
        "",
        f"{_MODEL}.2.2.0",
        "TS input present",
        ValueType.BOOL,
        states={False: HealthState.CRITICAL},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        GPS_LOCKED,
        "",
        f"{_MODEL}.3.1.0",
        "GPS locked",
        ValueType.BOOL,
        states={False: HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        SFN_SYNCED,
        "",
        f"{_MODEL}.3.2.0",
        "SFN synchronised",
        ValueType.BOOL,
        states={False: HealthState.CRITICAL},
        alarm_class=AlarmClass.STATE,
    ),
    tx.pa_temperature(f"{_MODEL}.4.1.0", "PA temperature", divisor=10),
    Metric(
        EXCITER_STATE,
        "",
        f"{_MODEL}.5.1.1",
        "Exciter state",
        ValueType.ENUM,
        enum={1: "active", 2: "standby", 3: "notFitted"},
        table=EXCITERS,
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        EXCITER_FAULT,
        "",
        f"{_MODEL}.5.1.2",
        "Exciter fault",
        ValueType.BOOL,
        states={True: HealthState.WARNING},
        table=EXCITERS,
        alarm_class=AlarmClass.STATE,
    ),
)


def exciter(key: str, slot: int) -> str:
    """The reading key of `key` for exciter slot `slot`."""
    return row_key(key, EXCITERS, str(slot))


RESERVE_SLOT = 2

HOLDOVER_S = 60.0
"""How long the simulated reference holds SFN timing without GPS (real ones: minutes to hours)."""


def _gps_unlock(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """GPS lost (antenna cable, jamming): SFN sync holds for HOLDOVER_S, then is lost."""
    values[GPS_LOCKED] = False
    if elapsed_s >= HOLDOVER_S:
        values[SFN_SYNCED] = False


def _ts_loss(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The programme feed (ASI/IP from the headend) is gone; RF stays on, empty."""
    values[TS_PRESENT] = False


def _single_drive(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """A single-drive transmitter: slot 2 is empty, and reports its summary fault set."""
    values[exciter(EXCITER_STATE, RESERVE_SLOT)] = "notFitted"
    values[exciter(EXCITER_FAULT, RESERVE_SLOT)] = True


def _reserve_fault(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """The standby exciter fails: still on air on the active one, but without a reserve."""
    values[exciter(EXCITER_FAULT, RESERVE_SLOT)] = True


HIGH_VSWR = 2.3
RAMP_S = 60.0

SIMULATOR = SimModel(
    initial={
        tx.FORWARD: NOMINAL_W,
        tx.REFLECTED: 2.4,  # tx.reflected_w(500, 1.15)
        tx.VSWR: 1.15,
        tx.ON_AIR: True,
        MER: 33.0,
        TS_PRESENT: True,
        GPS_LOCKED: True,
        SFN_SYNCED: True,
        tx.PA_TEMPERATURE: 45.0,
        exciter(EXCITER_STATE, 1): "active",
        exciter(EXCITER_FAULT, 1): False,
        exciter(EXCITER_STATE, RESERVE_SLOT): "standby",
        exciter(EXCITER_FAULT, RESERVE_SLOT): False,
    },
    scenarios={
        "normal": Scenario(
            "normal",
            "500 W on air, MER 33 dB, TS present, GPS locked, SFN in sync",
            expect=Expect(HealthState.OK, {tx.FORWARD: NOMINAL_W, MER: 33.0, SFN_SYNCED: True}),
        ),
        "ts_loss": Scenario(
            "ts_loss",
            "the transport stream input is lost",
            _ts_loss,
            expect=Expect(HealthState.CRITICAL, {TS_PRESENT: False, tx.ON_AIR: True}),
        ),
        "gps_unlock": Scenario(
            "gps_unlock",
            f"GPS lock lost: warning in holdover, SFN sync lost after {HOLDOVER_S:g} s",
            _gps_unlock,
            expect=Expect(
                HealthState.CRITICAL,
                {GPS_LOCKED: False, SFN_SYNCED: False},
                after_s=HOLDOVER_S + 30,
            ),
        ),
        "single_drive": Scenario(
            "single_drive",
            f"exciter slot {RESERVE_SLOT} is empty and reports a fault: listed, not judged",
            _single_drive,
            expect=Expect(HealthState.OK, {exciter(EXCITER_STATE, RESERVE_SLOT): "notFitted"}),
        ),
        "reserve_fault": Scenario(
            "reserve_fault",
            f"the standby exciter (slot {RESERVE_SLOT}) fails: on air, no reserve",
            _reserve_fault,
            expect=Expect(
                HealthState.WARNING,
                {exciter(EXCITER_FAULT, RESERVE_SLOT): True, tx.ON_AIR: True},
            ),
        ),
        "high_vswr": tx.high_vswr_scenario(NOMINAL_W, HIGH_VSWR, RAMP_S),
        "off_air": Scenario(
            "off_air",
            "RF off: no forward power",
            tx.rf_off,
            expect=Expect(HealthState.CRITICAL, {tx.ON_AIR: False, tx.FORWARD: 0.0}),
        ),
    },
    noise={
        tx.FORWARD: 5,
        tx.REFLECTED: 0.5,
        tx.VSWR: 0.02,
        MER: 0.5,
        tx.PA_TEMPERATURE: 1.0,
    },
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "DVB-T2 transmitter, modelled MIB (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue(_MODEL),
    },
)

DRIVER = Driver(
    name="dvbt2_transmitter",
    title="DVB-T2 transmitter (modelled MIB)",
    kind="transmitter",
    protocol="snmp",
    maturity=Maturity.MODEL,
    metrics=METRICS,
    simulator=SIMULATOR,
    fixup=tx.blank_vswr_without_power,
    identity=Identity(sys_object_ids=(_MODEL,), probe_oid=_MODEL),
    rows_in_use=(RowsInUse(EXCITERS, EXCITER_STATE, frozenset({"active", "standby"})),),
    description=(
        "A DVB-T2 TV transmitter read over SNMP: RF power, VSWR, MER, TS input, GPS and SFN "
        "sync, exciter state and faults per slot, an empty slot not judged (a model of no "
        "vendor's MIB; for R&S XX8000 transmitters use rs_xx8000_dvbt)."
    ),
    sample_config="""[[device]]
id = "dvbt2-1"
driver = "dvbt2_transmitter"
host = "192.168.1.40"
snmp_version = "3"
user = "fieldagent"
auth_protocol = "SHA-256"
auth_key = "change-this-auth-key"
priv_protocol = "AES-128"
priv_key = "change-this-priv-key"
interval = 10
""",
)
