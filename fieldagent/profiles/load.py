"""Reading profile files: one file to a `Driver`, or every problem in it.

A profile error reads like a station-file error: the file, the key path (a
metric named by its key, a scenario by its name) and what is wrong, with
"did you mean" for a misspelt key.  The loader never raises anything else on
a file's content, so the registry can set one broken profile aside and load
the others.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from fieldagent import tomlfile
from fieldagent.config import suggest
from fieldagent.driver import Driver
from fieldagent.inputfile import InputFileError, read_text
from fieldagent.profiles import schema
from fieldagent.profiles.build import ObjectResolver, ProfileError, build_driver

MAX_PROFILE_BYTES = 1024 * 1024
"""The largest profile read: a big device's profile is tens of kB."""

PROFILE_SUFFIX = ".toml"


def load_profile(path: Path) -> Driver:
    """The driver a profile file declares; ProfileError lists every problem."""
    try:
        text = read_text(path, MAX_PROFILE_BYTES, strict=True)
    except InputFileError as exc:
        raise ProfileError([str(exc)]) from None
    return parse_profile(text, str(path), path.parent)


def parse_profile(text: str, source: str, base_dir: Path) -> Driver:
    """The driver of profile text; `source` names it in messages, `base_dir` holds its MIBs."""
    try:
        data = tomlfile.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError([f"{source}: TOML syntax: {exc}"]) from None
    try:
        profile = schema.ProfileFile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError([_describe(source, data, error) for error in exc.errors()]) from None
    named = _names_objects(profile)
    resolver = _mib_resolver(profile.profile.mibs, source, base_dir) if named else None
    return build_driver(profile, source, resolver)


def _names_objects(profile: schema.ProfileFile) -> bool:
    """Whether the profile names an object (``MIB::name``) anywhere, so its MIBs are needed.

    A profile whose objects are all numbers loads without compiling its MIB files (nor
    needing them, nor pysmi): compiling costs seconds on a Pi at every start.
    """
    identity = profile.identity
    names = [m.source for m in profile.metric]
    names += [*identity.sys_object_ids, *([identity.probe] if identity.probe else [])]
    for trap in profile.trap:
        names += [trap.oid, trap.value_oid or "", trap.instance_oid or "", *trap.when]
    return any("::" in name for name in names)


def _mib_resolver(files: Sequence[str], source: str, base_dir: Path) -> ObjectResolver | None:
    """The object names of the profile's MIB files (compiled with pysmi), if it lists any."""
    if not files:
        return None  # the builder says which name needs a MIB listed
    try:
        from fieldagent.profiles.mibs import MibError, compile_mibs
    except ImportError:
        raise ProfileError(
            [f"{source}: profile.mibs: reading MIB files needs pysmi (pip install pysmi)"]
        ) from None
    try:
        return compile_mibs([base_dir / name for name in files]).resolve
    except MibError as exc:
        raise ProfileError([f"{source}: profile.mibs: {exc}"]) from None


def profile_files(directory: Path) -> list[Path]:
    """The profile files of a directory, in name order (hidden and editor backup files left out)."""
    return sorted(
        path
        for path in directory.glob(f"*{PROFILE_SUFFIX}")
        if not path.name.startswith(".") and path.is_file()
    )


_SECTIONS: dict[tuple[str, ...], type[BaseModel]] = {
    (): schema.ProfileFile,
    ("profile",): schema.Header,
    ("identity",): schema.IdentitySection,
    ("metric",): schema.MetricSection,
    ("metric", "limits"): schema.LimitsSection,
    ("rows_in_use",): schema.RowsInUseSection,
    ("trap",): schema.TrapSection,
    ("simulator",): schema.SimulatorSection,
    ("simulator", "scenario"): schema.ScenarioSection,
    ("simulator", "scenario", "expect"): schema.ExpectSection,
    ("simulator", "scenario", "ramp", "*"): schema.RampSection,
}
"""Which model a key path's table is read with, for "did you mean" on an unknown key."""

_NAMED_BY = ("key", "name", "alarm")
"""The field a list's entries are known by, in messages: a metric by its key."""


def _describe(source: str, data: dict[str, Any], error: Any) -> str:
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key" + suggest(str(loc[-1]), _siblings(loc[:-1]))
    elif error["type"] == "missing":
        message = "required key is missing"
    elif "input" in error and not isinstance(error["input"], dict | list):
        message = f"{message} (got {error['input']!r:.60})"
    return f"{source}: {_path(data, loc) or '(top level)'}: {message}"


def _siblings(table: tuple[Any, ...]) -> frozenset[str]:
    names = [str(part) for part in table if not isinstance(part, int)]
    if len(names) == 4 and names[2] == "ramp":
        names[3] = "*"
    model = _SECTIONS.get(tuple(names))
    return frozenset(model.model_fields) if model else frozenset()


def _path(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """``metric[3] (rf.forward_w).unit``: the position and the entry's own name."""
    return tomlfile.key_path(data, loc, _NAMED_BY)
