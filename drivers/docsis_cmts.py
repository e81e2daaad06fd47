"""Cable headend CMTS: upstream signal quality per channel, standard DOCS-IF-MIB (RFC 4546).

Reads docsIfSignalQualityTable, entry ``1.3.6.1.2.1.10.127.1.1.4.1``, indexed
by the upstream channel's ifIndex (rows keyed ``[channel=ifIndex]``), exactly
as the RFC defines it:

====== ============================= ===================== ====================
column object                        SYNTAX                published as
====== ============================= ===================== ====================
2      docsIfSigQUnerroreds          Counter32             codewords/s
3      docsIfSigQCorrecteds          Counter32             codewords/s
4      docsIfSigQUncorrectables      Counter32             codewords/s
5      docsIfSigQSignalNoise         TenthdB (Integer32)   dB
6      docsIfSigQMicroreflections    Integer32 (0..255),   dB below the carrier
                                     UNITS "-dBc"
====== ============================= ===================== ====================

The codeword counters are published as rates between two polls (the agent's
counter handling copes with the Counter32 wrap), so their limits are rates:
uncorrectable codewords are lost upstream data, and more than 1/s on a
channel is a warning, more than 10/s critical.  Corrected codewords are the
FEC doing its job and have no limit.  Upstream SNR: 64-QAM needs about 25 dB
and 16-QAM about 20 dB to run clean, hence a warning below 25 dB and
critical below 20 dB.  Micro-reflections are, in the RFC's words, only a rough
indication, so they are shown without a limit.

Unused channels.  A CMTS lists every logical upstream channel it could run,
configured or not (the second logical channel of each port, say); an
unconfigured one serves SNR 0 and zero counters.  Whether a channel is in use
is what the CMTS says of its interface in IF-MIB's ifTable, same ifIndex:

====== ============================= ==========================================
column object                        published as
====== ============================= ==========================================
7      ifAdminStatus                 up(1), down(2), testing(3)
8      ifOperStatus                  up(1), down(2), testing(3), unknown(4),
                                     dormant(5), notPresent(6), lowerLayerDown(7)
====== ============================= ==========================================

A channel whose ifAdminStatus is not up is not in use (`rows_in_use`): listed,
but judged by neither health nor alarms.  A channel the operator set up whose
ifOperStatus is down is a fault, critical.  ifTable lists every interface of
the CMTS (Ethernet, downstream); only the rows of upstream channels, those in
docsIfSignalQualityTable, are kept (`_upstream_only`).

A cable modem serves the same table for its downstream channels; point this
driver at the CMTS.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

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
from fieldagent.model import HealthState, Reading, Value

_SIGNAL_QUALITY = "1.3.6.1.2.1.10.127.1.1.4.1"
"""docsIfSignalQualityEntry."""
_IF_ENTRY = "1.3.6.1.2.1.2.2.1"
"""IF-MIB ifEntry."""

TABLE = "channel"

UNERRORED = "docsis.upstream.unerrored_cw_per_s"
CORRECTED = "docsis.upstream.corrected_cw_per_s"
UNCORRECTABLE = "docsis.upstream.uncorrectable_cw_per_s"
SNR = "docsis.upstream.snr_db"
MICROREFLECTIONS = "docsis.upstream.microreflections_dbc"
ADMIN_STATUS = "docsis.upstream.admin_status"
OPER_STATUS = "docsis.upstream.oper_status"

IF_STATUS = {1: "up", 2: "down", 3: "testing"}
"""ifAdminStatus."""
IF_OPER_STATUS = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
"""ifOperStatus."""

UNCORRECTABLE_LIMITS = Limits(warn_high=1, crit_high=10)
SNR_LIMITS = Limits(warn_low=25, crit_low=20)

METRICS = (
    Metric(
        UNERRORED,
        "cw/s",
        f"{_SIGNAL_QUALITY}.2",
        "Unerrored codewords",
        ValueType.COUNTER,
        table=TABLE,
        alarm_class=AlarmClass.RATE,
    ),
    Metric(
        CORRECTED,
        "cw/s",
        f"{_SIGNAL_QUALITY}.3",
        "Corrected codewords",
        ValueType.COUNTER,
        table=TABLE,
        alarm_class=AlarmClass.RATE,
    ),
    Metric(
        UNCORRECTABLE,
        "cw/s",
        f"{_SIGNAL_QUALITY}.4",
        "Uncorrectable codewords",
        ValueType.COUNTER,
        limits=UNCORRECTABLE_LIMITS,
        table=TABLE,
        alarm_class=AlarmClass.RATE,
    ),
    Metric(
        SNR,
        "dB",
        f"{_SIGNAL_QUALITY}.5",
        "Upstream SNR",
        scale=0.1,
        valid=(0, 70),
        limits=SNR_LIMITS,
        table=TABLE,
        deadband=1.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        MICROREFLECTIONS,
        "-dBc",
        f"{_SIGNAL_QUALITY}.6",
        "Micro-reflections (dB below the carrier)",
        valid=(0, 255),
        table=TABLE,
        deadband=2.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        ADMIN_STATUS,
        "",
        f"{_IF_ENTRY}.7",
        "Channel configured (ifAdminStatus)",
        ValueType.ENUM,
        enum=IF_STATUS,
        table=TABLE,
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        OPER_STATUS,
        "",
        f"{_IF_ENTRY}.8",
        "Channel working (ifOperStatus)",
        ValueType.ENUM,
        enum=IF_OPER_STATUS,
        states={
            "down": HealthState.CRITICAL,
            "lowerLayerDown": HealthState.CRITICAL,
            "notPresent": HealthState.CRITICAL,
            "testing": HealthState.WARNING,
            "unknown": HealthState.WARNING,
        },
        table=TABLE,
        alarm_class=AlarmClass.STATE,
    ),
)

COUNTERS = (UNERRORED, CORRECTED, UNCORRECTABLE)
SIGNAL_QUALITY_KEYS = frozenset({*COUNTERS, SNR, MICROREFLECTIONS})
INTERFACE_KEYS = frozenset({ADMIN_STATUS, OPER_STATUS})


def _upstream_only(readings: dict[str, Reading]) -> None:
    """Drop the ifTable rows of interfaces that are no upstream channel (Ethernet, downstream)."""
    channels = set()
    for key in readings:
        parts = split_row_key(key)
        if parts is not None and parts[0] in SIGNAL_QUALITY_KEYS:
            channels.add(parts[2])
    for key in list(readings):
        parts = split_row_key(key)
        if parts is not None and parts[0] in INTERFACE_KEYS and parts[2] not in channels:
            del readings[key]


COUNTER32 = 1 << 32


@dataclass(frozen=True)
class Traffic:
    """Codewords per second one upstream channel receives, by FEC outcome."""

    unerrored: float
    corrected: float
    uncorrectable: float

    def rates(self, channel: str) -> dict[str, float]:
        """Counter reading key -> codewords per second, for this channel."""
        return {
            row_key(UNERRORED, TABLE, channel): self.unerrored,
            row_key(CORRECTED, TABLE, channel): self.corrected,
            row_key(UNCORRECTABLE, TABLE, channel): self.uncorrectable,
        }


def _load(unerrored: float) -> Traffic:
    """A clean channel: one codeword in five hundred needs correcting, none is lost."""
    return Traffic(unerrored, unerrored / 500, 0)


NORMAL_TRAFFIC = {"4": _load(4200), "5": _load(3600), "6": _load(5100), "7": _load(2900)}
"""ifIndex 4-7: the first logical channel of the four upstream ports of a small headend CMTS."""

UNCONFIGURED = ("8", "9", "10", "11")
"""ifIndex 8-11: the second logical channel of each port, which nobody configured.

