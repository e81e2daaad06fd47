"""Both exchange back-ends read every shipped SNMP driver's simulator to the same raw values.

The wire client (our BER codec) replaced pysnmp on the v1 / v2c poll path; pysnmp stays for
v3.  Whatever a driver's simulator serves (every object, walked, and every metric's OID,
read by GET, present or not) must come back identical through both: same OIDs, same values,
same raw types (a Counter with its width)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from drivers import REGISTRY
from fieldagent.config import SnmpCredentials, SnmpVersion
from fieldagent.driver import Counter, RawValue
from fieldagent.sim.device import SimulatedDevice
from fieldagent.transports.pysnmpexchange import PysnmpExchange
from fieldagent.transports.snmp import SnmpClient, SnmpTarget
from fieldagent.transports.snmptarget import Exchange
from fieldagent.transports.snmpudp import WireExchange
from tests.simrunner import SimRunner, StepClock

SNMP_DRIVERS = sorted(name for name, driver in REGISTRY.items() if driver.protocol == "snmp")


def typed(values: dict[str, RawValue]) -> list[tuple[str, str, Any]]:
    """Each value with its type's name (and a Counter's width): equal values of another
    type are a difference."""
    return [
        (
            oid,
            type(value).__name__ + (f"/{value.bits}" if isinstance(value, Counter) else ""),
            value,
        )
        for oid, value in values.items()
    ]


async def read_all(back_end: Exchange, target: SnmpTarget, oids: list[str]) -> tuple[Any, Any]:
    client = SnmpClient(community_exchange=back_end)
    try:
        walked = await client.walk(target, "1.3")
        got = await client.get(target, oids)
        return typed(walked), typed(got)
    finally:
        client.close()


def test_every_snmp_driver_is_compared() -> None:
    assert len(SNMP_DRIVERS) >= 10, SNMP_DRIVERS


@pytest.mark.parametrize("version", [SnmpVersion.V2C, SnmpVersion.V1], ids=["v2c", "v1"])
@pytest.mark.parametrize("name", SNMP_DRIVERS)
def test_the_wire_path_reads_what_pysnmp_reads(
    sims: SimRunner, name: str, version: SnmpVersion
) -> None:
    access = SnmpCredentials(version=version)
    # On a clock that stands still: counters that move with time read the same twice.
    device = SimulatedDevice(REGISTRY[name], clock=StepClock())
    sim = sims.serve_device(device, "127.0.0.2", access)
    target = SnmpTarget("127.0.0.2", sim.port, access, timeout=2.0, retries=1)
    driver = REGISTRY[name]
    oids = sorted({m.source_key for m in driver.metrics if m.source_key.count(".") > 3})
    oids.append("1.3.6.1.4.1.99999.404.0")  # absent everywhere

    async def both() -> tuple[Any, Any]:
        wire = await read_all(WireExchange(), target, oids)
        pysnmp = await read_all(PysnmpExchange(), target, oids)
        return wire, pysnmp

    (wire_walk, wire_get), (pysnmp_walk, pysnmp_get) = asyncio.run(both())
    assert wire_walk and len(wire_get) == len(oids)
    assert wire_walk == pysnmp_walk
    assert wire_get == pysnmp_get
