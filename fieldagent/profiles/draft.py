"""A first profile of a device no driver knows, drafted from its walk (and its MIB).

A technician at a station has a new transmitter or IRD and its walk
(`snmpwalk -On`, or a .snmprec recording), perhaps the vendor's MIB.  The
draft turns what the device served into a profile the agent can poll at once:
identity from sysObjectID and sysDescr, a metric per enterprise object (numbers,
enums, counters, identity texts), table columns as table metrics, and a
simulator that serves what the device served.  It stays small and plain on
purpose: every metric carries a comment with its OID, MIB name and
description so the technician knows what to rename or delete, no limits are
guessed (a commented line shows where they go), and sources stay numeric so
the draft loads without a MIB compiler.

What is left out: the standard MIB-2 subtrees other than the system group
(interfaces, IP, TCP/UDP, SNMP statistics, host resources...) unless a given
MIB names the object, and even then the big tables a technician does not want
as metrics (`_NOISE`); OBJECT IDENTIFIER, IpAddress, BITS, Opaque and binary
values; texts that do not look like identity (names, versions, serials).
Units and divisors come from the MIB (UNITS, DISPLAY-HINT ``d-N``) or from
what net-snmp printed in the walk ("3.5 dB"), never from OID numbers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from fieldagent.driver import AlarmClass, ValueType
from fieldagent.profiles.mibs import MibIndex, MibObject
from fieldagent.profiles.walk import SnmpType, WalkEntry

MAX_METRICS = 500
"""The most metrics a draft holds; a device serving more is trimmed, with a warning."""

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
_SYSTEM = "1.3.6.1.2.1.1"
_MIB_2 = "1.3.6.1.2.1"
_ENTERPRISES = "1.3.6.1.4.1"

_SYSTEM_IDENTITY = {"1.3.6.1.2.1.1.5.0": "sys_name"}
"""System-group texts that name the device (sysDescr is the title and a simulator object)."""

_NOISE = (
    "1.3.6.1.2.1.1.9",  # sysORTable: the agent's own capabilities
    "1.3.6.1.2.1.2.2.1.10",  # ifTable counters (ifInOctets...ifOutQLen)
    "1.3.6.1.2.1.2.2.1.11",
    "1.3.6.1.2.1.2.2.1.12",
    "1.3.6.1.2.1.2.2.1.13",
    "1.3.6.1.2.1.2.2.1.14",
    "1.3.6.1.2.1.2.2.1.15",
    "1.3.6.1.2.1.2.2.1.16",
    "1.3.6.1.2.1.2.2.1.17",
    "1.3.6.1.2.1.2.2.1.18",
    "1.3.6.1.2.1.2.2.1.19",
    "1.3.6.1.2.1.2.2.1.20",
    "1.3.6.1.2.1.2.2.1.21",
    "1.3.6.1.2.1.3",  # at: the ARP cache
    "1.3.6.1.2.1.4",  # ip (ipNetToMedia, routes, statistics)
    "1.3.6.1.2.1.5",  # icmp
    "1.3.6.1.2.1.6",  # tcp
    "1.3.6.1.2.1.7",  # udp
    "1.3.6.1.2.1.11",  # snmp statistics
    "1.3.6.1.2.1.25.4",  # hrSWRun
    "1.3.6.1.2.1.25.5",  # hrSWRunPerf
    "1.3.6.1.2.1.31.1.1.1",  # ifXTable counters
    "1.3.6.1.2.1.92",  # notification log
    "1.3.6.1.6.3",  # SNMP engine, target, USM, VACM
)
"""Subtrees never drafted, even when a given MIB names them: statistics and agent tables."""

_IDENTITY_WORDS = re.compile(
    r"(name|model|version|serial|firmware|software|hardware|release|revision|vendor"
    r"|manufacturer|ident|label|descr|product|sw|hw|fw|type)",
    re.IGNORECASE,
)
"""Words of a MIB object name that say its text identifies the device (kept as a metric)."""

_MAX_TEXT = 64
"""A longer text, or one over several lines, is a message or a log, not an identity."""

_POWER_UNITS = frozenset(
    {
        "dbm",
        "dbw",
        "dbmv",
        "dbuv",
        "dbµv",
        "w",
        "mw",
        "kw",
        "watt",
        "watts",
        "v",
        "mv",
        "kv",
        "volt",
        "volts",
        "a",
        "ma",
        "amp",
        "amps",
    }
)
_CELSIUS = frozenset(
    {"c", "°c", "degc", "deg c", "celsius", "degree c", "degrees c", "degrees celsius"}
)
_INT32 = (-(2**31), 2**31 - 1)


class DraftError(ValueError):
    """A walk no profile can be drafted from; the message names the file."""


@dataclass(frozen=True)
class Draft:
    """A drafted profile's TOML text, and the warnings to show beside it."""

    text: str
    warnings: tuple[str, ...] = ()
    metrics: int = 0


