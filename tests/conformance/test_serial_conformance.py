"""The serial conformance suite: every registered serial driver (protocol "ascii" or
"modbus") against its own simulator, over a real pseudo-terminal, polled by the
real poller through the real `SerialLine`.

The serial counterpart of test_driver_conformance.py.  It uses only the shared
interfaces (`SerialBusSimulator`, `SimulatedDevice`, `Poller`), so a new serial
protocol or driver is picked up from the registry without touching it.  Beyond
the declared scenarios, every serial device plays the line faults of its
protocol (slow replies, garbage, unplugging, CRC errors for Modbus); the suite
checks none of them ever shows a wrong value, and that polling recovers by
itself once the line is sound again.

What a maintainer runs after touching a serial driver:
    .venv/bin/pytest tests/conformance/test_serial_conformance.py -k DRIVER_NAME
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from drivers import REGISTRY
from fieldagent.config import SERIAL_PROTOCOLS, DeviceSection, parse_device
from fieldagent.driver import Driver, LineFault, ValueType
from fieldagent.model import HealthState, PollResult, Quality, Reading, Value
from fieldagent.poller import Poller
from fieldagent.sim.device import NO_REPLY, NORMAL, SERIAL_FAULTS, SimulatedDevice
from fieldagent.sim.serial_sim import SerialBusSimulator
from fieldagent.transports.serialport import SerialLines
from fieldagent.transports.snmp import SnmpClient
from tests.conformance import assert_all_ok_and_healthy, health_of
from tests.simrunner import OffsetClock

SERIAL_DRIVERS = [d for _, d in sorted(REGISTRY.items()) if d.protocol in SERIAL_PROTOCOLS]
SCENARIOS = [
    (driver, name) for driver in SERIAL_DRIVERS for name in SimulatedDevice(driver).scenarios
]
FAULTS = [
    (driver, name)
    for driver in SERIAL_DRIVERS
    for name in (NO_REPLY, *(f.value for f in SERIAL_FAULTS[driver.protocol]))
]

UNIT = 1
TIMEOUT_S = 0.3
"""The agent's per-request timeout here: short, so silent devices cost little time."""

SILENT_POLL_MAX_S = 4 * TIMEOUT_S
"""A device that does not answer must cost about one timeout, never one per metric."""

RATE_GAP_S = 0.5
"""Real time between the two polls of a check: counters need two samples for a rate."""

LATE_REPLY_S = 3.5
"""Simulated slow replies land about 3 s after their request, well past TIMEOUT_S."""

RECOVERY_S = 6.0
"""How long polling may take to be clean again after a fault."""

GARBAGE_POLLS = 3
ABSENT_KEY = "conformance.absent"
ABSENT_COMMAND = "CONFORMANCE.ABSENT"
ABSENT_ADDRESS = 9000
"""Where the extra metric of the missing-object check lives: nothing a simulator serves."""


@dataclass
class Bench:
    """One simulated serial device on a pty, and the agent's side of the cable."""

    driver: Driver
    device: SimulatedDevice
    bus: SerialBusSimulator
    clock: OffsetClock
    section: DeviceSection
    lines: SerialLines
    client: SnmpClient
    poller: Poller

    def poll(self, times: int = 1, driver: Driver | None = None) -> PollResult:
        """Poll `times` times, RATE_GAP_S apart, with the same poller (counters become rates)."""

        async def run() -> PollResult:
            result = await self.poller.poll(self.section, driver or self.driver)
            for _ in range(times - 1):
                await asyncio.sleep(RATE_GAP_S)
                result = await self.poller.poll(self.section, driver or self.driver)
            return result

        result = asyncio.run(run())
        assert not (result.error or "").startswith("internal error"), result.error
        return result

    def play(self, scenario: str) -> None:
        """Play `scenario` and wait until the cable is in or out as it says."""
        self.device.play(scenario)
        unplugged = self.device.line_fault is LineFault.UNPLUG
        port = self.section.serial_port
        assert port is not None
        wait_for(lambda: port.exists() != unplugged, f"{port} plugged = {not unplugged}")

    def close(self) -> None:
        self.lines.close()
        self.bus.stop()
        self.client.close()


BenchFn = Callable[..., Bench]


