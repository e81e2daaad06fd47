"""A checklist report as the technician reads it in the terminal, and the words every renderer uses.

The words (statuses, reasons, categories, labels) live here once, so the
terminal text and the printed record (`render_html`) say the same thing in the
same language.  `Wording` turns a report's evidence into sentences in the
station's time zone; both renderers lay those sentences out their own way.

Everything a report holds may come from a device or a person (values, notes,
names): `printable` makes it harmless to show, so a note cannot clear the
terminal or break the printed page.
"""

from __future__ import annotations

import json
import math
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldagent.checklist.definition import Category, Severity
from fieldagent.checklist.report import (
    Answer,
    Change,
    Check,
    Comparison,
    HistoryUsed,
    ItemResult,
    JsonValue,
    LineupDifference,
    ReadingUsed,
    Reason,
    Report,
    Status,
    Summary,
    Trigger,
)
from fieldagent.checklist.show import Lang

WIDTH = 80
"""Columns of the terminal text: it fits the narrowest terminal a technician has."""

STATUS_WORDS: dict[Lang, dict[Status, str]] = {
    "vi": {
        Status.PASS: "ĐẠT",
        Status.FAIL: "KHÔNG ĐẠT",
        Status.INCOMPLETE: "CHƯA ĐỦ CĂN CỨ",
        Status.NOT_APPLICABLE: "KHÔNG ÁP DỤNG",
    },
    "en": {
        Status.PASS: "PASS",
        Status.FAIL: "FAIL",
        Status.INCOMPLETE: "INCOMPLETE",
        Status.NOT_APPLICABLE: "N/A",
    },
}

REASON_WORDS: dict[Lang, dict[Reason, str]] = {
    "vi": {
        Reason.UNREACHABLE: "thiết bị không trả lời",
        Reason.NO_READING: "không có số đo hợp lệ",
        Reason.NO_ROWS: "bảng số liệu không có dòng nào",
        Reason.HISTORY_SHORT: "số liệu lưu lại chưa phủ hết khoảng thời gian xét",
        Reason.NOT_ANSWERED: "chưa có người xác nhận",
        Reason.DECLINED: "người kiểm tra trả lời KHÔNG",
        Reason.NOT_RUN: "mục thủ công, không hỏi trong lần chạy tự động",
        Reason.CANNOT_EVALUATE: "số đo không dùng được cho điều kiện",
        Reason.LINEUP_DIFFERS: "kênh không khớp danh mục được cấp phép",
        Reason.NOT_IN_USE: "thiết bị báo dòng này không sử dụng",
    },
    "en": {
        Reason.UNREACHABLE: "the device did not answer",
        Reason.NO_READING: "no valid reading",
        Reason.NO_ROWS: "the table has no rows",
        Reason.HISTORY_SHORT: "the stored history does not cover the whole window",
        Reason.NOT_ANSWERED: "nobody confirmed it",
        Reason.DECLINED: "the technician answered no",
        Reason.NOT_RUN: "manual item, not asked in an automatic run",
        Reason.CANNOT_EVALUATE: "the readings do not fit the condition",
        Reason.LINEUP_DIFFERS: "services differ from the licensed line-up",
        Reason.NOT_IN_USE: "the device says this row is not in use",
    },
}

CATEGORY_WORDS: dict[Lang, dict[Category, str]] = {
    "vi": {
        Category.DUTY: "Trực và đầu mối liên lạc",
        Category.TRANSMISSION: "Phát sóng",
        Category.PRODUCTION: "Sản xuất chương trình",
        Category.HEADEND: "Thu tín hiệu và truyền dẫn quang",
        Category.LINEUP: "Danh mục kênh",
        Category.POWER: "Nguồn điện",
        Category.BACKUP: "Dự phòng",
        Category.AGENT: "Hệ thống giám sát fieldagent",
    },
    "en": {
        Category.DUTY: "Duty and contacts",
        Category.TRANSMISSION: "Transmission",
        Category.PRODUCTION: "Programme production",
        Category.HEADEND: "Headend reception and optical transmission",
        Category.LINEUP: "Channel line-up",
        Category.POWER: "Power supply",
        Category.BACKUP: "Backup",
        Category.AGENT: "The fieldagent monitoring system",
    },
}

SEVERITY_WORDS: dict[Lang, dict[Severity, str]] = {
    "vi": {Severity.CRITICAL: "nghiêm trọng", Severity.WARNING: "cảnh báo"},
    "en": {Severity.CRITICAL: "critical", Severity.WARNING: "warning"},
}

