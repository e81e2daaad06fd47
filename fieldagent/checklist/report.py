"""A checklist report: every item's result with its evidence, as archived and published.

The report is the record the province keeps instead of the paper inspection
record, so it carries everything needed to judge it later without the station:
the readings each result rests on (value, quality, time), the limits and
nominal values compared against, the history a readiness item used, the
line-up differences, and the technician's answers.  It is plain data (a
pydantic model); renderers turn it into text or HTML, the archive stores it
as JSON, and the outbox publishes the same JSON.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldagent.checklist.definition import Category, ItemKind, Severity, Text
from fieldagent.model import Reading

REPORT_FORMAT = 1

ID_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
"""A report id is STATION-{start, UTC, in this format}-xxxx: ids sort in time order, and the
archive dates a file by its name."""

JsonValue = float | int | str | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Status(StrEnum):
    """An item's (or one check's) result, from best to worst for comparisons."""

    PASS = "pass"
    INCOMPLETE = "incomplete"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"
    """The station has no device of the item's kind; for one check, its table row is not in use."""

    @property
    def rank(self) -> int:
        """pass < incomplete < fail; n/a is not ranked (-1)."""
        return _RANK[self]


_RANK = {Status.NOT_APPLICABLE: -1, Status.PASS: 0, Status.INCOMPLETE: 1, Status.FAIL: 2}


class Reason(StrEnum):
    """Why a check is not a plain pass or fail; renderers say it in the report's language."""

    UNREACHABLE = "unreachable"
    """The device did not answer the fresh poll."""
    NO_READING = "no_reading"
    """A reading the condition needs is bad, missing or invalid."""
    NO_ROWS = "no_rows"
    """A table the condition reads has no rows."""
    HISTORY_SHORT = "history_short"
    """The counter did not grow enough, but the history does not cover the whole window."""
    NOT_ANSWERED = "not_answered"
    """A manual item nobody confirmed."""
    DECLINED = "declined"
    """The technician answered no."""
    NOT_RUN = "not_run"
    """A manual item in a run of automatic items only (schedule, MQTT command)."""
    CANNOT_EVALUATE = "cannot_evaluate"
    """The values do not fit the condition (text where a number is needed)."""
    LINEUP_DIFFERS = "lineup_differs"
    NOT_IN_USE = "not_in_use"
    """The device says this table row is not in use (an unconfigured channel): not judged."""


class ReadingUsed(_Model):
    """A reading a check used, as the device gave it."""

    key: str = Field(description="Metric key, with its row for a table: ird.locked[input=2].")
    value: JsonValue
    unit: str = ""
    quality: str = Field(description="ok, bad, missing or invalid.")
    ts: datetime | None = Field(description="When it was read (UTC).")
    detail: str | None = None

    @classmethod
    def of(cls, reading: Reading, key: str | None = None) -> ReadingUsed:
        """The evidence of a reading; `key` renames it (device:key across devices)."""
        return cls(
            key=key or reading.key,
            value=reading.value,
            unit=reading.unit,
            quality=reading.quality.value,
            ts=reading.ts,
            detail=reading.detail or None,
        )


LimitFunction = Literal["warn_high", "warn_low", "crit_high", "crit_low"]


class LimitUsed(_Model):
    function: LimitFunction
    key: str
    value: float


class HistoryUsed(_Model):
    """How much a counter grew in the item's window, from the stored samples."""

    key: str
    increase: float
    since: datetime = Field(description="The first sample the increase counts from.")
    until: datetime
    samples: int = Field(ge=1)
    covers_window: bool = Field(
        description="False when the history starts inside the window (a young agent)."
    )
    resets: int = Field(default=0, ge=0, description="Times the counter went back (a reset).")


class LineupDifference(_Model):
    """Services on the devices against the licensed line-up."""

    expected: list[str]
    found: list[str]
    missing: list[str] = Field(description="Licensed, not carried.")
    extra: list[str] = Field(description="Carried, not licensed.")


class Check(_Model):
    """One evaluation of an item: one device, or one row of a device's table."""

    device: str | None = Field(description="Device id; None for the station's own figures.")
    row: str | None = Field(default=None, description="Table row, as in the key: input=2.")
    status: Status
    reason: Reason | None = None
    detail: str = Field(default="", description="What the reason is about (a key, an error).")
    evaluated: str | None = Field(
        default=None, description="The condition with the values put in: abs(1850 - 2000) <= 200."
    )
    readings: list[ReadingUsed] = Field(default_factory=list)
    limits: list[LimitUsed] = Field(default_factory=list)
    nominals: dict[str, float] = Field(default_factory=dict)
    history: list[HistoryUsed] = Field(default_factory=list)
    lineup: LineupDifference | None = None


