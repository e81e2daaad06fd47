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
    counts = {"ms": round(result.duration_s * 1000), "ok": read, "total": len(result.readings)}
    verdict = _poll_verdict(device.id, result, read, counts, params)
    if not isinstance(device, SnmpDevice):
        return verdict
    # Which families does the device name itself (sysObjectID, a driver's own subtree)? A
    # driver reading MIB-II's system group alone reads values from any SNMP device.
    try:
        found = await identify(client, SnmpTarget.from_device(device), candidates)
    except SnmpError:
        return verdict  # silent, or refusing: the poll said so already
    named = [c.driver.name for c in found.suggestions]
    if not named or driver.name in named:
        return verdict
    suggested = {"suggested": ", ".join(named[:3]), "first": named[0]}
    if read:
        status, code = Status.WARN, "device_other_driver"
    else:
        status, code = Status.FAIL, "device_wrong_driver"
    return finding("device", device.id, status, code, **suggested, **counts, **params)


def _poll_verdict(
    device_id: str,
    result: PollResult,
    read: int,
    counts: dict[str, int],
    params: dict[str, object],
) -> Finding:
    """What the poll alone says: no answer, no value read, or values read in a round trip."""
    if not result.answered:
        error = result.error or "no answer"
        return finding(
            "device", device_id, Status.FAIL, "device_unreachable", error=error, **params
        )
    if not read:
        return finding("device", device_id, Status.FAIL, "device_no_values", **params)
    return finding("device", device_id, Status.PASS, "device_ok", **counts, **params)
