"""The report archive: whole files or none, never one report over another, even when the
process is killed in the middle of a write; pruned by age and count, never within a year."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldagent.checklist.archive import TEMP_PREFIX, ArchiveError, ReportArchive
from fieldagent.checklist.definition import Category, ItemKind, Severity, Text
from fieldagent.checklist.report import (
    Check,
    ItemResult,
    ReadingUsed,
    Report,
    StationInfo,
    Status,
    summarize,
)
from fieldagent.config import ConfigError, parse_config

T0 = datetime(2026, 8, 28, 0, 0, tzinfo=UTC)


def report(number: int, readings: int = 10) -> Report:
    """A report whose size grows with `readings`, so a write takes a while."""
    item = ItemResult(
        id="ups.charge",
        category=Category.POWER,
        kind=ItemKind.AUTO,
        severity=Severity.WARNING,
        title=Text(vi="Dung lượng ắc quy", en="Battery charge"),
        hint=Text(vi="Sạc", en="Charge"),
        source="pre-holiday.toml",
        status=Status.PASS,
        checks=[
            Check(
                device="ups-main",
                status=Status.PASS,
                evaluated="100 >= 90",
                readings=[
                    ReadingUsed(key=f"k{i}", value=i, unit="%", quality="ok", ts=T0)
                    for i in range(readings)
                ],
            )
        ],
    )
    started = T0 + timedelta(seconds=number)
    return Report(
        id=f"bt-1-{started:%Y%m%dT%H%M%SZ}-{number:04x}",
        station=StationInfo(id="bt-1", name="Trạm thử", timezone="Asia/Ho_Chi_Minh"),
        templates=["pre-holiday"],
        trigger="command-line",
        automatic_only=False,
        technician="Nguyễn Văn An",
        started=started,
        finished=started,
        agent_version="test",
        hostname="test",
        devices=[],
        items=[item],
        summary=summarize([item]),
    )


def test_a_report_is_archived_once_and_never_overwritten(tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path)
    first = report(1)
    path = archive.save(first)
    assert archive.load(first.id) == first
    changed = first.model_copy(update={"technician": "someone else"})
    with pytest.raises(ArchiveError, match="already archived"):
        archive.save(changed)
    assert archive.load(first.id).technician == "Nguyễn Văn An"
    assert path.read_bytes() == first.model_dump_json(indent=2).encode()
    assert [p.name for p in tmp_path.joinpath("checklists").iterdir()] == [path.name]


def test_the_previous_report_is_the_newest_older_one_of_the_same_checklists(
    tmp_path: Path,
) -> None:
    archive = ReportArchive(tmp_path)
    for number in (1, 2):
        archive.save(report(number))
    other = report(3).model_copy(update={"templates": ["own.toml"]})
    archive.save(other)
    (tmp_path / "checklists" / "bt-1-damaged.json").write_text("{not json", encoding="utf-8")
    newest = report(4)
    previous = archive.previous(newest)
    assert previous is not None and previous.id == report(2).id


def test_an_unwritable_archive_says_which_file_and_why(tmp_path: Path) -> None:
    (tmp_path / "checklists").write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(ArchiveError, match=r"cannot archive .*checklists/bt-1-"):
        ReportArchive(tmp_path).save(report(1))


WRITER = """
import sys
from pathlib import Path
from fieldagent.checklist.archive import ReportArchive
from tests.checklist.test_archive import report

archive = ReportArchive(Path(sys.argv[1]))
number = len(list(archive.folder.glob("*.json")))  # go on from the last killed writer
print("ready", flush=True)
while True:
    number += 1
    archive.save(report(number, readings=3000))