TRIGGER_WORDS: dict[Lang, dict[Trigger, str]] = {
    "vi": {
        "command-line": "lệnh tại trạm",
        "schedule": "theo lịch tự động",
        "mqtt": "lệnh MQTT từ xa",
    },
    "en": {
        "command-line": "command at the station",
        "schedule": "schedule",
        "mqtt": "remote MQTT command",
    },
}

QUALITY_WORDS: dict[Lang, dict[str, str]] = {
    "vi": {"bad": "lỗi", "missing": "không có", "invalid": "không hợp lệ"},
    "en": {"bad": "bad", "missing": "missing", "invalid": "invalid"},
}
"""A reading's quality when it is not ok; an unknown quality is shown as it is."""


@dataclass(frozen=True)
class Labels:
    """The fixed phrases of a report, in one language."""

    station: str
    report: str
    time: str
    technician: str
    nobody: str
    templates: str
    trigger: str
    automatic_only: str
    agent: str
    host: str
    unanswered: str
    at: str
    since: str
    until: str
    samples: str
    window_short: str
    resets: str
    missing: str
    extra: str
    confirmed: str
    declined: str
    attested: str
    attested_not_done: str
    history_young: str
    of_which_attested: str
    attested_mark: str
    note: str
    hint: str
    no_device: str
    directive: str
    within: str
    days: str
    summary: str
    total: str
    of_which_critical: str
    verdict: str
    previous: str
    better: str
    worse: str
    added: str
    removed: str
    no_change: str
    no_previous: str
    record_title: str
    country: str
    motto: str
    number: str
    item: str
    result: str
    evidence: str
    conclusion: str
    inspector: str
    station_head: str
    sign_here: str


LABELS: dict[Lang, Labels] = {
    "vi": Labels(
        station="Trạm",
        report="Mã báo cáo",
        time="Thời gian kiểm tra",
        technician="Người kiểm tra",
        nobody="(không ghi)",
        templates="Danh mục kiểm tra",
        trigger="Khởi chạy",
        automatic_only="chỉ các mục tự động, không hỏi các mục thủ công",
        agent="Phiên bản fieldagent",
        host="máy",
        unanswered="Thiết bị không trả lời",
        at="lúc",
        since="từ",
        until="đến",
        samples="mẫu",
        window_short="chưa phủ hết khoảng thời gian xét",
        resets="bộ đếm bị đặt lại",
        missing="Thiếu (có phép, không phát)",
        extra="Thừa (đang phát, không có phép)",
        confirmed="Đã xác nhận",
        declined="Trả lời KHÔNG",
        attested="Người kiểm tra xác nhận đã thực hiện (chưa đo được)",
        attested_not_done="Người kiểm tra xác nhận CHƯA thực hiện",
        history_young="số liệu agent lưu mới từ {since}: {days} / {window} ngày",
        of_which_attested="trong đó theo xác nhận",
        attested_mark="theo xác nhận, chưa đo",
        note="Ghi chú",
        hint="Hướng dẫn khắc phục",
        no_device="không có thiết bị loại này",
        directive="công văn, mục",
        within="trong",
        days="ngày",
        summary="Tổng hợp",
        total="Tổng số mục",
        of_which_critical="trong đó nghiêm trọng",
        verdict="Kết quả chung",
        previous="Lần kiểm tra trước",
        better="Tốt lên",
        worse="Kém đi",
        added="Mục mới",
        removed="Mục bỏ",
        no_change="không có thay đổi",
        no_previous="Chưa có lần kiểm tra trước để so sánh",
        record_title="BIÊN BẢN KIỂM TRA KỸ THUẬT",
        country="CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        motto="Độc lập - Tự do - Hạnh phúc",
        number="STT",
        item="Nội dung kiểm tra",
        result="Kết quả",
        evidence="Căn cứ",
        conclusion="KẾT LUẬN",
        inspector="NGƯỜI KIỂM TRA",
        station_head="PHỤ TRÁCH TRẠM",
        sign_here="(Ký, ghi rõ họ tên)",
    ),
    "en": Labels(
        station="Station",
        report="Report",
        time="Inspection time",
        technician="Technician",
        nobody="(not given)",
        templates="Checklists",
        trigger="Started by",
        automatic_only="automatic items only, manual items not asked",
        agent="fieldagent version",
        host="host",
        unanswered="Devices that did not answer",
        at="at",
        since="since",
        until="until",
        samples="samples",
        window_short="window not covered",
        resets="counter resets",
        missing="Missing (licensed, not carried)",
        extra="Extra (carried, not licensed)",
        confirmed="Confirmed by",
        declined="Answered no",
        attested="Attested, not measured, by",
        attested_not_done="Not done, says",
        history_young="the agent's history starts {since}: {days} of {window} days",
        of_which_attested="of which attested",
        attested_mark="attested, not measured",
        note="Note",
        hint="What to do",
        no_device="no device of this kind",
        directive="directive item",
        within="within",
        days="days",
        summary="Summary",
        total="Items",
        of_which_critical="of which critical",
        verdict="Overall result",
        previous="Previous inspection",
        better="Better",
        worse="Worse",
        added="Added",
        removed="Removed",
        no_change="no change",
        no_previous="No previous inspection to compare with",
        record_title="TECHNICAL INSPECTION RECORD",
        country="SOCIALIST REPUBLIC OF VIET NAM",
        motto="Independence - Freedom - Happiness",
        number="No.",
        item="Item",
        result="Result",
        evidence="Evidence",
        conclusion="CONCLUSION",
        inspector="INSPECTED BY",
        station_head="STATION MANAGER",
        sign_here="(Signature and full name)",
    ),
}

