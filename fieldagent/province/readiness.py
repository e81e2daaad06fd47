"""The province's readiness summary before a holiday: which stations inspected, and what is open.

Before each holiday the Department tells the Ministry which stations have
inspected their equipment and what is outstanding.  `gather` takes every
checklist report at hand (the retained ones on the broker, and the monitor's
archive), keeps each station's latest report finished on or after `since`,
and lists every expected station: one whose latest report is older, or who
never sent one, is "not reported" for this holiday.  Which reports count is
decided by `since` alone (`--since DATE`, by default 14 days before today):
stations run the pre-holiday checklist in the days before the holiday, inside
windows each station sets for itself, which the province does not know.

The renderers here are text (terminal), CSV (spreadsheets) and JSON (tools);
the printable Vietnamese document is `readiness_html.py`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fieldagent.checklist.render_text import Wording, printable
from fieldagent.checklist.report import ItemResult, Report, Status
from fieldagent.checklist.show import Lang
from fieldagent.inputfile import read_text
from fieldagent.tomlfile import loads

PROVINCE_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
"""Dates the Department writes (`--since`, the document's date) are Vietnam's."""

MAX_STATIONS_FILE = 1024 * 1024


@dataclass(frozen=True)
class OpenItem:
    """A failed or incomplete item, with the evidence its result rests on."""

    id: str
    title_vi: str
    title_en: str
    severity: str
    status: Status
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    station: str
    name: str
    report: Report | None
    """The latest report that counts for the holiday; None: not reported."""
    older: Report | None
    """The latest report before `since`, when that is all there is."""
    expected: bool
    """On the province's list (always, without one)."""

    @property
    def reported(self) -> bool:
        return self.report is not None

    @property
    def verdict(self) -> Status | None:
        return None if self.report is None else self.report.status

    def open_items(self, status: Status, lang: Lang = "vi") -> list[OpenItem]:
        """The items of the report with `status`, their evidence in `lang`."""
        if self.report is None:
            return []
        words = Wording.of(self.report, lang)
        return [_open(item, words) for item in self.report.items if item.status is status]


@dataclass(frozen=True)
class Readiness:
    holiday: str
    since: date
    made: datetime
    entries: list[Entry]

    def count(self) -> dict[str, int]:
        verdicts = [e.verdict for e in self.entries]
        return {
            "stations": len(self.entries),
            "reported": sum(1 for v in verdicts if v is not None),
            "not_reported": sum(1 for v in verdicts if v is None),
            "pass": verdicts.count(Status.PASS),
            "fail": verdicts.count(Status.FAIL),
            "incomplete": verdicts.count(Status.INCOMPLETE),
        }


def gather(
    reports: Iterable[Report],
    since: date,
    made: datetime,
    holiday: str,
    expected: list[str] | None = None,
    seen: Iterable[str] = (),
    names: dict[str, str] | None = None,
) -> Readiness:
    """Each station's latest report since `since` (province time); every station listed.

    Stations are those `expected` (the province's list) and, without one, every
    station seen on the broker or in a report; a report from a station not on
    the list is listed too (marked not expected), never dropped.
    """
    start = datetime.combine(since, datetime.min.time(), PROVINCE_ZONE)
    latest: dict[str, Report] = {}
    older: dict[str, Report] = {}
    for report in reports:
        station = report.station.id
        into = latest if report.finished >= start else older
        kept = into.get(station)
        if kept is None or (kept.finished, kept.id) < (report.finished, report.id):
            into[station] = report
    stations = list(expected) if expected is not None else sorted({*seen, *latest, *older})
    listed = set(stations)
    stations += sorted(s for s in latest if s not in listed)
    names = dict(names or {})
    for report in (*older.values(), *latest.values()):
        names.setdefault(report.station.id, report.station.name)
    entries = [
        Entry(
            station=s,
            name=names.get(s, ""),
            report=latest.get(s),
            older=None if s in latest else older.get(s),
            expected=expected is None or s in listed,
        )
        for s in stations
    ]
    return Readiness(holiday, since, made, entries)


def read_stations(path: Path) -> list[str]:
    """The province's list of stations: TOML (`stations = [...]` or `[[station]] id = ...`)
    or text (one id a line, `#` comments). ValueError naming the file and line at fault."""
    text = read_text(path, MAX_STATIONS_FILE)
    if path.suffix == ".toml":
        try:
            data = loads(text)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        found: list[Any] = data.get("stations") or [
            s.get("id") if isinstance(s, dict) else s for s in data.get("station") or []
        ]
        for n, station in enumerate(found):
            if not isinstance(station, str) or not station.strip():
                raise ValueError(f"{path}: stations[{n}]: a station id (text) is expected")
        ids = [s.strip() for s in found]
    else:
        ids = []
        for number, line in enumerate(text.splitlines(), start=1):
            station = line.split("#", 1)[0].strip()
            if not station:
                continue
            if any(c in station for c in " \t/+#"):
                raise ValueError(f"{path}: line {number}: {station!r} is not a station id")
            ids.append(station)
    if not ids:
        raise ValueError(f"{path}: no station listed")
    return list(dict.fromkeys(ids))


def _open(item: ItemResult, words: Wording) -> OpenItem:
    evidence: list[str] = []
    for check in item.checks:
        if check.status is not item.status:
            continue
        heading = words.check_heading(check)
        if heading:
            evidence.append(heading)
        evidence += [f"  {line}" for line in words.evidence(check)]
    if item.answer is not None and item.answer.note:
        evidence.append(item.answer.note)
    return OpenItem(
        item.id,
        item.title.vi,
        item.title.en,
        item.severity.value,
        item.status,
        tuple(printable(line) for line in evidence),
    )


def _local(ts: datetime) -> str:
    return f"{ts.astimezone(PROVINCE_ZONE):%Y-%m-%d %H:%M}"


def as_json(readiness: Readiness) -> dict[str, Any]:
    """The documented shape (docs/central.md, readiness --format json)."""

    def items(entry: Entry, status: Status) -> list[dict[str, Any]]:
        return [
            {
                "id": i.id,
                "title": {"vi": i.title_vi, "en": i.title_en},
                "severity": i.severity,
                "evidence": list(i.evidence),
            }
            for i in entry.open_items(status)
        ]

    return {
        "holiday": readiness.holiday,
        "since": readiness.since.isoformat(),
        "made": readiness.made.isoformat(),
        "counts": readiness.count(),
        "stations": [
            {
                "station": e.station,
                "name": e.name,
                "expected": e.expected,
                "reported": e.reported,
                "report_id": e.report.id if e.report else None,
                "finished": e.report.finished.isoformat() if e.report else None,
                "technician": e.report.technician if e.report else None,
                "trigger": e.report.trigger if e.report else None,
                "verdict": e.verdict.value if e.verdict else None,
                "failed": items(e, Status.FAIL),
                "incomplete": items(e, Status.INCOMPLETE),
                "older_report": (
                    {"id": e.older.id, "finished": e.older.finished.isoformat()}
                    if e.older
                    else None
                ),
            }
            for e in readiness.entries
        ],
    }


def render_json(readiness: Readiness) -> str:
    return json.dumps(as_json(readiness), ensure_ascii=False, indent=1) + "\n"


CSV_COLUMNS = (
    "station",
    "name",
    "reported",
    "finished",
    "technician",
    "verdict",
    "failed",
    "incomplete",
    "evidence",
    "report_id",
)


def render_csv(readiness: Readiness) -> str:
    """One row per station; items as `id` lists, their evidence in one cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in readiness.entries:
        failed, incomplete = e.open_items(Status.FAIL), e.open_items(Status.INCOMPLETE)
        evidence = " | ".join(
            f"{i.id}: {'; '.join(line.strip() for line in i.evidence)}"
            for i in failed + incomplete
            if i.evidence
        )
        writer.writerow(
            [
                e.station,
                _cell(e.name),
                "yes" if e.reported else "no",
                _local(e.report.finished) if e.report else "",
                _cell(e.report.technician or "") if e.report else "",
                e.verdict.value if e.verdict else "not reported",
                " ".join(i.id for i in failed),
                " ".join(i.id for i in incomplete),
                _cell(evidence),
                e.report.id if e.report else "",
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet must not take a device's or person's text for a formula, nor get
    control characters."""
    text = printable(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render_text(readiness: Readiness) -> str:
    counts = readiness.count()
    lines = [
        f"Readiness for {readiness.holiday}: reports since {readiness.since}"
        f" (made {_local(readiness.made)})",
        f"{counts['stations']} stations: {counts['reported']} reported"
        f" ({counts['pass']} pass, {counts['fail']} fail, {counts['incomplete']} incomplete),"
        f" {counts['not_reported']} not reported",
        "",
    ]
    for e in readiness.entries:
        if e.report is None:
            before = f" (latest {_local(e.older.finished)})" if e.older else ""
            lines.append(f"{e.station:<24} NOT REPORTED{before}")
            continue
        assert e.verdict is not None
        lines.append(
            f"{e.station:<24} {e.verdict.value.upper():<12} {_local(e.report.finished)}"
            f"  {printable(e.report.technician or '-')}"
        )
        for status in (Status.FAIL, Status.INCOMPLETE):
            for item in e.open_items(status, "en"):
                lines.append(f"    {status.value:<10} {item.id}: {printable(item.title_en)}")
                lines += [f"        {line}" for line in item.evidence]
    return "\n".join(lines) + "\n"
