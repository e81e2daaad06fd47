"""A checklist report as a printable inspection record: one self-contained HTML page.

It takes the place of the paper record ("biên bản kiểm tra") the station used
to sign and file, so it keeps that form: the station and the national motto at
the top, the basics of the inspection, then one printed page per category,
each a table of items with their result and the evidence it rests on, and a
last page with the counts, the verdict, the changes since the previous
inspection and the signature lines.  No scripts, no external resources: it
prints the same from a browser at the station or from the archive years later.

Every string from the report is escaped: device values, notes and names are
whatever a device or a person typed.
"""

from __future__ import annotations

import html
from datetime import datetime

from fieldagent.checklist.definition import Category
from fieldagent.checklist.render_text import (
    CATEGORY_WORDS,
    NEEDS_ACTION,
    SEVERITY_WORDS,
    Wording,
    by_category,
    printable,
)
from fieldagent.checklist.report import Check, ItemResult, Report, Status
from fieldagent.checklist.show import Lang

PAGE_BREAK = "break-before: page; page-break-before: always"
"""On each page after the first, inline so the break goes wherever the section goes."""

_CLASS = {
    Status.PASS: "pass",
    Status.FAIL: "fail",
    Status.INCOMPLETE: "incomplete",
    Status.NOT_APPLICABLE: "na",
}
_MARK = {Status.PASS: "✓", Status.FAIL: "✗", Status.INCOMPLETE: "?", Status.NOT_APPLICABLE: "—"}
"""Beside the word and the colour, so a black-and-white print still shows the result."""

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_CSS = """
@page { size: A4; margin: 15mm 14mm 15mm 20mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; color: #111; font-size: 12pt; line-height: 1.35;
  font-family: "Times New Roman", "Liberation Serif", "DejaVu Serif", serif;
}
@media screen {
  body { background: #cfcfcf; padding: 6mm 0; }
  .sheet {
    width: 210mm; margin: 0 auto 6mm; padding: 15mm 14mm 15mm 20mm;
    background: #fff; box-shadow: 0 1px 5px rgba(0, 0, 0, .4);
  }
}
p { margin: 0; }
.masthead { display: flex; justify-content: space-between; text-align: center; }
.masthead .issuer { width: 42%; }
.masthead .motto { width: 56%; }
.issuer .org { font-weight: bold; text-transform: uppercase; }
.issuer .code { font-size: 10pt; }
.motto .country { font-weight: bold; }
.motto .slogan { font-weight: bold; }
.masthead .rule { width: 35%; margin: 1mm auto 0; border-top: 1px solid #111; }
.place-date { text-align: right; font-style: italic; margin: 5mm 0 7mm; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 1mm; }
.subtitle { text-align: center; font-style: italic; margin-bottom: 6mm; }
h2 { font-size: 13pt; text-transform: uppercase; margin: 0 0 3mm; }
h3 { font-size: 12pt; margin: 6mm 0 2mm; }
.running { font-size: 9pt; color: #555; border-bottom: 1px solid #999; margin-bottom: 4mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #444; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
thead { display: table-header-group; }
thead th { background: #ececec; text-align: center; }
table.basics th { width: 34%; background: #f5f5f5; font-weight: normal; }
table.items { font-size: 10.5pt; }
tbody.entry { break-inside: avoid; page-break-inside: avoid; }
td.no { width: 9mm; text-align: center; }
td.what { width: 55mm; }
td.result { width: 25mm; text-align: center; font-weight: bold; }
.what .meta, .what .condition { font-size: 9pt; color: #444; margin-top: 1mm; }
code, td.evidence {
  font-family: "DejaVu Sans Condensed", "Liberation Sans Narrow", "Arial Narrow", sans-serif;
  font-size: 9pt;
}
td.evidence ul { margin: 0.5mm 0 1mm; padding-left: 4mm; }
.check .head { font-weight: bold; }
.check.pass .head { font-weight: normal; }
td.pass, strong.pass, .check.pass .mark { color: #1b5e20; }
td.fail, strong.fail, .check.fail .mark { color: #b00020; }
td.incomplete, strong.incomplete, .check.incomplete .mark { color: #8a5300; }
td.na, strong.na, .check.na .mark { color: #555; }
td.result.pass { background: #e6f2e6; }
td.result.fail { background: #fbe1e4; }
td.result.incomplete { background: #fdf0d5; }
td.result.na { background: #eeeeee; }
tr.hint td { font-size: 10pt; background: #fafafa; }
table.counts { width: 60%; }
table.counts th { font-weight: normal; }
table.counts td { text-align: right; width: 25%; }
.verdict { font-size: 13pt; margin: 5mm 0; }
.changes ul { margin: 1mm 0 2mm; }
.signatures { display: flex; justify-content: space-around; margin-top: 12mm; text-align: center; }
.signer { width: 45%; }
.signer .role { font-weight: bold; }
.signer .how { font-style: italic; font-size: 10.5pt; }
.signer .name { font-weight: bold; margin-top: 24mm; }
"""