@dataclass
class _Metric:
    """One metric being drafted: a scalar, or a column with its rows."""

    source: str
    type: ValueType
    walk_type: SnmpType
    mib: MibObject | None
    rows: dict[str, WalkEntry] = field(default_factory=dict)
    """Row index -> entry; one entry under "" for a scalar."""
    label: str | None = None
    key: str = ""

    @property
    def is_table(self) -> bool:
        return self.label is not None


def draft_profile(
    entries: Sequence[WalkEntry],
    mib: MibIndex | None,
    name: str,
    kind: str,
    source: str,
    mib_files: Sequence[str] = (),
) -> str:
    """The profile TOML text of a walk (see `draft`)."""
    return draft(entries, mib, name, kind, source, mib_files).text


def draft(
    entries: Sequence[WalkEntry],
    mib: MibIndex | None,
    name: str,
    kind: str,
    source: str,
    mib_files: Sequence[str] = (),
) -> Draft:
    """Draft a profile named `name` of kind `kind` from a walk read from `source`.

    `mib` (compiled from `mib_files`, written into ``[profile] mibs`` as given:
    relative to the profile) names, types and scales the objects it knows.
    DraftError when nothing in the walk makes a metric (a profile needs one).
    """
    by_oid = {entry.oid: entry for entry in entries}
    metrics = _group(entries, mib)
    warnings: list[str] = []
    if len(metrics) > MAX_METRICS:
        dropped = metrics[MAX_METRICS:]
        metrics = metrics[:MAX_METRICS]
        warnings.append(
            f"{source}: the draft holds the first {MAX_METRICS} metrics; {len(dropped)} more"
            f" left out, from {dropped[0].source} to {dropped[-1].source}"
        )
    if not metrics:
        raise DraftError(
            f"{source}: no enterprise object or identity text to draft a metric from"
            " (walk the whole tree: snmpwalk -On HOST .1.3.6.1)"
        )
    _name_keys(metrics, kind)
    text = _render(metrics, by_oid, name, kind, source, mib_files)
    return Draft(text, tuple(warnings), len(metrics))


def _group(entries: Sequence[WalkEntry], mib: MibIndex | None) -> list[_Metric]:
    """The metrics of the walk's drafted objects: scalars, and columns with their rows."""
    metrics: dict[str, _Metric] = {}
    unplaced: list[tuple[WalkEntry, ValueType]] = []
    for entry in entries:
        found = mib.object_at(entry.oid) if mib is not None else None
        obj, suffix = found if found is not None else (None, "")
        if obj is not None and obj.is_column and not suffix:
            obj = None  # a column's own OID served as a value: no row to put it in
        value_type = _value_type(entry, obj)
        if value_type is None or not _drafted(entry, obj, value_type):
            continue
        if obj is not None and obj.is_column:
            if obj.name in obj.index_names:
                continue  # the index column repeats the row's own number
            metric = metrics.setdefault(
                obj.oid, _Metric(obj.oid, value_type, entry.type, obj, label=_label(obj))
            )
            metric.rows[suffix] = entry
        elif obj is not None or entry.oid.endswith(".0"):
            metrics[entry.oid] = _Metric(entry.oid, value_type, entry.type, obj, {"": entry})
        else:
            unplaced.append((entry, value_type))
    # Without a MIB, siblings of one type served as column.index make a column.
    columns: dict[str, list[tuple[WalkEntry, ValueType]]] = {}
    for entry, value_type in unplaced:
        columns.setdefault(entry.oid.rsplit(".", 1)[0], []).append((entry, value_type))
    for column, rows in columns.items():
        kinds = {(value_type, entry.type) for entry, value_type in rows}
        if len(rows) > 1 and len(kinds) == 1:
            value_type, walk_type = kinds.pop()
            metric = _Metric(column, value_type, walk_type, None, label="row")
            metric.rows = {entry.oid.rsplit(".", 1)[1]: entry for entry, _ in rows}
            metrics[column] = metric
        else:
            for entry, value_type in rows:
                metrics[entry.oid] = _Metric(entry.oid, value_type, entry.type, None, {"": entry})
    return sorted(metrics.values(), key=lambda m: _arcs(m.source))


