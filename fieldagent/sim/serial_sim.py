"""Simulated serial buses: one pty per port path, answering for every device on it.

The protocol side (ASCII dialect, Modbus RTU slave) lives in its own module,
found here by the driver's protocol name; each exposes
`make_responder(devices: Mapping[int, SimulatedDevice]) -> Responder`, the
devices keyed by their bus address (`unit`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from fieldagent.driver import LineFault
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.pty import PtyPort, Responder

RESPONDER_MODULES = {
    "ascii": "fieldagent.sim.ascii_sim",
    "modbus": "fieldagent.sim.modbus_sim",
}


def make_responder(protocol: str, devices: Mapping[int, SimulatedDevice]) -> Responder:
    module = importlib.import_module(RESPONDER_MODULES[protocol])
    responder: Responder = module.make_responder(devices)
    return responder


class SerialBusSimulator:
    """A pty at `path` answering `protocol` for `devices` (by unit address)."""

    def __init__(self, path: Path, protocol: str, devices: Mapping[int, SimulatedDevice]) -> None:
        self.path = path
        self.protocol = protocol
        self.devices = dict(devices)
        self._port = PtyPort(path, make_responder(protocol, devices), self._cable_in)

    @property
    def address(self) -> str:
        return str(self.path)

    async def start(self) -> None:
        self._port.start()

    def stop(self) -> None:
        self._port.stop()

    def _cable_in(self) -> bool:
        """Unplugged while any device on the bus plays `unplug`: they share the adapter."""
        return not any(d.line_fault is LineFault.UNPLUG for d in self.devices.values())
