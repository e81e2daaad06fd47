"""The readiness summary as a printable document the Department signs and sends on (Vietnamese).

It has the form of an administrative report: the issuing Department and the
national motto at the top, place and date left for the hand, the title naming
the holiday, the counts, one table row per station (when the checklist ran,
by whom, its result, the failed and incomplete items with their evidence),
the stations that have not reported, and the signature block.  Its style is
the station's inspection record's (`checklist.render_html.RECORD_CSS`), so
both print alike; everything from a report is escaped.
"""

from __future__ import annotations

from fieldagent.checklist.render_html import RECORD_CSS, escape
from fieldagent.checklist.render_text import LABELS
from fieldagent.checklist.report import Status
from fieldagent.province.readiness import PROVINCE_ZONE, Entry, Readiness

VERDICT_VI = {
    Status.PASS: "Đạt",
    Status.FAIL: "Không đạt",
    Status.INCOMPLETE: "Chưa hoàn thành",
    Status.NOT_APPLICABLE: "Không áp dụng",
}
_CLASS = {Status.PASS: "pass", Status.FAIL: "fail", Status.INCOMPLETE: "incomplete"}

_EXTRA_CSS = """
table.stations { font-size: 10pt; }
table.stations td.no { width: 9mm; text-align: center; }
td.open ul { margin: 0.5mm 0 1mm; padding-left: 4mm; }
td.open .evidence { font-size: 9pt; color: #333; }
td.notreported { color: #b00020; font-weight: bold; }
"""

PLACEHOLDER = "……………………………"


def readiness_html(readiness: Readiness, department: str = "", province: str = "") -> str:
    """The whole document as HTML5; `department` and `province` fill the masthead."""
    labels = LABELS["vi"]
    counts = readiness.count()
    made = readiness.made.astimezone(PROVINCE_ZONE)
    title = f"BÁO CÁO TỔNG HỢP KIỂM TRA KỸ THUẬT TRƯỚC {readiness.holiday.upper()}"
    rows = "".join(_row(n, e) for n, e in enumerate(readiness.entries, start=1))
    issuer = province or f"UBND TỈNH {PLACEHOLDER}"
    missing = [e for e in readiness.entries if not e.reported]
    missing_list = (
        "<ul>" + "".join(f"<li>{escape(_who(e))}</li>" for e in missing) + "</ul>"
        if missing
        else "<p>Tất cả các đài đã báo cáo.</p>"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="vi">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            f"<style>{RECORD_CSS}{_EXTRA_CSS}</style>",
            "</head>",
            "<body>",
            '<section class="sheet">',
            '<div class="masthead">',
            f'<div class="issuer"><p class="org">{escape(issuer)}</p>'
            f'<p class="org">{escape(department or PLACEHOLDER)}</p><p class="rule"></p></div>',
            f'<div class="motto"><p class="country">{escape(labels.country)}</p>'
            f'<p class="slogan">{escape(labels.motto)}</p><p class="rule"></p></div>',
            "</div>",
            f'<p class="place-date">……………, ngày {made.day} tháng {made.month} năm {made.year}</p>',
            f"<h1>{escape(title)}</h1>",
            f'<p class="subtitle">Các báo cáo kiểm tra từ ngày {readiness.since:%d/%m/%Y}'
            f" đến {made:%H:%M} ngày {made:%d/%m/%Y}</p>",
            "<h3>1. Tổng hợp</h3>",
            '<table class="counts"><tbody>',
            f"<tr><th>Số đài</th><td>{counts['stations']}</td></tr>",
            f"<tr><th>Đã báo cáo</th><td>{counts['reported']}</td></tr>",
            f"<tr><th>trong đó đạt</th><td>{counts['pass']}</td></tr>",
            f"<tr><th>trong đó không đạt</th><td>{counts['fail']}</td></tr>",
            f"<tr><th>trong đó chưa hoàn thành</th><td>{counts['incomplete']}</td></tr>",
            f"<tr><th>Chưa báo cáo</th><td>{counts['not_reported']}</td></tr>",
            "</tbody></table>",
            "<h3>2. Kết quả từng đài</h3>",
            '<table class="stations"><thead><tr><th>STT</th><th>Đài</th>'
            "<th>Thời gian kiểm tra</th><th>Người kiểm tra</th><th>Kết quả</th>"
            "<th>Mục không đạt, chưa hoàn thành (căn cứ)</th></tr></thead>",
            f"<tbody>{rows}</tbody></table>",
            "<h3>3. Các đài chưa báo cáo</h3>",
            missing_list,
            '<div class="signatures">',
            '<div class="signer"><p class="role">NGƯỜI LẬP</p>'
            f'<p class="how">{escape(labels.sign_here)}</p><p class="name"></p></div>',
            '<div class="signer"><p class="role">LÃNH ĐẠO SỞ</p>'
            '<p class="how">(Ký, ghi rõ họ tên, đóng dấu)</p><p class="name"></p></div>',
            "</div>",
            "</section>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _who(entry: Entry) -> str:
    return f"{entry.name} ({entry.station})" if entry.name else entry.station


def _row(number: int, entry: Entry) -> str:
    station = f"<td>{escape(_who(entry))}</td>"
    if entry.report is None:
        older = (
            f" (lần gần nhất {entry.older.finished.astimezone(PROVINCE_ZONE):%d/%m/%Y})"
            if entry.older
            else ""
        )
        return (
            f'<tr><td class="no">{number}</td>{station}'
            f'<td colspan="4" class="notreported">Chưa báo cáo{escape(older)}</td></tr>'
        )
    report = entry.report
    verdict = report.status
    finished = report.finished.astimezone(PROVINCE_ZONE)
    items = entry.open_items(Status.FAIL) + entry.open_items(Status.INCOMPLETE)
    listed = "".join(
        f"<li><strong>{escape(VERDICT_VI[i.status])}</strong>: {escape(i.title_vi)}"
        f" <code>{escape(i.id)}</code>"
        + "".join(f'<div class="evidence">{escape(line)}</div>' for line in i.evidence)
        + "</li>"
        for i in items
    )
    return (
        f'<tr><td class="no">{number}</td>{station}'
        f"<td>{finished:%H:%M %d/%m/%Y}</td>"
        f"<td>{escape(report.technician or '(không ghi)')}</td>"
        f'<td class="result {_CLASS.get(verdict, "na")}">{escape(VERDICT_VI[verdict])}</td>'
        f'<td class="open">{"<ul>" + listed + "</ul>" if listed else "—"}</td></tr>'
    )
