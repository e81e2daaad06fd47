"""A checklist report as terminal text and as a printable HTML record, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree.ElementTree import Element

import html5lib
import pytest

from fieldagent.checklist.definition import Category, ItemKind, Severity, Text
from fieldagent.checklist.render_html import PAGE_BREAK, report_html
from fieldagent.checklist.render_text import (
    CATEGORY_WORDS,
    QUALITY_WORDS,
    REASON_WORDS,
    SEVERITY_WORDS,
    STATUS_WORDS,
    TRIGGER_WORDS,
    WIDTH,
    report_text,
)
from fieldagent.checklist.report import (
    Answer,
    Change,
    Check,
    Comparison,
    DeviceOutcome,
    HistoryUsed,
    ItemResult,
    LimitUsed,
    LineupDifference,
    ReadingUsed,
    Reason,
    Report,
    StationInfo,
    Status,
    summarize,
)
from fieldagent.checklist.show import Lang

HOSTILE_NOTE = 'Bàn trộn dự phòng <script>alert(1)</script> & "A"'
TECHNICIAN = "Nguyễn Văn An"


def at(hour: int, minute: int, second: int = 0, day: int = 30) -> datetime:
    """A UTC time of the sample run; Asia/Ho_Chi_Minh is 7 hours ahead."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=UTC)


def item(
    id: str,
    category: Category,
    kind: ItemKind,
    status: Status,
    checks: list[Check],
    **more: object,
) -> ItemResult:
    """An item with its own id in its title and hint, so a test can find them."""
    return ItemResult.model_validate(
        {
            "id": id,
            "category": category,
            "kind": kind,
            "severity": Severity.CRITICAL,
            "title": Text(vi=f"Tiêu đề {id}", en=f"Title {id}"),
            "hint": Text(vi=f"Cách sửa {id}", en=f"How to fix {id}"),
            "source": "pre-holiday",
            "status": status,
            "checks": checks,
            **more,
        }
    )


