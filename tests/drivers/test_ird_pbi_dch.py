"""The PBI DCH IRD driver: the MIB's encodings, the computed link margin, the unlocked
tuner, and a recording written by hand from the MIB, replayed by snmpsim."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import REGISTRY
from drivers import ird_pbi_dch as pbi
from fieldagent.driver import RawValue
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality, Reading, Value
from tests.simrunner import (
    SimRunner,
    by_key,
    played,
    poll_readings,
    suggested_drivers,
    suggested_for,
)
from tests.support.snmpsim import DATA, Replay, ReplayFn, needs_snmpsim, poll_each

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = pbi.DRIVER
RECORDING = DATA / "ird_pbi_dch_hand_written.snmprec"


def oid(key: str) -> str:
    return DRIVER.metric(key).source_key


def decoded(objects: dict[str, RawValue]) -> dict[str, Reading]:
    return by_key(DRIVER.decode(objects, TS))


def served(values: dict[str, Value]) -> dict[str, RawValue]:
    return DRIVER.encode(values)


def device_at(scenario: str, elapsed_s: float) -> dict[str, Value]:
    return played(DRIVER, scenario, elapsed_s)[0].snapshot()


def test_raw_values_read_with_the_mibs_encodings() -> None:
    readings = decoded(
        {
            oid(pbi.LOCKED): 1,
            oid(pbi.SIGNAL): 250,  # positive tenths below 0 dBm
            oid(pbi.BER_CODE): 8,
            oid(pbi.CN): 130,
            oid(pbi.EBN0): 110,
            oid(pbi.DVB_MODE): 1,
            oid(pbi.LINK_MARGIN): 0,  # operationMode 0: QPSK 1/2 needs 1.00 dB
            oid(pbi.SERVICE): 32798309,  # DisplayString in the MIB, INTEGER on the wire
            oid(pbi.VIDEO): b"Video:Ok",
            oid(pbi.AUDIO): b"Audio:Ok",
        }
    )
    assert {k: (r.value, r.unit) for k, r in readings.items()} == {
        pbi.LOCKED: (True, ""),
        pbi.SIGNAL: (-25.0, "dBm"),
        pbi.BER_CODE: (8, ""),
        pbi.CN: (13.0, "dB"),
        pbi.EBN0: (11.0, "dB"),
        pbi.DVB_MODE: (pbi.DVB_S2, ""),
        pbi.LINK_MARGIN: (12.0, "dB"),
        pbi.SERVICE: ("32798309", ""),
        pbi.VIDEO: ("Video:Ok", ""),
        pbi.AUDIO: ("Audio:Ok", ""),
    }
    assert {r.quality for r in readings.values()} == {Quality.OK}


def test_a_strength_of_0_is_no_measurement_not_0_dbm() -> None:
    objects = served(DRIVER.simulator.initial)
    objects[oid(pbi.SIGNAL)] = 0
    reading = decoded(objects)[pbi.SIGNAL]
    assert (reading.value, reading.quality, reading.detail) == (
        None, Quality.MISSING, "device sentinel 0"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("modcod", "cn_tenths", "margin"),
    [(0, 130, 12.0), (9, 118, 3.9), (13, 115, 0.5), (12, 100, -0.7)],
)
def test_the_link_margin_is_the_cn_above_the_modcods_threshold(
    modcod: int, cn_tenths: int, margin: float
) -> None:
    objects = served(DRIVER.simulator.initial)
    objects[oid(pbi.LINK_MARGIN)] = modcod
    objects[oid(pbi.CN)] = cn_tenths
    assert decoded(objects)[pbi.LINK_MARGIN].value == margin


@pytest.mark.parametrize(
    ("change", "quality", "detail"),
    [
        ({pbi.DVB_MODE: 0}, Quality.MISSING, "DVB-S: the MIB gives no FEC rate"),
        ({pbi.LINK_MARGIN: 14}, Quality.INVALID, "operationMode 14 is not a DVB-S2 MODCOD"),
        ({pbi.LINK_MARGIN: None}, Quality.MISSING, "no operationMode"),
        ({pbi.CN: b"x"}, Quality.INVALID, "from ird.cn_db: expected a number"),
        ({pbi.DVB_MODE: None}, Quality.MISSING, "from ird.dvb_mode"),
    ],
)
def test_without_a_cn_and_a_dvb_s2_modcod_there_is_no_margin(
    change: dict[str, RawValue], quality: Quality, detail: str
) -> None:
    objects = served(DRIVER.simulator.initial)
    objects.update({oid(key): raw for key, raw in change.items()})
    margin = decoded(objects)[pbi.LINK_MARGIN]
    assert (margin.value, margin.quality) == (None, quality)
    assert detail in margin.detail


def test_an_unlocked_tuner_shows_its_carrier_measurements_missing_not_as_alarms() -> None:
    objects = served(device_at("signal_loss", 5))
    assert objects[oid(pbi.LOCKED)] == 0  # the MIB's "no", not TruthValue's false (2)
    readings = decoded(objects)
    for key in pbi.CARRIER_MEASUREMENTS:
        assert (readings[key].value, readings[key].quality) == (None, Quality.MISSING), key
        assert "tuner not locked" in readings[key].detail
    assert readings[pbi.SIGNAL].value == pbi.NO_RF_DBM
    problems = evaluate(DRIVER, PollResult("ird1", TS, tuple(readings.values()))).problems
    # One fault, the lost lock, plus the starved tuner's level: no margin alarm.
    assert {p.metric: p.state for p in problems} == {
        pbi.LOCKED: HealthState.CRITICAL,
        pbi.SIGNAL: HealthState.WARNING,
    }


def test_rain_fade_warns_then_goes_critical_as_the_margin_falls() -> None:
    timeline = [(0, HealthState.OK), (130, HealthState.OK), (140, HealthState.WARNING),
                (165, HealthState.WARNING), (175, HealthState.CRITICAL)]  # fmt: skip
    for elapsed, state in timeline:
        readings = decoded(served(device_at("rain_fade", elapsed)))
        assert readings[pbi.LOCKED].value is True
        result = PollResult("ird1", TS, tuple(readings.values()))
        assert evaluate(DRIVER, result).state is state, elapsed


def test_the_simulator_over_udp_serves_the_margin_the_cn_gives(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, "127.0.0.32")
    sim.device.play("service_changed")
    readings = poll_readings(sim, DRIVER, "ird1")
    assert readings[pbi.LINK_MARGIN].value == pbi.margin_at(pbi.INITIAL_CN_DB)
    assert readings[pbi.SERVICE].value == pbi.UNEXPECTED_SERVICE
    assert DRIVER.name in suggested_drivers(sim, REGISTRY.values())


# -- the recording written by hand from the MIB ------------------------------------------

COMMUNITY = RECORDING.stem


@pytest.fixture
def recorded_ird(replay: ReplayFn, tmp_path: Path) -> Replay:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(RECORDING, data)
    return replay(data, "127.0.0.74")


@needs_snmpsim
def test_the_hand_written_recording_reads_as_the_mib_says(recorded_ird: Replay) -> None:
    device = recorded_ird.device(COMMUNITY, driver=DRIVER.name)
    (result,) = poll_each([(device, DRIVER)])

    assert result.error is None
    assert {r.key: (r.value, r.quality) for r in result.readings} == {
        pbi.LOCKED: (True, Quality.OK),
        pbi.SIGNAL: (-41.2, Quality.OK),
        pbi.BER_CODE: (8, Quality.OK),
        pbi.CN: (11.8, Quality.OK),
        pbi.EBN0: (9.6, Quality.OK),
        pbi.DVB_MODE: (pbi.DVB_S2, Quality.OK),
        pbi.LINK_MARGIN: (3.9, Quality.OK),  # 11.8 dB - 7.91 dB (8PSK 3/4)
        pbi.SERVICE: ("VTV1 HD", Quality.OK),
        pbi.VIDEO: ("Video:Ok", Quality.OK),
        pbi.AUDIO: ("Audio:Ok", Quality.OK),
    }
    assert evaluate(DRIVER, result).state is HealthState.OK


@needs_snmpsim
def test_identify_suggests_only_this_driver_for_the_recording(recorded_ird: Replay) -> None:
    # A DCH answers net-snmp's Linux sysObjectID: the tuner subtree alone identifies it.
    device = recorded_ird.device(RECORDING.stem, driver=DRIVER.name)
    assert suggested_for(device, REGISTRY.values()) == [DRIVER.name]