def _value_type(entry: WalkEntry, obj: MibObject | None) -> ValueType | None:
    """What the drafted metric reads as, or None for a value no metric reads."""
    if entry.type is SnmpType.OCTET_STRING:
        if entry.text is None or (obj is not None and obj.syntax != "OCTET STRING"):
            return None
        return ValueType.TEXT
    if entry.type.is_counter:
        return ValueType.COUNTER
    if entry.type is SnmpType.INTEGER and ((obj is not None and obj.enums) or entry.label):
        return ValueType.ENUM
    return ValueType.NUMBER if entry.type.is_number else None


def _drafted(entry: WalkEntry, obj: MibObject | None, value_type: ValueType) -> bool:
    """Whether an object of the walk belongs in the draft (see the module's docstring)."""
    if any(_under(entry.oid, noise) for noise in _NOISE):
        return False
    if _under(entry.oid, _SYSTEM):
        return entry.oid in _SYSTEM_IDENTITY and value_type is ValueType.TEXT
    if not (_under(entry.oid, _ENTERPRISES) or (_under(entry.oid, _MIB_2) and obj is not None)):
        return False
    if value_type is ValueType.TEXT:
        text = entry.text or ""
        looks_like_identity = obj is None or _IDENTITY_WORDS.search(obj.name) is not None
        return looks_like_identity and "\n" not in text and 0 < len(text) <= _MAX_TEXT
    return not (value_type is ValueType.NUMBER and not _fits_int32(entry))


def _fits_int32(entry: WalkEntry) -> bool:
    """The simulator serves numbers as Integer32; a larger Gauge32 cannot be simulated."""
    return isinstance(entry.value, int) and _INT32[0] <= entry.value <= _INT32[1]


def _name_keys(metrics: list[_Metric], kind: str) -> None:
    """`<kind>.<snake_case MIB name>`, or `<kind>.obj_<arcs>` without one; unique."""
    taken: set[str] = set()
    for metric in metrics:
        if metric.mib is not None:
            stem = _snake(metric.mib.name)
        elif metric.source in _SYSTEM_IDENTITY:
            stem = _SYSTEM_IDENTITY[metric.source]
        else:
            stem = "obj_" + "_".join(_object_arcs(metric.source))
        key = f"{kind}.{stem}"
        number = 2
        while key in taken:
            key = f"{kind}.{stem}_{number}"
            number += 1
        taken.add(key)
        metric.key = key


def _object_arcs(oid: str) -> list[str]:
    """The arcs that tell an object apart: those after the enterprise number (at most 5),
    without a scalar's instance ``.0``."""
    arcs = oid.split(".")
    if arcs[-1] == "0" and len(arcs) > 1:
        arcs = arcs[:-1]
    if _under(oid, _ENTERPRISES) and len(arcs) > 7:
        arcs = arcs[7:]
    return arcs[-5:]


def _snake(name: str) -> str:
    """``txForwardPower`` -> ``tx_forward_power``, ``ifHCInOctets`` -> ``if_hc_in_octets``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    snake = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    return snake if snake and snake[0].isalpha() else f"obj_{snake}"


def _label(obj: MibObject) -> str:
    """A table's row label from its first index name (``txPaIndex`` -> ``tx_pa``)."""
    if not obj.index_names:
        return "row"
    label = re.sub(r"_?(index|idx)$", "", _snake(obj.index_names[0]))
    label = re.sub(r"[^a-z_]", "", label).strip("_")[:32]
    return label or "row"


def _unit(metric: _Metric) -> str:
    first = next(iter(metric.rows.values()))
    text, _ = _scaled_units((metric.mib.units if metric.mib is not None else "") or first.units)
    if text.lower() in _CELSIUS:
        return "°C"
    return text[:16]


def _divisor(metric: _Metric) -> int:
    """From the MIB's DISPLAY-HINT or a UNITS that states a step ("0.1 dBm"), else from the
    decimals net-snmp printed; never guessed."""
    if metric.mib is not None:
        if metric.mib.divisor > 1:
            return metric.mib.divisor
        _, divisor = _scaled_units(metric.mib.units)
        if divisor > 1:
            return divisor
    places = max(entry.places for entry in metric.rows.values())
    return int(10**places)


