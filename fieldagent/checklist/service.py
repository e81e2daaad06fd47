"""The checklist inside the daemon: history, schedule, MQTT command, hand-over, publishing.

The daemon runs the automatic items itself (its schedule inside holiday
windows, and `{root}/{station}/cmd/checklist`), and serves `checklist run`
through the desk: it polls, judges and answers, and later publishes what the
command archived.  One run at a time: a second request while one runs is
refused (MQTT) or waits its turn (the desk).  MQTT requests also wait out a
cooldown, and a flood of them gets few replies (`gate.py`); a retained one is
never seen here (the publisher drops it).  Every report the daemon makes is
archived before it is published, so the published one is the archived one,
and the archive is pruned after each report it gains.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fieldagent.alarms import Alarm
from fieldagent.checklist.archive import ArchiveError, ReportArchive
from fieldagent.checklist.desk import ChecklistDesk, Take
from fieldagent.checklist.evaluate import Observations
from fieldagent.checklist.gate import CommandGate
from fieldagent.checklist.history import CounterHistory, history_keys, samples_of
from fieldagent.checklist.report import Report, Trigger
from fieldagent.checklist.runner import (
    BACKLOG_AFTER,
    PollDevice,
    RunInfo,
    StationChecklist,
    automatic_report,
    compared,
    judge_with,
    new_report_id,
    poll_all,
    progress_line,
    station_figures,
)
from fieldagent.checklist.schedule import ScheduleLog, due, next_run
from fieldagent.model import PollResult, utc_now
from fieldagent.outbox import Draft
from fieldagent.outgoing import MessageBuilder
from fieldagent.state import storage_problem

log = logging.getLogger("fieldagent.checklist")

MAX_COMMAND_BYTES = 1024
MAX_REQUEST_ID = 64


@dataclass(frozen=True)
class AgentParts:
    """What the service uses of the agent."""

    poll: PollDevice
    """A real poll of one device (published and judged like any other)."""
    alarms: Callable[[], Sequence[Alarm]]
    outbox_waiting: Callable[[datetime], int]
    """Messages not delivered, older than the time given."""
    send: Callable[[Draft], None]
    publish_report: Callable[[Report, Take], bool]
    """A report `checklist run` left on the desk, numbered as `Take` removes it."""
    build: MessageBuilder


class CommandError(ValueError):
    """A `cmd/checklist` payload that cannot be taken; the message goes into the reply."""

    def __init__(self, message: str, next_allowed: datetime | None = None) -> None:
        super().__init__(message)
        self.next_allowed = next_allowed


class ChecklistService:
    """The checklist's part of the daemon: one run at a time, whatever started it."""

    def __init__(self, checklist: StationChecklist, parts: AgentParts) -> None:
        self._checklist = checklist
        self._parts = parts
        state_dir = checklist.config.agent.state_dir
        self._history = CounterHistory(state_dir)
        self._desk = ChecklistDesk(state_dir)
        self._archive = ReportArchive(state_dir)
        self._schedule = ScheduleLog(state_dir)
        self._gate = CommandGate(checklist.config.checklist.command_cooldown_s)
        self._keys = history_keys(checklist.items)
        self._timezone = ZoneInfo(checklist.config.station.timezone)
        self._running: asyncio.Task[None] | None = None
        self._running_id: str | None = None
        self._scheduled_day: date | None = None
        self._storage_error: str | None = None
        self._ran_day: date | None = None
        self._log_next_run()
        self._prune()  # reports `checklist run` archived while the daemon was down

    def replace(self, checklist: StationChecklist) -> None:
        """A reloaded station file: its items and devices from the next run on (a run in
        progress finishes with the ones it started with)."""
        self._checklist = checklist
        self._keys = history_keys(checklist.items)

    def _log_next_run(self) -> None:
        settings = self._checklist.config.checklist
        if not settings.holiday:
            return
        when = next_run(
            settings.holiday, settings.run_at, self._timezone, utc_now(), self._schedule.last_day()
        )
        if when is None:
            log.info("checklist: no holiday window ahead, no daily run planned")
        else:
            local = when.astimezone(self._timezone)
            log.info("checklist: next daily run %s", local.isoformat(timespec="minutes"))

    def observed(self, result: PollResult) -> None:
        """Every poll of the daemon feeds the counter history readiness items read."""
        keys = self._keys.get(result.device_id)
        if keys:
            with self._storage("record the counter history"):
                self._history.record(result.device_id, samples_of(result, keys))

    def tick(self) -> None:
        """Publish what the command left, start what is due (called every second)."""
        with self._storage("serve the checklist desk"):
            self._tick()

    @contextlib.contextmanager
    def _storage(self, what: str) -> Iterator[None]:
        """A failing disk must not stop polling: say it once, go on, try again next time."""
        try:
            yield
        except sqlite3.Error as exc:
            problem = storage_problem(self._checklist.config.agent.state_dir, exc)
            if problem != self._storage_error:
                log.error("checklist: cannot %s: %s", what, problem)
            self._storage_error = problem

    def _tick(self) -> None:
        if self._desk.publish_outgoing(self._parts.publish_report):
            self._prune()
        if self.busy:
            return
        request = self._desk.take_request(utc_now())
        if request is not None:
            self._start(request, "command-line")
            return
        settings = self._checklist.config.checklist
        if not settings.holiday:
            return
        scheduled = due(
            settings.holiday,
            settings.run_at,
            self._timezone,
            utc_now(),
            self._ran_day or self._schedule.last_day(),  # memory too: the disk may fail
        )
        if scheduled is not None:
            log.info("checklist: daily run of %s (%s)", scheduled.day, scheduled.window.name)
            self._scheduled_day = scheduled.day
            self._start(None, "schedule")

    @property
    def busy(self) -> bool:
        return self._running is not None and not self._running.done()

    def command(self, payload: bytes) -> None:
        """A `cmd/checklist` message: start a run of the automatic items, reply with its id."""
        request_id: str | None = None
        try:
            request_id = parse_command(payload)
            self._check_cooldown()  # first: its refusal says when to ask again
            if self.busy:
                raise CommandError(f"a checklist is already running (report {self._running_id})")
        except CommandError as exc:
            self._refuse(request_id, exc)
            return
        self._gate.started()
        report_id = self._start(None, "mqtt")
        self._parts.send(self._parts.build.checklist_reply(request_id, report_id))

    def _check_cooldown(self) -> None:
        wait_s = self._gate.wait_s()
        if wait_s > 0:
            cooldown = _duration(self._checklist.config.checklist.command_cooldown_s)
            # in whole seconds, rounded up: a request sent at that time is accepted
            when = (utc_now() + timedelta(seconds=wait_s + 1)).replace(microsecond=0)
            raise CommandError(
                f"one run on request per {cooldown}: the next is accepted from"
                f" {when:%Y-%m-%dT%H:%M:%SZ} (in {_duration(wait_s)})",
                next_allowed=when,
            )

    def _refuse(self, request_id: str | None, exc: CommandError) -> None:
        """Reply while the budget of replies lasts; past it, count (a flood must not fill the
        outbox and the log)."""
        if not self._gate.may_reply():
            if self._gate.unanswered == 1:
                log.warning("checklist: too many refused commands; refusing the next without reply")
            return
        unanswered = self._gate.take_unanswered()
        if unanswered:
            log.warning("checklist: %d command(s) were refused without a reply", unanswered)
        log.warning("checklist command refused: %s", exc)
        reply = self._parts.build.checklist_reply(request_id, None, str(exc), exc.next_allowed)
        self._parts.send(reply)

    def _start(self, request: str | None, trigger: Trigger) -> str:
        report_id = request or new_report_id(self._checklist.config.station.id, utc_now())
        self._running_id = report_id
        self._running = asyncio.get_running_loop().create_task(
            self._run(report_id, trigger, request is not None), name=f"checklist {report_id}"
        )
        return report_id

    async def _run(self, report_id: str, trigger: Trigger, for_command_line: bool) -> None:
        try:
            report = await self._automatic(report_id, trigger, for_command_line)
        except Exception as exc:  # a run must never take the daemon down
            log.exception("checklist %s failed", report_id)
            if for_command_line:
                with self._storage("answer the checklist command"):
                    self._desk.failed(report_id, repr(exc))
            self._scheduled_done(trigger, report_id)  # not again every second
            return
        if for_command_line:
            with self._storage("answer the checklist command"):
                self._desk.done(report)  # the command asks the manual items, archives, hands back
            return
        report = compared(report, self._archive.previous(report))
        try:
            path = self._archive.save(report)
        except ArchiveError as exc:
            log.error("checklist %s: %s; publishing it all the same", report_id, exc)
        else:
            log.info("checklist %s: %s, archived in %s", report_id, report.status, path)
        self._parts.send(self._parts.build.checklist_report(report))
        self._scheduled_done(trigger, report.id)  # once stored: a crash before runs it again
        self._prune()

    def _prune(self) -> None:
        """Delete the reports the station no longer keeps (never one of the last year's)."""
        settings = self._checklist.config.checklist
        self._archive.prune(utc_now(), settings.archive_keep_days, settings.archive_keep_count)

    def _scheduled_done(self, trigger: Trigger, report_id: str) -> None:
        if trigger == "schedule" and self._scheduled_day is not None:
            self._ran_day = self._scheduled_day
            with self._storage("record the scheduled run"):
                self._schedule.ran(self._scheduled_day, report_id)

    async def _automatic(self, report_id: str, trigger: Trigger, for_command_line: bool) -> Report:
        started = utc_now()
        progress = self._progress(report_id) if for_command_line else None
        results = await poll_all(self._checklist, self._parts.poll, progress)
        with self._storage("record the counter history"):
            self._history.record_polls(self._keys, results)
        figures = station_figures(
            results,
            self._parts.alarms(),
            self._parts.outbox_waiting(utc_now() - BACKLOG_AFTER),
            utc_now(),
        )
        return automatic_report(
            self._checklist,
            Observations(results, figures),
            judge_with(self._checklist, self._history),
            RunInfo(report_id, trigger, started, utc_now()),
        )

    def _progress(self, report_id: str) -> Callable[[int, int, PollResult], None]:
        def report(done: int, total: int, result: PollResult) -> None:
            self._desk.progress(report_id, progress_line(done, total, result))

        return report

    async def stop(self) -> None:
        if self._running is not None:
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)
        self._history.close()
        self._desk.close()
        self._schedule.close()


def _duration(seconds: float) -> str:
    """10 min, 9 min 40 s, 45 s: how a refusal says how long to wait."""
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def parse_command(payload: bytes) -> str | None:
    """The request id of a `cmd/checklist` payload: empty, or {"request_id": "..."}."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"the request is {len(payload)} bytes; at most {MAX_COMMAND_BYTES}")
    if not payload.strip():
        return None
    try:
        request = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"the request is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise CommandError('the request must be a JSON object: {"request_id": "..."}')
    unknown = sorted(set(request) - {"request_id"})
    if unknown:
        raise CommandError(f"unknown key {unknown[0]!r} (known: request_id)")
    request_id = request.get("request_id")
    if request_id is None:
        return None
    if (
        not isinstance(request_id, str)
        or not 0 < len(request_id) <= MAX_REQUEST_ID
        or not request_id.isprintable()
    ):
        raise CommandError(f"request_id must be printable text of 1 to {MAX_REQUEST_ID} characters")
    return request_id
