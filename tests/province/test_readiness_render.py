"""The readiness renderers on reports holding whatever a person or a device typed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import html5lib
import pytest

from fieldagent.province.readiness import gather, read_stations, render_csv
from fieldagent.province.readiness_html import readiness_html
from tests.support.stations import checklist_report

NOW = datetime(2027, 2, 3, 2, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>\x1b[2J"
FORMULA = '=cmd|" /C calc"\x1b[2J'


def summary(technician: str = HOSTILE) -> object:
    reports = [
        checklist_report("bt-a", NOW - timedelta(days=1), failed=True, technician=technician),
        checklist_report("bt-b", NOW - timedelta(days=30)),
    ]
    return gather(reports, (NOW - timedelta(days=10)).date(), NOW, "Tết", expected=["bt-a", "bt-b"])


def test_html_escapes_what_people_typed_and_stays_valid() -> None:
    page = readiness_html(summary(), department="<b>Sở</b>")  # type: ignore[arg-type]
    assert "<script>" not in page and "<b>Sở</b>" not in page and "\x1b" not in page
    html5lib.HTMLParser(strict=True).parse(page)
    assert "&lt;script&gt;" in page
    assert "Chưa báo cáo (lần gần nhất 04/01/2027)" in page


def test_csv_cells_are_never_formulas() -> None:
    text = render_csv(summary(FORMULA))  # type: ignore[arg-type]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["technician"].startswith("'=cmd")
    assert "\x1b" not in text
    assert rows[1]["verdict"] == "not reported"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("list.txt", "# province\nbt-a\n\nbt-b  # new\nbt-a\n", ["bt-a", "bt-b"]),
        ("list.toml", 'stations = ["bt-a", "bt-b"]\n', ["bt-a", "bt-b"]),
        ("list.toml", '[[station]]\nid = "bt-a"\n[[station]]\nid = "bt-c"\n', ["bt-a", "bt-c"]),
    ],
)
def test_the_province_list(tmp_path: Path, name: str, text: str, expected: list[str]) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert read_stations(path) == expected


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("list.txt", "bt-a\nbt b\n", "list.txt: line 2: 'bt b' is not a station id"),
        ("list.toml", "stations = [1]\n", "list.toml: stations[0]: a station id (text)"),
        ("list.txt", "# nobody\n", "list.txt: no station listed"),
    ],
)
def test_a_bad_list_names_the_file_and_line(
    tmp_path: Path, name: str, text: str, said: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        read_stations(path)
    assert said in str(caught.value)