def sample_report(
    technician: str | None = TECHNICIAN, timezone: str = "Asia/Ho_Chi_Minh"
) -> Report:
    """One item of each kind of evidence a report carries, and a comparison."""
    items = [
        item(
            "production.equipment",
            Category.PRODUCTION,
            ItemKind.MANUAL,
            Status.PASS,
            [Check(device=None, status=Status.PASS)],
            answer=Answer(confirmed=True, technician=TECHNICIAN, note=HOSTILE_NOTE, ts=at(1, 35)),
        ),
        item(
            "transmitter.on_air",
            Category.TRANSMISSION,
            ItemKind.AUTO,
            Status.PASS,
            [
                Check(
                    device="fm-main",
                    status=Status.PASS,
                    evaluated="True",
                    readings=[
                        ReadingUsed(key="tx.on_air", value=True, quality="ok", ts=at(1, 30, 4))
                    ],
                )
            ],
            directive=[7],
        ),
        item(
            "transmitter.vswr",
            Category.TRANSMISSION,
            ItemKind.AUTO,
            Status.FAIL,
            [
                Check(
                    device="fm-main",
                    status=Status.FAIL,
                    evaluated="1.8 < 1.5",
                    readings=[ReadingUsed(key="rf.vswr", value=1.8, quality="ok", ts=at(1, 30, 5))],
                    limits=[LimitUsed(function="warn_high", key="rf.vswr", value=1.5)],
                ),
                Check(
                    device="dvbt2",
                    status=Status.INCOMPLETE,
                    reason=Reason.UNREACHABLE,
                    detail="timeout after 3 s",
                ),
            ],
            condition="rf.vswr < warn_high(rf.vswr)",
            directive=[7],
        ),
        item(
            "transmitter.forward_power",
            Category.TRANSMISSION,
            ItemKind.AUTO,
            Status.PASS,
            [
                Check(
                    device="fm-main",
                    status=Status.PASS,
                    evaluated="abs(1850.0 - 2000.0) <= 0.1 * 2000.0",
                    readings=[
                        ReadingUsed(
                            key="rf.forward_power_w",
                            value=1850.0,
                            unit="W",
                            quality="ok",
                            ts=at(1, 30, 4),
                        )
                    ],
                    nominals={"rf.forward_power_w": 2000.0},
                )
            ],
        ),
        item(
            "ird.locked",
            Category.HEADEND,
            ItemKind.AUTO,
            Status.INCOMPLETE,
            [
                Check(
                    device="ird1",
                    row="input=2",
                    status=Status.INCOMPLETE,
                    reason=Reason.NO_READING,
                    detail="ird.locked[input=2]",
                    readings=[
                        ReadingUsed(
                            key="ird.locked[input=2]",
                            value=None,
                            quality="invalid",
                            ts=at(10, 0, day=29),
                            detail="out of range",
                        )
                    ],
                )
            ],
        ),
        item(
            "ird.lineup",
            Category.LINEUP,
            ItemKind.LINEUP,
            Status.FAIL,
            [
                Check(
                    device=None,
                    status=Status.FAIL,
                    reason=Reason.LINEUP_DIFFERS,
                    lineup=LineupDifference(
                        expected=["VTV1", "VTV3"],
                        found=["VTV1", "Kênh lạ"],
                        missing=["VTV3"],
                        extra=["Kênh lạ"],
                    ),
                )
            ],
        ),
        item("optical.output", Category.HEADEND, ItemKind.AUTO, Status.NOT_APPLICABLE, []),
        item(
            "generator.test_run",
            Category.BACKUP,
            ItemKind.READINESS,
            Status.INCOMPLETE,
            [
                Check(
                    device="gen1",
                    status=Status.INCOMPLETE,
                    reason=Reason.HISTORY_SHORT,
                    evaluated="0.02 >= 5 / 60",
                    history=[
                        HistoryUsed(
                            key="gen.run_hours",
                            increase=0.02,
                            since=at(2, 0, day=12),
                            until=at(1, 30, 6),
                            samples=4200,
                            covers_window=False,
                            resets=1,
                        )
                    ],
                )
            ],
            condition="increase(gen.run_hours) >= 5 / 60",
            within_days=30,
        ),
    ]
    return Report(
        id="demo-hamtan-20261230T013000Z-3f9a",
        station=StationInfo(id="demo-hamtan", name="Trạm TT-TH Hàm Tân", timezone=timezone),
        templates=["pre-holiday"],
        trigger="command-line",
        automatic_only=False,
        technician=technician,
        started=at(1, 30),
        finished=at(1, 36, 12),
        agent_version="0.1.0",
        hostname="hamtan-agent",
        devices=[
            DeviceOutcome(
                id="dvbt2",
                name="DVB-T2",
                kind="transmitter",
                driver="dvbt2",
                answered=False,
                polled=at(1, 30, 3),
                error="timeout after 3 s",
            )
        ],
        items=items,
        summary=summarize(items),
        comparison=Comparison(
            previous="demo-hamtan-20261201T020000Z-11aa",
            previous_finished=at(2, 5, day=1),
            better=[Change(item="ups.charge", before=Status.FAIL, after=Status.PASS)],
            worse=[Change(item="transmitter.vswr", before=Status.PASS, after=Status.FAIL)],
            added=["generator.test_run"],
            removed=["old.check"],
        ),
    )


# --- the words


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_status_reason_category_severity_and_trigger_has_its_words(lang: Lang) -> None:
    assert set(STATUS_WORDS[lang]) == set(Status)
    assert set(REASON_WORDS[lang]) == set(Reason)
    assert set(CATEGORY_WORDS[lang]) == set(Category)
    assert set(SEVERITY_WORDS[lang]) == set(Severity)
    assert set(TRIGGER_WORDS[lang]) == {"command-line", "schedule", "mqtt"}
    assert set(QUALITY_WORDS[lang]) == {"bad", "missing", "invalid"}
    assert len(set(STATUS_WORDS[lang].values())) == len(Status)


# --- terminal text


def line_with(text: str, part: str) -> str:
    return next(line for line in text.splitlines() if part in line)


