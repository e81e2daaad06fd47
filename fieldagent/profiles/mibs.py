"""Vendor MIB files, compiled to an index of their objects: names, types, units, tables.

A technician drafting a profile (`fieldagent profile new --mib`) and a profile
that names its objects (``source = "X-MIB::obj.0"``) both need what the MIB
says about an OID: its name, base type, enumeration, UNITS, DISPLAY-HINT, and
whether it is a table column.  pysmi compiles the files to JSON in memory;
their imports are found among the given files, in the given files' folders,
and for the base SMI modules in `smi_base` (never on the network: the target
machines have none).  pysmi is imported only here, inside `compile_mibs`, so
the agent's start-up does not pay for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldagent.config import suggest
from fieldagent.inputfile import InputFileError, read_text
from fieldagent.profiles.smi_base import BASE_SOURCES, STANDARD_TCS

MAX_MIB_BYTES = 4 * 1024 * 1024
"""The largest MIB file read; the biggest vendor MIBs are a few hundred KB."""

_MODULE_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.M)
_DECIMAL_HINT = re.compile(r"^d-(\d+)$")
_NAME = re.compile(
    r"^(?P<module>[A-Za-z][A-Za-z0-9-]*)::(?P<object>[A-Za-z][\w-]*)(?P<suffix>(\.\d+)*)$"
)

_BASE_TYPES = {
    "INTEGER": "INTEGER",
    "Integer32": "INTEGER",
    "Integer": "INTEGER",
    "OCTET STRING": "OCTET STRING",
    "OctetString": "OCTET STRING",
    "OBJECT IDENTIFIER": "OBJECT IDENTIFIER",
    "ObjectIdentifier": "OBJECT IDENTIFIER",
    "Bits": "BITS",
    "BITS": "BITS",
    "Counter32": "Counter32",
    "Counter": "Counter32",
    "Counter64": "Counter64",
    "Gauge32": "Gauge32",
    "Gauge": "Gauge32",
    "Unsigned32": "Unsigned32",
    "TimeTicks": "TimeTicks",
    "IpAddress": "IpAddress",
    "NetworkAddress": "IpAddress",
    "Opaque": "Opaque",
}
"""Type names as pysmi writes them -> the SMI base type `MibObject.syntax` says."""


class MibError(ValueError):
    """A MIB that cannot be used; the message names the file (or module) and what failed."""


@dataclass(frozen=True)
class MibObject:
    """One OBJECT-TYPE of a MIB, as much as a profile needs of it.

    `syntax` is the base SMI type after textual conventions are followed
    (``INTEGER``, ``OCTET STRING``, ``Counter32``...); `enums` and
    `display_hint` come from the object or its convention.  A table column
    names its row (`entry`) and the row's index objects (`index_names`).
    """

    name: str
    module: str
    oid: str
    syntax: str
    enums: Mapping[int, str] = field(default_factory=dict)
    units: str = ""
    display_hint: str = ""
    max_access: str = ""
    description: str = ""
    entry: str | None = None
    index_names: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        """``MODULE::name``, as a profile names it."""
        return f"{self.module}::{self.name}"

    @property
    def is_column(self) -> bool:
        return self.entry is not None

    @property
    def divisor(self) -> int:
        """10 ** places of a DISPLAY-HINT ``d-N`` (an integer in tenths: 10), else 1."""
        match = _DECIMAL_HINT.match(self.display_hint)
        return 10 ** int(match[1]) if match else 1


class MibIndex:
    """The objects of compiled MIBs: by OID (longest prefix) and by ``MODULE::name``."""

    def __init__(self, objects: Sequence[MibObject], nodes: Mapping[str, str]) -> None:
        """`objects` are the OBJECT-TYPEs that carry values; `nodes` every named OID
        (``MODULE::name`` -> dotted OID: objects, notifications, identities)."""
        self._by_oid = {obj.oid: obj for obj in objects}
        self._nodes = dict(nodes)
        self.modules = tuple(sorted({name.split("::")[0] for name in nodes}))

    def __iter__(self) -> Iterator[MibObject]:
        return iter(self._by_oid.values())

    def __len__(self) -> int:
        return len(self._by_oid)

    def object_at(self, oid: str) -> tuple[MibObject, str] | None:
        """The object whose OID is the longest prefix of `oid`, and the instance suffix
        (``"0"`` for a scalar, the row index for a column; ``""`` for the object itself)."""
        arcs = oid.split(".")
        for length in range(len(arcs), 0, -1):
            found = self._by_oid.get(".".join(arcs[:length]))
            if found is not None:
                return found, ".".join(arcs[length:])
        return None

    def resolve(self, name: str) -> str:
        """The dotted OID of ``MODULE::object`` or ``MODULE::object.0``; KeyError if unknown."""
        match = _NAME.match(name.strip())
        if match is None:
            raise KeyError(f"{name!r} is not a MIB name (MODULE-NAME::object, say X-MIB::obj.0)")
        qualified = f"{match['module']}::{match['object']}"
        oid = self._nodes.get(qualified)
        if oid is None:
            if match["module"] not in self.modules:
                known = ", ".join(self.modules) or "none"
                raise KeyError(
                    f"{name}: no MIB module {match['module']!r} among the profile's MIBs"
                    f" (known: {known}){suggest(match['module'], self.modules)}"
                )
            raise KeyError(
                f"{name}: {match['module']} has no object {match['object']!r}"
                f"{suggest(qualified, self._nodes)}"
            )
        return oid + match["suffix"]


def compile_mibs(paths: Sequence[Path]) -> MibIndex:
    """Compile MIB files (and what they import) into a `MibIndex`; MibError if one fails."""
    given: dict[str, tuple[Path, str]] = {}
    for path in paths:
        module, text = _read_module(path)
        if module in given:
            raise MibError(f"{path}: module {module} is also in {given[module][0]}")
        given[module] = (path, text)
    documents = _compile(given, [path.parent for path in paths])
    return _index(documents)


def _read_module(path: Path) -> tuple[str, str]:
    try:
        text = read_text(path, MAX_MIB_BYTES)
    except InputFileError as exc:
        raise MibError(str(exc)) from None
    header = _MODULE_HEADER.search(text)
    if header is None:
        raise MibError(f"{path}: not a MIB module (no 'NAME DEFINITIONS ::= BEGIN' in it)")
    return header[1], text


def _compile(given: Mapping[str, tuple[Path, str]], folders: Sequence[Path]) -> dict[str, Any]:
    """Module name -> pysmi's JSON document of every module compiled (given and imported)."""
    from pysmi.codegen.jsondoc import JsonCodeGen
    from pysmi.compiler import MibCompiler
    from pysmi.parser.dialect import smi_v1_relaxed
    from pysmi.parser.smi import parserFactory
    from pysmi.reader.callback import CallbackReader
    from pysmi.reader.localfile import FileReader
    from pysmi.searcher.stub import StubSearcher
    from pysmi.writer.callback import CallbackWriter

    documents: dict[str, Any] = {}

    def store(module: str, document: str, context: object) -> None:
        documents[module] = json.loads(document)

    def given_text(module: str, context: object) -> str:
        return given[module][1] if module in given else ""

    def base_text(module: str, context: object) -> str:
        return BASE_SOURCES.get(module, "")

    compiler = MibCompiler(parserFactory(**smi_v1_relaxed)(), JsonCodeGen(), CallbackWriter(store))
    folder_readers = [FileReader(str(folder), recursive=False) for folder in dict.fromkeys(folders)]
    compiler.add_sources(CallbackReader(given_text), *folder_readers, CallbackReader(base_text))
    compiler.add_searchers(StubSearcher(*JsonCodeGen.baseMibs))
    status = compiler.compile(*given, genTexts=True)
    _raise_on_failure(status, given)
    return documents


