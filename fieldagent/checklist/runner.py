"""One checklist run, in the steps every way of starting it shares.

1. `poll_all`: poll every device fresh, reporting progress as each answers;
2. `automatic_report`: judge the automatic, readiness and line-up items on
   those readings (manual items stay `incomplete`, reason `not_run`);
3. `with_answers`: the technician's answers to the manual items;
4. `compared`: what changed since the previous report of the same checklists.

The daemon runs steps 1-2 (and 4) for its schedule and the MQTT command; the
`checklist run` command runs them all, steps 1-2 through the daemon when one
is running (it owns the serial lines and the alarm state).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fieldagent import __version__
from fieldagent.alarms import Alarm
from fieldagent.alarms.rules import RuleBook
from fieldagent.checklist.definition import ItemKind
from fieldagent.checklist.evaluate import Judge, Observations, judge_item, result_of
from fieldagent.checklist.history import CounterHistory
from fieldagent.checklist.report import (
    ID_TIME_FORMAT,
    Answer,
    Attestation,
    Change,
    Check,
    Comparison,
    DeviceOutcome,
    ItemResult,
    Reason,
    Report,
    StationInfo,
    Status,
    Trigger,
    summarize,
)
from fieldagent.checklist.resolve import StationChecklist as StationChecklist
from fieldagent.checklist.resolve import StationItem
from fieldagent.config import DeviceSection
from fieldagent.driver import Driver
from fieldagent.model import HealthState, PollResult, Quality, Reading, utc_now

PollDevice = Callable[[DeviceSection, Driver], Awaitable[PollResult]]
Progress = Callable[[int, int, PollResult], None]
"""(devices done, devices in all, the poll just done)."""

STATION_UNITS = {"station.outbox.waiting": "messages"}
BACKLOG_AFTER = timedelta(minutes=1)
"""station.outbox.waiting counts messages older than this: a backlog, not those in flight."""


def new_report_id(station: str, started: datetime) -> str:
    """Unique and in time order: STATION-YYYYMMDDTHHMMSSZ-xxxx."""
    return f"{station}-{started:{ID_TIME_FORMAT}}-{secrets.token_hex(2)}"


async def poll_all(
    checklist: StationChecklist, poll: PollDevice, progress: Progress | None = None
) -> dict[str, PollResult]:
    """Every device polled at once; results in station-file order."""
    devices = checklist.config.device

    async def one(device: DeviceSection) -> PollResult:
        return await poll(device, checklist.drivers[device.id])

    results: dict[str, PollResult] = {}
    for done, finished in enumerate(asyncio.as_completed([one(d) for d in devices]), 1):
        result = await finished
        results[result.device_id] = result
        if progress is not None:
            progress(done, len(devices), result)
    return {d.id: results[d.id] for d in devices}


def progress_line(done: int, total: int, result: PollResult) -> str:
    """What a technician sees while the devices are polled: `polling 4/11: ups-main ok`."""
    state = "ok" if result.answered else f"no answer ({result.error})"
    return f"polling {done}/{total}: {result.device_id} {state}"


def judge_with(checklist: StationChecklist, history: CounterHistory) -> Judge:
    """What this run's checks compare against, besides the readings."""
    config = checklist.config
    return Judge(
        rules=RuleBook(config, checklist.drivers),
        nominal=config.checklist.nominal,
        lineup=list(config.checklist.lineup),
        history=history.window,
        now=utc_now(),
    )


def station_figures(
    results: Mapping[str, PollResult],
    alarms: Sequence[Alarm],
    outbox_waiting: int | None,
    ts: datetime,
) -> dict[str, Reading]:
    """The station.* figures station items read, as readings (their evidence)."""

    def figure(key: str, value: int | None, detail: str = "") -> Reading:
        quality = Quality.OK if value is not None else Quality.MISSING
        return Reading(key, value, STATION_UNITS.get(key, ""), quality, ts, detail)

    def named(level: HealthState) -> Reading:
        ids = sorted(a.alarm_id for a in alarms if a.severity is level)
        return figure(f"station.alarms.{level.value}", len(ids), ", ".join(ids))

    unreachable = [device for device, result in results.items() if not result.answered]
    return {
        "station.alarms.critical": named(HealthState.CRITICAL),
        "station.alarms.warning": named(HealthState.WARNING),
        "station.devices.unreachable": figure(
            "station.devices.unreachable", len(unreachable), ", ".join(unreachable)
        ),
        "station.outbox.waiting": figure(
            "station.outbox.waiting",
            outbox_waiting,
            "" if outbox_waiting is not None else "the outbox could not be read",
        ),
    }


@dataclass(frozen=True)
class RunInfo:
    report_id: str
    trigger: Trigger
    started: datetime
    finished: datetime


