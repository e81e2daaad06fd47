"""Simulated devices served from a background event loop.

The agent under test often runs as a real subprocess (or in the test's own
event loop); the simulators need a loop of their own to keep answering.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from drivers import get_driver
from fieldagent.config import AuthProtocol, PrivProtocol, SnmpCredentials, SnmpVersion
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator

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
    """A [[device]] table (as TOML would give it) that reaches `sim` with its credentials."""
    entry: dict[str, object] = {
        "id": device_id,
        "driver": sim.device.driver.name,
        "host": sim.host,
        "port": sim.port,
        "timeout": 0.5,
        "request_retries": 0,
        "snmp_version": str(sim.access.version),
    }
    creds = sim.access
    if creds.version is SnmpVersion.V3:
        v3 = {
            "user": creds.user,
            "auth_protocol": creds.auth_protocol,
            "auth_key": creds.auth_key,
            "priv_protocol": creds.priv_protocol,
            "priv_key": creds.priv_key,
        }
        entry.update({key: str(value) for key, value in v3.items() if value is not None})
    else:
        entry["community"] = creds.community
    entry.update(extra)
    return entry
