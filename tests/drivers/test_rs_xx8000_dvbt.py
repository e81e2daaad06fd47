"""The R&S XX8000 DVB-T transmitter driver: FloatingPoint powers, the computed VSWR, the
summary traps, the exciters (an exciter the NetCCU has no connection to listed, not judged),
and a recording written by hand from the MIB, replayed by snmpsim."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
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
from tests.alarms import Station, station_config, transitions, with_limits
from tests.simrunner import (
    SimRunner,
    by_key,
    health_of,
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
    return DRIVER.oid_of(key)


def served(**raw: RawValue) -> dict[str, RawValue]:
    """The simulator's initial objects (a dual-drive transmitter) with some replaced, by
    reading key; None makes the object absent."""
    objects = DRIVER.encode(DRIVER.simulator.initial)
    objects.update({oid(key): value for key, value in raw.items()})
    return {o: value for o, value in objects.items() if value is not None}


def decoded(**raw: RawValue) -> dict[str, Reading]:
    """The readings of `served` objects."""
    return by_key(DRIVER.decode(served(**raw), TS))


def exc(key: str, exciter: str) -> str:
    return rs.exciter_row(key, exciter)


A, B = rs.EXCITER_A, rs.EXCITER_B


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


# -- the exciters --------------------------------------------------------------------------

DVB_TX = "1.3.6.1.4.1.2566.127.1.2.167.4"


@pytest.mark.parametrize(
    ("key", "mib_oid"),
    [  # written from RS-XX8000-DVB-TX-MIB, not from the driver
        (exc(rs.EXC_FAULT, A), f"{DVB_TX}.1.2.7.0"),  # summaryFaultExcA
        (exc(rs.EXC_FAULT, B), f"{DVB_TX}.1.2.9.0"),  # summaryFaultExcB
        (exc(rs.EXC_NO_CONNECTION, A), f"{DVB_TX}.1.2.17.0"),  # noConnectionExcA
        (exc(rs.EXC_NO_CONNECTION, B), f"{DVB_TX}.1.2.19.0"),  # noConnectionExcB
        (exc(rs.EXC_ON_AIR, A), f"{DVB_TX}.1.2.21.0"),  # activeExcA
        (exc(rs.EXC_ON_AIR, B), f"{DVB_TX}.1.2.23.0"),  # activeExcB
        (exc(rs.EXC_AGC, B), f"{DVB_TX}.1.3.20.1.4.2"),  # excStatusRfOutputAgcRegulation.b
        (exc(rs.EXC_VSWR, A), f"{DVB_TX}.1.3.20.1.9.1"),  # excStatusVSWR.a
        (exc(rs.EXC_FAIL_DELAY, B), f"{DVB_TX}.1.3.20.1.40.2"),  # excStatusFailDelay.b
    ],
)
def test_each_exciter_value_is_read_at_the_mibs_object(key: str, mib_oid: str) -> None:
    assert oid(key) == mib_oid


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        (exc(rs.EXC_VSWR, A), "1.06", 1.06),
        (exc(rs.EXC_VSWR, B), b"0.1314E1", 1.31),
        (exc(rs.EXC_AGC, A), "50.8", 50.8),
        (exc(rs.EXC_AGC, B), "7", 7.0),
        (exc(rs.EXC_FAIL_DELAY, A), 1, "off"),
        (exc(rs.EXC_FAIL_DELAY, A), 2, "warning"),
        (exc(rs.EXC_FAIL_DELAY, B), 3, "ok"),
        (exc(rs.EXC_FAULT, B), 1, True),  # TruthValue: true(1)
        (exc(rs.EXC_FAULT, B), 2, False),  # false(2)
        (exc(rs.EXC_ON_AIR, B), 1, True),
        (exc(rs.EXC_NO_CONNECTION, A), 2, False),
    ],
)
def test_exciter_objects_are_read_with_their_encodings(
    key: str, raw: RawValue, value: object
) -> None:
    reading = decoded(**{key: raw})[key]
    assert (reading.value, reading.quality) == (value, Quality.OK)


@pytest.mark.parametrize(
    ("key", "raw", "detail"),
    [
        (exc(rs.EXC_VSWR, A), "1,06", "not a FloatingPoint number"),
        (exc(rs.EXC_VSWR, B), "0.9", "outside the valid range"),  # a VSWR is never below 1
        (exc(rs.EXC_AGC, A), "100.5", "outside the valid range"),
        (exc(rs.EXC_FAIL_DELAY, B), 4, "unknown enum value 4"),
    ],
)
def test_an_exciter_value_outside_its_encoding_is_invalid(
    key: str, raw: RawValue, detail: str
) -> None:
    readings = decoded(**{key: raw})
    assert readings[key].quality is Quality.INVALID
    assert detail in readings[key].detail
    assert all(r.quality is Quality.OK for k, r in readings.items() if k != key)


def _judged(readings: dict[str, Reading]) -> dict[str, HealthState]:
    result = PollResult("dvbt2", TS, tuple(readings.values()))
    return {p.metric: p.state for p in evaluate(DRIVER, result).problems}


SINGLE_DRIVE_B: dict[str, RawValue] = {
    exc(rs.EXC_NO_CONNECTION, B): 1,  # noConnectionExcB true
    exc(rs.EXC_FAULT, B): 1,
    exc(rs.EXC_VSWR, B): "3.0",
    exc(rs.EXC_AGC, B): "99.0",
    exc(rs.EXC_FAIL_DELAY, B): 2,
}
"""Exciter B of a single-drive transmitter: no connection, and values that would alarm."""


def test_an_exciter_the_netccu_has_no_connection_to_is_listed_but_not_judged() -> None:
    readings = decoded(**SINGLE_DRIVE_B)
    rows_b = {k: r for k, r in readings.items() if k.endswith(f"[exciter={B}]")}
    assert {rs.DRIVER.metric(k).key for k in rows_b} == {m.key for m in rs.EXCITER_METRICS}
    assert all(r.quality is Quality.OK and not r.in_use for r in rows_b.values())
    assert readings[exc(rs.EXC_VSWR, B)].value == 3.0
    assert all(r.in_use for k, r in readings.items() if k not in rows_b)
    assert _judged(readings) == {}
    undeclared = replace(DRIVER, rows_in_use=())  # what the same values would do if judged
    result = PollResult("dvbt2", TS, undeclared.decode(served(**SINGLE_DRIVE_B), TS))
    assert evaluate(undeclared, result).state is HealthState.CRITICAL


def test_a_connected_reserve_exciter_standing_by_is_judged() -> None:
    readings = decoded(**{exc(rs.EXC_VSWR, B): "2.4"})
    assert readings[exc(rs.EXC_ON_AIR, B)].value is False  # the reserve, not on air
    assert readings[exc(rs.EXC_VSWR, B)].in_use
    assert _judged(readings) == {exc(rs.EXC_VSWR, B): HealthState.CRITICAL}
    assert _judged(decoded(**{exc(rs.EXC_AGC, B): "85.0", exc(rs.EXC_FAIL_DELAY, B): 2})) == {
        exc(rs.EXC_AGC, B): HealthState.WARNING,
        exc(rs.EXC_FAIL_DELAY, B): HealthState.WARNING,
    }
    assert _judged(decoded(**{exc(rs.EXC_FAULT, A): 1})) == {
        exc(rs.EXC_FAULT, A): HealthState.CRITICAL
    }


def test_an_exciter_whose_connection_is_not_served_is_judged() -> None:
    """A value the agent does not have never hides a row."""
    readings = decoded(**{**SINGLE_DRIVE_B, exc(rs.EXC_NO_CONNECTION, B): None})
    assert exc(rs.EXC_NO_CONNECTION, B) not in readings
    assert readings[exc(rs.EXC_VSWR, B)].in_use
    assert _judged(readings)[exc(rs.EXC_VSWR, B)] is HealthState.CRITICAL


def test_a_netccu_that_serves_no_exciter_b_lists_none() -> None:
    rows_b = [key for key in DRIVER.simulator.initial if key.endswith(f"[exciter={B}]")]
    readings = decoded(**dict.fromkeys(rows_b))
    assert not [k for k in readings if k.endswith(f"[exciter={B}]")]
    assert readings[exc(rs.EXC_ON_AIR, A)].value is True


def test_the_unused_exciter_raises_no_alarm_and_the_reserves_vswr_does() -> None:
    immediate = {"delay_s": 0, "clear_delay_s": 0}
    device = {"id": "dvbt2", "driver": DRIVER.name, "host": "127.0.0.44"}
    station = Station(station_config([with_limits(device, exciter__vswr=immediate)]))

    def poll(after: float, **raw: RawValue) -> list[tuple[str, str, str]]:
        ts = station.clock.advance(after)
        result = PollResult("dvbt2", ts, DRIVER.decode(served(**raw), ts))
        return transitions(station.engine.observe("dvbt2", result))

    for _ in range(30):  # five minutes: past every default delay
        assert poll(10, **SINGLE_DRIVE_B) == []
    assert station.engine.device_state("dvbt2") is HealthState.OK
    vswr_b = exc(rs.EXC_VSWR, B)
    assert poll(10, **{vswr_b: "2.4"}) == [("raised", f"dvbt2/{vswr_b}/high", "critical")]


def test_the_single_drive_and_reserve_scenarios_over_udp(sims: SimRunner) -> None:
    sim = sims.serve(DRIVER.name, "127.0.0.45")
    sim.device.play("single_drive")
    result = poll_once(sim, DRIVER, "dvbt2")
    readings = by_key(result.readings)
    assert readings[exc(rs.EXC_VSWR, B)].value == 3.0
    assert not readings[exc(rs.EXC_VSWR, B)].in_use
    assert readings[exc(rs.EXC_VSWR, A)].in_use
    assert health_of(DRIVER, result.readings, TS) is HealthState.OK
    sim.device.play("normal")
    sim.device.play("reserve_vswr")
    result = poll_once(sim, DRIVER, "dvbt2")
    assert by_key(result.readings)[exc(rs.EXC_VSWR, B)].value == rs.RESERVE_VSWR
    assert health_of(DRIVER, result.readings, TS) is HealthState.CRITICAL


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
    assert {r.key for r in result.readings} == {m.key for m in DRIVER.metrics if not m.is_column}
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
        exc(rs.EXC_FAULT, A): (False, Quality.OK),
        exc(rs.EXC_NO_CONNECTION, A): (False, Quality.OK),
        exc(rs.EXC_ON_AIR, A): (True, Quality.OK),
        exc(rs.EXC_AGC, A): (50.8, Quality.OK),
        exc(rs.EXC_VSWR, A): (1.06, Quality.OK),
        exc(rs.EXC_FAIL_DELAY, A): ("off", Quality.OK),
        exc(rs.EXC_FAULT, B): (False, Quality.OK),
        exc(rs.EXC_NO_CONNECTION, B): (True, Quality.OK),  # not fitted
        exc(rs.EXC_ON_AIR, B): (False, Quality.OK),
    }
    assert {r.key for r in result.readings if not r.in_use} == {
        exc(key, B) for key in (rs.EXC_FAULT, rs.EXC_NO_CONNECTION, rs.EXC_ON_AIR)
    }
    assert evaluate(DRIVER, result).state is HealthState.OK


@needs_snmpsim
def test_identify_suggests_only_this_driver_for_the_recording(recorded_transmitter: Replay) -> None:
    device = recorded_transmitter.device(RECORDING.stem, driver=DRIVER.name)
    assert suggested_for(device, REGISTRY.values()) == [DRIVER.name]
