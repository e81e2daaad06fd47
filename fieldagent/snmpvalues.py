"""SNMP values both ways, and the SNMPv3 protocols: one place for the poller, traps and simulators.

`from_ber` turns a value's BER tag and its decoded primitive (an int, the
octets, the dotted OID, or None) into our raw value: the one SMI-type rule,
used by the wire codec (`transports/snmpwire.py`) directly and by `to_raw`,
which reads a value pysnmp decoded (a v3 answer, a trap varbind) by its tag.
`to_snmp` turns a raw value a simulator serves into the SMI type it is served
as.  Every SMI type has its own raw type, so a value
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

import enum
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

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

# pysnmp is imported only by the functions that hand it values (`to_snmp`): the wire path
# reads v1 / v2c answers with this module and must not load pysnmp (~34 MiB of RSS).

_USM = (1, 3, 6, 1, 6, 3, 10, 1)
"""snmpModules.snmpFrameworkMIB...: the registration point of the USM protocols."""

USM_AUTH_NONE = (*_USM, 1, 1)
"""usmNoAuthProtocol."""
USM_PRIV_NONE = (*_USM, 2, 1)
"""usmNoPrivProtocol."""

AUTH_PROTOCOLS: Mapping[AuthProtocol, tuple[int, ...]] = MappingProxyType(
    {
        AuthProtocol.SHA: (*_USM, 1, 3),  # usmHMACSHAAuthProtocol (RFC 3414)
        AuthProtocol.SHA256: (*_USM, 1, 5),  # usmHMAC192SHA256AuthProtocol (RFC 7860)
    }
)
"""USM authentication protocols by their name in the station file.

pysnmp's hlapi names (``usmHMACSHAAuthProtocol``...) and its engine configuration's
constants are these very OIDs (tests/test_snmpvalues.py holds them equal), so one table
serves `UsmUserData` (poller) and `config.add_v3_user` (trap receiver, simulators)."""

PRIV_PROTOCOLS: Mapping[PrivProtocol, tuple[int, ...]] = MappingProxyType(
    {PrivProtocol.AES128: (*_USM, 2, 4)}  # usmAesCfb128Protocol (RFC 3826)
)
"""USM privacy protocols by their name in the station file (hlapi's names are these too)."""


def auth_protocol(name: AuthProtocol | None) -> tuple[int, ...]:
    """The USM authentication protocol of a user; no authentication without one."""
    return USM_AUTH_NONE if name is None else AUTH_PROTOCOLS[name]


def priv_protocol(name: PrivProtocol | None) -> tuple[int, ...]:
    """The USM privacy protocol of a user; no privacy without one."""
    return USM_PRIV_NONE if name is None else PRIV_PROTOCOLS[name]


class SmiTag(enum.IntEnum):
    """The BER identifier octet of every value an SNMP v1 / v2c varbind may carry."""

    INTEGER = 0x02
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    IP_ADDRESS = 0x40
    COUNTER32 = 0x41
    GAUGE32 = 0x42
    TIME_TICKS = 0x43
    OPAQUE = 0x44
    COUNTER64 = 0x46
    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


INTEGER_TAGS = frozenset(
    {SmiTag.INTEGER, SmiTag.COUNTER32, SmiTag.GAUGE32, SmiTag.TIME_TICKS, SmiTag.COUNTER64}
)
"""Tags whose content is an integer (two's complement, big-endian)."""

OCTET_TAGS = frozenset({SmiTag.OCTET_STRING, SmiTag.IP_ADDRESS, SmiTag.OPAQUE})
"""Tags whose content is octets, kept as they are."""

ABSENT_TAGS = frozenset(
    {SmiTag.NULL, SmiTag.NO_SUCH_OBJECT, SmiTag.NO_SUCH_INSTANCE, SmiTag.END_OF_MIB_VIEW}
)
"""Tags that carry no value: NULL, an absent object, the end of the MIB (all read as None)."""


def _counter32(value: int) -> Counter:
    return Counter(value, 32)


def _counter64(value: int) -> Counter:
    return Counter(value, 64)


def _absent(_: object) -> None:
    return None


FROM_BER: Mapping[int, Callable[[Any], RawValue]] = MappingProxyType(
    {
        SmiTag.INTEGER: int,
        SmiTag.OCTET_STRING: bytes,
        SmiTag.NULL: _absent,
        SmiTag.OBJECT_IDENTIFIER: OidValue,
        SmiTag.IP_ADDRESS: IpAddress,
        SmiTag.COUNTER32: _counter32,
        SmiTag.GAUGE32: Gauge,
        SmiTag.TIME_TICKS: TimeTicks,
        SmiTag.OPAQUE: Opaque,
        SmiTag.COUNTER64: _counter64,
        SmiTag.NO_SUCH_OBJECT: _absent,
        SmiTag.NO_SUCH_INSTANCE: _absent,
        SmiTag.END_OF_MIB_VIEW: _absent,
    }
)
"""The SMI-type rule (the module's table) by BER tag: the primitive a tag's content decodes
to (an int, octets, the dotted OID, None) → our raw value.  v1 (rfc1155) and v2 (rfc1902)
types share their tags, so they read alike; Unsigned32 is Gauge32's tag, BITS an OCTET
STRING's."""


def from_ber(tag: int, primitive: Any) -> RawValue:
    """The raw value of a varbind value of BER tag `tag` whose content decoded to `primitive`.

    KeyError for a tag that is not an SNMP value's (`SmiTag`).
    """
    return FROM_BER[tag](primitive)


def ber_tag(value: Any) -> int | None:
    """The BER identifier octet a pysnmp / pyasn1 value is encoded with; None when untagged
    (an unset CHOICE)."""
    tag_set = getattr(value, "tagSet", None)
    if not tag_set:
        return None
    tag = tag_set[-1]
    return int(tag.tagClass | tag.tagFormat | tag.tagId)


def is_absent(value: Any) -> bool:
    """Whether a pysnmp value stands for no value at all (`to_raw` reads it as None)."""
    return ber_tag(value) in ABSENT_TAGS


def to_raw(value: Any) -> RawValue:
    """A value pysnmp decoded as our raw value (see the module's table); None for no value.

    The value is read by its BER tag through `from_ber`, the rule the wire codec uses, so a
    value reads the same whichever decoded it.  A value of no SNMP tag is its text.
    """
    tag = ber_tag(value)
    if tag in INTEGER_TAGS:
        return from_ber(tag, int(value))
    if tag in OCTET_TAGS:
        return from_ber(tag, value.asOctets())
    if tag == SmiTag.OBJECT_IDENTIFIER:
        return from_ber(tag, str(value))
    if tag in ABSENT_TAGS:
        return None
    return str(value)


def to_snmp(raw: RawValue) -> Any:
    """The SMI value a simulator serves for a raw value (see the module's table).

    A typed raw value (`Counter`, `Gauge`, `TimeTicks`, `OidValue`, `IpAddress`,
    `Opaque`, `Null`) is its type, other integers Integer32, the rest an OCTET
    STRING.  None (an absent object) and `Malformed` are never served: TypeError.
    """
    from pyasn1.type import univ
    from pysnmp.proto import rfc1902

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