def _raise_on_failure(status: Mapping[str, Any], given: Mapping[str, tuple[Path, str]]) -> None:
    """A missing import first (the fix is another --mib), then a module that failed."""

    def where(module: str) -> str:
        return str(given[module][0]) if module in given else f"MIB module {module}"

    missing = sorted(name for name, state in status.items() if state == "missing")
    if missing:
        names = ", ".join(missing)
        importer = next(iter(given))
        for module, state in status.items():
            if state == "failed" and any(m in str(getattr(state, "error", "")) for m in missing):
                importer = module
                break
        raise MibError(
            f"{where(importer)}: imports {names}, which is in none of the given files or"
            " their folders: give its file with another --mib"
        )
    for module, state in status.items():
        if state == "failed":
            error = getattr(state, "error", None)
            text = str(getattr(error, "msg", error) or "compilation failed")
            text = re.sub(r" at MIB [A-Za-z0-9-]+$", "", " ".join(text.split()))
            line = getattr(error, "lineno", None)
            if isinstance(line, int) and "line" not in text:
                text = f"line {line}: {text}"
            raise MibError(f"{where(module)}: does not compile: {text}")


def _index(documents: Mapping[str, Any]) -> MibIndex:
    conventions = {
        name: symbol
        for document in documents.values()
        for name, symbol in document.items()
        if isinstance(symbol, dict) and symbol.get("class") == "textualconvention"
    }
    nodes: dict[str, str] = {}
    rows: dict[str, dict[str, Any]] = {}
    for module, document in documents.items():
        for name, symbol in document.items():
            if isinstance(symbol, dict) and isinstance(symbol.get("oid"), str):
                nodes[f"{module}::{name}"] = symbol["oid"]
                if symbol.get("nodetype") == "row":
                    rows[symbol["oid"]] = symbol
    objects = [
        _object(module, symbol, conventions, rows)
        for module, document in documents.items()
        for symbol in document.values()
        if isinstance(symbol, dict)
        and symbol.get("class") == "objecttype"
        and symbol.get("nodetype") in ("scalar", "column")
    ]
    return MibIndex(objects, nodes)