def wait_for(condition: Callable[[], bool], what: str, within_s: float = 3.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[BenchFn]:
    started: list[Bench] = []

    def start(driver: Driver, noise: bool = False) -> Bench:
        clock = OffsetClock()
        device = SimulatedDevice(driver, clock=clock, noise=noise)
        link = tmp_path / f"tty-{driver.name}"
        bus = SerialBusSimulator(link, driver.protocol, {UNIT: device})
        asyncio.run(bus.start())
        section = parse_device(
            {
                "id": "dut",
                "driver": driver.name,
                "serial_port": str(link),
                "timeout": TIMEOUT_S,
                "gap_ms": 5,
                **({"unit": UNIT} if driver.protocol == "modbus" else {}),
            }
        )
        lines, client = SerialLines(), SnmpClient()
        bench = Bench(
            driver, device, bus, clock, section, lines, client, Poller(client, None, lines)
        )
        started.append(bench)
        return bench

    yield start
    for bench in started:
        bench.close()


def truth(bench: Bench) -> dict[str, Value]:
    """What the device reads as on a clean line (counters left out: their rates move)."""
    result = bench.poll()
    assert result.error is None, result.error
    assert all(r.quality is Quality.OK for r in result.readings if not is_counter(bench, r))
    return {r.key: r.value for r in result.readings if not is_counter(bench, r)}


def is_counter(bench: Bench, reading: Reading) -> bool:
    return bench.driver.metric(reading.key).type is ValueType.COUNTER


def assert_true_or_not_ok(bench: Bench, result: PollResult, true: Mapping[str, Value]) -> None:
    """Every reading is either its true value or visibly not ok: never a wrong value."""
    for reading in result.readings:
        if is_counter(bench, reading):
            continue
        if reading.quality is Quality.OK:
            assert reading.value == true[reading.key], (reading.key, reading.value)
        else:
            assert reading.quality in (Quality.INVALID, Quality.BAD), reading


@pytest.mark.parametrize("driver", SERIAL_DRIVERS, ids=lambda d: d.name)
def test_every_declared_metric_reads_ok_with_its_unit_and_in_range(
    bench: BenchFn, driver: Driver
) -> None:
    served = bench(driver, noise=True)
    result = served.poll(times=2)
    assert result.error is None, result.error
    readings = {r.key: r for r in result.readings}
    assert set(readings) == set(served.device.snapshot())
    assert_all_ok_and_healthy(driver, result)


@pytest.mark.parametrize(("driver", "scenario"), SCENARIOS, ids=lambda x: getattr(x, "name", x))
def test_each_scenario_gives_the_readings_and_health_it_declares(
    bench: BenchFn, driver: Driver, scenario: str
) -> None:
    served = bench(driver)
    declared = served.device.scenarios[scenario]
    true = truth(served) if declared.line_fault in (LineFault.GARBAGE, LineFault.CRC_ERROR) else {}
    served.play(scenario)
    served.clock.jump(declared.expect.after_s)
    result = served.poll()
    if declared.silent or declared.line_fault in (LineFault.SLOW_REPLY, LineFault.UNPLUG):
        assert result.error is not None
        assert all(r.quality is Quality.BAD for r in result.readings)
        assert result.duration_s < SILENT_POLL_MAX_S, result.duration_s
    elif declared.line_fault is LineFault.GARBAGE:
        results = [result, *(served.poll() for _ in range(GARBAGE_POLLS - 1))]
        for each in results:  # a protocol that finds intact frames in noise may read all ok
            assert_true_or_not_ok(served, each, true)
    elif declared.line_fault is LineFault.CRC_ERROR:
        for reading in result.readings:
            assert reading.quality in (Quality.BAD, Quality.INVALID), reading
    else:
        assert result.error is None, result.error
        values = {r.key: r.value for r in result.readings}
        for key, expected in declared.expect.values.items():
            assert key in values, f"{scenario}: no reading {key}"
            if isinstance(expected, float):
                assert values[key] == pytest.approx(expected, rel=0.02), key
            else:
                assert values[key] == expected, key
    if declared.expect.health is not None:
        assert health_of(driver, result) is declared.expect.health, scenario


@pytest.mark.parametrize(("driver", "fault"), FAULTS, ids=lambda x: getattr(x, "name", x))
def test_after_a_line_fault_polling_is_clean_again_and_never_shifted(
    bench: BenchFn, driver: Driver, fault: str
) -> None:
    """Late or broken replies of the fault must never land on other metrics afterwards."""
    served = bench(driver)
    true = truth(served)
    served.play(fault)
    served.poll()
    began = time.monotonic()
    served.play(NORMAL)
    # Slow replies land late, in the middle of later polls: keep polling until they have.
    settle_s = LATE_REPLY_S if fault == LineFault.SLOW_REPLY else 0.0
    while True:
        result = served.poll()
        if result.error is None:
            assert_true_or_not_ok(served, result, true)
        clean = all(r.quality is Quality.OK for r in result.readings if not is_counter(served, r))
        if clean and time.monotonic() - began > settle_s:
            break
        assert time.monotonic() - began < RECOVERY_S, f"still not clean after {fault}: {result}"
    assert health_of(driver, result) is HealthState.OK


@pytest.mark.parametrize("driver", SERIAL_DRIVERS, ids=lambda d: d.name)
def test_unplug_then_replug_resumes_polling_by_itself(bench: BenchFn, driver: Driver) -> None:
    served = bench(driver)
    truth(served)
    served.play(LineFault.UNPLUG.value)
    for _ in range(2):  # the port was open when the cable went, then it is simply absent
        result = served.poll()
        assert result.error is not None and str(served.section.serial_port) in result.error
        assert all(r.quality is Quality.BAD for r in result.readings)
        assert result.duration_s < SILENT_POLL_MAX_S
    served.play(NORMAL)  # the same agent objects: nothing restarted, nothing reopened by hand
    deadline = time.monotonic() + RECOVERY_S
    while (result := served.poll()).error is not None:
        assert time.monotonic() < deadline, result.error
    assert all(r.quality is Quality.OK for r in result.readings if not is_counter(served, r))


def with_absent_metric(driver: Driver) -> Driver:
    """The driver plus a metric its device does not have (at a command / address it lacks)."""
    template = next(m for m in driver.metrics if m.type is ValueType.NUMBER and not m.is_column)
    register = template.register and replace(template.register, address=ABSENT_ADDRESS)
    source = register or ABSENT_COMMAND
    absent = replace(template, key=ABSENT_KEY, source=source, title="Not on the device")
    return replace(driver, metrics=(*driver.metrics, absent))


@pytest.mark.parametrize("driver", SERIAL_DRIVERS, ids=lambda d: d.name)
def test_a_missing_object_is_missing_or_invalid_and_spoils_nothing_else(
    bench: BenchFn, driver: Driver
) -> None:
    served = bench(driver)
    asked = with_absent_metric(driver)
    result = served.poll(times=2, driver=asked)
    assert result.error is None, result.error
    readings = {r.key: r for r in result.readings}
    assert readings[ABSENT_KEY].quality in (Quality.MISSING, Quality.INVALID)
    others = [r for r in readings.values() if r.key != ABSENT_KEY]
    assert all(r.quality is Quality.OK for r in others), others