def report_html(report: Report, lang: Lang) -> str:
    """The whole record as an HTML5 document, in Vietnamese or English."""
    words = Wording.of(report, lang)
    sections = [
        _section(n, category, items, report, words)
        for n, (category, items) in enumerate(by_category(report.items), start=1)
    ]
    title = f"{words.labels.record_title} — {report.station.name} — {report.id}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            _cover(report, words),
            *sections,
            _conclusion(report, words),
            "</body>",
            "</html>",
            "",
        ]
    )


def _e(text: str) -> str:
    """Escaped for HTML text and attributes, control characters made visible first."""
    return html.escape(printable(text))


RECORD_CSS = _CSS
"""The printed record's look, shared with the province's summary (fieldagent.province)."""
escape = _e
"""Public name of `_e`, for the documents that share this style."""


def _cover(report: Report, words: Wording) -> str:
    """The first page: who issues the record, the national motto, the title and the basics."""
    labels = words.labels
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in words.basics(report))
    verdict = _verdict_row(report.status, words)
    return (
        '<section class="sheet cover">'
        '<div class="masthead">'
        f'<div class="issuer"><p class="org">{_e(report.station.name)}</p>'
        f'<p class="code">{_e(report.station.id)}</p><p class="rule"></p></div>'
        f'<div class="motto"><p class="country">{_e(labels.country)}</p>'
        f'<p class="slogan">{_e(labels.motto)}</p><p class="rule"></p></div>'
        "</div>"
        f'<p class="place-date">{_e(_place_and_date(report.started, words))}</p>'
        f"<h1>{_e(labels.record_title)}</h1>"
        f'<p class="subtitle">{_e(labels.templates)}: {_e(report.checklists(words.lang))}</p>'
        f'<table class="basics"><tbody>{rows}{verdict}</tbody></table>'
        "</section>"
    )


def _place_and_date(ts: datetime, words: Wording) -> str:
    """`……, ngày 30 tháng 12 năm 2026`: the place is left for the hand, as on paper."""
    day = words.local(ts)
    if words.lang == "vi":
        return f"……………, ngày {day.day} tháng {day.month} năm {day.year}"
    return f"……………, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _verdict_row(status: Status, words: Wording) -> str:
    return (
        f"<tr><th>{_e(words.labels.verdict)}</th>"
        f'<td class="{_CLASS[status]}"><strong>{_result(status, words)}</strong></td></tr>'
    )


def _result(status: Status, words: Wording) -> str:
    return f'<span class="mark">{_MARK[status]}</span> {_e(words.status(status))}'


def _running(report: Report) -> str:
    """A line atop each page, so a loose page can be put back with its record."""
    return f'<p class="running">{_e(report.station.name)} · {_e(report.id)}</p>'


def _section(
    number: int, category: Category, items: list[ItemResult], report: Report, words: Wording
) -> str:
    """One category on its own page: a table of its items, numbered from 1."""
    labels = words.labels
    heading = f"{_roman(number)}. {CATEGORY_WORDS[words.lang][category]}"
    head = "".join(
        f'<th class="{css}">{_e(text)}</th>'
        for css, text in (
            ("no", labels.number),
            ("what", labels.item),
            ("result", labels.result),
            ("evidence", labels.evidence),
        )
    )
    rows = "".join(_item_rows(n, item, words) for n, item in enumerate(items, start=1))
    return (
        f'<section class="sheet category" data-category="{category.value}"'
        f' style="{PAGE_BREAK}">'
        f"{_running(report)}<h2>{_e(heading)}</h2>"
        f'<table class="items"><thead><tr>{head}</tr></thead>{rows}</table>'
        "</section>"
    )


def _roman(number: int) -> str:
    """Section numbers as on a Vietnamese record: I, II, III, IV…"""
    text = ""
    for value, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        text += letters * count
    return text


