"""The report archive: whole files or none, never one report over another, even when the
process is killed in the middle of a write."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
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
