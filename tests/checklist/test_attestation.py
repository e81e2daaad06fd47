"""A readiness item the agent's history is too young to judge (a box installed a week before
the holiday) is attested by the technician, with --confirm or on the terminal; the report
shows it as attested by that technician, not measured, with the history's age as evidence.
Real command, real simulated UPS over UDP, real state.db history, real pseudo-terminal."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fieldagent.checklist.command import EXIT_USAGE
from fieldagent.checklist.history import CounterHistory, Sample
from fieldagent.checklist.render_html import report_html
from fieldagent.checklist.render_text import report_text
from fieldagent.checklist.report import Report
from fieldagent.model import utc_now
from tests.agentproc import fieldagent
from tests.checklist.test_daemon import TEMPLATE
from tests.checklist.test_interactive import Terminal
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

TECHNICIAN = "Phạm Thị Dung"
NOTE = "Chạy thử UPS trên ắc quy ngày 28/11, sổ vận hành trang 12"
READINESS = """
[[item]]
id = "ups.battery_tested"
category = "backup"
kind = "readiness"
devices = "ups"
within_days = 30
condition = "increase(ups.battery.on_battery_s) >= 60"
title = { vi = "Đã chạy thử UPS trên ắc quy", en = "UPS run on battery" }
hint = { vi = "Chạy thử UPS trên ắc quy", en = "Run the UPS on battery" }
"""


@pytest.fixture
def station(tmp_path: Path, sims: SimRunner) -> Path:
    ups = sims.serve("ups_rfc1628", "127.0.0.2")
    path = write_station(tmp_path, [device_fields("ups-main", ups)])
    (tmp_path / "test.toml").write_text(TEMPLATE + READINESS, encoding="utf-8")
    with path.open("a", encoding="utf-8") as station_file:
        station_file.write('\n[checklist]\ntemplates = ["test.toml"]\n')
    return path


def installed(station: Path, days_ago: float) -> None:
    """The history an agent installed `days_ago` would have: its first sample, then."""
    history = CounterHistory(station.parent / "state")
    try:
        sample = Sample(utc_now() - timedelta(days=days_ago), 0.0)
        history.record("ups-main", [("ups.battery.on_battery_s", sample)])
    finally:
        history.close()


def run(station: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    done = fieldagent("checklist", "run", "-c", str(station), "--format", "json", *args)
    assert done.returncode != EXIT_USAGE, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def item_of(report: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(item for item in report["items"] if item["id"] == item_id)


def test_confirm_attests_a_readiness_item_whose_history_is_too_young(station: Path) -> None:
    installed(station, days_ago=6)

    code, report, stderr = run(
        station,
        *("--technician", TECHNICIAN, "--confirm", "duty.roster"),
        *("--confirm", f"ups.battery_tested={NOTE}"),
    )

    assert code == 0, stderr
    tested = item_of(report, "ups.battery_tested")
    assert tested["status"] == "pass"
    attestation = tested["attestation"]
    assert (attestation["confirmed"], attestation["technician"], attestation["note"]) == (
        True,
        TECHNICIAN,
        NOTE,
    )
    assert attestation["history_days"] == pytest.approx(6.0, abs=0.1)
    assert tested["answer"] is None
    # What was measured stays: the history, too young to cover the 30 days.
    (check,) = tested["checks"]
    assert (check["status"], check["reason"]) == ("incomplete", "history_short")
    (history,) = check["history"]
    assert history["covers_window"] is False
    assert history["since"] == attestation["history_since"]
    assert report["summary"]["passed"] == 4
    assert report["summary"]["attested"] == 1

    record = Report.model_validate(report)
    assert not item_of(report, "ups.on_mains").get("attestation")
    text = " ".join(report_text(record, "en").split())  # unwrapped
    assert f"Attested, not measured, by: {TECHNICIAN} at" in text
    assert "the agent's history starts" in text
    assert "6 of 30 days" in text
    assert "of which attested: 1" in text
    page = report_html(record, "vi")
    assert "(theo xác nhận, chưa đo)" in page
    assert f"Người kiểm tra xác nhận đã thực hiện (chưa đo được): {TECHNICIAN}" in page


def test_an_item_the_history_can_judge_is_not_attested(station: Path) -> None:
    installed(station, days_ago=31)  # the history covers the window: the item is measured

    code, report, stderr = run(
        station, "--technician", TECHNICIAN, "--confirm", "ups.battery_tested=done"
    )

    assert code == 1, stderr
    tested = item_of(report, "ups.battery_tested")
    assert tested["status"] == "fail"  # on mains all month: 0 s on battery, measured
    assert tested["attestation"] is None
    assert report["summary"]["attested"] == 0
    assert "--confirm ups.battery_tested: not used: the item is judged on its readings (fail)" in (
        stderr
    )


def test_only_manual_and_readiness_items_can_be_confirmed(station: Path) -> None:
    done = fieldagent(
        *("checklist", "run", "-c", str(station), "--technician", TECHNICIAN),
        *("--confirm", "ups.on_mains"),
    )
    assert done.returncode == EXIT_USAGE
    assert (
        "'ups.on_mains' is not a manual or readiness item of this station"
        " (manual items: duty.roster; readiness items: ups.battery_tested)"
    ) in done.stderr


def test_on_a_terminal_the_technician_is_asked_with_the_history_s_age(station: Path) -> None:
    installed(station, days_ago=3)

    terminal = Terminal("checklist", "run", "-c", str(station), "--lang", "en")
    terminal.expect("Technician's name: ")
    terminal.answer(TECHNICIAN)
    terminal.expect("duty.roster: Duty roster posted")
    terminal.expect("[y]es / [n]o / [s]kip: ")
    terminal.answer("y")
    terminal.expect("Note (Enter for none): ")
    terminal.answer("")
    terminal.expect("ups.battery_tested: UPS run on battery")
    terminal.expect("The agent's history starts")
    terminal.expect("(3 of 30 days): too young.")
    terminal.expect("Done within the last 30 days? [y]es / [n]o / [s]kip: ")
    terminal.answer("n")
    terminal.expect("Note (Enter for none): ")
    terminal.answer("Chưa chạy thử")
    assert terminal.finish() == 1  # the technician says it was not done: the item fails

    (saved,) = (station.parent / "state" / "checklists").glob("*.json")
    tested = item_of(json.loads(saved.read_text(encoding="utf-8")), "ups.battery_tested")
    assert tested["status"] == "fail"
    assert tested["attestation"]["confirmed"] is False
    assert tested["attestation"]["technician"] == TECHNICIAN
    assert tested["attestation"]["note"] == "Chưa chạy thử"
    assert "Not done, says: " + TECHNICIAN in terminal.seen
