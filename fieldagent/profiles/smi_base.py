"""The base SMI modules every vendor MIB imports from, as the MIB compiler needs them.

A vendor MIB imports its macros, base types and the ``enterprises`` node from
SNMPv2-SMI, SNMPv2-TC and SNMPv2-CONF (or their SMIv1 forebears RFC1155-SMI,
RFC-1212, RFC-1215, RFC1213-MIB).  pysmi never generates code for these: it
only reads their symbols, and of those only the OID nodes are looked up by
value.  Target machines have no network to fetch the RFC texts from, and
pysmi and pysnmp ship none, so the few definitions the compiler reads are
written here (as RFC 2578 defines them); a technician's own copy of a module,
given with ``--mib`` or lying beside the given files, is preferred.

The textual conventions of SNMPv2-TC (RFC 2579) are never compiled either:
`STANDARD_TCS` says what each one is, so an object of syntax ``TruthValue``
or ``DisplayString`` is read as its base type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_SNMPV2_SMI = """SNMPv2-SMI DEFINITIONS ::= BEGIN
org            OBJECT IDENTIFIER ::= { iso 3 }
dod            OBJECT IDENTIFIER ::= { org 6 }
internet       OBJECT IDENTIFIER ::= { dod 1 }
directory      OBJECT IDENTIFIER ::= { internet 1 }
mgmt           OBJECT IDENTIFIER ::= { internet 2 }
mib-2          OBJECT IDENTIFIER ::= { mgmt 1 }
transmission   OBJECT IDENTIFIER ::= { mib-2 10 }
experimental   OBJECT IDENTIFIER ::= { internet 3 }
private        OBJECT IDENTIFIER ::= { internet 4 }
enterprises    OBJECT IDENTIFIER ::= { private 1 }
security       OBJECT IDENTIFIER ::= { internet 5 }
snmpV2         OBJECT IDENTIFIER ::= { internet 6 }
snmpDomains    OBJECT IDENTIFIER ::= { snmpV2 1 }
snmpProxys     OBJECT IDENTIFIER ::= { snmpV2 2 }
snmpModules    OBJECT IDENTIFIER ::= { snmpV2 3 }
zeroDotZero    OBJECT IDENTIFIER ::= { 0 0 }
Integer32 ::= INTEGER (-2147483648..2147483647)
IpAddress ::= [APPLICATION 0] IMPLICIT OCTET STRING (SIZE (4))
Counter32 ::= [APPLICATION 1] IMPLICIT INTEGER (0..4294967295)
Gauge32 ::= [APPLICATION 2] IMPLICIT INTEGER (0..4294967295)
Unsigned32 ::= [APPLICATION 2] IMPLICIT INTEGER (0..4294967295)
TimeTicks ::= [APPLICATION 3] IMPLICIT INTEGER (0..4294967295)
Opaque ::= [APPLICATION 4] IMPLICIT OCTET STRING
Counter64 ::= [APPLICATION 6] IMPLICIT INTEGER (0..18446744073709551615)
END
"""

_SYMBOLS_ONLY = ("SNMPv2-TC", "SNMPv2-CONF", "RFC1155-SMI", "RFC-1212", "RFC-1215", "RFC1213-MIB")
"""Modules whose imported names (macros, types) pysmi maps to SNMPv2 itself."""

BASE_SOURCES: Mapping[str, str] = {
    "SNMPv2-SMI": _SNMPV2_SMI,
    **{name: f"{name} DEFINITIONS ::= BEGIN\nEND\n" for name in _SYMBOLS_ONLY},
}
"""Module name -> ASN.1 text the compiler reads when no file of that module is given."""


@dataclass(frozen=True)
class StandardTc:
    """A textual convention of SNMPv2-TC: its base type, display hint and enumeration."""

    base: str
    display_hint: str = ""
    enums: Mapping[int, str] = field(default_factory=dict)


STANDARD_TCS: Mapping[str, StandardTc] = {
    "DisplayString": StandardTc("OCTET STRING", "255a"),
    "PhysAddress": StandardTc("OCTET STRING", "1x:"),
    "MacAddress": StandardTc("OCTET STRING", "1x:"),
    "TruthValue": StandardTc("INTEGER", enums={1: "true", 2: "false"}),
    "TestAndIncr": StandardTc("INTEGER"),
    "AutonomousType": StandardTc("OBJECT IDENTIFIER"),
    "InstancePointer": StandardTc("OBJECT IDENTIFIER"),
    "VariablePointer": StandardTc("OBJECT IDENTIFIER"),
    "RowPointer": StandardTc("OBJECT IDENTIFIER"),
    "RowStatus": StandardTc(
        "INTEGER",
        enums={
            1: "active",
            2: "notInService",
            3: "notReady",
            4: "createAndGo",
            5: "createAndWait",
            6: "destroy",
        },
    ),
    "TimeStamp": StandardTc("TimeTicks"),
    "TimeInterval": StandardTc("INTEGER"),
    "DateAndTime": StandardTc("OCTET STRING", "2d-1d-1d,1d:1d:1d.1d,1a1d:1d"),
    "StorageType": StandardTc(
        "INTEGER",
        enums={1: "other", 2: "volatile", 3: "nonVolatile", 4: "permanent", 5: "readOnly"},
    ),
    "TDomain": StandardTc("OBJECT IDENTIFIER"),
    "TAddress": StandardTc("OCTET STRING"),
}
