"""SNMP walks and recordings as data: what a real device served, object by object.

Two forms are read, both what a technician or maintainer has at hand:

- the output of ``snmpwalk -On`` (net-snmp): ``.1.3.6.1.2.1.1.1.0 = STRING: "text"``;
  values may run over several lines (a string with line breaks, a long
  Hex-STRING), and an INTEGER may carry its enum name (``up(1)``);
- an snmpsim ``.snmprec`` recording: ``1.3.6.1.2.1.1.1.0|4|text``, the tag being
  the BER type, ``x`` after it meaning a hex value.

Both become `WalkEntry` records in OID order.  A line that is neither is an
error naming the file and line: a draft built on a misread value is worse
than none.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path

from fieldagent.driver import OidValue
from fieldagent.inputfile import InputFileError, read_text
from fieldagent.sim.device import parse_oid

MAX_WALK_BYTES = 16 * 1024 * 1024
"""The largest walk read (a whole CMTS is a few MB); more is not a device's walk."""


class SnmpType(enum.StrEnum):
    """The SMI type an object was served with."""

    INTEGER = "INTEGER"
    OCTET_STRING = "OCTET STRING"
    NULL = "NULL"
    OBJECT_IDENTIFIER = "OBJECT IDENTIFIER"
    IP_ADDRESS = "IpAddress"
    COUNTER32 = "Counter32"
    GAUGE32 = "Gauge32"
    TIMETICKS = "TimeTicks"
    OPAQUE = "Opaque"
    COUNTER64 = "Counter64"

    @property
    def is_number(self) -> bool:
        return self in _NUMBERS

    @property
    def is_counter(self) -> bool:
        return self in (SnmpType.COUNTER32, SnmpType.COUNTER64)


_NUMBERS = frozenset(
    {
        SnmpType.INTEGER,
        SnmpType.COUNTER32,
        SnmpType.GAUGE32,
        SnmpType.TIMETICKS,
        SnmpType.COUNTER64,
    }
)

WalkValue = int | bytes | OidValue | None
"""An integer type's number, a string's octets, an OID, or None (NULL)."""


@dataclass(frozen=True)
class WalkEntry:
    """One object of a walk: its OID (dotted, no leading dot), type and value.

    `label` is the enum name net-snmp printed beside an INTEGER (``up`` of
    ``up(1)``), when it did.  When net-snmp knew the object's MIB it may also
    have printed its UNITS after the number (``35 dB``: `units`) and applied a
    DISPLAY-HINT ``d-1`` (``3.5``: `places` 1); `value` is then still the raw
    integer the device sent (35).
    """

    oid: str
    type: SnmpType
    value: WalkValue
    label: str | None = None
    units: str = ""
    places: int = 0

    @property
    def text(self) -> str | None:
        """An OCTET STRING as text, when it is printable UTF-8 (a name, a version)."""
        if not isinstance(self.value, bytes):
            return None
        try:
            text = self.value.decode("utf-8")
        except UnicodeDecodeError:
            return None
        stripped = text.rstrip("\x00")
        printable = all(ch.isprintable() or ch in "\r\n\t" for ch in stripped)
        return stripped if printable else None


class WalkError(ValueError):
    """A walk file that cannot be read; the message names the file and line."""


_SNMPREC_TAGS = {
    2: SnmpType.INTEGER,
    4: SnmpType.OCTET_STRING,
    5: SnmpType.NULL,
    6: SnmpType.OBJECT_IDENTIFIER,
    64: SnmpType.IP_ADDRESS,
    65: SnmpType.COUNTER32,
    66: SnmpType.GAUGE32,
    67: SnmpType.TIMETICKS,
    68: SnmpType.OPAQUE,
    70: SnmpType.COUNTER64,
}