def test_text_in_vietnamese_gives_each_failure_its_evidence_and_hint() -> None:
    text = report_text(sample_report(), "vi")
    lines = text.splitlines()
    assert lines[0] == "Trạm: Trạm TT-TH Hàm Tân (demo-hamtan)"
    assert "Thời gian kiểm tra: 2026-12-30 08:30:00 – 08:36:12 (Asia/Ho_Chi_Minh)" in lines  # noqa: RUF001
    assert "Người kiểm tra: Nguyễn Văn An" in lines
    assert "Khởi chạy: lệnh tại trạm" in lines
    assert "Thiết bị không trả lời: dvbt2 (timeout after 3 s)" in lines

    categories = [line for line in lines if line.startswith("[")]
    assert categories == [
        "[Phát sóng]",
        "[Sản xuất chương trình]",
        "[Thu tín hiệu và truyền dẫn quang]",
        "[Danh mục kênh]",
        "[Dự phòng]",
    ]
    # The marks line up: each status word padded to the longest one (CHƯA ĐỦ CĂN CỨ).
    assert line_with(text, "transmitter.vswr") == (
        "  KHÔNG ĐẠT       transmitter.vswr  Tiêu đề transmitter.vswr"
    )
    assert line_with(text, "transmitter.on_air").lstrip().startswith("ĐẠT ")
    assert line_with(text, "optical.output").lstrip().startswith("KHÔNG ÁP DỤNG ")
    assert line_with(text, " ird.locked ").lstrip().startswith("CHƯA ĐỦ CĂN CỨ ")

    vswr = lines.index(line_with(text, "transmitter.vswr"))
    assert [line.strip() for line in lines[vswr + 1 : vswr + 6]] == [
        "fm-main: 1.8 < 1.5",
        "rf.vswr = 1.8 lúc 08:30:05",
        "warn_high(rf.vswr) = 1.5",
        "dvbt2: thiết bị không trả lời (timeout after 3 s)",
        "Hướng dẫn khắc phục: Cách sửa transmitter.vswr",
    ]
    # A pass shows no evidence in the terminal: the next line is the next item.
    on_air = lines.index(line_with(text, "transmitter.on_air"))
    assert "transmitter.vswr" in lines[on_air + 1]


def test_text_shows_rows_stale_readings_history_lineup_and_answers() -> None:
    text = report_text(sample_report(), "vi")
    assert "ird1 [input=2]: không có số đo hợp lệ (ird.locked[input=2])" in text
    flat = " ".join(line.strip() for line in text.splitlines())
    # Read the day before: the date is shown with the time.
    assert "ird.locked[input=2] = — (không hợp lệ: out of range) lúc 2026-12-29 17:00:00" in flat
    assert (
        "increase(gen.run_hours) = 0.02 từ 2026-12-12 09:00:00 đến 08:30:06 (4200 mẫu),"
        " chưa phủ hết khoảng thời gian xét, bộ đếm bị đặt lại: 1"
    ) in flat
    assert "Thiếu (có phép, không phát): VTV3" in text
    assert "Thừa (đang phát, không có phép): Kênh lạ" in text
    assert "kênh không khớp danh mục được cấp phép" in text
    assert f"Đã xác nhận: Nguyễn Văn An lúc 08:35:00. Ghi chú: {HOSTILE_NOTE}" in flat


def test_text_ends_with_counts_changes_and_the_verdict() -> None:
    lines = report_text(sample_report(), "vi").splitlines()
    assert lines[-8:] == [
        "Tổng hợp: Tổng số mục: 8; ĐẠT: 3; KHÔNG ĐẠT: 2; trong đó nghiêm trọng: 2;",
        "  CHƯA ĐỦ CĂN CỨ: 2; KHÔNG ÁP DỤNG: 1",
        "Lần kiểm tra trước: demo-hamtan-20261201T020000Z-11aa (2026-12-01 09:05:00)",
        "  Tốt lên: ups.charge (KHÔNG ĐẠT → ĐẠT)",
        "  Kém đi: transmitter.vswr (ĐẠT → KHÔNG ĐẠT)",
        "  Mục mới: generator.test_run",
        "  Mục bỏ: old.check",
        "Kết quả chung: KHÔNG ĐẠT",
    ]


