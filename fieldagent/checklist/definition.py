"""Checklist definitions: what a checklist file may say, checked item by item.

A checklist is a TOML file: a `[checklist]` header (id, bilingual title) and
`[[item]]` tables.  Each item has an id, a category, a severity, a bilingual
title and hint, and a kind:

- `auto`: a condition over live readings of every device of a kind
  (`devices = "transmitter"`), or over the station's own figures
  (`station.*`) when no kind is given;
- `readiness`: a condition that may also look back (`increase(KEY)` over
  `within_days`), e.g. a generator's run hours;
- `lineup`: the services of every device of a kind against the licensed
  line-up in the station file;
- `manual`: the technician confirms it, with a name and a note.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from fieldagent import tomlfile
from fieldagent.checklist.expr import (
    Condition,
    ExpressionError,
    increase_as_lower_bound,
    parse_condition,
    shown,
)
from fieldagent.inputfile import InputFileError, read_text

ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]

STATION_METRICS = frozenset(
    {
        "station.alarms.critical",
        "station.alarms.warning",
        "station.devices.unreachable",
        "station.outbox.waiting",
    }
)
"""Figures of the station itself, for items without `devices`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    vi: str = Field(min_length=1, description="Vietnamese.")
    en: str = Field(min_length=1, description="English.")


class Category(StrEnum):
    """The directive's concerns, in the order a report lists them."""

    DUTY = "duty"
    TRANSMISSION = "transmission"
    PRODUCTION = "production"
    HEADEND = "headend"
    LINEUP = "lineup"
    POWER = "power"
    BACKUP = "backup"
    AGENT = "agent"


class ItemKind(StrEnum):
    AUTO = "auto"
    READINESS = "readiness"
    LINEUP = "lineup"
    MANUAL = "manual"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


class Item(_Strict):
    id: ItemId
    category: Category
    kind: ItemKind
    severity: Severity = Severity.CRITICAL
    title: Text
    hint: Text
    devices: str | None = Field(
        default=None, description="Device kind the item checks: every device of that kind."
    )
    condition: str | None = None
    services: str | None = Field(
        default=None,
        description="Line-up items: the text metric that names a device's services (per row).",
    )
    within_days: int | None = Field(default=None, ge=1, le=366)
    directive: list[Annotated[int, Field(ge=1, le=8)]] = Field(
        default_factory=list, description="The directive's items this one implements (1 to 8)."
    )

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Self:
        needs: dict[ItemKind, set[str]] = {
            ItemKind.AUTO: {"condition"},
            ItemKind.READINESS: {"condition", "within_days", "devices"},
            ItemKind.LINEUP: {"devices", "services"},
            ItemKind.MANUAL: set(),
        }
        allowed = needs[self.kind] | ({"devices"} if self.kind is ItemKind.AUTO else set())
        for key in ("condition", "within_days", "devices", "services"):
            given = getattr(self, key) is not None
            article = "an" if self.kind is ItemKind.AUTO else "a"
            if key in needs[self.kind] and not given:
                raise ValueError(f"{article} {self.kind} item needs {key}")
            if given and key not in allowed:
                raise ValueError(f"{article} {self.kind} item has no {key}")
        if self.condition is not None:
            try:
                parsed = parse_condition(self.condition)
            except ExpressionError as exc:
                raise ValueError(f"condition {shown(self.condition)}: {exc}") from None
            if parsed.history and self.kind is not ItemKind.READINESS:
                raise ValueError("increase() is for readiness items, which have within_days")
            if parsed.history and not increase_as_lower_bound(parsed):
                raise ValueError(
                    "increase(KEY) may only be compared as a minimum: increase(KEY) >= X"
                    " (a young history gives only a lower bound)"
                )
            if self.devices is None and parsed.metrics - STATION_METRICS:
                unknown = ", ".join(sorted(parsed.metrics - STATION_METRICS))
                raise ValueError(
                    f"without devices, a condition reads only station figures"
                    f" ({', '.join(sorted(STATION_METRICS))}), not {unknown}"
                )
        return self

    @property
    def parsed(self) -> Condition | None:
        return parse_condition(self.condition) if self.condition is not None else None


class Header(_Strict):
    id: ItemId
    title: Text


class Checklist(_Strict):
    checklist: Header
    item: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for item in self.item:
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} is used twice")
            seen.add(item.id)
        return self


class ChecklistError(Exception):
    """A checklist file that cannot be used; `problems` are `FILE: where: what` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_checklist(path: Path) -> Checklist:
    """Read and check a checklist file; every problem at once, each naming the item."""
    try:
        data = tomlfile.loads(read_text(path, MAX_CHECKLIST_BYTES, strict=True))
    except InputFileError as exc:
        raise ChecklistError([str(exc)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ChecklistError([f"{path}: not valid TOML: {exc}"]) from None
    try:
        return Checklist.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: {where(data, e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ChecklistError(problems) from None


MAX_CHECKLIST_BYTES = 1024 * 1024
"""A checklist of a hundred items is tens of kB."""


def where(data: dict[str, Any], location: tuple[int | str, ...]) -> str:
    """`item[3] (tx.vswr).condition`: the position, and the item's id when it has one."""
    return tomlfile.key_path(data, location, ("id",)) or "checklist"
