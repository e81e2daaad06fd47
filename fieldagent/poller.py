"""One poll of one device: ask the transport, let the driver decode.

Whatever goes wrong (no reply, garbage, a bug in a decode hook), a poll ends
in a PollResult: a transport error becomes readings of quality `bad`, never an
exception that could stop the other devices' loops.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from fieldagent.config import DeviceSection
from fieldagent.driver import Driver, RawValue
from fieldagent.model import PollResult, Quality, Reading, utc_now
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget

log = logging.getLogger("fieldagent.poll")


class Poller:
    """Polls devices over their driver's protocol with shared transports."""

    def __init__(self, snmp: SnmpClient) -> None:
        self._snmp = snmp

    async def poll(self, device: DeviceSection, driver: Driver) -> PollResult:
        started = time.monotonic()
        ts = utc_now()
        try:
            raws = await self._read(device, driver)
            readings = driver.decode(raws, ts)
            error = None
        except SnmpError as exc:
            readings, error = _all_bad(driver, ts, str(exc)), str(exc)
        except Exception as exc:  # a driver or transport bug must not stop polling
            log.exception("%s: unexpected error while polling", device.id)
            readings, error = _all_bad(driver, ts, repr(exc)), f"internal error: {exc!r}"
        return PollResult(device.id, ts, readings, error, time.monotonic() - started)

    async def _read(self, device: DeviceSection, driver: Driver) -> dict[str, RawValue]:
        if driver.protocol != "snmp":
            raise SnmpError(f"{device.id}: protocol {driver.protocol!r} is not supported yet")
        by_oid = {metric.oid: metric.key for metric in driver.metrics}
        raws = await self._snmp.get(SnmpTarget.from_device(device), list(by_oid))
        return {by_oid[oid]: value for oid, value in raws.items() if oid in by_oid}


def _all_bad(driver: Driver, ts: datetime, detail: str) -> tuple[Reading, ...]:
    return tuple(Reading(m.key, None, m.unit, Quality.BAD, ts, detail) for m in driver.metrics)
