"""SNMP values both ways, and the SNMPv3 protocols: one place for the poller, traps and simulators.

`to_raw` turns a value pysnmp decoded (a GET or walk answer, a trap varbind)
into our raw value; `to_snmp` turns a raw value a simulator serves into the
SMI type it is served as.  Every SMI type has its own raw type, so a value
read back is the value served, type and all:

==================  ==========================  =============================
SMI type            raw value                   note
==================  ==========================  =============================
INTEGER, Integer32  int
Counter32           ``Counter(n, 32)``          v1 Counter too
Counter64           ``Counter(n, 64)``
Gauge32, Unsigned32 ``Gauge``                   v1 Gauge too (one tag)
TimeTicks           ``TimeTicks``
IpAddress           ``IpAddress`` (4 octets)    v1 NetworkAddress too;
                                                ``str()`` is the dotted quad
Opaque              ``Opaque`` (its octets)
OBJECT IDENTIFIER   ``OidValue`` (dotted text)
OCTET STRING, BITS  bytes                       never guessed to be text
NULL                None                        served from ``Null()``
noSuchObject,       None
noSuchInstance,
endOfMibView
==================  ==========================  =============================

The poller and the trap receiver used to convert with two different rules.
Where they disagreed, the rule that keeps more of what the device sent won:

- Counter32 / Counter64 are `Counter` with their width (the trap rule; the
  poller had plain ints).  A `Counter` is an int: nothing reading an int
  changes.  Gauge32 and TimeTicks likewise keep their type now (neither rule
  did), and Opaque is `Opaque` (an instance of bytes, as before).
- OBJECT IDENTIFIER is `OidValue` (the trap rule; a str, as before).
- OCTET STRING is its octets, bytes (the poller's rule).  The receiver made
  printable UTF-8 text a str; whether octets are text is the reader's call
  (a TEXT metric decodes them; a trap varbind is published as text when it is
  printable, `outgoing.json_value`), not a guess made for every reader.
- An IpAddress is recognised by its tag, so a v1 NetworkAddress (rfc1155
  IpAddress, the agent-addr of a converted v1 trap) is one too (the trap rule;
  the poller read a v1 IpAddress as bytes).  Both rules gave the dotted quad
  as a str; it is now `IpAddress`, the type the simulators serve, whose
  ``str()`` is that dotted quad, and every reader that shows a value as text
  (a TEXT reading, a published trap varbind, a trap rule's instance) shows it
  so.

NULL stays None: both rules read it so, and the agent relies on it (a NULL
reads as `missing`, and the poller asks a `.0`-less scalar again when its
`.0` came back absent).  `Null()` is therefore the one raw value that does
not read back as itself: it is served as NULL and read as no value.

`to_snmp` serves an int that is not a typed one as Integer32 (which refuses a
value beyond 32 bits), a float as its ``repr`` text and a str as its UTF-8
octets: those read back as the octets served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pyasn1.type import univ
from pysnmp.entity import config as snmp_config
from pysnmp.proto import rfc1902, rfc1905

from fieldagent.config import AuthProtocol, PrivProtocol
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

AUTH_PROTOCOLS: Mapping[AuthProtocol, tuple[int, ...]] = MappingProxyType(
    {
        AuthProtocol.SHA: snmp_config.USM_AUTH_HMAC96_SHA,
        AuthProtocol.SHA256: snmp_config.USM_AUTH_HMAC192_SHA256,
    }
)
"""USM authentication protocols by their name in the station file.

pysnmp's hlapi names (``usmHMACSHAAuthProtocol``...) are these very OIDs, so
one table serves `UsmUserData` (poller) and `config.add_v3_user` (trap
receiver, simulators)."""

PRIV_PROTOCOLS: Mapping[PrivProtocol, tuple[int, ...]] = MappingProxyType(
    {PrivProtocol.AES128: snmp_config.USM_PRIV_CFB128_AES}
)
"""USM privacy protocols by their name in the station file (hlapi's names are these too)."""


def auth_protocol(name: AuthProtocol | None) -> tuple[int, ...]:
    """The USM authentication protocol of a user; no authentication without one."""
    return snmp_config.USM_AUTH_NONE if name is None else AUTH_PROTOCOLS[name]


def priv_protocol(name: PrivProtocol | None) -> tuple[int, ...]:
    """The USM privacy protocol of a user; no privacy without one."""
    return snmp_config.USM_PRIV_NONE if name is None else PRIV_PROTOCOLS[name]


ABSENT_TYPES = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView, univ.Null)
"""Values that carry no value: an absent object, the end of the MIB, NULL."""


def is_absent(value: Any) -> bool:
    """Whether a pysnmp value stands for no value at all (`to_raw` reads it as None)."""
    return isinstance(value, ABSENT_TYPES)


_INTEGER_TYPES: Mapping[Any, Callable[[int], int]] = MappingProxyType(
    {
        rfc1902.Counter32.tagSet: lambda value: Counter(value, 32),
        rfc1902.Counter64.tagSet: lambda value: Counter(value, 64),
        rfc1902.Gauge32.tagSet: Gauge,
        rfc1902.TimeTicks.tagSet: TimeTicks,
    }
)
"""Application integer types by tag, so v1 (rfc1155) and v2 (rfc1902) types read alike."""

_OCTET_TYPES: Mapping[Any, Callable[[bytes], bytes]] = MappingProxyType(
    {rfc1902.IpAddress.tagSet: IpAddress, rfc1902.Opaque.tagSet: Opaque}
)
"""Application octet types by tag (rfc1155 NetworkAddress / IpAddress share IpAddress's)."""


def to_raw(value: Any) -> RawValue:
    """A value pysnmp decoded as our raw value (see the module's table); None for no value."""
    if is_absent(value):
        return None
    if isinstance(value, univ.Integer):
        typed = _INTEGER_TYPES.get(value.tagSet, int)
        return typed(int(value))
    if isinstance(value, univ.OctetString):
        octets = _OCTET_TYPES.get(value.tagSet, bytes)
        return octets(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return OidValue(value)
    return str(value)


def to_snmp(raw: RawValue) -> Any:
    """The SMI value a simulator serves for a raw value (see the module's table).

    A typed raw value (`Counter`, `Gauge`, `TimeTicks`, `OidValue`, `IpAddress`,
    `Opaque`, `Null`) is its type, other integers Integer32, the rest an OCTET
    STRING.  None (an absent object) and `Malformed` are never served: TypeError.
    """
    if isinstance(raw, Counter):
        return rfc1902.Counter64(raw) if raw.bits == 64 else rfc1902.Counter32(raw)
    if isinstance(raw, Gauge):
        return rfc1902.Gauge32(raw)
    if isinstance(raw, TimeTicks):
        return rfc1902.TimeTicks(raw)
    if isinstance(raw, OidValue):
        return rfc1902.ObjectName(raw)
    if isinstance(raw, IpAddress):
        return rfc1902.IpAddress(bytes(raw))
    if isinstance(raw, Opaque):
        return rfc1902.Opaque(bytes(raw))
    if isinstance(raw, Null):
        return univ.Null("")
    if isinstance(raw, int):
        return rfc1902.Integer32(raw)
    if isinstance(raw, float):
        return rfc1902.OctetString(repr(raw).encode("ascii"))
    if isinstance(raw, str):
        return rfc1902.OctetString(raw.encode("utf-8"))
    if isinstance(raw, bytes):
        return rfc1902.OctetString(raw)
    raise TypeError(f"{raw!r:.60} is not a value an SNMP agent serves")