_NETSNMP_TYPES = {
    "STRING": SnmpType.OCTET_STRING,
    "Hex-STRING": SnmpType.OCTET_STRING,
    "INTEGER": SnmpType.INTEGER,
    "Gauge32": SnmpType.GAUGE32,
    "Counter32": SnmpType.COUNTER32,
    "Counter64": SnmpType.COUNTER64,
    "Timeticks": SnmpType.TIMETICKS,
    "OID": SnmpType.OBJECT_IDENTIFIER,
    "IpAddress": SnmpType.IP_ADDRESS,
    "Network Address": SnmpType.IP_ADDRESS,
    "Opaque": SnmpType.OPAQUE,
    "UInteger32": SnmpType.GAUGE32,
    "Unsigned32": SnmpType.GAUGE32,
    "BITS": SnmpType.OCTET_STRING,
}

_NETSNMP_LINE = re.compile(r"^\.?(?P<oid>[0-2](?:\.\d+)+) = (?P<rest>.*)$")
_TYPED = re.compile(r"^(?P<type>[A-Za-z][A-Za-z0-9 -]*?): ?(?P<value>.*)$")
_SNMPREC_LINE = re.compile(
    r"^(?P<oid>[0-2](?:\.\d+)+)\|(?P<tag>\d+)(?P<flag>[a-z]?)\|(?P<value>.*)$"
)
_SHOWN_NUMBER = re.compile(r"^(?P<integer>-?\d+)(?:\.(?P<fraction>\d+))?(?:\s+(?P<units>\S.*))?$")
_NOT_THERE = ("No Such Object", "No Such Instance", "No more variables")


def read_walk(path: Path) -> list[WalkEntry]:
    """Every object of a walk file (either form), in OID order; WalkError if unreadable."""
    try:
        text = read_text(path, MAX_WALK_BYTES)
    except InputFileError as exc:
        raise WalkError(str(exc)) from None
    return parse_walk(text, str(path))


