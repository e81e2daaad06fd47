"""A device that serves exactly what a walk recorded: its OIDs, values and SMI types.

A profile drafted from a technician's walk is tried against the walk itself,
served by the same UDP agent as the simulators (`SnmpSimulator`), so the whole
agent can poll "the device" on a desk.  Every object keeps the type it was
recorded with: a Gauge32 is served as a Gauge32, not as an INTEGER, because a
type a driver did not expect is exactly what a replay must show.  The values
never change: a walk is one moment of the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from fieldagent.driver import (
    Counter,
    Gauge,
    IpAddress,
    Null,
    OidValue,
    Opaque,
    RawValue,
    TimeTicks,
)
from fieldagent.profiles.walk import SnmpType, WalkEntry, WalkError, WalkValue, read_walk
from fieldagent.sim.device import Oid, check_raw, parse_oid


class ReplayDevice:
    """The objects of one walk, served as recorded (a `ServedDevice` for `SnmpSimulator`)."""

    def __init__(self, entries: Iterable[WalkEntry], name: str, source: str | None = None) -> None:
        """`name` says which device it is; `source` names the walk in errors (default name)."""
        self.name = name
        self.silent = False
        served: dict[Oid, RawValue] = {}
        for entry in entries:
            served[parse_oid(entry.oid)] = raw_of(entry, source or name)
        self._objects = MappingProxyType(served)

    @classmethod
    def from_file(cls, path: Path, name: str | None = None) -> ReplayDevice:
        """The walk in `path` (snmpwalk -On output or .snmprec); WalkError names file and line."""
        return cls(read_walk(path), name or path.name, str(path))

    def objects(self) -> Mapping[Oid, RawValue]:
        """Every recorded object by OID; the same on every request."""
        return self._objects


_TYPED: Mapping[SnmpType, Callable[[int], RawValue]] = {
    SnmpType.INTEGER: int,
    SnmpType.GAUGE32: Gauge,
    SnmpType.TIMETICKS: TimeTicks,
    SnmpType.COUNTER32: lambda value: Counter(value, 32),
    SnmpType.COUNTER64: lambda value: Counter(value, 64),
}
"""The integer types: the raw value each is served from."""


def raw_of(entry: WalkEntry, source: str) -> RawValue:
    """The typed raw value that `snmpvalues.to_snmp` serves as the entry's recorded SMI type.

    A value its type cannot carry (an INTEGER beyond 32 bits, an IpAddress of five
    octets) is a WalkError naming `source` and the OID: the agent would fail on it
    only when asked, far from the file.
    """
    where = f"{source}: {entry.oid}"
    try:
        return check_raw(where, _typed(entry.type, entry.value))
    except TypeError as exc:
        raise WalkError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise WalkError(str(exc)) from None


def _typed(kind: SnmpType, value: WalkValue) -> RawValue:
    if kind is SnmpType.NULL:
        return Null()
    if kind in _TYPED:
        if not isinstance(value, int):
            raise TypeError(f"a {kind} holds a number, not {value!r:.40}")
        return _TYPED[kind](value)
    if kind is SnmpType.OBJECT_IDENTIFIER:
        return OidValue(value) if isinstance(value, str) else _not_a(kind, value)
    if not isinstance(value, bytes):
        return _not_a(kind, value)
    if kind is SnmpType.IP_ADDRESS:
        return IpAddress(value)
    if kind is SnmpType.OPAQUE:
        return Opaque(value)
    return value


def _not_a(kind: SnmpType, value: WalkValue) -> RawValue:
    raise TypeError(f"{value!r:.40} is not a {kind} value")
