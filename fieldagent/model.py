"""The few value types every part of the agent speaks: readings, qualities, states.

They are plain frozen dataclasses so that drivers, the health evaluator and the
publisher can pass them around without knowing about each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

Value = float | int | str | bool | None


class Quality(enum.StrEnum):
    """How far a reading can be trusted.

    `bad`: no answer (the transport failed).  `missing`: the device has no such
    value (noSuchObject / noSuchInstance / endOfMibView, a NULL or sentinel, a
    known "no estimate" quirk).  `invalid`: it answered something of the wrong
    type or outside the value's declared range.
    """

    OK = "ok"
    BAD = "bad"
    MISSING = "missing"
    INVALID = "invalid"


class HealthState(enum.StrEnum):
    """A device's (or the station's) overall state, ordered by how bad it is."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNREACHABLE = "unreachable"

    @property
    def rank(self) -> int:
        return _HEALTH_RANK[self]

    @classmethod
    def worst(cls, states: list[HealthState]) -> HealthState:
        return max(states, key=lambda s: s.rank, default=cls.OK)


_HEALTH_RANK = {
    HealthState.OK: 0,
    HealthState.WARNING: 1,
    HealthState.CRITICAL: 2,
    HealthState.UNREACHABLE: 3,
}


def utc_now() -> datetime:
    """The one clock the agent stamps readings with (UTC, timezone-aware)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reading:
    """One metric of one device at one instant, in engineering units.

    `in_use` is False for a reading of a table row the device says is not in use
    (an unconfigured channel, a disabled input: `Driver.rows_in_use`): it is still
    published, but health, alarms and checklist checks leave it out.
    """

    key: str
    value: Value
    unit: str
    quality: Quality
    ts: datetime
    detail: str = ""
    in_use: bool = True


@dataclass(frozen=True)
class PollResult:
    """Everything one poll of one device produced.

    `error` is set when the device could not be read at all; the readings are
    then all of quality `bad`, so the data gap is explicit rather than silent.
    """

    device_id: str
    ts: datetime
    readings: tuple[Reading, ...]
    error: str | None = None
    duration_s: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.error is None
