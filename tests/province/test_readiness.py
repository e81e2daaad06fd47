"""`fieldagent readiness` against a real mosquitto: every format lists each station rightly."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import html5lib

from fieldagent.localbroker import LocalBroker
from fieldagent.province.archive import ReportArchive
from fieldagent.province.readiness import PROVINCE_ZONE
from tests.agentproc import fieldagent
from tests.province.conftest import NOW
from tests.support.stations import Link, checklist_report

ALL = {"st-offline", "st-gap", "st-alarm", "st-nocheck"}


def readiness(broker: LocalBroker, *args: str) -> str:
    done = fieldagent(
        "readiness", "--broker", broker.url, "--holiday", "Tết 2027", "--timeout", "10", *args
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_json_lists_reports_and_the_station_without_one(
    broker: LocalBroker, stations: object
) -> None:
    document = json.loads(readiness(broker, "--format", "json"))
    seen = {s["station"]: s for s in document["stations"]}
    assert set(seen) == ALL
    assert seen["st-nocheck"]["reported"] is False and seen["st-nocheck"]["verdict"] is None
    assert seen["st-alarm"]["verdict"] == "fail"
    (failed,) = seen["st-alarm"]["failed"]
    assert failed["id"] == "ups.battery_charge"
    assert any("ups.battery.charge_pct = 42 %" in line for line in failed["evidence"])
    assert [i["id"] for i in seen["st-alarm"]["incomplete"]] == ["power.generator_test"]
    assert seen["st-offline"]["verdict"] == "incomplete"  # an unanswered manual item
    assert seen["st-offline"]["technician"] == "Nguyễn Văn An"
    assert document["counts"] == {
        "stations": 4,
        "reported": 3,
        "not_reported": 1,
        "pass": 0,
        "fail": 1,
        "incomplete": 2,
    }


def test_since_and_the_province_list_decide_who_has_reported(
    broker: LocalBroker, stations: object, tmp_path: Path
) -> None:
    listed = tmp_path / "stations.txt"
    listed.write_text("# the province\nst-alarm\nst-gap\nst-missing\n", encoding="utf-8")
    # the day st-alarm's report was made (a day ago), in the province's time: st-gap's is older
    since = (NOW - timedelta(days=1)).astimezone(PROVINCE_ZONE).date().isoformat()
    document = json.loads(
        readiness(broker, "--format", "json", "--stations", str(listed), "--since", since)
    )
    seen = {s["station"]: s for s in document["stations"]}
    assert list(seen)[:3] == ["st-alarm", "st-gap", "st-missing"]
    assert seen["st-alarm"]["reported"] is True
    assert seen["st-gap"]["reported"] is False  # its report is two days old
    assert seen["st-gap"]["older_report"] is not None
    assert seen["st-missing"]["reported"] is False and seen["st-missing"]["older_report"] is None
    assert seen["st-offline"]["expected"] is False  # reported, though not on the list


def test_text_csv_and_html(broker: LocalBroker, stations: object, tmp_path: Path) -> None:
    text = readiness(broker)
    assert "st-nocheck               NOT REPORTED" in text
    assert "3 reported (0 pass, 1 fail, 2 incomplete), 1 not reported" in text

    rows = list(csv.DictReader(io.StringIO(readiness(broker, "--format", "csv"))))
    by = {r["station"]: r for r in rows}
    assert set(by) == ALL
    assert by["st-nocheck"]["verdict"] == "not reported" and by["st-nocheck"]["reported"] == "no"
    assert by["st-alarm"]["failed"] == "ups.battery_charge"
    assert "42 >= 90" in by["st-alarm"]["evidence"]

    output = tmp_path / "tet.html"
    readiness(broker, "--format", "html", "--output", str(output), "--department", "SỞ VH-TT-DL")
    page = output.read_text(encoding="utf-8")
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    tree = parser.parse(page)
    cells = ["".join(td.itertext()) for td in tree.iter("td")]
    assert any("Chưa báo cáo" in c for c in cells)
    assert "BÁO CÁO TỔNG HỢP KIỂM TRA KỸ THUẬT TRƯỚC TẾT 2027" in page
    assert "SỞ VH-TT-DL" in page and "LÃNH ĐẠO SỞ" in page
    assert "Không đạt" in page and "st-nocheck" in page
    again = fieldagent(
        "readiness", "--broker", broker.url, "--holiday", "x", "--output", str(output)
    )
    assert again.returncode == 64 and "already exists" in again.stderr


def test_the_archive_keeps_a_report_the_broker_no_longer_has(
    broker: LocalBroker, stations: object, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    done = fieldagent(
        "monitor", "--broker", broker.url, "--once", "--archive", str(archive), "--timeout", "10"
    )
    assert done.returncode == 3, done.stderr
    assert len(list(archive.glob("*/*.json"))) == 3
    link = Link(broker.host, broker.port)
    link.raw("bctv/v1/st-gap/checklist/report", b"", retain=True)  # cleared on the broker
    link.close()
    without = json.loads(readiness(broker, "--format", "json"))
    assert {s["station"]: s["reported"] for s in without["stations"]}["st-gap"] is False
    with_archive = json.loads(readiness(broker, "--format", "json", "--archive", str(archive)))
    assert {s["station"]: s["reported"] for s in with_archive["stations"]}["st-gap"] is True


def test_archive_file_names_are_safe_and_never_overwritten(tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path / "archive")
    hostile = checklist_report("st-1", NOW).model_copy(update={"id": "../../etc/passwd"})
    path = archive.store(hostile)
    assert path is not None and path.parent.parent == tmp_path / "archive"
    assert not path.name.startswith(".") and "/" not in path.name
    before = path.read_bytes()
    assert archive.store(hostile.model_copy(update={"technician": "someone else"})) is None
    assert path.read_bytes() == before  # the same id is never written over
    twin = hostile.model_copy(update={"id": "__/__/etc/passwd"})  # the same once made safe
    twin_path = archive.store(twin)
    assert twin_path is not None and twin_path != path
    assert {r.id for r in archive.reports()} == {hostile.id, twin.id}