def test_text_in_english() -> None:
    text = report_text(sample_report(), "en")
    assert line_with(text, "transmitter.vswr").split()[:2] == ["FAIL", "transmitter.vswr"]
    assert line_with(text, " ird.locked ").split()[:2] == ["INCOMPLETE", "ird.locked"]
    assert line_with(text, "optical.output").split()[:2] == ["N/A", "optical.output"]
    assert "[Programme production]" in text
    assert "rf.vswr = 1.8 at 08:30:05" in text
    assert "dvbt2: the device did not answer (timeout after 3 s)" in text
    assert "What to do: How to fix transmitter.vswr" in text
    assert "Missing (licensed, not carried): VTV3" in text
    flat = " ".join(line.strip() for line in text.splitlines())
    assert f"Confirmed by: Nguyễn Văn An at 08:35:00. Note: {HOSTILE_NOTE}" in flat
    assert (
        "Summary: Items: 8; PASS: 3; FAIL: 2; of which critical: 2; INCOMPLETE: 2; N/A: 1" in text
    )
    assert "  Worse: transmitter.vswr (PASS → FAIL)" in text
    assert text.splitlines()[-1] == "Overall result: FAIL"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_text_fits_the_terminal(lang: Lang) -> None:
    assert max(len(line) for line in report_text(sample_report(), lang).splitlines()) <= WIDTH


def test_control_characters_from_a_device_cannot_drive_the_terminal() -> None:
    report = sample_report()
    hostile = report.items[0].model_copy(
        update={
            "answer": Answer(
                confirmed=True, technician="An\x1b[2J", note="dòng 1\ndòng 2", ts=at(1, 35)
            )
        }
    )
    text = report_text(report.model_copy(update={"items": [hostile]}), "vi")
    assert "\x1b" not in text
    assert "An\\x1b[2J" in text
    assert "dòng 1 dòng 2" in text


def test_a_zone_this_host_does_not_know_gives_utc_times_named_utc() -> None:
    text = report_text(sample_report(timezone="Mars/Olympus_Mons"), "en")
    assert "Inspection time: 2026-12-30 01:30:00 – 01:36:12 (UTC)" in text  # noqa: RUF001


def test_a_run_without_technician_or_previous_report_says_so() -> None:
    report = sample_report(technician=None).model_copy(update={"comparison": None})
    lines = report_text(report, "vi").splitlines()
    assert "Người kiểm tra: (không ghi)" in lines
    assert lines[-2] == "Chưa có lần kiểm tra trước để so sánh"


# --- HTML record


