"""`fieldagent outbox`: what a technician sees of the backlog, as text and as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fieldagent.checklist.desk import ChecklistDesk
from fieldagent.outbox import Kind
from tests.agentproc import fieldagent
from tests.checklist.test_archive import report
from tests.outbox import draft, open_outbox
from tests.stationfile import write_station


def test_the_backlog_is_shown_per_kind_with_its_oldest_message_and_size(tmp_path: Path) -> None:
    config = write_station(tmp_path, [])
    outbox = open_outbox(tmp_path / "state")
    for _ in range(3):
        outbox.put(draft(Kind.ALARM))
    for _ in range(5):
        outbox.put(draft(Kind.TELEMETRY, body="r" * 300))
    outbox.close()

    shown = fieldagent("outbox", "-c", str(config))
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines()[1:]}
    assert rows["alarm"][1] == "3"
    assert rows["telemetry"][1] == "5"
    assert rows["telemetry"][2:5] == ["2026-11-29", "13:00", "+07:00"]  # 06:00 UTC, station time
    assert rows["total"][1] == "8"
    assert re.search(r"of 720\.0 MiB \(0 %\)", shown.stdout)

    as_json = fieldagent("outbox", "-c", str(config), "--json")
    report = json.loads(as_json.stdout)
    assert report["messages"] == 8
    assert report["kinds"]["alarm"]["messages"] == 3
    assert report["last_seq"] == 8
    assert report["size_bytes"] == sum(k["size_bytes"] for k in report["kinds"].values())


def test_an_empty_outbox_says_the_broker_has_everything(tmp_path: Path) -> None:
    config = write_station(tmp_path, [])
    shown = fieldagent("outbox", "-c", str(config))
    assert shown.returncode == 0, shown.stderr
    assert "The outbox is empty" in shown.stdout


def test_reports_waiting_for_an_agent_are_counted_as_checklist_messages(tmp_path: Path) -> None:
    config = write_station(tmp_path, [])
    outbox = open_outbox(tmp_path / "state")
    outbox.put(draft(Kind.CHECKLIST, retain=True))  # numbered, not yet delivered
    outbox.close()
    desk = ChecklistDesk(tmp_path / "state")
    for n in (1, 2):
        desk.hand_over(report(n))
    desk.close()

    shown = fieldagent("outbox", "-c", str(config))
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines()[1:]}
    assert rows["checklist"][1] == "3"
    assert rows["total"][1] == "3"
    assert "2 of the checklist reports wait for the agent" in shown.stdout
    assert "empty" not in shown.stdout