_STEP = re.compile(
    r"^(?:0\.(?P<zeros>0*)1\s*|(?P<word>tenths?|hundredths?|thousandths?)\s+of\s+(?:an?\s+)?)(?P<unit>\S.*)$",
    re.IGNORECASE,
)
_STEP_WORDS = {"tenth": 10, "hundredth": 100, "thousandth": 1000}


def _scaled_units(text: str) -> tuple[str, int]:
    """A UNITS text and the divisor it states: ``0.1 dBm`` -> ("dBm", 10),
    ``tenths of a degree C`` -> ("degree C", 10), ``W`` -> ("W", 1)."""
    text = " ".join(text.split())
    step = _STEP.match(text)
    if step is None:
        return text, 1
    if step["word"]:
        return step["unit"], _STEP_WORDS[step["word"].lower().rstrip("s")]
    return step["unit"], 10 ** (len(step["zeros"]) + 1)


def _alarm_class(metric: _Metric, unit: str) -> AlarmClass:
    if metric.type is ValueType.ENUM:
        return AlarmClass.STATE
    if metric.type is ValueType.COUNTER:
        return AlarmClass.RATE
    if metric.type is ValueType.NUMBER:
        if unit.lower() in _POWER_UNITS:
            return AlarmClass.POWER
        if unit == "°C":
            return AlarmClass.TEMPERATURE
    return AlarmClass.OTHER


def _enum(metric: _Metric) -> dict[int, str]:
    """The MIB's enumeration, or the labels net-snmp printed; a value outside both is
    added as ``value_N`` so the draft reads what the device served."""
    enum = dict(metric.mib.enums) if metric.mib is not None else {}
    for entry in metric.rows.values():
        if isinstance(entry.value, int) and entry.value not in enum:
            enum[entry.value] = entry.label or f"value_{entry.value}"
    return dict(sorted(enum.items()))


def _title(metric: _Metric) -> str:
    if metric.mib is not None:
        words = _snake(metric.mib.name).replace("_", " ")
        return words[:1].upper() + words[1:]
    if metric.source in _SYSTEM_IDENTITY:
        return "System name"
    what = "Column" if metric.is_table else "Object"
    return f"{what} {metric.source}"


def _initial(metric: _Metric, entry: WalkEntry, divisor: int, enum: dict[int, str]) -> str | None:
    """The walked value in engineering units, as TOML; None when no value can be served."""
    value = entry.value
    if metric.type is ValueType.TEXT:
        return _string(entry.text or "")
    if not isinstance(value, int):
        return None
    if metric.type is ValueType.ENUM:
        return _string(enum[value])
    if metric.type is ValueType.COUNTER:
        return str(value)
    if not _INT32[0] <= value <= _INT32[1]:
        return None
    if divisor == 1:
        return str(value)
    return repr(round(value / divisor, int(math.log10(divisor))))


def _render(
    metrics: Sequence[_Metric],
    by_oid: dict[str, WalkEntry],
    name: str,
    kind: str,
    source: str,
    mib_files: Sequence[str],
) -> str:
    walk_name = PurePath(source).name
    descr = by_oid.get(SYS_DESCR)
    descr_text = (descr.text if descr is not None else None) or ""
    object_id = by_oid.get(SYS_OBJECT_ID)
    sys_object_id = str(object_id.value) if object_id is not None and object_id.value else ""
    title = " ".join(descr_text.split())[:200] or f"Device drafted from {walk_name}"
    out = [
        f"# Drafted by `fieldagent profile new` from {walk_name}"
        + (f" and {', '.join(PurePath(f).name for f in mib_files)}" if mib_files else "")
        + ".",
        "# Rename keys and titles, delete the metrics nobody needs, set limits and states,",
        "# then check it (fieldagent profile check FILE) and poll the device with it.",
        "",
        "[profile]",
        f"name = {_string(name)}",
        f"title = {_string(title)}",
        f"kind = {_string(kind)}",
        'protocol = "snmp"',
        "# A draft is a model: not yet checked by a maintainer against a published MIB",
        "# and a recording of the device.",
        'maturity = "model"',
        f"description = {_string(f'Drafted from the walk {walk_name}: edit it before use.')}",
    ]
    if mib_files:
        out.append(f"mibs = [{', '.join(_string(f) for f in mib_files)}]")
    out += ["", "[identity]"]
    if sys_object_id:
        out.append(f"sys_object_ids = [{_string(sys_object_id)}]")
    probe = _probe(metrics)
    if probe:
        out.append(f"probe = {_string(probe)}")
    initial: list[str] = []
    for metric in metrics:
        out += ["", *_render_metric(metric, initial)]
    objects = []
    if descr_text:
        objects.append(f"{_string(SYS_DESCR)} = {_string(descr_text)}")
    if sys_object_id:
        objects.append(f"{_string(SYS_OBJECT_ID)} = {{ oid = {_string(sys_object_id)} }}")
    out += ["", "# What the device served when it was walked: the simulator serves it too."]
    out += ["[simulator.initial]", *initial]
    if objects:
        out += ["", "[simulator.objects]", *objects]
    return "\n".join(out) + "\n"


