"""`fieldagent checklist run`: the technician's whole inspection in one command.

Polls every device fresh (through the running agent when there is one),
judges the automatic items, asks the manual ones (on a terminal, or from
`--confirm`), compares with the previous report, archives the report,
leaves it for the agent to publish, and prints or writes it.  The exit code
tells a script the verdict: 0 everything passed, 1 something failed, 2 the
inspection is incomplete (an unanswered manual item, an unreachable device).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from fieldagent.alarms.snapshot import snapshot_alarms
from fieldagent.checklist.archive import ReportArchive
from fieldagent.checklist.definition import ItemKind
from fieldagent.checklist.desk import ChecklistDesk
from fieldagent.checklist.evaluate import Observations
from fieldagent.checklist.history import CounterHistory, history_keys
from fieldagent.checklist.render_html import report_html
from fieldagent.checklist.render_text import Wording, number, report_text
from fieldagent.checklist.report import Answer, Report, Status
from fieldagent.checklist.runner import (
    BACKLOG_AFTER,
    Progress,
    RunInfo,
    StationChecklist,
    attestable,
    automatic_report,
    compared,
    history_age,
    judge_with,
    new_report_id,
    poll_all,
    progress_line,
    station_figures,
    with_answers,
)
from fieldagent.checklist.show import Lang
from fieldagent.model import PollResult, utc_now
from fieldagent.outputfile import OutputFileError, refusal, write_output
from fieldagent.state import StateDirBusy, StateDirLock, check_state_db

EXIT_PASSED, EXIT_FAILED, EXIT_INCOMPLETE = 0, 1, 2
EXIT_USAGE = 64  # sysexits EX_USAGE: 2 already means "incomplete"
EXIT_CODES = {
    Status.PASS: EXIT_PASSED,
    Status.FAIL: EXIT_FAILED,
    Status.INCOMPLETE: EXIT_INCOMPLETE,
}


class UsageError(Exception):
    """A command line that cannot be run as given (exit 64)."""


@dataclass(frozen=True)
class RunOptions:
    technician: str | None
    confirm: Mapping[str, str]
    """Manual item id -> note."""
    lang: Lang
    output_format: str
    output: Path | None
    replace_output: bool = False
    """--force: an existing --output file may be replaced (never through a link)."""


def parse_confirmations(values: Sequence[str], checklist: StationChecklist) -> dict[str, str]:
    """`ITEM[=NOTE]` arguments, checked against the station's manual and readiness items.

    A readiness item's confirmation is an attestation, used only if the
    history turns out too young to judge the item (`runner.attestable`).
    """
    manual = [s.item.id for s in checklist.items if s.item.kind is ItemKind.MANUAL]
    readiness = [s.item.id for s in checklist.items if s.item.kind is ItemKind.READINESS]
    confirmations: dict[str, str] = {}
    for value in values:
        item_id, _, note = value.partition("=")
        if item_id not in manual + readiness:
            raise UsageError(
                f"--confirm {value!r}: {item_id!r} is not a manual or readiness item of this"
                f" station (manual items: {', '.join(manual) or 'none'};"
                f" readiness items: {', '.join(readiness) or 'none'})"
            )
        confirmations[item_id] = note.strip()
    return confirmations


def run_checklist(checklist: StationChecklist, options: RunOptions) -> int:
    if options.confirm and not options.technician:
        raise UsageError("--confirm needs --technician NAME: the report says who confirmed")
    if options.output is not None:
        problem = refusal(options.output, options.replace_output)
        if problem is not None:
            raise UsageError(f"--output {problem}")
    state_dir = checklist.config.agent.state_dir
    check_state_db(state_dir)  # a damaged state.db: one clear line, before any poll
    started = utc_now()
    report_id = new_report_id(checklist.config.station.id, started)
    progress = _Progress(sys.stderr)
    report = asyncio.run(_automatic(checklist, report_id, progress))
    progress.end()
    _say_unused(report, options.confirm)
    technician = options.technician
    answers = {
        item_id: Answer(confirmed=True, technician=technician or "", note=note, ts=utc_now())
        for item_id, note in options.confirm.items()
    }
    if sys.stdin.isatty() and sys.stdout.isatty():
        technician, answers = _ask(report, technician, answers, options.lang)
    report = with_answers(report, technician, answers)
    archive = ReportArchive(state_dir)
    report = compared(report, archive.previous(report))
    path = archive.save(report)
    desk = ChecklistDesk(state_dir)
    try:
        desk.hand_over(report)
    finally:
        desk.close()
    try:
        _write(report, options)
    except OutputFileError as exc:
        print(f"error: --output {exc}; the report is archived as {path}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{_verdict(report, options.lang)}  ({path})", file=sys.stderr)
    return EXIT_CODES[report.status]


async def _automatic(checklist: StationChecklist, report_id: str, progress: _Progress) -> Report:
    """The automatic part, by this process or, if one runs, by the agent."""
    state_dir = checklist.config.agent.state_dir
    lock = StateDirLock(state_dir)
    try:
        lock.acquire()
    except StateDirBusy:
        desk = ChecklistDesk(state_dir)
        try:
            progress.say("the agent is running: it polls the devices for the checklist")
            desk.request(report_id, utc_now())
            return await desk.answer(report_id, _timeout(checklist), progress.say)
        finally:
            desk.close()
    try:
        return await run_here(checklist, report_id, progress.polled)
    finally:
        lock.release()


def _timeout(checklist: StationChecklist) -> float:
    """Long enough for every device's retries, polled one after another in the worst case."""
    return 30.0 + sum(d.timeout * (d.retries + 1) for d in checklist.config.device)