The CMTS lists them all the same: admin and oper down, SNR 0, counters at 0.
"""


def count(
    values: MutableMapping[str, Value],
    start: Mapping[str, Value],
    elapsed_s: float,
    traffic: Mapping[str, Traffic],
) -> None:
    """Advance every counter from its start at its channel's rate, wrapping as Counter32."""
    for channel, load in traffic.items():
        for key, per_s in load.rates(channel).items():
            began = start[key]
            began = began if isinstance(began, int) else 0
            values[key] = (began + int(per_s * elapsed_s)) % COUNTER32


def _normal(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Traffic flows: the counters keep counting, as on a live CMTS."""
    count(values, start, elapsed_s, NORMAL_TRAFFIC)


NOISY_CHANNEL = "6"
NOISY_SNR_DB = 18.5
NOISY_TRAFFIC = Traffic(unerrored=4300, corrected=600, uncorrectable=200)
"""Ingress on the return path: many codewords need correcting, 4 % are lost."""


def _noisy_upstream(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Ingress noise on one upstream port: SNR drops, uncorrectable codewords pour in."""
    count(values, start, elapsed_s, {**NORMAL_TRAFFIC, NOISY_CHANNEL: NOISY_TRAFFIC})
    values[row_key(SNR, TABLE, NOISY_CHANNEL)] = NOISY_SNR_DB


WRAP_AFTER_S = 0.5
"""When the busy counters of `counter_wrap` pass 2**32 - 1.

Between the conformance suite's two polls: its first poll reads a few hundred
ms after the scenario starts (the SNMP engine starting up), its second reads
0.5 s after the first ended.
"""


def near_wrap() -> dict[str, Value]:
    """Counters just below 2**32, so that each one that counts wraps after WRAP_AFTER_S."""
    return {
        key: COUNTER32 - 1 - int(per_s * WRAP_AFTER_S)
        for channel, load in NORMAL_TRAFFIC.items()
        for key, per_s in load.rates(channel).items()
    }


def _counter_wrap(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """Normal traffic on counters that start just below the Counter32 wrap."""
    count(values, near_wrap(), elapsed_s, NORMAL_TRAFFIC)


DOWN_CHANNEL = "5"


def _channel_down(
    values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed_s: float
) -> None:
    """A configured channel stops (its port's receiver failed): oper down, nothing received."""
    count(values, start, elapsed_s, {k: v for k, v in NORMAL_TRAFFIC.items() if k != DOWN_CHANNEL})
    values[row_key(OPER_STATUS, TABLE, DOWN_CHANNEL)] = "down"
    values[row_key(SNR, TABLE, DOWN_CHANNEL)] = 0.0


def _initial() -> dict[str, Value]:
    snr = {"4": 34.5, "5": 36.0, "6": 32.8, "7": 35.2}
    microreflections = {"4": 32, "5": 30, "6": 35, "7": 28}
    values: dict[str, Value] = {}
    for channel, load in NORMAL_TRAFFIC.items():
        # Counters of a CMTS up for a while: well into their range, far from the wrap.
        values.update({key: int(per_s * 86_400) for key, per_s in load.rates(channel).items()})
        values[row_key(SNR, TABLE, channel)] = snr[channel]
        values[row_key(MICROREFLECTIONS, TABLE, channel)] = microreflections[channel]
        values[row_key(ADMIN_STATUS, TABLE, channel)] = "up"
        values[row_key(OPER_STATUS, TABLE, channel)] = "up"
    for channel in UNCONFIGURED:
        values.update({row_key(key, TABLE, channel): 0 for key in COUNTERS})
        values[row_key(SNR, TABLE, channel)] = 0.0
        values[row_key(MICROREFLECTIONS, TABLE, channel)] = 0
        values[row_key(ADMIN_STATUS, TABLE, channel)] = "down"
        values[row_key(OPER_STATUS, TABLE, channel)] = "down"
    return values


SIMULATOR = SimModel(
    initial=_initial(),
    scenarios={
        "normal": Scenario(
            "normal",
            "traffic on four clean upstream channels, the counters counting; four "
            "unconfigured logical channels listed with SNR 0, not in use",
            _normal,
            expect=Expect(HealthState.OK),
        ),
        "noisy_upstream": Scenario(
            "noisy_upstream",
            f"ingress on channel {NOISY_CHANNEL}: SNR {NOISY_SNR_DB:g} dB, "
            f"{NOISY_TRAFFIC.uncorrectable:g} uncorrectable codewords/s",
            _noisy_upstream,
            expect=Expect(HealthState.CRITICAL, {row_key(SNR, TABLE, NOISY_CHANNEL): NOISY_SNR_DB}),
        ),
        "channel_down": Scenario(
            "channel_down",
            f"configured channel {DOWN_CHANNEL} stops: ifOperStatus down, SNR 0",
            _channel_down,
            expect=Expect(
                HealthState.CRITICAL, {row_key(OPER_STATUS, TABLE, DOWN_CHANNEL): "down"}
            ),
        ),
        "counter_wrap": Scenario(
            "counter_wrap",
            f"the codeword counters start just below 2**32 and wrap after {WRAP_AFTER_S:g} s",
            _counter_wrap,
            expect=Expect(HealthState.OK),
        ),
    },
    noise={SNR: 0.5},
    extra_objects={
        "1.3.6.1.2.1.1.1.0": "CMTS, 4 upstream ports of 2 logical channels (simulated)",
        "1.3.6.1.2.1.1.2.0": OidValue("1.3.6.1.4.1.99999.1.127"),
    },
)

DRIVER = Driver(
    name="docsis_cmts",
    title="CMTS upstream signal quality (DOCS-IF-MIB, RFC 4546)",
    kind="cmts",
    protocol="snmp",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    fixup=_upstream_only,
    identity=Identity(probe_oid=_SIGNAL_QUALITY),
    rows_in_use=(RowsInUse(TABLE, ADMIN_STATUS, frozenset({"up"})),),
    description="Any CMTS implementing the standard DOCS-IF-MIB (RFC 4546): upstream SNR, "
    "micro-reflections and codeword error rates per channel; channels whose IF-MIB "
    "ifAdminStatus is not up are listed but not judged.",
    sample_config="""[[device]]
id = "cmts1"
driver = "docsis_cmts"
host = "192.168.1.40"
community = "public"
interval = 30
""",
)