def _render_metric(metric: _Metric, initial: list[str]) -> list[str]:
    unit = _unit(metric) if metric.type is ValueType.NUMBER else ""
    divisor = _divisor(metric) if metric.type is ValueType.NUMBER else 1
    enum = _enum(metric) if metric.type is ValueType.ENUM else {}
    lines = [f"# {metric.source}" + (" (column)" if metric.is_table else "")]
    if metric.mib is not None:
        described = f": {metric.mib.description}" if metric.mib.description else ""
        lines[0] += f"  {metric.mib.qualified}{_comment(described)}"
    else:
        first = next(iter(metric.rows.values()))
        shown = first.text if metric.type is ValueType.TEXT else first.value
        lines[0] += "  walked: " + _comment(f"{first.type} {shown!r}"[:100])
        if metric.type is ValueType.ENUM:
            lines.append("# labels as net-snmp printed them: only the values seen in the walk")
    lines += [
        "[[metric]]",
        f"key = {_string(metric.key)}",
        f"title = {_string(_title(metric))}",
        '# title_vi = "..."  (the title alarm messages give it in Vietnamese)',
        f"source = {_string(metric.source)}",
        f"type = {_string(metric.type.value)}",
    ]
    if unit:
        lines.append(f"unit = {_string(unit)}")
    if divisor > 1:
        lines.append(f"divisor = {divisor}")
    if enum:
        pairs = ", ".join(f'"{raw}" = {_string(label)}' for raw, label in enum.items())
        lines.append(f"enum = {{ {pairs} }}")
    if metric.type is ValueType.COUNTER and metric.walk_type is SnmpType.COUNTER64:
        lines.append("counter_bits = 64")
    if metric.is_table:
        lines.append(f"table = {_string(metric.label or 'row')}")
    lines.append(f"alarm_class = {_string(_alarm_class(metric, unit).value)}")
    if metric.type is ValueType.NUMBER:
        lines.append(
            "# limits = { warn_low = ..., crit_low = ..., warn_high = ..., crit_high = ... }"
        )
    for index, entry in metric.rows.items():
        key = f"{metric.key}[{metric.label}={index}]" if metric.is_table else metric.key
        value = _initial(metric, entry, divisor, enum)
        if value is not None:
            initial.append(f"{_string(key)} = {value}")
    return lines


def _probe(metrics: Sequence[_Metric]) -> str:
    """The subtree of the first enterprise that holds metrics: their common prefix."""
    sources = [m.source for m in metrics if _under(m.source, _ENTERPRISES)]
    if not sources:
        return ""
    enterprise = ".".join(sources[0].split(".")[:7])
    mine = [s.split(".") for s in sources if _under(s, enterprise)]
    prefix: list[str] = []
    for arcs in zip(*mine, strict=False):
        if len(set(arcs)) != 1:
            break
        prefix.append(arcs[0])
    if len(mine) == 1 or len(prefix) == len(mine[0]):
        prefix = mine[0][:-1]  # one object: its parent is the subtree
    return ".".join(prefix)


def _under(oid: str, root: str) -> bool:
    return oid == root or oid.startswith(root + ".")


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL is escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _comment(text: str) -> str:
    """Text safe inside a one-line TOML comment: no line breaks or control characters."""
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))


def profile_name(path: PurePath) -> str:
    """A profile name from a file name (``Tx-5kW.toml`` -> ``tx_5kw``), always a valid one."""
    stem = re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")
    if not stem or not stem[0].isalpha():
        stem = f"device_{stem}".strip("_")
    return stem[:64] if len(stem) >= 2 else f"{stem}_profile"