def automatic_report(
    checklist: StationChecklist, seen: Observations, judge: Judge, run: RunInfo
) -> Report:
    """The report of a run of the automatic items; manual ones are left `not_run`."""
    config = checklist.config
    items = [
        _not_run(item) if item.item.kind is ItemKind.MANUAL else judge_item(item, seen, judge)
        for item in checklist.items
    ]
    return Report(
        id=run.report_id,
        station=StationInfo(
            id=config.station.id, name=config.station.name, timezone=config.station.timezone
        ),
        templates=checklist.templates,
        titles=checklist.titles,
        trigger=run.trigger,
        automatic_only=True,
        started=run.started,
        finished=run.finished,
        agent_version=__version__,
        hostname=socket.gethostname(),
        devices=[
            DeviceOutcome(
                id=device.id,
                name=device.display_name,
                kind=checklist.drivers[device.id].kind,
                driver=checklist.drivers[device.id].name,
                answered=seen.results[device.id].answered,
                polled=seen.results[device.id].ts,
                error=seen.results[device.id].error,
            )
            for device in config.device
        ],
        items=items,
        summary=summarize(items),
    )


def _not_run(item: StationItem) -> ItemResult:
    check = Check(device=None, status=Status.INCOMPLETE, reason=Reason.NOT_RUN)
    return result_of(item, Status.INCOMPLETE, [check])


def with_answers(report: Report, technician: str | None, answers: Mapping[str, Answer]) -> Report:
    """The report with the technician's answers: yes passes, no fails, none is incomplete.

    Manual items take an answer; so do readiness items the history is too young
    to judge (`attestable`), as an attestation.  Any other item keeps its result.
    """
    items = [_with_answer(item, answers, report.finished) for item in report.items]
    return report.model_copy(
        update={
            "items": items,
            "summary": summarize(items),
            "technician": technician,
            "automatic_only": False,
        }
    )


def _with_answer(item: ItemResult, answers: Mapping[str, Answer], judged: datetime) -> ItemResult:
    if item.kind is ItemKind.MANUAL:
        return _answered(item, answers.get(item.id))
    if item.id in answers and attestable(item):
        return _attested(item, answers[item.id], judged)
    return item


def _answered(item: ItemResult, answer: Answer | None) -> ItemResult:
    reason: Reason | None = None
    if answer is None:
        status, reason = Status.INCOMPLETE, Reason.NOT_ANSWERED
    elif answer.confirmed:
        status = Status.PASS
    else:
        status, reason = Status.FAIL, Reason.DECLINED
    check = Check(device=None, status=status, reason=reason)
    return item.model_copy(update={"status": status, "checks": [check], "answer": answer})


def attestable(item: ItemResult) -> bool:
    """A readiness item that only a history younger than its window keeps from passing."""
    return (
        item.kind is ItemKind.READINESS
        and item.status is Status.INCOMPLETE
        and all(c.status is Status.PASS or c.reason is Reason.HISTORY_SHORT for c in item.checks)
    )


def history_age(item: ItemResult, judged: datetime) -> tuple[datetime, float]:
    """Where the youngest history that kept an attestable item from being judged starts,
    and how many days it covered when judged (one decimal)."""
    since = max(
        history.since
        for check in item.checks
        if check.reason is Reason.HISTORY_SHORT
        for history in check.history
        if not history.covers_window
    )
    return since, round(max(0.0, (judged - since) / timedelta(days=1)), 1)


def _attested(item: ItemResult, answer: Answer, judged: datetime) -> ItemResult:
    since, days = history_age(item, judged)
    attestation = Attestation(**answer.model_dump(), history_since=since, history_days=days)
    status = Status.PASS if answer.confirmed else Status.FAIL
    return item.model_copy(update={"status": status, "attestation": attestation})


def compared(report: Report, previous: Report | None) -> Report:
    """The report with what got better and worse since `previous`."""
    if previous is None:
        return report
    before = {item.id: item.status for item in previous.items}
    now = {item.id: item.status for item in report.items}
    changes = [
        Change(item=item_id, before=before[item_id], after=status)
        for item_id, status in now.items()
        if item_id in before and _ranked(before[item_id], status) and before[item_id] != status
    ]
    comparison = Comparison(
        previous=previous.id,
        previous_finished=previous.finished,
        better=[c for c in changes if c.after.rank < c.before.rank],
        worse=[c for c in changes if c.after.rank > c.before.rank],
        added=[item_id for item_id in now if item_id not in before],
        removed=[item_id for item_id in before if item_id not in now],
    )
    return report.model_copy(update={"comparison": comparison})


def _ranked(before: Status, after: Status) -> bool:
    return Status.NOT_APPLICABLE not in (before, after)