def _item_rows(number: int, item: ItemResult, words: Wording) -> str:
    """The item's row and, when it did not pass, a row with its hint under it."""
    css = _CLASS[item.status]
    action = item.status in NEEDS_ACTION
    span = ' rowspan="2"' if action else ""
    hint = f'<tr class="hint"><td colspan="3">{_e(words.hint(item))}</td></tr>' if action else ""
    attested = (
        f'<br><span class="attested">({_e(words.labels.attested_mark)})</span>'
        if item.attested
        else ""
    )
    return (
        f'<tbody class="entry {css}" data-item="{_e(item.id)}">'
        f'<tr class="item"><td class="no"{span}>{number}</td>'
        f'<td class="what">{_what(item, words)}</td>'
        f'<td class="result {css}">{_result(item.status, words)}{attested}</td>'
        f'<td class="evidence">{_evidence(item, words)}</td></tr>'
        f"{hint}</tbody>"
    )


def _what(item: ItemResult, words: Wording) -> str:
    """The title, then the id, severity and directive items, then the condition checked."""
    labels = words.labels
    meta = [item.id, SEVERITY_WORDS[words.lang][item.severity]]
    if item.directive:
        meta.append(f"{labels.directive} {', '.join(str(n) for n in item.directive)}")
    text = (
        f'<p class="title">{_e(getattr(item.title, words.lang))}</p>'
        f'<p class="meta">{_e(" · ".join(meta))}</p>'
    )
    if item.condition is not None:
        window = f" ({labels.within} {item.within_days} {labels.days})" if item.within_days else ""
        text += f'<p class="condition"><code>{_e(item.condition)}</code>{_e(window)}</p>'
    return text


def _evidence(item: ItemResult, words: Wording) -> str:
    """Every check with what it used, and the technician's answer; pass checks too, for the
    archive must show what a pass rests on."""
    parts = [_check(check, words) for check in item.checks]
    if item.answer is not None:
        parts.append(f'<p class="answer">{_e(words.answer(item.answer))}</p>')
    if item.attestation is not None:
        parts.append(f'<p class="answer attested">{_e(words.attestation(item))}</p>')
    if not any(parts):
        empty = words.labels.no_device if item.status is Status.NOT_APPLICABLE else "—"
        parts = [f'<p class="none">{_e(empty)}</p>']
    return "".join(parts)


def _check(check: Check, words: Wording) -> str:
    heading = words.check_heading(check)
    lines = "".join(f"<li>{_e(line)}</li>" for line in words.evidence(check))
    if heading is None and not lines:
        return ""
    head = (
        f'<p class="head"><span class="mark">{_MARK[check.status]}</span> {_e(heading)}</p>'
        if heading
        else ""
    )
    listed = f"<ul>{lines}</ul>" if lines else ""
    return f'<div class="check {_CLASS[check.status]}">{head}{listed}</div>'


def _conclusion(report: Report, words: Wording) -> str:
    """The last page: counts, verdict, changes since the previous inspection, signatures."""
    labels = words.labels
    counts = "".join(
        f"<tr><th>{_e(label)}</th><td>{count}</td></tr>"
        for label, count in words.counts(report.summary)
    )
    return (
        f'<section class="sheet conclusion" style="{PAGE_BREAK}">'
        f"{_running(report)}<h2>{_e(labels.conclusion)}</h2>"
        f"<h3>{_e(labels.summary)}</h3>"
        f'<table class="counts"><tbody>{counts}</tbody></table>'
        f'<p class="verdict">{_e(labels.verdict)}: '
        f'<strong class="{_CLASS[report.status]}">{_result(report.status, words)}</strong></p>'
        f"{_comparison(report, words)}"
        f"{_signatures(report, words)}"
        "</section>"
    )


def _comparison(report: Report, words: Wording) -> str:
    labels = words.labels
    if report.comparison is None:
        return f'<div class="changes"><p>{_e(labels.no_previous)}</p></div>'
    groups = "".join(
        f"<p>{_e(heading)}:</p><ul>{''.join(f'<li>{_e(e)}</li>' for e in entries)}</ul>"
        for heading, entries in words.changes(report.comparison)
    )
    return (
        f'<div class="changes"><h3>{_e(words.previous(report.comparison))}</h3>'
        f"{groups or f'<p>{_e(labels.no_change)}</p>'}</div>"
    )


def _signatures(report: Report, words: Wording) -> str:
    """The technician signs above their printed name; the station head writes theirs."""
    labels = words.labels
    signers = ((labels.inspector, report.technician or ""), (labels.station_head, ""))
    return (
        '<div class="signatures">'
        + "".join(
            f'<div class="signer"><p class="role">{_e(role)}</p>'
            f'<p class="how">{_e(labels.sign_here)}</p><p class="name">{_e(name)}</p></div>'
            for role, name in signers
        )
        + "</div>"
    )
