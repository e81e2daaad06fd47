"""The R&S XX8000 DVB-T transmitter driver: FloatingPoint powers, the computed VSWR, the
summary traps, and a recording written by hand from the MIB, replayed by snmpsim."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import REGISTRY
from drivers import _transmitter as tx
from drivers import rs_xx8000_dvbt as rs
from fieldagent.config import SnmpCredentials
from fieldagent.driver import RawValue, TrapAction
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality, Reading
from tests.simrunner import (
    SimRunner,
    by_key,
    poll_once,
    poll_readings,
    suggested_drivers,
    suggested_for,
)
from tests.support.snmpsim import DATA, Replay, ReplayFn, needs_snmpsim, poll_each
from tests.traps import device, receiving, simulator, until

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = rs.DRIVER
RECORDING = DATA / "rs_xx8000_dvbt_hand_written.snmprec"


def oid(key: str) -> str:
    return DRIVER.metric(key).source_key


def decoded(**raw: RawValue) -> dict[str, Reading]:
    """The readings of the simulator's initial objects with some powers replaced."""
    objects = DRIVER.encode(DRIVER.simulator.initial)
    objects.update({oid(key): value for key, value in raw.items()})
    return by_key(DRIVER.decode(objects, TS))


FORWARD, REFLECTED = tx.FORWARD, tx.REFLECTED


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("512.3", 512.3),
        (b"0.3142E1", 3.1),
        ("+7", 7.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        (480, 480.0),
    ],
)
def test_floating_point_powers_are_parsed(raw: RawValue, value: float) -> None:
    reading = decoded(**{FORWARD: raw})[FORWARD]
    assert (reading.value, reading.unit, reading.quality) == (value, "W", Quality.OK)


@pytest.mark.parametrize("raw", ["", "12,5", "1.2.3", "nan", "inf", b"\xff", "-"])
def test_text_that_is_no_floating_point_is_invalid(raw: RawValue) -> None:
    readings = decoded(**{FORWARD: raw})
    assert readings[FORWARD].quality is Quality.INVALID
    assert "not a FloatingPoint number" in readings[FORWARD].detail
    assert readings[tx.VSWR].quality is Quality.INVALID  # it comes from the forward power
    assert readings[REFLECTED].quality is Quality.OK


def test_a_negative_power_is_outside_the_valid_range() -> None:
    reading = decoded(**{REFLECTED: "-3.0"})[REFLECTED]
    assert reading.quality is Quality.INVALID
    assert "outside the valid range" in reading.detail


@pytest.mark.parametrize(
    ("forward", "reflected", "vswr"),
    [("500.0", "0.0", 1.0), ("487.5", "3.1", 1.17), ("500", "44.4", 1.85), ("100", "100", None)],
)
def test_the_vswr_is_computed_from_forward_and_reflected_power(
    forward: str, reflected: str, vswr: float | None
) -> None:
    reading = decoded(**{FORWARD: forward, REFLECTED: reflected})[tx.VSWR]
    assert reading.value == vswr
    assert reading.quality is (Quality.OK if vswr is not None else Quality.INVALID)


def test_without_forward_or_reflected_power_the_vswr_is_missing() -> None:
    off_air = decoded(**{FORWARD: "0.4", REFLECTED: "0.0"})[tx.VSWR]
    assert (off_air.value, off_air.quality) == (None, Quality.MISSING)
    assert "no forward power" in off_air.detail
    low_power = decoded(**{REFLECTED: None})  # "not available for lowpower systems"
    assert low_power[REFLECTED].quality is Quality.MISSING
    assert low_power[tx.VSWR].quality is Quality.MISSING
    assert low_power[FORWARD].quality is Quality.OK


def test_the_netccus_summary_states_map_to_health() -> None:
    readings = decoded(**{rs.SUMMARY_WARNING: 1, rs.LOCAL_MODE: 1})
    result = PollResult("dvbt2", TS, tuple(readings.values()))
    assert {p.metric: p.state for p in evaluate(DRIVER, result).problems} == {
        rs.SUMMARY_WARNING: HealthState.WARNING,
        rs.LOCAL_MODE: HealthState.WARNING,
    }
    readings = decoded(**{rs.SUMMARY_FAULT: 1})
    assert evaluate(DRIVER, PollResult("dvbt2", TS, tuple(readings.values()))).state is (
        HealthState.CRITICAL
    )


