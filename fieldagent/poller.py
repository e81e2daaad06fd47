"""One poll of one device: ask the transport, let the driver decode.

Whatever goes wrong (no reply, garbage, a bug in a decode hook), a poll ends
in a PollResult: a transport error becomes readings of quality `bad`, never an
exception that could stop the other devices' loops.
"""

from __future__ import annotations

import importlib
import logging
import time
from datetime import datetime

from fieldagent.config import DeviceSection, LocalDevice, SerialDevice
from fieldagent.devicelog import device_log
from fieldagent.driver import Driver, RawValue
from fieldagent.model import PollResult, Quality, Reading, utc_now
from fieldagent.rates import CounterRates
from fieldagent.transports import TransportError
from fieldagent.transports.local import LocalReader
from fieldagent.transports.serialport import SerialLines
from fieldagent.transports.snmp import SnmpClient, SnmpTarget

log = logging.getLogger("fieldagent.poll")

SERIAL_READERS = {
    "ascii": "fieldagent.transports.ascii",
    "modbus": "fieldagent.transports.modbus",
}
"""Protocol -> module whose `async read(line, device, driver)` reads one device's objects."""


class Poller:
    """Polls devices over their driver's protocol with shared transports.

    It keeps, per device, the previous sample of every counter, so counters
    are published as rates.
    """

    def __init__(
        self, snmp: SnmpClient, local: LocalReader | None = None, serial: SerialLines | None = None
    ) -> None:
        self._snmp = snmp
        self._local = local or LocalReader()
        self._serial = serial or SerialLines()
        self._rates: dict[str, CounterRates] = {}
        self._known_keys: dict[str, tuple[str, ...]] = {}

    def forget(self, device_id: str) -> None:
        """Drop a device's counter samples and keys (removed, or changed by a reload)."""
        self._rates.pop(device_id, None)
        self._known_keys.pop(device_id, None)

    async def poll(self, device: DeviceSection, driver: Driver) -> PollResult:
        started = time.monotonic()
        ts = utc_now()
        debug = device_log(device.id)
        try:
            if debug.isEnabledFor(logging.DEBUG):
                debug.debug("request: %s", _request_summary(device, driver))
            objects = await self._read(device, driver)
            # Stamped when the answer is in: a first poll spends time on engine discovery
            # and address resolution, and a rate must divide by the time between reads.
            ts = utc_now()
            if debug.isEnabledFor(logging.DEBUG):
                answered = sum(1 for raw in objects.values() if raw is not None)
                debug.debug(
                    "answer: %d of %d objects in %.0f ms",
                    answered,
                    len(objects),
                    (time.monotonic() - started) * 1000,
                )
            readings = driver.decode(objects, ts)
            readings = self._rates.setdefault(device.id, CounterRates()).apply(driver, readings)
            self._known_keys[device.id] = tuple(r.key for r in readings)
            error = None
            if debug.isEnabledFor(logging.DEBUG):
                for reading in readings:
                    debug.debug("decoded %s", _reading_text(reading))
        except TransportError as exc:
            readings, error = self._all_bad(device, driver, ts, str(exc)), str(exc)
            debug.debug("no answer: %s", exc)
        except Exception as exc:  # a driver or transport bug must not stop polling
            debug.exception("unexpected error while polling")
            readings, error = (
                self._all_bad(device, driver, ts, repr(exc)),
                f"internal error: {exc!r}",
            )
        return PollResult(device.id, ts, readings, error, time.monotonic() - started)

    def _all_bad(
        self, device: DeviceSection, driver: Driver, ts: datetime, detail: str
    ) -> tuple[Reading, ...]:
        """Every reading the device gave last time (its scalars if never read), as `bad`."""
        keys = self._known_keys.get(device.id) or tuple(
            m.key for m in driver.metrics if not m.is_column
        )
        return tuple(
            Reading(key, None, driver.metric(key).unit, Quality.BAD, ts, detail) for key in keys
        )

    async def _read(self, device: DeviceSection, driver: Driver) -> dict[str, RawValue]:
        if device.protocol != driver.protocol:
            raise TransportError(
                f"{device.id}: driver {driver.name} reads over {driver.protocol}, but the device"
                f" section is for {device.protocol}"
            )
        if isinstance(device, LocalDevice):
            return await self._local.read(device, driver)
        if isinstance(device, SerialDevice):
            reader = importlib.import_module(SERIAL_READERS[device.protocol])
            objects: dict[str, RawValue] = await reader.read(
                self._serial.line_for(device), device, driver
            )
            return objects
        target = SnmpTarget.from_device(device)
        objects = await self._snmp.get(target, list(driver.scalar_oids()))
        await self._retry_without_instance(target, objects)
        # Every column walked together: each request carries every column still in progress.
        objects.update(await self._snmp.walk_many(target, list(driver.walks())))
        return objects

    async def _retry_without_instance(
        self, target: SnmpTarget, objects: dict[str, RawValue]
    ) -> None:
        """Ask again for missing scalars without their `.0`: some cards serve them so."""
        missing = [oid for oid, raw in objects.items() if raw is None and oid.endswith(".0")]
        if not missing:
            return
        retried = await self._snmp.get(target, [oid[:-2] for oid in missing])
        for oid in missing:
            if retried.get(oid[:-2]) is not None:
                objects[oid] = retried[oid[:-2]]


def _request_summary(device: DeviceSection, driver: Driver) -> str:
    """What a poll asks for, in a technician's words (no community, no key)."""
    if isinstance(device, LocalDevice | SerialDevice):
        return f"{len(driver.metrics)} {driver.protocol} metrics"
    scalars, walks = len(list(driver.scalar_oids())), len(list(driver.walks()))
    return f"GET {scalars} scalars, walk {walks} columns at {device.host}:{device.port}"


def _reading_text(reading: Reading) -> str:
    unit = f" {reading.unit}" if reading.unit else ""
    detail = f" ({reading.detail})" if reading.detail else ""
    return f"{reading.key} = {reading.value!r}{unit} [{reading.quality}]{detail}"