NEEDS_ACTION = frozenset({Status.FAIL, Status.INCOMPLETE})
"""Statuses whose item shows why (its checks) and what to do (its hint)."""


def printable(text: str) -> str:
    """`text` with its control and invisible format characters made visible or blank.

    Line breaks and tabs become spaces (a note stays on its line); any other
    control, format, surrogate or unassigned character becomes its escape
    (`\\x1b`), so device values and notes can neither drive the terminal nor
    make the HTML record invalid.
    """
    return "".join(_printable_char(c) for c in text)


def _printable_char(char: str) -> str:
    if char in "\t\n\r":
        return " "
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Cn"):
        return char.encode("unicode_escape", "backslashreplace").decode("ascii")
    return char


def station_zone(name: str) -> tuple[tzinfo, str]:
    """The station's time zone and its name; UTC when this host does not know the zone.

    A report can be rendered far from its station (the province's server), and
    its times must still come out right, if in UTC.
    """
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, "UTC"


def number(value: float) -> str:
    """1850, 1.5, 0.01667: the digits a reader needs, without an exponent for everyday values."""
    if not math.isfinite(value):
        return str(value)
    if value == 0 or abs(value) >= 1:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:.4g}"


def shown_value(value: JsonValue) -> str:
    """A reading's value as in a condition: numbers bare, text quoted, booleans true/false."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return number(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def by_category(items: list[ItemResult]) -> list[tuple[Category, list[ItemResult]]]:
    """The items grouped by category in the directive's order, empty categories left out."""
    groups = [(c, [item for item in items if item.category is c]) for c in Category]
    return [(category, group) for category, group in groups if group]