def parse_walk(text: str, source: str) -> list[WalkEntry]:
    """The objects of walk text; `source` names it in errors."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.startswith("#")), "")
    entries = (
        _parse_snmprec(lines, source)
        if _SNMPREC_LINE.match(first)
        else _parse_netsnmp(lines, source)
    )
    if not entries:
        raise WalkError(f"{source}: no SNMP objects in it (snmpwalk -On output or .snmprec)")
    seen: dict[str, int] = {}
    for entry in entries:
        if entry.oid in seen:
            raise WalkError(f"{source}: object {entry.oid} appears twice")
        seen[entry.oid] = 1
    return sorted(entries, key=lambda e: parse_oid(e.oid))


def _parse_snmprec(lines: list[str], source: str) -> list[WalkEntry]:
    entries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _SNMPREC_LINE.match(line.rstrip("\r"))
        if match is None:
            raise WalkError(f"{source}: line {number}: not an snmprec line (OID|tag|value)")
        tag = int(match["tag"])
        kind = _SNMPREC_TAGS.get(tag)
        if kind is None:
            raise WalkError(f"{source}: line {number}: unknown snmprec type tag {tag}")
        where = f"{source}: line {number}"
        value = _snmprec_value(kind, match["value"], match["flag"], where)
        entries.append(WalkEntry(match["oid"], kind, value))
    return entries


def _snmprec_value(kind: SnmpType, text: str, flag: str, where: str) -> WalkValue:
    if flag not in ("", "x"):
        raise WalkError(f"{where}: snmprec variation {flag!r} is not a recorded value")
    if kind is SnmpType.NULL:
        return None
    if kind.is_number:
        return _integer(text, where)
    if kind is SnmpType.OBJECT_IDENTIFIER:
        return _oid(text, where)
    if kind is SnmpType.IP_ADDRESS and flag == "":
        return _ip_octets(text, where)
    if flag == "x":
        return _hex(text, where)
    return text.encode("utf-8")


def _parse_netsnmp(lines: list[str], source: str) -> list[WalkEntry]:
    """net-snmp output: each object starts a line with its OID; others continue a value."""
    blocks: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        match = _NETSNMP_LINE.match(line.rstrip("\r"))
        if match is not None:
            blocks.append((number, match["oid"], [match["rest"]]))
        elif blocks:
            blocks[-1][2].append(line.rstrip("\r"))
        elif line.strip() and not line.startswith("#"):
            raise WalkError(
                f"{source}: line {number}: not an snmpwalk line (run snmpwalk with -On:"
                " numeric OIDs)"
            )
    entries = []
    for number, oid, parts in blocks:
        entry = _netsnmp_entry(oid, "\n".join(parts), f"{source}: line {number}")
        if entry is not None:
            entries.append(entry)
    return entries


def _netsnmp_entry(oid: str, rest: str, where: str) -> WalkEntry | None:
    rest = rest.rstrip("\n")
    if rest.startswith(_NOT_THERE):
        return None
    if rest == '""':
        return WalkEntry(oid, SnmpType.OCTET_STRING, b"")
    if rest.startswith("NULL"):
        return WalkEntry(oid, SnmpType.NULL, None)
    typed = _TYPED.match(rest.split("\n", 1)[0])
    if typed is None or typed["type"] not in _NETSNMP_TYPES:
        raise WalkError(f"{where}: cannot read the value {rest[:60]!r}")
    name = typed["type"]
    kind = _NETSNMP_TYPES[name]
    value_text = rest[len(typed["type"]) + 1 :].strip()
    if name == "STRING":
        return WalkEntry(oid, kind, _unquoted(value_text).encode("utf-8"))
    if name in ("Hex-STRING", "BITS"):
        return WalkEntry(oid, kind, _hex(value_text.split("  ")[0], where))
    if kind is SnmpType.OBJECT_IDENTIFIER:
        return WalkEntry(oid, kind, _oid(value_text, where))
    if kind is SnmpType.IP_ADDRESS:
        return WalkEntry(oid, kind, _ip_octets(value_text, where))
    if kind is SnmpType.OPAQUE:
        return WalkEntry(oid, kind, value_text.encode("utf-8"))
    if kind is SnmpType.TIMETICKS:
        ticks = re.match(r"^\((\d+)\)", value_text)
        return WalkEntry(oid, kind, _integer(ticks[1] if ticks else value_text, where))
    label_match = re.match(r"^([A-Za-z][\w-]*)\((-?\d+)\)$", value_text)
    if label_match:
        return WalkEntry(oid, kind, _integer(label_match[2], where), label_match[1])
    # net-snmp shows a DISPLAY-HINT's decimal point and appends the UNITS when it knows
    # the MIB ("3.5 dB"): keep the device's integer, and what the text said about it.
    shown = _SHOWN_NUMBER.match(value_text)
    if shown is None:
        return WalkEntry(oid, kind, _integer(value_text, where))
    fraction = shown["fraction"] or ""
    raw = _integer(shown["integer"] + fraction, where)
    return WalkEntry(oid, kind, raw, units=shown["units"] or "", places=len(fraction))


def _unquoted(text: str) -> str:
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('\\"', '"')
    return text


def _integer(text: str, where: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise WalkError(f"{where}: {text.strip()[:40]!r} is not an integer") from None


def _oid(text: str, where: str) -> OidValue:
    oid = text.strip().lstrip(".")
    if not re.fullmatch(r"[0-2](\.\d+)+|0\.0", oid):
        raise WalkError(f"{where}: {oid[:60]!r} is not a numeric OID (run snmpwalk with -On)")
    return OidValue(oid)


def _hex(text: str, where: str) -> bytes:
    try:
        return bytes.fromhex("".join(text.split()))
    except ValueError:
        raise WalkError(f"{where}: {text.strip()[:40]!r} is not hex") from None


def _ip_octets(text: str, where: str) -> bytes:
    parts = text.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise WalkError(f"{where}: {text.strip()[:40]!r} is not an IPv4 address")
    return bytes(int(p) for p in parts)
