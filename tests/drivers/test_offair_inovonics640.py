"""The Inovonics 640 off-air monitor driver: the MIB's encodings, its alarm traps, and a
recording written by hand from the MIB, replayed by snmpsim."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import REGISTRY
from fieldagent.driver import RawValue, TrapAction
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality
from tests.simrunner import by_key, suggested_for
from tests.support.snmpsim import DATA, Replay, ReplayFn, needs_snmpsim, poll_each
from tests.traps import device, receiving, simulator, until

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = REGISTRY["offair_inovonics640"]
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
RECORDING = DATA / "offair_inovonics640_hand_written.snmprec"


def oid(key: str) -> str:
    return DRIVER.metric(key).source_key


def test_frequency_in_10_khz_steps_and_onoff_alarms_read_as_the_mib_says() -> None:
    objects = DRIVER.encode(DRIVER.simulator.initial)
    assert objects[oid(FREQUENCY)] == 9750
    assert objects[oid(AUDIO_LOSS)] == 0  # OnOff off(0), not TruthValue's false (2)
    objects[oid(FREQUENCY)] = 10800
    objects[oid(PILOT_LOSS)] = 1
    readings = by_key(DRIVER.decode(objects, TS))
    assert (readings[FREQUENCY].value, readings[FREQUENCY].unit) == (108.0, "MHz")
    assert readings[PILOT_LOSS].value == "on"
    problems = evaluate(DRIVER, PollResult("offair", TS, tuple(readings.values()))).problems
    assert {p.metric: p.state for p in problems} == {PILOT_LOSS: HealthState.WARNING}


def test_each_alarm_trap_raises_when_on_and_clears_when_off_over_udp() -> None:
    alarms = [
        (1, AUDIO_LOSS, HealthState.CRITICAL),
        (2, LOW_SIGNAL, HealthState.CRITICAL),
        (3, RDS_ERROR, HealthState.WARNING),
        (4, PILOT_LOSS, HealthState.WARNING),
    ]

    async def body() -> list[tuple[str | None, TrapAction, HealthState]]:
        async with (
            receiving([device("offair", "127.0.0.61", driver=DRIVER.name)]) as h,
            simulator("127.0.0.61", driver=DRIVER.name) as sim,
        ):
            for column, _, _ in alarms:
                for on_off in (1, 0):
                    trap = f"1.3.6.1.4.1.42111.640.1.0.{column}"
                    alarm_object = f"1.3.6.1.4.1.42111.640.6.1.{column}.0"
                    varbinds: dict[str, RawValue] = {alarm_object: on_off}
                    await sim.send_trap(h.target, trap, varbinds)
            await until(lambda: len(h.events) == 2 * len(alarms), "every alarm trap")
            assert all(e.rule is not None for e in h.events)
            return [(e.alarm_key, e.rule.action, e.rule.severity) for e in h.events if e.rule]

    assert asyncio.run(asyncio.wait_for(body(), 60)) == [
        event
        for _, key, state in alarms
        for event in ((key, TrapAction.RAISE, state), (key, TrapAction.CLEAR, HealthState.OK))
    ]


@pytest.fixture
def recorded_receiver(replay: ReplayFn, tmp_path: Path) -> Replay:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(RECORDING, data)
    return replay(data, "127.0.0.76")


@needs_snmpsim
def test_the_hand_written_recording_reads_as_the_mib_says(recorded_receiver: Replay) -> None:
    device = recorded_receiver.device(RECORDING.stem, driver=DRIVER.name)
    (result,) = poll_each([(device, DRIVER)])

    assert result.error is None
    assert {r.key: (r.value, r.quality) for r in result.readings} == {
        FREQUENCY: (97.5, Quality.OK),
        RSSI: (58, Quality.OK),
        MULTIPATH: (6, Quality.OK),
        NOISE: (4, Quality.OK),
        LEFT: (-13, Quality.OK),
        RIGHT: (-13, Quality.OK),
        RDS_PI: ("3201", Quality.OK),
        RDS_PS: ("HAMTAN", Quality.OK),
        AUDIO_LOSS: ("off", Quality.OK),
        LOW_SIGNAL: ("off", Quality.OK),
        RDS_ERROR: ("off", Quality.OK),
        PILOT_LOSS: ("on", Quality.OK),
    }
    assert evaluate(DRIVER, result).state is HealthState.WARNING


@needs_snmpsim
def test_identify_suggests_only_this_driver_for_the_recording(recorded_receiver: Replay) -> None:
    device = recorded_receiver.device(RECORDING.stem, driver=DRIVER.name)
    assert suggested_for(device, REGISTRY.values()) == [DRIVER.name]
