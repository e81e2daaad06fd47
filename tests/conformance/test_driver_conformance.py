"""The driver conformance suite: every registered SNMP driver against its own simulator,
over real UDP, and against net-snmp's walker.

What a maintainer runs after touching a driver:
    .venv/bin/pytest tests/conformance -k DRIVER_NAME
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from drivers import REGISTRY
from fieldagent.config import DeviceSection, parse_device
from fieldagent.driver import Driver, ValueType, split_row_key
from fieldagent.identify import identify
from fieldagent.model import PollResult, Quality
from fieldagent.poller import Poller
from fieldagent.sim.device import ABSENT, SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.transports.snmp import SnmpClient, SnmpTarget
from tests.conformance import assert_all_ok_and_healthy, health_of
from tests.simrunner import OffsetClock, SimRunner, device_fields, served_objects

SNMP_DRIVERS = [d for _, d in sorted(REGISTRY.items()) if d.protocol == "snmp"]
SCENARIOS = [
    (driver, name) for driver in SNMP_DRIVERS for name in SimulatedDevice(driver).scenarios
]
RATE_GAP_S = 0.5
"""Real time between the two polls of a check: counters need two samples for a rate."""


@dataclass
class Served:
    driver: Driver
    device: SimulatedDevice
    simulator: SnmpSimulator
    clock: OffsetClock

    def section(self) -> DeviceSection:
        return parse_device(device_fields("dut", self.simulator, timeout=1.0, request_retries=1))

    def poll(self, times: int = 2) -> PollResult:
        """Poll `times` times, RATE_GAP_S apart, with one poller (so counters become rates)."""

        async def run() -> PollResult:
            client = SnmpClient()
            poller = Poller(client)
            try:
                result = await poller.poll(self.section(), self.driver)
                for _ in range(times - 1):
                    await asyncio.sleep(RATE_GAP_S)
                    result = await poller.poll(self.section(), self.driver)
                return result
            finally:
                client.close()

        return asyncio.run(run())


ServeFn = Callable[..., Served]


@pytest.fixture
def serve(sims: SimRunner) -> Iterator[ServeFn]:
    def start(driver: Driver, noise: bool = False) -> Served:
        clock = OffsetClock()
        device = SimulatedDevice(driver, clock=clock, noise=noise)
        simulator = SnmpSimulator(device, "127.0.0.5", 0)
        sims.call(simulator.start())
        sims.adopt(simulator)
        return Served(driver, device, simulator, clock)

    yield start


@pytest.mark.parametrize("driver", SNMP_DRIVERS, ids=lambda d: d.name)
def test_every_declared_metric_reads_ok_with_its_unit_and_in_range(
    serve: ServeFn, driver: Driver
) -> None:
    served = serve(driver, noise=True)
    result = served.poll()
    assert result.error is None
    readings = {r.key: r for r in result.readings}
    assert set(readings) == set(served.device.snapshot())
    for metric in (m for m in driver.metrics if m.is_column):
        assert any(driver.metric(k) is metric for k in readings), f"no row of {metric.key}"
    assert_all_ok_and_healthy(driver, result)


@pytest.mark.parametrize(("driver", "scenario"), SCENARIOS, ids=lambda x: getattr(x, "name", x))
def test_each_scenario_gives_the_readings_and_health_it_declares(
    serve: ServeFn, driver: Driver, scenario: str
) -> None:
    served = serve(driver)
    declared = served.device.scenarios[scenario]
    served.device.play(scenario)
    served.clock.jump(declared.expect.after_s)
    result = served.poll()
    if declared.silent:
        assert result.error is not None
        assert all(r.quality is Quality.BAD for r in result.readings)
    else:
        assert result.error is None
        values = {r.key: r.value for r in result.readings}
        for key, expected in declared.expect.values.items():
            assert key in values, f"{scenario}: no reading {key}"
            if isinstance(expected, float):
                assert values[key] == pytest.approx(expected, rel=0.02), key
            else:
                assert values[key] == expected, key
    if declared.expect.health is not None:
        assert health_of(driver, result) is declared.expect.health, scenario


@pytest.mark.parametrize("driver", [d for d in SNMP_DRIVERS if d.rows_in_use], ids=lambda d: d.name)
def test_a_row_not_in_use_is_read_listed_and_judged_by_nothing(
    serve: ServeFn, driver: Driver
) -> None:
    """Each declared `rows_in_use` is played by a scenario: its rows are polled and marked,
    and the device's health is what it is without them."""
    served = serve(driver)
    for name, scenario in served.device.scenarios.items():
        if scenario.silent:
            continue
        served.device.play("normal")  # from the initial values, not the last scenario's
        served.device.play(name)
        result = served.poll(times=1)
        unused = [r for r in result.readings if not r.in_use]
        if unused:
            break
    else:
        pytest.fail(f"{driver.name}: no scenario serves a row not in use")
    tables = {declared.table for declared in driver.rows_in_use}
    assert {parts[1] for r in unused if (parts := split_row_key(r.key))} <= tables
    judged = replace(result, readings=tuple(r for r in result.readings if r.in_use))
    assert health_of(driver, result) is health_of(driver, judged), name


