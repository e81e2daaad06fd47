"""The station file's `[checklist]` section: which checklists, nominal values, changes.

It also says when the daemon runs the checklist's automatic items by itself:
every day at `run_at` (station time) inside the holiday windows listed here
(`fieldagent.checklist.schedule` decides when a run is due), how often central
staff may ask for a run over MQTT, and how long the archive keeps reports.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from fieldagent.checklist.definition import Item

NominalValue = Annotated[float, Field(allow_inf_nan=False)]

MAX_WINDOW_DAYS = 31
"""A window longer than a month is more likely a typo in a year or month than a holiday."""

KEEP_DAYS_FLOOR = 366
"""The directive wants every report of the last 12 months kept: no setting prunes one younger."""

_TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _calendar_day(value: Any) -> Any:
    """A TOML date (2026-08-28), or the same in quotes; one clear message for anything else.

    Left to pydantic, a number would be read as a Unix timestamp and a TOML
    date-time at midnight would pass for a date.
    """
    if isinstance(value, datetime):
        raise ValueError(f"give a date without a time of day, e.g. 2026-08-28 (got {value})")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date, e.g. 2026-08-28 (got {value!r:.40})")


CalendarDay = Annotated[date, BeforeValidator(_calendar_day)]


class HolidayWindow(BaseModel):
    """Days, first and last included, on which the daemon runs the checklist each morning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description='What the holiday is called, e.g. "Quốc khánh 2/9".')
    start: CalendarDay = Field(description="First day, station time (a TOML date: 2026-08-28).")
    end: CalendarDay = Field(description="Last day, included; at most 31 days after start.")

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        # Log lines and reports say which window a run belongs to.
        if not value.strip():
            raise ValueError('give the window a name, e.g. "Quốc khánh 2/9"')
        return value.strip()

    @model_validator(mode="after")
    def _sensible_span(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        days = (self.end - self.start).days + 1
        if days > MAX_WINDOW_DAYS:
            raise ValueError(
                f"{days} days from start ({self.start}) to end ({self.end}); a window is at most"
                f" {MAX_WINDOW_DAYS} days long"
            )
        return self

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.name!r} ({self.start}..{self.end})"


class ChecklistSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    templates: list[str] = Field(
        default_factory=lambda: ["pre-holiday"],
        description="Built-in checklist names (config/checklists/NAME.toml) or .toml paths.",
    )
    disable: list[str] = Field(
        default_factory=list, description="Item ids this station leaves out."
    )
    nominal: dict[str, dict[str, NominalValue]] = Field(
        default_factory=dict,
        description="Per device id: nominal values by metric key (nominal.KEY in conditions).",
    )
    lineup: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="The licensed channel line-up: service names the line-up items expect.",
    )
    item: list[Item] = Field(
        default_factory=list, description="Items of this station's own, added to the checklists."
    )
    holiday: list[HolidayWindow] = Field(
        default_factory=list,
        description="Holiday windows: the daemon runs the automatic items every day inside them.",
    )
    run_at: str = Field(
        default="06:00",
        description="Station time of day (HH:MM, 24 h) of the daily run inside a holiday window.",
    )
    command_cooldown_s: float = Field(
        default=600.0,
        ge=60.0,
        le=86400.0,
        description="Seconds after a run asked for on cmd/checklist before the next is accepted.",
    )
    archive_keep_days: int = Field(
        default=730,
        description=f"Archived reports older than this many days are deleted (at least"
        f" {KEEP_DAYS_FLOOR}).",
    )
    archive_keep_count: int = Field(
        default=1000,
        ge=1,
        description=f"Beyond the newest this many reports, those older than {KEEP_DAYS_FLOOR} days"
        " are deleted.",
    )

    @field_validator("holiday")
    @classmethod
    def _apart(cls, windows: list[HolidayWindow]) -> list[HolidayWindow]:
        # One run a day belongs to one window; overlapping windows are a slip in a date.
        ordered = sorted(windows, key=lambda window: window.start)
        for earlier, later in itertools.pairwise(ordered):
            if later.start <= earlier.end:
                raise ValueError(f"holiday windows {earlier} and {later} overlap")
        return windows

    @field_validator("archive_keep_days")
    @classmethod
    def _keeps_a_year(cls, value: int) -> int:
        if value < KEEP_DAYS_FLOOR:
            raise ValueError(
                f"at least {KEEP_DAYS_FLOOR}: the directive wants every report of the last 12"
                f" months kept (got {value})"
            )
        return value

    @field_validator("run_at", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(
                f'expected HH:MM, e.g. 06:00, in quotes: run_at = "06:00" (got {value})'
            )
        if not _TIME_OF_DAY.fullmatch(value.strip()):
            raise ValueError(f"expected HH:MM, e.g. 06:00 (got {value!r})")
        return value.strip()
