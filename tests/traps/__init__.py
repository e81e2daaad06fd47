"""Trap receiver tests: shared helpers.

Everything runs over real UDP on loopback: the receiver listens on
127.0.0.1 (a free port), senders are simulators or net-snmp tools bound to
their own 127.0.0.x address, so the source address is what identifies them.
Waits are bounded polls, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from drivers import REGISTRY
from fieldagent.config import (
    AuthProtocol,
    DeviceSection,
    PrivProtocol,
    SnmpCredentials,
    SnmpVersion,
    parse_device,
)
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.traps import TrapEvent, TrapReceiver, TrapsSection
from tests.simrunner import credential_fields

LISTEN = "127.0.0.1"
WAIT_S = 3.0
"""Longest wait for something that should happen (it takes milliseconds)."""

V3 = SnmpCredentials(
    SnmpVersion.V3,
    user="tech",
    auth_protocol=AuthProtocol.SHA256,
    auth_key="authkey123",
    priv_protocol=PrivProtocol.AES128,
    priv_key="privkey123",
)
V3_SNMPTRAP_ARGS = (
    "-v3",
    "-u",
    "tech",
    "-l",
    "authPriv",
    "-a",
    "SHA-256",
    "-A",
    "authkey123",
    "-x",
    "AES",
    "-X",
    "privkey123",
)
"""The same user for net-snmp's tools (AES is AES-128 CFB, as pysnmp's)."""


def device(
    device_id: str, host: str, creds: SnmpCredentials | None = None, **extra: object
) -> DeviceSection:
    """A [[device]] at host (driver ups_rfc1628 unless given) with these credentials."""
    creds = creds or SnmpCredentials()
    fields: dict[str, object] = {
        "id": device_id,
        "driver": "ups_rfc1628",
        "host": host,
        "snmp_version": str(creds.version),
    }
    fields.update(credential_fields(creds))
    fields.update(extra)
    return parse_device(fields)


@dataclass
class Harness:
    """A running receiver and what it reported."""

    receiver: TrapReceiver
    events: list[TrapEvent] = field(default_factory=list)
    floods: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def target(self) -> tuple[str, int]:
        return (LISTEN, self.receiver.port)

    @property
    def counters(self) -> dict[str, int]:
        return self.receiver.counters.as_dict()

    def moved(self, before: dict[str, int]) -> dict[str, int]:
        """The counters that changed since `before`, by how much."""
        now = self.counters
        return {key: now[key] - before[key] for key in now if now[key] != before[key]}

    async def event(self, index: int = 0) -> TrapEvent:
        """The index-th event since the start, once it has arrived."""
        await until(lambda: len(self.events) > index, f"trap event #{index + 1}")
        return self.events[index]


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.005)


@asynccontextmanager
async def receiving(devices: Sequence[DeviceSection], **settings: object) -> AsyncIterator[Harness]:
    """A receiver on 127.0.0.1 (free port) for these devices, stopped afterwards."""
    fields: dict[str, object] = {"enabled": True, "listen": LISTEN, "port": 0, **settings}
    harness: Harness
    receiver = TrapReceiver(
        TrapsSection.model_validate(fields),
        devices,
        REGISTRY,
        lambda event: harness.events.append(event),
        lambda source, flooding: harness.floods.append((source, flooding)),
    )
    harness = Harness(receiver)
    await receiver.start()
    try:
        yield harness
    finally:
        receiver.stop()


@asynccontextmanager
async def simulator(
    host: str, creds: SnmpCredentials | None = None, driver: str = "ups_rfc1628"
) -> AsyncIterator[SnmpSimulator]:
    """A simulated device serving (and sending traps) at host:free port."""
    sim = SnmpSimulator(SimulatedDevice(REGISTRY[driver]), host, 0, creds)
    await sim.start()
    try:
        yield sim
    finally:
        sim.stop()


async def run_tool(*args: str, timeout: float = 10.0) -> tuple[int, str]:
    """Run a net-snmp tool (no MIBs, a private persistent dir); its exit code and stderr."""
    with tempfile.TemporaryDirectory(prefix="netsnmp-") as state:
        env = {**os.environ, "SNMP_PERSISTENT_DIR": state, "SNMPCONFPATH": state, "MIBS": ""}
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, stderr.decode(errors="replace")