@pytest.mark.parametrize("driver", SNMP_DRIVERS, ids=lambda d: d.name)
def test_a_missing_object_is_missing_and_spoils_nothing_else(
    serve: ServeFn, driver: Driver
) -> None:
    served = serve(driver)
    keys = sorted(served.device.snapshot())
    victim = keys[len(keys) // 2]
    served.device.inject(driver.oid_of(victim), ABSENT)
    result = served.poll(times=1)
    readings = {r.key: r for r in result.readings}
    if victim in readings:  # a table row that is gone is simply not read
        assert readings[victim].quality is Quality.MISSING
    derived = _derived_from_spoiled(served)
    others = [r for k, r in readings.items() if k != victim and k not in derived]
    counters = {k for k in readings if driver.metric(k).type is ValueType.COUNTER}
    assert all(r.quality is Quality.OK for r in others if r.key not in counters)


def _numeric_keys(driver: Driver, device: SimulatedDevice) -> list[str]:
    return [
        k
        for k in sorted(device.snapshot())
        if driver.metric(k).type in (ValueType.NUMBER, ValueType.ENUM, ValueType.BOOL)
    ]


@pytest.mark.parametrize("driver", SNMP_DRIVERS, ids=lambda d: d.name)
def test_a_wrong_type_is_invalid_and_spoils_nothing_else(serve: ServeFn, driver: Driver) -> None:
    served = serve(driver)
    victims = _numeric_keys(driver, served.device)[:3]
    for key in victims:
        served.device.inject(driver.oid_of(key), b"\xff garbage")
    readings = {r.key: r for r in served.poll(times=1).readings}
    for key in victims:
        assert readings[key].quality is Quality.INVALID, key
    counters = {k for k in readings if driver.metric(k).type is ValueType.COUNTER}
    untouched = set(readings) - set(victims) - counters - _derived_from_spoiled(served)
    assert all(readings[k].quality is Quality.OK for k in untouched)


def _derived_from_spoiled(served: Served) -> set[str]:
    """Readings the driver computes from a spoiled object besides its own (a link margin
    from the C/N, a VSWR from the powers).

    Found by decoding, without the wire, what the device serves now: a reading that is
    not ok there comes from a spoiled object; every other reading must be ok after the poll.
    """
    offline = served.driver.decode(served_objects(served.device), datetime.now(UTC))
    return {r.key for r in offline if r.quality is not Quality.OK}


@pytest.mark.parametrize("driver", SNMP_DRIVERS, ids=lambda d: d.name)
def test_an_out_of_range_value_is_invalid(serve: ServeFn, driver: Driver) -> None:
    served = serve(driver)
    bounded = [
        k
        for k in sorted(served.device.snapshot())
        if driver.metric(k).type is ValueType.NUMBER and driver.metric(k).valid != (None, None)
    ]
    if not bounded:
        pytest.skip(f"{driver.name} declares no valid range")
    for key in bounded:
        _, high = driver.metric(key).valid
        served.device.inject(driver.oid_of(key), 2**31 - 1 if high is not None else -(2**31))
    readings = {r.key: r for r in served.poll(times=1).readings}
    for key in bounded:
        assert readings[key].quality is Quality.INVALID, (key, readings[key])
        assert "outside the valid range" in readings[key].detail


@pytest.mark.skipif(shutil.which("snmpbulkwalk") is None, reason="net-snmp tools not installed")
@pytest.mark.parametrize("driver", SNMP_DRIVERS, ids=lambda d: d.name)
@pytest.mark.parametrize(("tool", "version"), [("snmpbulkwalk", "2c"), ("snmpwalk", "1")])
def test_net_snmp_walks_the_simulator_without_errors(
    serve: ServeFn, driver: Driver, tool: str, version: str
) -> None:
    served = serve(driver)
    address = f"udp:{served.simulator.host}:{served.simulator.port}"
    done = subprocess.run(
        [tool, "-v", version, "-c", "public", "-On", "-t", "2", "-r", "1", address, ".1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr and "not increasing" not in done.stderr
    served_objects = [oid for oid, raw in served.device.objects().items() if raw is not None]
    # Walking to the very end, net-snmp prints one "No more variables left" line, as with snmpd.
    lines = [line for line in done.stdout.splitlines() if " = " in line]
    end_of_mib = [line for line in lines if "No more variables left" in line]
    assert len(end_of_mib) <= 1, end_of_mib
    lines = [line for line in lines if line not in end_of_mib]
    assert len(lines) == len(served_objects)
    walked = [tuple(int(p) for p in line.split(" ", 1)[0].strip(".").split(".")) for line in lines]
    assert walked == sorted(served_objects)


@pytest.mark.parametrize("driver", SNMP_DRIVERS, ids=lambda d: d.name)
def test_identify_suggests_the_driver_for_its_own_simulator(serve: ServeFn, driver: Driver) -> None:
    served = serve(driver)
    target = SnmpTarget.from_device(served.section())

    async def run() -> list[str]:
        client = SnmpClient()
        try:
            found = await identify(client, target, REGISTRY.values())
        finally:
            client.close()
        return [s.driver.name for s in found.suggestions]

    assert driver.name in asyncio.run(run())