def _object(
    module: str,
    symbol: Mapping[str, Any],
    conventions: Mapping[str, Any],
    rows: Mapping[str, Mapping[str, Any]],
) -> MibObject:
    syntax = symbol.get("syntax") or {}
    base, hint, enums = _follow(syntax, conventions)
    entry = None
    index_names: tuple[str, ...] = ()
    if symbol.get("nodetype") == "column":
        row = rows.get(symbol["oid"].rsplit(".", 1)[0], {})
        entry = str(row.get("name", "")) or None
        index_names = _index_names(row, rows)
    return MibObject(
        name=symbol["name"],
        module=module,
        oid=symbol["oid"],
        syntax=base,
        enums=enums,
        units=str(symbol.get("units", "")),
        display_hint=hint,
        max_access=str(symbol.get("maxaccess", "")),
        description=_first_sentence(str(symbol.get("description", ""))),
        entry=entry,
        index_names=index_names,
    )


def _follow(
    syntax: Mapping[str, Any], conventions: Mapping[str, Any]
) -> tuple[str, str, dict[int, str]]:
    """(base type, display hint, enums) of a syntax, through textual conventions."""
    hint = ""
    enums = _enums(syntax)
    type_name = str(syntax.get("type", ""))
    for _ in range(8):  # a convention of a convention, never a loop
        if type_name in _BASE_TYPES:
            return _BASE_TYPES[type_name], hint, enums
        standard = STANDARD_TCS.get(type_name)
        if standard is not None:
            return standard.base, hint or standard.display_hint, enums or dict(standard.enums)
        convention = conventions.get(type_name)
        if convention is None:
            break
        hint = hint or str(convention.get("displayhint", ""))
        inner = convention.get("type") or {}
        enums = enums or _enums(inner)
        type_name = str(inner.get("type", ""))
    return type_name or "OCTET STRING", hint, enums


def _enums(syntax: Mapping[str, Any]) -> dict[int, str]:
    enumeration = (syntax.get("constraints") or {}).get("enumeration") or {}
    return {
        int(number): str(label)
        for label, number in sorted(enumeration.items(), key=lambda kv: kv[1])
    }


def _index_names(row: Mapping[str, Any], rows: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    indices = row.get("indices")
    if not indices and isinstance(row.get("augmention"), dict):
        augmented = row["augmention"].get("object")
        target = next((r for r in rows.values() if r.get("name") == augmented), {})
        indices = target.get("indices")
    return tuple(str(index.get("object", "")) for index in indices or () if index.get("object"))


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.match(r"^(.*?[.!?])(\s|$)", flat)
    return match[1] if match else flat
