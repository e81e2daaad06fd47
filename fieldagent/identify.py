"""`fieldagent identify`: which driver fits the device at this address?

It reads sysObjectID and sysDescr, and asks (one GETNEXT) whether the device
serves each driver's characteristic subtree.  A technician at a new station
learns in one command what to write in the station file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fieldagent.driver import Driver
from fieldagent.transports.snmp import SnmpClient, SnmpTarget

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


@dataclass(frozen=True)
class Suggestion:
    driver: Driver
    reason: str


@dataclass(frozen=True)
class Identification:
    sys_descr: str | None
    sys_object_id: str | None
    suggestions: tuple[Suggestion, ...]


async def identify(
    client: SnmpClient, target: SnmpTarget, drivers: Iterable[Driver]
) -> Identification:
    """Read the device's identity and match it against every SNMP driver."""
    snmp_drivers = [d for d in drivers if d.protocol == "snmp"]
    system = await client.get(target, [SYS_DESCR, SYS_OBJECT_ID])
    descr, object_id = (_text(system.get(SYS_DESCR)), _text(system.get(SYS_OBJECT_ID)))
    probes = sorted({d.identity.probe_oid for d in snmp_drivers if d.identity.probe_oid})
    served = await client.first_under(target, probes) if probes else {}
    suggestions = []
    for driver in snmp_drivers:
        reason = _match(driver, object_id, served)
        if reason:
            suggestions.append(Suggestion(driver, reason))
    return Identification(descr, object_id, tuple(suggestions))


def _match(driver: Driver, object_id: str | None, served: dict[str, bool]) -> str | None:
    for prefix in driver.identity.sys_object_ids:
        if object_id and (object_id == prefix or object_id.startswith(prefix + ".")):
            return f"sysObjectID {object_id} is under {prefix}"
    probe = driver.identity.probe_oid
    if probe and served.get(probe):
        return f"serves {probe}"
    return None


def _text(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace").strip()
    return str(raw)
