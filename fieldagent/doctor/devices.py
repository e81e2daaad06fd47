"""Every device, polled once as the agent polls it, and for an SNMP device whose driver
finds nothing, the driver `fieldagent identify` suggests instead.

The polls run together, each with its own timeout capped by doctor's
`--timeout`: a station of silent devices costs one timeout, not one per device.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path

from fieldagent.config import DeviceSection, SnmpDevice
from fieldagent.doctor.result import Finding, Status, finding
from fieldagent.driver import Driver
from fieldagent.identify import identify
from fieldagent.model import PollResult, Quality
from fieldagent.poller import Poller
from fieldagent.transports.local import LocalReader
from fieldagent.transports.serialport import SerialLines
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget


async def device_findings(
    devices: Iterable[DeviceSection],
    drivers: Mapping[str, Driver],
    every_driver: Iterable[Driver],
    path: Path,
    state_dir: Path,
    timeout: float,
) -> list[Finding]:
    """One row per device, in the station file's order."""
    capped = [d.model_copy(update={"timeout": min(d.timeout, timeout)}) for d in devices]
    candidates = list(every_driver)
    client, serial = SnmpClient(), SerialLines()
    try:
        poller = Poller(client, LocalReader(state_dir=state_dir), serial)
        results = await asyncio.gather(*(poller.poll(d, drivers[d.id]) for d in capped))
        return list(
            await asyncio.gather(
                *(
                    _judge(client, device, drivers[device.id], result, candidates, path)
                    for device, result in zip(capped, results, strict=True)
                )
            )
        )
    finally:
        client.close()
        serial.close()


async def _judge(
    client: SnmpClient,
    device: DeviceSection,
    driver: Driver,
    result: PollResult,
    candidates: list[Driver],
    path: Path,
) -> Finding:
    params: dict[str, object] = {
        "device": device.id,
        "driver": driver.name,
        "location": device.location,
        "path": path,
        "host": device.address,
    }
    read = sum(1 for r in result.readings if r.quality == Quality.OK)
    ms = round(result.duration_s * 1000)
    counts = {"ms": ms, "ok": read, "total": len(result.readings)}
    if not isinstance(device, SnmpDevice):
        if not result.answered:
            error = result.error or "no answer"
            return finding(
                "device", device.id, Status.FAIL, "device_unreachable", error=error, **params
            )
        if not read:
            return finding("device", device.id, Status.FAIL, "device_no_values", **params)
        return finding("device", device.id, Status.PASS, "device_ok", **counts, **params)
    # Which families does the device name itself (sysObjectID, a driver's own subtree)? A
    # driver reading MIB-II's system group alone reads values from any SNMP device.
    try:
        found = await identify(client, SnmpTarget.from_device(device), candidates)
    except SnmpError:
        if result.answered and read:
            return finding("device", device.id, Status.PASS, "device_ok", **counts, **params)
        error = result.error or "no answer"
        return finding(
            "device", device.id, Status.FAIL, "device_unreachable", error=error, **params
        )
    named = [c.driver.name for c in found.suggestions]
    others = [name for name in named if name != driver.name]
    if named and driver.name not in named:
        suggested = {"suggested": ", ".join(others[:3]), "first": others[0]}
        if read:
            return finding(
                "device",
                device.id,
                Status.WARN,
                "device_other_driver",
                **suggested,
                **counts,
                **params,
            )
        return finding(
            "device", device.id, Status.FAIL, "device_wrong_driver", **suggested, **params
        )
    if not result.answered:
        error = result.error or "no answer"
        return finding(
            "device", device.id, Status.FAIL, "device_unreachable", error=error, **params
        )
    if not read:
        return finding("device", device.id, Status.FAIL, "device_no_values", **params)
    return finding("device", device.id, Status.PASS, "device_ok", **counts, **params)
