"""The generator driver against its Modbus simulator through a real pty, the shared RS-485 bus,
its register map, GenComm sentinels and its scenario steps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from drivers.generator_modbus import ALARMS, DRIVER, INITIAL
from fieldagent.config import DeviceSection
from fieldagent.driver import RegisterKind, RegisterType, WordOrder
from fieldagent.health import snapshot_state
from fieldagent.model import HealthState, PollResult, Quality, Value
from fieldagent.poller import Poller
from fieldagent.sim.device import SimulatedDevice
from fieldagent.transports.modbus import plan
from fieldagent.transports.snmp import SnmpClient
from tests.drivers.test_modbus_transport import TS, BusRunner, ModbusBus, wait_until

TIMEOUT_S = 0.4


class OffsetClock:
    """Monotonic time a test can jump forward: scenario time without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BusRunner]:
    buses = BusRunner(tmp_path, monkeypatch)
    yield buses
    buses.close()


def poll_all(bus: ModbusBus, sections: Sequence[DeviceSection]) -> tuple[list[PollResult], float]:
    """Poll every section concurrently through the agent's Poller; the results and the time."""

    async def run() -> tuple[list[PollResult], float]:
        client = SnmpClient()
        try:
            poller = Poller(client, serial=bus.lines)
            started = time.monotonic()
            results = await asyncio.gather(*(poller.poll(s, DRIVER) for s in sections))
            return list(results), time.monotonic() - started
        finally:
            client.close()

    return asyncio.run(run())


def poll(bus: ModbusBus, unit: int = 1) -> PollResult:
    return poll_all(bus, [bus.section(DRIVER, unit, TIMEOUT_S)])[0][0]


def values(result: PollResult) -> dict[str, Value]:
    return {r.key: r.value for r in result.readings}


def health(result: PollResult) -> HealthState:
    return snapshot_state(DRIVER, result)


def test_the_register_map_is_read_in_four_requests_over_two_tables() -> None:
    spans = [(r.function, r.address, r.count) for r in plan(DRIVER.metrics)]
    assert spans == [(3, 772, 1), (3, 1024, 7), (3, 1798, 2), (2, 0, 8)]
    assert len(spans) < len(DRIVER.metrics)
    for metric in DRIVER.metrics:
        assert metric.register is not None
        assert metric.source_key == f"{metric.register.kind}:{metric.register.address}"
    run_hours = DRIVER.metric("gen.run_hours").register
    assert run_hours is not None
    assert (run_hours.type, run_hours.word_order) == (RegisterType.U32, WordOrder.BIG)
    alarms = [DRIVER.metric(f"gen.alarm.{name}").register for name, _, _ in ALARMS]
    assert all(r is not None and r.kind is RegisterKind.DISCRETE for r in alarms)


def test_every_metric_reads_exactly_what_the_simulator_serves(runner: BusRunner) -> None:
    bus = runner.start({1: SimulatedDevice(DRIVER)})
    result = poll(bus)
    assert result.error is None
    assert values(result) == INITIAL
    assert all(r.quality is Quality.OK for r in result.readings)
    assert {r.key: r.unit for r in result.readings}["gen.battery_v"] == "V"
    assert health(result) is HealthState.OK
    assert len(bus.heard) == 4


SCENARIOS = sorted(SimulatedDevice(DRIVER).scenarios)


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_scenario_gives_the_readings_and_health_it_declares(
    runner: BusRunner, name: str
) -> None:
    clock = OffsetClock()
    device = SimulatedDevice(DRIVER, clock=clock)
    bus = runner.start({1: device})
    scenario = device.scenarios[name]
    device.play(name)
    clock.offset += scenario.expect.after_s
    if name == "unplug":
        wait_until(lambda: not bus.sim.path.exists())
    result = poll(bus)
    if scenario.silent or name in ("slow_reply", "unplug"):
        assert result.error is not None
        assert all(r.quality is Quality.BAD for r in result.readings)
    elif name == "crc_error":
        assert all(r.quality is Quality.INVALID for r in result.readings)
    else:
        assert result.error is None
        got = values(result)
        assert {k: got[k] for k in scenario.expect.values} == dict(scenario.expect.values)
    if scenario.expect.health is not None:
        assert health(result) is scenario.expect.health


def test_noise_on_the_line_does_not_change_a_value(runner: BusRunner) -> None:
    device = SimulatedDevice(DRIVER)
    bus = runner.start({1: device})
    device.play("garbage")
    assert values(poll(bus)) == INITIAL