def parsed(document: str) -> Element:
    """The document through a conforming HTML5 parser that raises on any parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    tree: Element = parser.parse(document)
    return tree


def text_of(element: Element) -> str:
    """The element's text as read: each element's text apart, white space collapsed."""
    return " ".join(" ".join(element.itertext()).split())


def by_class(root: Element, tag: str, css: str) -> list[Element]:
    return [e for e in root.iter(tag) if css in (e.get("class") or "").split()]


def entry(root: Element, item_id: str) -> Element:
    return next(e for e in root.iter("tbody") if e.get("data-item") == item_id)


def cell(row: Element, css: str) -> str:
    return text_of(by_class(row, "td", css)[0])


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_html_is_valid_html5_with_the_language_and_no_external_resource(lang: Lang) -> None:
    document = report_html(sample_report(), lang)
    root = parsed(document)
    assert root.tag == "html" and root.get("lang") == lang
    assert next(root.iter("meta")).get("charset") == "utf-8"
    assert not [e for e in root.iter() if e.tag in ("script", "link", "img", "iframe")]
    assert "http" not in document and "url(" not in document


def test_html_has_one_page_per_category_in_the_directive_order() -> None:
    root = parsed(report_html(sample_report(), "vi"))
    sections = by_class(root, "section", "category")
    assert [s.get("data-category") for s in sections] == [
        "transmission",
        "production",
        "headend",
        "lineup",
        "backup",
    ]
    assert all(s.get("style") == PAGE_BREAK for s in sections)
    assert "break-before: page" in PAGE_BREAK and "page-break-before: always" in PAGE_BREAK
    assert by_class(root, "section", "conclusion")[0].get("style") == PAGE_BREAK
    headings = [text_of(next(s.iter("h2"))) for s in sections]
    assert headings[:2] == ["I. Phát sóng", "II. Sản xuất chương trình"]
    headend = sections[2]
    assert [e.get("data-item") for e in headend.iter("tbody")] == ["ird.locked", "optical.output"]


def test_html_cover_has_the_station_motto_title_and_basics() -> None:
    root = parsed(report_html(sample_report(), "vi"))
    cover = by_class(root, "section", "cover")[0]
    assert text_of(by_class(cover, "div", "issuer")[0]) == "Trạm TT-TH Hàm Tân demo-hamtan"
    assert text_of(by_class(cover, "div", "motto")[0]) == (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc"
    )
    assert text_of(by_class(cover, "p", "place-date")[0]).endswith("ngày 30 tháng 12 năm 2026")
    assert text_of(next(cover.iter("h1"))) == "BIÊN BẢN KIỂM TRA KỸ THUẬT"
    basics = {text_of(row[0]): text_of(row[1]) for row in cover.iter("tr")}
    assert basics["Mã báo cáo"] == "demo-hamtan-20261230T013000Z-3f9a"
    assert basics["Người kiểm tra"] == TECHNICIAN
    assert basics["Phiên bản fieldagent"] == "0.1.0 (máy hamtan-agent)"
    assert basics["Kết quả chung"] == "✗ KHÔNG ĐẠT"


def test_html_rows_show_result_word_and_evidence() -> None:
    root = parsed(report_html(sample_report(), "vi"))
    vswr = entry(root, "transmitter.vswr")
    assert cell(vswr, "result") == "✗ KHÔNG ĐẠT"
    assert "fail" in (vswr.get("class") or "").split()
    assert cell(vswr, "what") == (
        "Tiêu đề transmitter.vswr transmitter.vswr · nghiêm trọng · công văn, mục 7"
        " rf.vswr < warn_high(rf.vswr)"
    )
    assert cell(vswr, "evidence") == (
        "✗ fm-main: 1.8 < 1.5 rf.vswr = 1.8 lúc 08:30:05 warn_high(rf.vswr) = 1.5"
        " ? dvbt2: thiết bị không trả lời (timeout after 3 s)"
    )
    hint = by_class(vswr, "tr", "hint")[0]
    assert text_of(hint) == "Hướng dẫn khắc phục: Cách sửa transmitter.vswr"

    power = entry(root, "transmitter.forward_power")
    assert cell(power, "result") == "✓ ĐẠT"
    assert "rf.forward_power_w = 1850 W lúc 08:30:04" in cell(power, "evidence")
    assert "nominal.rf.forward_power_w = 2000" in cell(power, "evidence")
    assert not by_class(power, "tr", "hint")

    history = cell(entry(root, "generator.test_run"), "evidence")
    assert "increase(gen.run_hours) = 0.02 từ 2026-12-12 09:00:00" in history
    assert cell(entry(root, "generator.test_run"), "result") == "? CHƯA ĐỦ CĂN CỨ"
    lineup = cell(entry(root, "ird.lineup"), "evidence")
    assert "Thiếu (có phép, không phát): VTV3" in lineup
    assert "Thừa (đang phát, không có phép): Kênh lạ" in lineup
    assert cell(entry(root, "optical.output"), "evidence") == "không có thiết bị loại này"


def test_html_keeps_a_hostile_note_as_text() -> None:
    document = report_html(sample_report(), "vi")
    root = parsed(document)
    assert not list(root.iter("script"))
    assert "<script>" not in document
    answer = cell(entry(root, "production.equipment"), "evidence")
    assert answer == f"Đã xác nhận: Nguyễn Văn An lúc 08:35:00. Ghi chú: {HOSTILE_NOTE}"


def test_html_conclusion_has_counts_verdict_changes_and_signatures() -> None:
    root = parsed(report_html(sample_report(), "vi"))
    conclusion = by_class(root, "section", "conclusion")[0]
    counts = {text_of(row[0]): text_of(row[1]) for row in conclusion.iter("tr")}
    assert counts == {
        "Tổng số mục": "8",
        "ĐẠT": "3",
        "KHÔNG ĐẠT": "2",
        "trong đó nghiêm trọng": "2",
        "CHƯA ĐỦ CĂN CỨ": "2",
        "KHÔNG ÁP DỤNG": "1",
    }
    assert text_of(by_class(conclusion, "p", "verdict")[0]) == "Kết quả chung: ✗ KHÔNG ĐẠT"
    changes = text_of(by_class(conclusion, "div", "changes")[0])
    assert changes.startswith("Lần kiểm tra trước: demo-hamtan-20261201T020000Z-11aa")
    assert "Tốt lên: ups.charge (KHÔNG ĐẠT → ĐẠT)" in changes
    assert "Kém đi: transmitter.vswr (ĐẠT → KHÔNG ĐẠT)" in changes
    assert "Mục mới: generator.test_run" in changes and "Mục bỏ: old.check" in changes
    signers = [text_of(s) for s in by_class(conclusion, "div", "signer")]
    assert signers == [
        "NGƯỜI KIỂM TRA (Ký, ghi rõ họ tên) Nguyễn Văn An",
        "PHỤ TRÁCH TRẠM (Ký, ghi rõ họ tên)",
    ]


def test_html_in_english() -> None:
    root = parsed(report_html(sample_report(), "en"))
    assert text_of(by_class(root, "div", "motto")[0]) == (
        "SOCIALIST REPUBLIC OF VIET NAM Independence - Freedom - Happiness"
    )
    assert text_of(by_class(root, "p", "place-date")[0]).endswith("30 December 2026")
    assert cell(entry(root, "transmitter.vswr"), "result") == "✗ FAIL"
    assert [text_of(th) for th in next(root.iter("thead")).iter("th")] == [
        "No.",
        "Item",
        "Result",
        "Evidence",
    ]
    signers = [text_of(s) for s in by_class(root, "div", "signer")]
    assert signers[0] == "INSPECTED BY (Signature and full name) Nguyễn Văn An"


def test_html_stays_valid_with_control_characters_in_device_values() -> None:
    report = sample_report()
    odd = report.items[1].model_copy(
        update={
            "checks": [
                Check(
                    device="fm\x00main",
                    status=Status.PASS,
                    readings=[
                        ReadingUsed(key="tx.name", value="A\x07\ufffeB", quality="ok", ts=None)
                    ],
                )
            ]
        }
    )
    root = parsed(report_html(report.model_copy(update={"items": [odd]}), "vi"))
    assert cell(entry(root, "transmitter.on_air"), "evidence") == (
        '✓ fm\\x00main tx.name = "A\\u0007\\ufffeB"'
    )


def test_the_checklists_are_named_by_their_titles_when_the_report_has_them() -> None:
    titled = sample_report().model_copy(
        update={"titles": [Text(vi="Kiểm tra trước kỳ nghỉ lễ", en="Pre-holiday inspection")]}
    )
    cover = by_class(parsed(report_html(titled, "vi")), "section", "cover")[0]
    assert text_of(by_class(cover, "p", "subtitle")[0]) == (
        "Danh mục kiểm tra: Kiểm tra trước kỳ nghỉ lễ (pre-holiday)"
    )
    assert "Pre-holiday inspection (pre-holiday)" in report_text(titled, "en")
    untitled = by_class(parsed(report_html(sample_report(), "vi")), "section", "cover")[0]
    assert text_of(by_class(untitled, "p", "subtitle")[0]) == "Danh mục kiểm tra: pre-holiday"
