"""An .snmprec recording of a simulated device, for snmpsim to replay.

A recording keeps every object the simulator serves with its SMI type, one
record a line, ``OID|TAG|VALUE`` in OID order (snmpsim answers GETNEXT by
searching the file).  TAG is the type's BER identifier octet in decimal, as
snmpsim reads it: 2 INTEGER, 4 OCTET STRING, 5 NULL, 6 OBJECT IDENTIFIER,
64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64.  An
octet string that is not plain printable ASCII is written in hex, tag ``4x``.
The first line, ``# made from the simulator of driver X``, tells a recording
made here from one written by hand from a MIB (tests/data/README.md).

It is written from the simulator's own objects, not from a walk: the agent's
`SnmpClient` hands back plain Python values (INTEGER, Counter32, Gauge32,
TimeTicks and Counter64 all as int, an OID as text), so a walk has lost the
type a recording must keep.  The objects go through
`fieldagent.sim.snmp_agent.served_objects`, the mapping that puts them on the
wire, so the recording carries exactly the types the simulator serves;
tests/drivers/test_recordings.py walks both over UDP to show it.
"""

from __future__ import annotations

from typing import Any

from pyasn1.type import univ

from fieldagent.sim.device import Oid, SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator, served_objects

MADE_FROM_SIMULATOR = "# made from the simulator of driver "
"""How the first line of a recording made here begins (the driver's name follows)."""


def record(simulator: SnmpSimulator) -> str:
    """What `simulator` serves now, as .snmprec text with a header naming driver and scenario."""
    device: SimulatedDevice = simulator.device
    header = [MADE_FROM_SIMULATOR + device.driver.name, f"# scenario: {device.scenario}"]
    records = [snmprec_line(oid, value) for oid, value in served_objects(device)]
    return "\n".join(header + records) + "\n"


def snmprec_line(oid: Oid, value: Any) -> str:
    """One record: ``1.3.6.1.2.1.1.3.0|67|4711``."""
    tag, text = snmprec_value(value)
    return f"{'.'.join(map(str, oid))}|{tag}|{text}"


def snmprec_value(value: Any) -> tuple[str, str]:
    """(tag, text) of one pysnmp value as snmpsim reads it back; ValueError for other types."""
    first = value.tagSet[0]
    tag = str(first.tagClass + first.tagFormat + first.tagId)
    if isinstance(value, univ.Null):
        return tag, ""
    if isinstance(value, univ.Integer):
        return tag, str(int(value))
    if isinstance(value, univ.ObjectIdentifier):
        return tag, str(value)
    if isinstance(value, univ.OctetString):
        octets = bytes(value.asOctets())
        if value.tagSet == univ.OctetString.tagSet and _plain(octets):
            return tag, octets.decode("ascii")
        return tag + "x", octets.hex()
    raise ValueError(f"no .snmprec form for a {type(value).__name__} value ({value!r:.60})")


def _plain(octets: bytes) -> bool:
    """Whether octets survive as text: printable ASCII, no space at either end.

    snmpsim strips each line before splitting it, so a leading or trailing space
    (or a line break, a NUL, a UTF-8 letter) is kept only in hex.
    """
    return all(0x20 <= octet <= 0x7E for octet in octets) and octets == octets.strip()