"""


def test_a_crash_mid_write_leaves_only_whole_reports(tmp_path: Path) -> None:
    """SIGKILL a process saving large reports at 15 seeded moments: every report file there
    parses, in full, and the temporary files a kill leaves are never taken for reports."""
    chance = random.Random(20261129)
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for _ in range(15):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=root,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        time.sleep(chance.uniform(0.0, 0.3))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    folder = tmp_path / "checklists"
    saved = sorted(folder.glob("*.json"))
    assert len(saved) >= 10  # the writer got far enough to be killed in many places
    archive = ReportArchive(tmp_path)
    loaded = list(archive.reports())
    assert len(loaded) == len(saved)  # none damaged, none skipped
    assert all(len(r.items[0].checks[0].readings) == 3000 for r in loaded)
    leftovers = list(folder.glob(f"{TEMP_PREFIX}*"))
    assert all(p.name not in {s.name for s in saved} for p in leftovers)


NOW = datetime(2027, 9, 1, 12, 0, tzinfo=UTC)


def dated(archive: ReportArchive, *days_ago: float, now: datetime = NOW) -> list[str]:
    """Archive one report started each of `days_ago` before `now`; their ids, in that order."""
    ids = []
    for number, days in enumerate(days_ago):
        started = now - timedelta(days=days)
        saved = report(number).model_copy(
            update={"id": f"bt-1-{started:%Y%m%dT%H%M%SZ}-{number:04x}", "started": started}
        )
        archive.save(saved)
        ids.append(saved.id)
    return ids


def kept(archive: ReportArchive) -> set[str]:
    return {p.stem for p in archive.folder.glob("*.json")}


def test_reports_older_than_the_days_kept_are_deleted_oldest_first(tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path)
    ids = dated(archive, 0, 300, 729, 731, 1500)
    assert archive.prune(NOW, keep_days=730, keep_count=1000) == [ids[4], ids[3]]
    assert kept(archive) == set(ids[:3])
    assert archive.prune(NOW, keep_days=730, keep_count=1000) == []


def test_beyond_the_count_kept_only_reports_older_than_a_year_go(tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path)
    ids = dated(archive, 1, 2, 3, 200, 365, 367, 368, 600)
    assert archive.prune(NOW, keep_days=3650, keep_count=3) == ids[5:][::-1]
    assert kept(archive) == set(ids[:5])  # the year's five, though the count is three
    archive = ReportArchive(tmp_path / "other")
    ids = dated(archive, 1, 367, 368, 600)
    assert archive.prune(NOW, keep_days=3650, keep_count=3) == [ids[3]]


def test_no_setting_deletes_a_report_of_the_last_year(tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path)
    ids = dated(archive, 0, 30, 365.9, 366.1)
    assert archive.prune(NOW, keep_days=7, keep_count=1) == [ids[3]]
    assert kept(archive) == set(ids[:3])


def test_a_file_not_named_like_a_report_is_never_deleted(tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path)
    (old,) = dated(archive, 2000)
    for name in ("notes.json", "bt-1-20201399T000000Z-0001.json"):
        (archive.folder / name).write_text("{}", encoding="utf-8")
    assert archive.prune(NOW, keep_days=730, keep_count=1) == [old]
    assert kept(archive) == {"notes", "bt-1-20201399T000000Z-0001"}


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        (
            "archive_keep_days = 365",
            "checklist.archive_keep_days: at least 366: the directive wants every report of the"
            " last 12 months kept (got 365)",
        ),
        (
            "archive_keep_count = 0",
            "checklist.archive_keep_count: Input should be greater than or equal to 1 (got 0)",
        ),
    ],
)
def test_a_setting_that_would_delete_this_years_reports_is_refused(
    setting: str, problem: str
) -> None:
    text = f'[station]\nid = "bt-1"\nname = "Trạm thử"\n[checklist]\n{setting}\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(text), "station.toml")
    assert caught.value.problems == [f"station.toml: {problem}"]


def test_the_archive_defaults_keep_two_years_and_a_thousand_reports() -> None:
    text = '[station]\nid = "bt-1"\nname = "Trạm thử"\n'
    settings = parse_config(tomllib.loads(text), "station.toml").checklist
    assert (settings.archive_keep_days, settings.archive_keep_count) == (730, 1000)
