"""`fieldagent checklist show`, and a broken checklist refused by every command alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from drivers import REGISTRY
from fieldagent.checklist.show import schedule_text
from fieldagent.config import load_config
from tests.agentproc import fieldagent

DEMO = Path(__file__).parents[2] / "config" / "demo-station.toml"


def test_show_lists_each_item_with_the_devices_it_checks_in_either_language() -> None:
    shown = fieldagent("checklist", "show", "-c", str(DEMO))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "demo-hamtan: 25 items (pre-holiday)"
    on_air = lines.index(next(line for line in lines if "transmitter.on_air" in line))
    assert "Máy phát đang phát sóng" in lines[on_air]
    assert lines[on_air + 1].strip() == "công văn, mục 7"
    assert lines[on_air + 2].strip() == "thiết bị (transmitter): fm-main, fm-standby, dvbt2"
    english = fieldagent("checklist", "show", "-c", str(DEMO), "--lang", "en")
    assert "Transmitter on air" in english.stdout

    as_json = json.loads(fieldagent("checklist", "show", "-c", str(DEMO), "--json").stdout)
    by_id = {entry["id"]: entry for entry in as_json}
    assert by_id["generator.test_run"]["within_days"] == 30
    assert by_id["ird.lineup"]["station_devices"] == ["ird1"]
    assert by_id["duty.roster"]["kind"] == "manual"
    assert by_id["ups.runtime"]["directive"] == [4, 7]


def test_a_broken_checklist_stops_check_config_and_run_with_the_item_named(tmp_path: Path) -> None:
    station = tmp_path / "station.toml"
    station.write_text(
        DEMO.read_text(encoding="utf-8")
        .replace('state_dir = "../state/demo"', f'state_dir = "{tmp_path / "state"}"')
        .replace('[checklist.nominal.fm-standby]\n"rf.forward_power_w" = 1000\n', ""),
        encoding="utf-8",
    )
    checked = fieldagent("check-config", str(station))
    assert checked.returncode == 1
    assert (
        "item 'transmitter.forward_power' needs the nominal 'rf.forward_power_w' of device"
        f" 'fm-standby': give it in [checklist.nominal.fm-standby] of {station}"
    ) in checked.stderr
    run = fieldagent("run", "-c", str(station), "--once")
    assert run.returncode == 78 and "fm-standby" in run.stderr


def test_show_says_when_the_daemon_runs_the_checklist_by_itself() -> None:
    config = load_config(DEMO, REGISTRY)
    assert schedule_text(config, datetime(2026, 11, 29, 3, 0, tzinfo=UTC), "en") == (
        "Runs by itself daily at 06:00 in the holiday windows:"
        " 'Quốc khánh 2/9' (2026-08-28..2026-09-03), 'Tết Dương lịch' (2026-12-30..2027-01-02)."
        " Next: 2026-12-30 06:00 (Asia/Ho_Chi_Minh)."
    )
    assert schedule_text(config, datetime(2027, 1, 3, tzinfo=UTC), "vi").endswith(
        "Không có kỳ nghỉ lễ nào sắp tới."
    )
    shown = fieldagent("checklist", "show", "-c", str(DEMO), "--lang", "en")
    assert shown.stdout.splitlines()[-1].startswith("Runs by itself daily at 06:00")