@dataclass(frozen=True)
class Wording:
    """A report's evidence told in one language, with times in the station's zone.

    `day` is the report's local date: times on that day are shown as a clock
    time only, times on any other day (a stale reading) with their date.
    """

    lang: Lang
    zone: tzinfo
    zone_name: str
    day: date

    @classmethod
    def of(cls, report: Report, lang: Lang) -> Wording:
        zone, name = station_zone(report.station.timezone)
        return cls(lang, zone, name, _aware(report.started).astimezone(zone).date())

    @property
    def labels(self) -> Labels:
        return LABELS[self.lang]

    def status(self, status: Status) -> str:
        return STATUS_WORDS[self.lang][status]

    def local(self, ts: datetime) -> datetime:
        return _aware(ts).astimezone(self.zone)

    def moment(self, ts: datetime) -> str:
        return self.local(ts).strftime("%Y-%m-%d %H:%M:%S")

    def clock(self, ts: datetime) -> str:
        local = self.local(ts)
        return local.strftime("%H:%M:%S") if local.date() == self.day else self.moment(ts)

    def basics(self, report: Report) -> list[tuple[str, str]]:
        """(label, value) rows that identify the inspection: station, when, who, what, how."""
        words = self.labels
        trigger = TRIGGER_WORDS[self.lang][report.trigger]
        period = f"{self.moment(report.started)} – {self.clock(report.finished)}"  # noqa: RUF001 (a range)
        if report.automatic_only:
            trigger = f"{trigger}; {words.automatic_only}"
        rows = [
            (words.station, f"{report.station.name} ({report.station.id})"),
            (words.report, report.id),
            (words.time, f"{period} ({self.zone_name})"),
            (words.technician, report.technician or words.nobody),
            (words.templates, report.checklists(self.lang)),
            (words.trigger, trigger),
            (words.agent, f"{report.agent_version} ({words.host} {report.hostname})"),
        ]
        unanswered = [
            f"{d.id} ({d.error})" if d.error else d.id for d in report.devices if not d.answered
        ]
        if unanswered:
            rows.append((words.unanswered, ", ".join(unanswered)))
        return rows

    def check_heading(self, check: Check) -> str | None:
        """`fm-main: 1.8 < 1.5`, `dvbt2: the device did not answer (timeout)`; None when
        the check says nothing beyond its status (a manual item's plain yes)."""
        said = " — ".join(s for s in (check.evaluated, self._reason(check)) if s)
        where = " ".join(s for s in (check.device, f"[{check.row}]" if check.row else "") if s)
        if where and said:
            return f"{where}: {said}"
        return where or said or None

    def _reason(self, check: Check) -> str:
        if check.reason is None:
            return check.detail
        words = REASON_WORDS[self.lang][check.reason]
        return f"{words} ({check.detail})" if check.detail else words

    def evidence(self, check: Check) -> list[str]:
        """One line per reading, limit, nominal value, history and line-up difference used."""
        lines = [self._reading(r) for r in check.readings]
        lines += [
            f"{limit.function}({limit.key}) = {number(limit.value)}" for limit in check.limits
        ]
        lines += [f"nominal.{key} = {number(value)}" for key, value in check.nominals.items()]
        lines += [self._history(h) for h in check.history]
        if check.lineup is not None:
            lines += self._lineup(check.lineup)
        return lines

    def _reading(self, reading: ReadingUsed) -> str:
        text = f"{reading.key} = {shown_value(reading.value)}"
        if reading.unit:
            text += f" {reading.unit}"
        if reading.quality != "ok":
            quality = QUALITY_WORDS[self.lang].get(reading.quality, reading.quality)
            text += f" ({quality}: {reading.detail})" if reading.detail else f" ({quality})"
        if reading.ts is not None:
            text += f" {self.labels.at} {self.clock(reading.ts)}"
        return text

    def _history(self, history: HistoryUsed) -> str:
        words = self.labels
        text = (
            f"increase({history.key}) = {number(history.increase)}"
            f" {words.since} {self.clock(history.since)} {words.until} {self.clock(history.until)}"
            f" ({history.samples} {words.samples})"
        )
        if not history.covers_window:
            text += f", {words.window_short}"
        if history.resets:
            text += f", {words.resets}: {history.resets}"
        return text

    def _lineup(self, lineup: LineupDifference) -> list[str]:
        words = self.labels
        named = ((words.missing, lineup.missing), (words.extra, lineup.extra))
        return [f"{label}: {', '.join(names)}" for label, names in named if names]

    def answer(self, answer: Answer) -> str:
        """Who answered a manual item, when, and their note."""
        words = self.labels
        said = words.confirmed if answer.confirmed else words.declined
        text = f"{said}: {answer.technician} {words.at} {self.clock(answer.ts)}"
        return f"{text}. {words.note}: {answer.note}" if answer.note else text

    def attestation(self, item: ItemResult) -> str:
        """Who attested a readiness item, when, on how young a history, and their note."""
        attestation = item.attestation
        assert attestation is not None
        words = self.labels
        said = words.attested if attestation.confirmed else words.attested_not_done
        young = words.history_young.format(
            since=self.moment(attestation.history_since),
            days=number(attestation.history_days),
            window=item.within_days,
        )
        text = f"{said}: {attestation.technician} {words.at} {self.clock(attestation.ts)} ({young})"
        return f"{text}. {words.note}: {attestation.note}" if attestation.note else text

    def hint(self, item: ItemResult) -> str:
        return f"{self.labels.hint}: {getattr(item.hint, self.lang)}"

    def counts(self, summary: Summary) -> list[tuple[str, int]]:
        """(label, count) for the total and each status, failed critical items after failed."""
        words = self.labels
        attested = [(words.of_which_attested, summary.attested)] if summary.attested else []
        return [
            (words.total, summary.total),
            (self.status(Status.PASS), summary.passed),
            *attested,
            (self.status(Status.FAIL), summary.failed),
            (words.of_which_critical, summary.failed_critical),
            (self.status(Status.INCOMPLETE), summary.incomplete),
            (self.status(Status.NOT_APPLICABLE), summary.not_applicable),
        ]

    def previous(self, comparison: Comparison) -> str:
        return (
            f"{self.labels.previous}: {comparison.previous}"
            f" ({self.moment(comparison.previous_finished)})"
        )

    def changes(self, comparison: Comparison) -> list[tuple[str, list[str]]]:
        """(heading, entries) for each kind of change there is: better, worse, added, removed."""
        words = self.labels
        groups = [
            (words.better, [self._change(change) for change in comparison.better]),
            (words.worse, [self._change(change) for change in comparison.worse]),
            (words.added, comparison.added),
            (words.removed, comparison.removed),
        ]
        return [(heading, entries) for heading, entries in groups if entries]

    def _change(self, change: Change) -> str:
        return f"{change.item} ({self.status(change.before)} → {self.status(change.after)})"


