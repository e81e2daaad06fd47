"""The hand-over between `checklist run` and the daemon, on a real state.db."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from fieldagent.checklist.desk import ChecklistDesk, DeskError
from fieldagent.state import DB_NAME
from tests.checklist.test_archive import T0, report


def test_the_daemon_answers_a_request_with_progress_and_the_report(tmp_path: Path) -> None:
    command, daemon = ChecklistDesk(tmp_path), ChecklistDesk(tmp_path)
    wanted = report(1)
    command.request(wanted.id, T0)
    taken = daemon.take_request(T0 + timedelta(seconds=1))
    assert taken == wanted.id
    assert daemon.take_request(T0 + timedelta(seconds=1)) is None  # taken once
    daemon.progress(wanted.id, "polling 1/1: ups-main ok")
    daemon.done(wanted)
    shown: list[str] = []
    assert asyncio.run(command.answer(wanted.id, 5.0, shown.append)) == wanted
    assert shown == ["polling 1/1: ups-main ok"]
    command.close()
    daemon.close()


def test_an_unanswered_request_times_out_and_is_withdrawn(tmp_path: Path) -> None:
    command = ChecklistDesk(tmp_path)
    command.request("r1", T0)
    with pytest.raises(DeskError, match=r"did not take it within 0\.3 s"):
        asyncio.run(command.answer("r1", 0.3, lambda text: None))
    assert command.take_request(T0) is None  # withdrawn: the daemon will not run it
    command.close()


def test_a_request_left_by_a_killed_command_is_dropped_not_run(tmp_path: Path) -> None:
    desk = ChecklistDesk(tmp_path)
    desk.request("old", T0)
    desk.request("new", T0 + timedelta(hours=2))
    taken = desk.take_request(T0 + timedelta(hours=2, seconds=1))
    assert taken is None  # the oldest was stale: dropped, and this tick takes nothing
    taken = desk.take_request(T0 + timedelta(hours=2, seconds=2))
    assert taken == "new"
    desk.close()


def test_a_damaged_outgoing_report_is_dropped_and_the_others_published(tmp_path: Path) -> None:
    desk = ChecklistDesk(tmp_path)
    good = report(2)
    desk.hand_over(good)
    with sqlite3.connect(tmp_path / DB_NAME) as damage:  # as a broken disk could leave it
        damage.execute("INSERT INTO checklist_outgoing VALUES ('bt-1-0', '{\"id\": 1}')")
    assert desk.outgoing() == [good]
    desk.published(good.id)
    assert desk.outgoing() == []
    desk.close()
