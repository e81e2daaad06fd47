"""Simulated devices served from a background event loop, and the driver tests' helpers.

The agent under test often runs as a real subprocess (or in the test's own
event loop); the simulators need a loop of their own to keep answering.
The helpers below play scenarios on a hand-moved clock, decode and judge
readings, and poll or identify a served simulator once, as the agent would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterable
from datetime import datetime
from typing import Any, TypeVar

from drivers import get_driver
from fieldagent.config import (
    AuthProtocol,
    DeviceSection,
    PrivProtocol,
    SnmpCredentials,
    SnmpDevice,
    SnmpVersion,
    parse_device,
)
from fieldagent.driver import Driver, RawValue
from fieldagent.health import evaluate
from fieldagent.identify import identify
from fieldagent.model import HealthState, PollResult, Reading
from fieldagent.poller import Poller
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import ServedDevice, SnmpSimulator
from fieldagent.transports.snmp import SnmpClient, SnmpTarget

T = TypeVar("T")


class SimRunner:
    """Owns a loop thread and the simulators started on it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-loop", daemon=True)
        self._thread.start()
        self._simulators: list[SnmpSimulator] = []

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def serve(
        self,
        driver_name: str,
        host: str,
        access: SnmpCredentials | None = None,
        time_scale: float = 1.0,
    ) -> SnmpSimulator:
        """Start a simulator for `driver_name` on host:free-port; returns it (with .port)."""
        device = SimulatedDevice(get_driver(driver_name), time_scale=time_scale)
        return self.serve_device(device, host, access)

    def serve_device(
        self, device: ServedDevice, host: str, access: SnmpCredentials | None = None
    ) -> SnmpSimulator:
        """Serve an already built `device` (say, one on a StepClock, or a walk's replay) on
        host:free-port."""
        simulator = SnmpSimulator(device, host, 0, access)
        self.call(simulator.start())
        self._simulators.append(simulator)
        return simulator

    def adopt(self, simulator: SnmpSimulator) -> None:
        """Stop `simulator` (started on this runner's loop) when the runner closes."""
        self._simulators.append(simulator)

    def close(self) -> None:
        async def stop_all() -> None:
            for simulator in self._simulators:
                simulator.stop()

        self.call(stop_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


V3_SHA256 = SnmpCredentials(
    version=SnmpVersion.V3,
    user="fieldagent",
    auth_protocol=AuthProtocol.SHA256,
    auth_key="auth-key-256",
    priv_protocol=PrivProtocol.AES128,
    priv_key="priv-key-aes",
)
V3_SHA1 = SnmpCredentials(
    version=SnmpVersion.V3,
    user="tech",
    auth_protocol=AuthProtocol.SHA,
    auth_key="auth-key-sha1",
    priv_protocol=PrivProtocol.AES128,
    priv_key="priv-key-aes1",
)


def device_fields(device_id: str, sim: SnmpSimulator, **extra: object) -> dict[str, object]:
    """A [[device]] table (as TOML would give it) that reaches `sim` with its credentials.

    The driver is the simulated device's own, unless `extra` names one (a replay has none).
    """
    driver = extra.get("driver") or sim.device.driver.name
    entry: dict[str, object] = {
        "id": device_id,
        "driver": driver,
        "host": sim.host,
        "port": sim.port,
        "timeout": 0.5,
        "request_retries": 0,
        "snmp_version": str(sim.access.version),
    }
    entry.update(credential_fields(sim.access))
    entry.update(extra)
    return entry


def credential_fields(creds: SnmpCredentials) -> dict[str, object]:
    """The [[device]] keys that give these SNMP credentials (community or v3 user and keys)."""
    if creds.version is not SnmpVersion.V3:
        return {"community": creds.community}
    v3 = {
        "user": creds.user,
        "auth_protocol": creds.auth_protocol,
        "auth_key": creds.auth_key,
        "priv_protocol": creds.priv_protocol,
        "priv_key": creds.priv_key,
    }
    return {key: str(value) for key, value in v3.items() if value is not None}


class OffsetClock:
    """Monotonic time that a test can jump forward: scenario time without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def jump(self, seconds: float) -> None:
        self.offset += seconds


class StepClock:
    """Scenario time for a SimulatedDevice, moved by hand."""

    START = 1000.0
    """Where every StepClock starts: the moment `played` starts its scenario."""

    def __init__(self) -> None:
        self.now = self.START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def played(
    driver: Driver, scenario: str, elapsed_s: float = 0.0
) -> tuple[SimulatedDevice, StepClock]:
    """A simulated `driver` device `elapsed_s` into `scenario`, and the clock that moves it."""
    clock = StepClock()
    device = SimulatedDevice(driver, clock=clock)
    device.play(scenario)
    clock.advance(elapsed_s)
    return device, clock


def served_objects(device: SimulatedDevice) -> dict[str, RawValue]:
    """What `device` serves, by dotted OID, as a poll of it would return it."""
    return {".".join(map(str, oid)): raw for oid, raw in device.objects().items()}


def by_key(readings: Iterable[Reading]) -> dict[str, Reading]:
    """Readings by their key."""
    return {r.key: r for r in readings}


def health_of(
    driver: Driver, readings: Iterable[Reading], ts: datetime, device_id: str = "dut"
) -> HealthState:
    """The health `driver`'s limits give one answered poll that read `readings`."""
    return evaluate(driver, PollResult(device_id, ts, tuple(readings))).state


def poll_once(
    sim: SnmpSimulator, driver: Driver, device_id: str = "dut", **fields: object
) -> PollResult:
    """One poll of `sim` by the agent's Poller over UDP, with `sim`'s credentials."""
    section = parse_device(device_fields(device_id, sim, **{"driver": driver.name, **fields}))

    async def once() -> PollResult:
        client = SnmpClient()
        try:
            return await Poller(client).poll(section, driver)
        finally:
            client.close()

    return asyncio.run(once())


def poll_readings(
    sim: SnmpSimulator, driver: Driver, device_id: str = "dut", **fields: object
) -> dict[str, Reading]:
    """The readings of one `poll_once`, by key; fails the test if the poll went unanswered."""
    result = poll_once(sim, driver, device_id, **fields)
    assert result.error is None, result.error
    return by_key(result.readings)


def suggested_drivers(
    sim: SnmpSimulator, drivers: Iterable[Driver], device_id: str = "dut"
) -> list[str]:
    """The names of the drivers `identify` suggests, among `drivers`, for `sim` over UDP."""
    return suggested_for(parse_device(device_fields(device_id, sim)), drivers)


def suggested_for(device: DeviceSection, drivers: Iterable[Driver]) -> list[str]:
    """The names of the drivers `identify` suggests, among `drivers`, for `device` over UDP."""
    assert isinstance(device, SnmpDevice)
    target = SnmpTarget.from_device(device)

    async def run() -> list[str]:
        client = SnmpClient()
        try:
            found = await identify(client, target, drivers)
        finally:
            client.close()
        return [s.driver.name for s in found.suggestions]

    return asyncio.run(run())