def _aware(ts: datetime) -> datetime:
    """Report times are UTC; one stored without its zone is taken as UTC, not as local time."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def report_text(report: Report, lang: Lang) -> str:
    """The report as a technician reads it after a run: header, items by category, verdict.

    An item that did not pass shows why (each check that did not pass, with
    the readings, limits and history it used) and what to do (its hint).
    """
    words = Wording.of(report, lang)
    lines = [_line(f"{label}: {value}") for label, value in words.basics(report)]
    mark_width = max(len(word) for word in STATUS_WORDS[lang].values())
    for category, items in by_category(report.items):
        lines += ["", _line(f"[{CATEGORY_WORDS[lang][category]}]")]
        for item in items:
            lines += _item_lines(item, words, mark_width)
    lines += ["", *_closing_lines(report, words)]
    return "\n".join(lines)


def _item_lines(item: ItemResult, words: Wording, mark_width: int) -> list[str]:
    """`  FAIL        transmitter.vswr  VSWR below ...`, then its checks, answer and hint."""
    mark = f"{words.status(item.status):<{mark_width}}"
    title = getattr(item.title, words.lang)
    body = 2 + mark_width + 2
    # The title's own continuation hangs deeper than the lines under it.
    lines = [_line(f"{mark}  {item.id}  {title}", indent=2, hang=mark_width + 6)]
    if item.status in NEEDS_ACTION or item.attestation is not None:
        for check in item.checks:
            if check.status is not Status.PASS:
                lines += _check_lines(check, words, body)
    if item.answer is not None:
        lines.append(_line(words.answer(item.answer), indent=body))
    if item.attestation is not None:
        lines.append(_line(words.attestation(item), indent=body))
    if item.status in NEEDS_ACTION:
        lines.append(_line(words.hint(item), indent=body))
    return lines


def _check_lines(check: Check, words: Wording, indent: int) -> list[str]:
    heading = words.check_heading(check)
    lines = [_line(heading, indent=indent)] if heading else []
    return lines + [_line(line, indent=indent + 2) for line in words.evidence(check)]


def _closing_lines(report: Report, words: Wording) -> list[str]:
    """Counts, what changed since the previous run, and the verdict as the last line."""
    labels = words.labels
    counts = "; ".join(
        _unbroken(f"{label}: {count}") for label, count in words.counts(report.summary)
    )
    lines = [_line(f"{labels.summary}: {counts}").replace(_NBSP, " ")]
    if report.comparison is None:
        lines.append(_line(labels.no_previous))
    else:
        changes = words.changes(report.comparison)
        said = [f"{head}: {', '.join(entries)}" for head, entries in changes] or [labels.no_change]
        lines.append(_line(words.previous(report.comparison)))
        lines += [_line(line, indent=2) for line in said]
    lines.append(_line(f"{labels.verdict}: {words.status(report.status)}"))
    return lines


_NBSP = "\u00a0"


def _unbroken(text: str) -> str:
    """`text` that `_line` will not break (its spaces made non-breaking, to put back after)."""
    return text.replace(" ", _NBSP)


def _line(text: str, indent: int = 0, hang: int = 2) -> str:
    """`text` made printable and wrapped to WIDTH; following lines `hang` further in."""
    return textwrap.fill(
        printable(text),
        width=WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hang),
        break_long_words=False,
        break_on_hyphens=False,
    )