def test_summary_traps_raise_and_clear_by_their_event_state_over_udp() -> None:
    fault_class = "1.3.6.1.4.1.2566.127.1.2.167.1.2.3.2.0"  # eventAlarmClass: fault(1)
    plays = [
        (rs.TRAP_SUMMARY_FAULT, rs.EVENT_ACTIVE),
        (rs.TRAP_SUMMARY_WARNING, rs.EVENT_ACTIVE),
        (rs.TRAP_SUMMARY_FAULT, rs.EVENT_INACTIVE),
        (rs.TRAP_SUMMARY_WARNING, 3),  # no such event state: no rule
    ]

    async def body() -> list[tuple[str | None, TrapAction | None, HealthState | None]]:
        async with (
            receiving([device("dvbt2", "127.0.0.43", driver=DRIVER.name)]) as h,
            simulator("127.0.0.43", driver=DRIVER.name) as sim,
        ):
            for trap_oid, state in plays:
                varbinds: dict[str, RawValue] = {f"{rs.EVENT_STATE}.0": state, fault_class: 1}
                await sim.send_trap(h.target, trap_oid, varbinds)
            await until(lambda: len(h.events) == len(plays), "every transmitter trap")
            return [
                (e.alarm_key, e.rule.action, e.rule.severity) if e.rule else (None, None, None)
                for e in h.events
            ]

    assert asyncio.run(asyncio.wait_for(body(), 60)) == [
        (rs.SUMMARY_FAULT, TrapAction.RAISE, HealthState.CRITICAL),
        (rs.SUMMARY_WARNING, TrapAction.RAISE, HealthState.WARNING),
        (rs.SUMMARY_FAULT, TrapAction.CLEAR, HealthState.OK),
        (None, None, None),
    ]


def test_the_simulator_over_udp_serves_floating_point_text(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, "127.0.0.41")
    assert sim.device.objects()[tuple(int(p) for p in oid(FORWARD).split("."))] == "500.0"
    sim.device.play("high_vswr")
    readings = poll_readings(sim, DRIVER, "dvbt2")
    assert readings[FORWARD].value == rs.NOMINAL_W
    assert readings[rs.SUMMARY_FAULT].value is False  # the ramp has only begun
    assert DRIVER.name in suggested_drivers(sim, REGISTRY.values())


def test_a_transmitter_never_answering_reads_every_scalar_bad(sims: SimRunner) -> None:
    """The VSWR is declared at the reflected power's OID: both must be listed as bad."""
    sim = sims.serve(DRIVER.name, "127.0.0.42", SnmpCredentials(community="not-ours"))
    result = poll_once(sim, DRIVER, "dvbt2", community="public", timeout=0.3, request_retries=0)
    assert result.error is not None
    assert {r.key for r in result.readings} == {m.key for m in DRIVER.metrics}
    assert {r.quality for r in result.readings} == {Quality.BAD}


# -- the recording written by hand from the MIB ------------------------------------------


@pytest.fixture
def recorded_transmitter(replay: ReplayFn, tmp_path: Path) -> Replay:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(RECORDING, data)
    return replay(data, "127.0.0.75")


@needs_snmpsim
def test_the_hand_written_recording_reads_as_the_mib_says(
    recorded_transmitter: Replay,
) -> None:
    device = recorded_transmitter.device(RECORDING.stem, driver=DRIVER.name)
    (result,) = poll_each([(device, DRIVER)])

    assert result.error is None
    assert {r.key: (r.value, r.quality) for r in result.readings} == {
        FORWARD: (487.5, Quality.OK),
        REFLECTED: (3.1, Quality.OK),
        tx.VSWR: (1.17, Quality.OK),
        tx.ON_AIR: (True, Quality.OK),
        rs.SUMMARY_FAULT: (False, Quality.OK),
        rs.SUMMARY_WARNING: (False, Quality.OK),
        rs.LOCAL_MODE: (False, Quality.OK),
    }
    assert evaluate(DRIVER, result).state is HealthState.OK


@needs_snmpsim
def test_identify_suggests_only_this_driver_for_the_recording(recorded_transmitter: Replay) -> None:
    device = recorded_transmitter.device(RECORDING.stem, driver=DRIVER.name)
    assert suggested_for(device, REGISTRY.values()) == [DRIVER.name]