@pytest.mark.parametrize(
    ("key", "raw_value"),
    [
        ("gen.fuel_pct", 0xFFFF),
        ("gen.oil_pressure_kpa", 0xFFFC),
        ("gen.coolant_temperature_c", 0x7FFF),
    ],
)
def test_gencomm_sentinels_read_missing_not_as_values(
    runner: BusRunner, key: str, raw_value: int
) -> None:
    device = SimulatedDevice(DRIVER)
    bus = runner.start({1: device})
    device.set(key, raw_value)
    readings = {r.key: r for r in poll(bus).readings}
    assert readings[key].quality is Quality.MISSING
    assert f"sentinel {raw_value}" in readings[key].detail
    assert readings["gen.battery_v"].value == 12.9


def test_a_mode_the_model_does_not_name_is_invalid_and_off_is_a_warning() -> None:
    mode = DRIVER.metric("gen.mode")
    assert mode.decode(3, TS).quality is Quality.INVALID  # test on load
    assert mode.bad_state(mode.decode(0, TS)) == (HealthState.WARNING, None)
    assert mode.bad_state(mode.decode(1, TS)) == (HealthState.OK, None)


@pytest.mark.parametrize(("name", "_title", "state"), ALARMS)
def test_each_alarm_flag_raises_its_state(
    runner: BusRunner, name: str, _title: str, state: HealthState
) -> None:
    device = SimulatedDevice(DRIVER)
    bus = runner.start({1: device})
    device.set(f"gen.alarm.{name}", True)
    result = poll(bus)
    assert values(result)[f"gen.alarm.{name}"] is True
    assert health(result) is state


def test_running_step_is_a_pure_function_of_time() -> None:
    step = DRIVER.simulator.scenarios["generator_running"].step
    assert step is not None

    def at(elapsed_s: float) -> dict[str, Value]:
        stepped = dict(INITIAL)
        step(stepped, INITIAL, elapsed_s)
        return stepped

    assert at(0)["gen.engine_rpm"] == 1500
    assert at(0)["gen.run_hours"] == 1234.5
    assert at(360)["gen.run_hours"] == pytest.approx(1234.6)
    assert at(360)["gen.coolant_temperature_c"] == 76
    assert at(3600)["gen.coolant_temperature_c"] == 82  # warmed up, the thermostat holds it
    assert at(3600)["gen.fuel_pct"] == 70
    assert at(360) == at(360)


def test_a_running_set_raises_low_fuel_and_stops_when_the_tank_is_dry() -> None:
    step = DRIVER.simulator.scenarios["generator_running"].step
    assert step is not None

    def at(hours: float) -> dict[str, Value]:
        stepped = dict(INITIAL)
        step(stepped, INITIAL, hours * 3600)
        return stepped

    assert at(6)["gen.alarm.low_fuel"] is False  # 80 % at 10 %/h: 20 % left
    assert (at(6.5)["gen.fuel_pct"], at(6.5)["gen.alarm.low_fuel"]) == (15, True)
    dry = at(9)
    assert (dry["gen.fuel_pct"], dry["gen.running"], dry["gen.engine_rpm"]) == (0, False, 0)
    assert dry["gen.oil_pressure_kpa"] == 0
    assert dry["gen.run_hours"] == pytest.approx(1234.5 + 8), "no hours counted once stopped"
    assert dry["gen.battery_v"] == INITIAL["gen.battery_v"], "no charging once stopped"


UNITS = (1, 2, 3)


def test_a_silent_slave_on_a_shared_bus_costs_its_own_timeout_and_spoils_no_other(
    runner: BusRunner,
) -> None:
    devices = {unit: SimulatedDevice(DRIVER) for unit in UNITS}
    bus = runner.start(devices)
    timeout = 1.0
    sections = [bus.section(DRIVER, unit, timeout) for unit in UNITS]
    healthy, healthy_s = poll_all(bus, sections)
    assert all(r.error is None for r in healthy)

    devices[2].play("no_reply")
    heard_before = len(bus.heard)
    results, silent_s = poll_all(bus, sections)

    by_unit = dict(zip(UNITS, results, strict=True))
    for unit in (1, 3):
        assert by_unit[unit].error is None
        assert values(by_unit[unit]) == INITIAL
    assert "unit 2" in str(by_unit[2].error)
    assert all(r.quality is Quality.BAD for r in by_unit[2].readings)
    # About one timeout more than the healthy round, not three (or one per request).
    assert timeout * 0.9 < silent_s - healthy_s < timeout * 1.6
    # One request to the silent unit, four to each other one: whole frames, never interleaved.
    heard = bus.heard[heard_before:]
    assert sorted(h.unit for h in heard) == [1, 1, 1, 1, 2, 3, 3, 3, 3]
    planned = {(r.function, r.address, r.count) for r in plan(DRIVER.metrics)}
    assert {(h.function, h.address, h.count) for h in heard} == planned
    assert bus.inner.discarded == 0