class Answer(_Model):
    """A technician's answer to a manual item."""

    confirmed: bool
    technician: str
    note: str = ""
    ts: datetime


class Attestation(Answer):
    """The technician's word for a readiness item the agent's history is too young to judge.

    A counter's growth can be measured only over history the agent has: on a
    box installed a week before a holiday, a 30-day item could never pass.
    The technician may then say it was done (`confirmed`: the item passes,
    attested, not measured) or not done (it fails); the item's checks keep
    what was measured.
    """

    history_since: datetime = Field(
        description="Where the agent's history of the item's counters starts (the youngest,"
        " when several): the measurement could not reach back over the window."
    )
    history_days: float = Field(
        ge=0, description="Days the history covered when the item was judged, of within_days."
    )


class ItemResult(_Model):
    id: str
    category: Category
    kind: ItemKind
    severity: Severity
    title: Text
    hint: Text
    directive: list[int] = Field(default_factory=list)
    condition: str | None = None
    within_days: int | None = None
    source: str = Field(description="The checklist file (or station file) the item comes from.")
    status: Status
    checks: list[Check] = Field(default_factory=list)
    answer: Answer | None = Field(default=None, description="A manual item's answer.")
    attestation: Attestation | None = Field(
        default=None,
        description="A readiness item judged on the technician's word, its history being too"
        " young: a pass that rests on it is attested, not measured.",
    )

    @property
    def attested(self) -> bool:
        """Passed on the technician's word rather than on a measurement."""
        return self.attestation is not None and self.attestation.confirmed


class Summary(_Model):
    total: int
    passed: int
    attested: int = Field(
        default=0, description="Of the passed items, those passed on the technician's word."
    )
    failed: int
    incomplete: int
    not_applicable: int
    failed_critical: int = Field(description="Failed items of severity critical.")


class Change(_Model):
    item: str
    before: Status
    after: Status


class Comparison(_Model):
    """What changed since the previous report of the same checklists."""

    previous: str = Field(description="The previous report's id.")
    previous_finished: datetime
    better: list[Change] = Field(default_factory=list)
    worse: list[Change] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list, description="Items the previous run lacked.")
    removed: list[str] = Field(default_factory=list, description="Items gone since.")


class StationInfo(_Model):
    id: str
    name: str
    timezone: str


class DeviceOutcome(_Model):
    """How the fresh poll of one device went."""

    id: str
    name: str
    kind: str
    driver: str
    answered: bool
    polled: datetime
    error: str | None = None


Trigger = Literal["command-line", "schedule", "mqtt"]


class Report(_Model):
    format: int = REPORT_FORMAT
    id: str = Field(description="Unique per station: STATION-YYYYMMDDTHHMMSSZ-XXXX.")
    station: StationInfo
    templates: list[str]
    titles: list[Text] = Field(
        default_factory=list, description="The checklists' titles, in the order of templates."
    )
    trigger: Trigger
    automatic_only: bool = Field(description="Manual items were not asked (schedule, MQTT).")
    technician: str | None = None
    started: datetime
    finished: datetime
    agent_version: str
    hostname: str
    devices: list[DeviceOutcome]
    items: list[ItemResult]
    summary: Summary
    comparison: Comparison | None = None

    def checklists(self, lang: Literal["vi", "en"]) -> str:
        """The checklists by title when known: "Kiểm tra … (pre-holiday)"."""
        if len(self.titles) != len(self.templates):
            return ", ".join(self.templates)
        return ", ".join(
            f"{getattr(t, lang)} ({name})"
            for t, name in zip(self.titles, self.templates, strict=True)
        )

    @property
    def status(self) -> Status:
        """fail if any item failed, else incomplete if any is, else pass."""
        return overall([item.status for item in self.items])


def overall(statuses: list[Status]) -> Status:
    """The worst of the statuses that count (n/a does not); pass when none count."""
    ranked = [s for s in statuses if s is not Status.NOT_APPLICABLE]
    return max(ranked, key=lambda s: s.rank, default=Status.PASS)


def summarize(items: list[ItemResult]) -> Summary:
    def count(status: Status) -> int:
        return sum(1 for item in items if item.status is status)

    return Summary(
        total=len(items),
        passed=count(Status.PASS),
        attested=sum(1 for item in items if item.attested),
        failed=count(Status.FAIL),
        incomplete=count(Status.INCOMPLETE),
        not_applicable=count(Status.NOT_APPLICABLE),
        failed_critical=sum(
            1 for item in items if item.status is Status.FAIL and item.severity is Severity.CRITICAL
        ),
    )