async def run_here(checklist: StationChecklist, report_id: str, progress: Progress) -> Report:
    """Poll and judge in this process: no agent runs on the state directory."""
    from fieldagent.outbox import Outbox
    from fieldagent.poller import Poller
    from fieldagent.transports.local import LocalReader
    from fieldagent.transports.serialport import SerialLines
    from fieldagent.transports.snmp import SnmpClient

    config = checklist.config
    started = utc_now()
    client, serial = SnmpClient(), SerialLines()
    try:
        poller = Poller(client, LocalReader(state_dir=config.agent.state_dir), serial)
        results = await poll_all(checklist, poller.poll, progress)
    finally:
        client.close()
        serial.close()
    alarms = [
        alarm
        for device_id, result in results.items()
        if result.answered
        for alarm in snapshot_alarms(
            config.station.id, device_id, checklist.drivers[device_id], result
        )
    ]
    outbox = Outbox.of_station(config)
    try:
        waiting = outbox.waiting_since(utc_now() - BACKLOG_AFTER)
    finally:
        outbox.close()
    history = CounterHistory(config.agent.state_dir)
    try:
        history.record_polls(history_keys(checklist.items), results)
        seen = Observations(results, station_figures(results, alarms, waiting, utc_now()))
        return automatic_report(
            checklist,
            seen,
            judge_with(checklist, history),
            RunInfo(report_id, "command-line", started, utc_now()),
        )
    finally:
        history.close()


def _say_unused(report: Report, confirmations: Mapping[str, str]) -> None:
    """Tell which readiness confirmations the history made needless (or could not help)."""
    for item in report.items:
        if item.kind is ItemKind.READINESS and item.id in confirmations and not attestable(item):
            print(
                f"--confirm {item.id}: not used: the item is judged on its readings"
                f" ({item.status}), an attestation is only for a history too young to judge it",
                file=sys.stderr,
            )


_ASK = {
    "vi": {
        "technician": "Họ tên người kiểm tra: ",
        "question": "Đã thực hiện? [c]ó / [k]hông / [b]ỏ qua: ",
        "note": "Ghi chú (Enter để bỏ trống): ",
        "history": "Số liệu agent lưu mới từ {since} ({days} / {window} ngày): chưa đo được.",
        "attest": "Đã thực hiện trong {window} ngày qua? [c]ó / [k]hông / [b]ỏ qua: ",
        "yes": "c",
        "no": "k",
    },
    "en": {
        "technician": "Technician's name: ",
        "question": "Done? [y]es / [n]o / [s]kip: ",
        "note": "Note (Enter for none): ",
        "history": "The agent's history starts {since} ({days} of {window} days): too young.",
        "attest": "Done within the last {window} days? [y]es / [n]o / [s]kip: ",
        "yes": "y",
        "no": "n",
    },
}


def _ask(
    report: Report, technician: str | None, answers: dict[str, Answer], lang: Lang
) -> tuple[str | None, dict[str, Answer]]:
    """Ask, on the terminal, every manual item not answered by --confirm, then every
    readiness item the history is too young to judge (an attestation)."""
    words = _ASK[lang]
    while not technician:
        technician = input(words["technician"]).strip()
    answers = {k: a.model_copy(update={"technician": technician}) for k, a in answers.items()}
    manual = [i for i in report.items if i.kind is ItemKind.MANUAL]
    for item in manual + [i for i in report.items if attestable(i)]:
        if item.id in answers:
            continue
        print(f"\n{item.id}: {getattr(item.title, lang)}\n  {getattr(item.hint, lang)}")
        question = words["question"]
        if item.kind is ItemKind.READINESS:
            since, days = history_age(item, report.finished)
            window = item.within_days
            moment = Wording.of(report, lang).moment(since)  # station time, as the report
            print(f"  {words['history'].format(since=moment, days=number(days), window=window)}")
            question = words["attest"].format(window=window)
        reply = input(question).strip().lower()[:1]
        if reply not in (words["yes"], words["no"]):
            continue
        note = input(words["note"]).strip()
        answers[item.id] = Answer(
            confirmed=reply == words["yes"], technician=technician, note=note, ts=utc_now()
        )
    return technician, answers


def _write(report: Report, options: RunOptions) -> None:
    renderers: dict[str, Callable[[Report, Lang], str]] = {
        "text": report_text,
        "html": report_html,
        "json": lambda r, _lang: r.model_dump_json(indent=2),
    }
    document = renderers[options.output_format](report, options.lang)
    if options.output is None:
        print(document)
        return
    write_output(options.output, f"{document}\n".encode(), options.replace_output)


_VERDICT = {
    "vi": {
        Status.PASS: "ĐẠT: mọi mục đều đạt",
        Status.FAIL: "KHÔNG ĐẠT: có mục không đạt",
        Status.INCOMPLETE: "CHƯA ĐỦ: có mục chưa kiểm tra được",
    },
    "en": {
        Status.PASS: "PASSED: every item passed",
        Status.FAIL: "FAILED: some items failed",
        Status.INCOMPLETE: "INCOMPLETE: some items could not be checked",
    },
}


def _verdict(report: Report, lang: Lang) -> str:
    return f"{report.id}: {_VERDICT[lang][report.status]}"


class _Progress:
    """One line, rewritten, on a terminal; nothing when the output is a file or a pipe."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()

    def polled(self, done: int, total: int, result: PollResult) -> None:
        self.say(progress_line(done, total, result))

    def say(self, text: str) -> None:
        if self._live and text:
            self._stream.write(f"\r\033[K{text}")
            self._stream.flush()

    def end(self) -> None:
        if self._live:
            self._stream.write("\r\033[K")
            self._stream.flush()
