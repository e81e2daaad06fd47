"""Regenerate checklist-report.png: a sample pre-holiday inspection record, as printed.

    python docs/images/make_report_screenshot.py [--pdf record.pdf] [--html record.html]

Run it from the project's virtualenv, with Chromium installed (Debian: `apt-get
install chromium`; it is used here only, not by fieldagent or its tests).  The
report is made up but shaped like a real run of the demo station: the real items
of the built-in pre-holiday checklist, each with the evidence a run records (a
transmitter below its nominal power, low generator fuel, a service not on the
licensed line-up, a generator history too young to judge, an unreachable device).
It is rendered in Vietnamese and photographed by headless Chromium; `--pdf`
also prints it, to check that each category starts a page.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fieldagent.checklist.definition import Item, load_checklist
from fieldagent.checklist.evaluate import result_of
from fieldagent.checklist.render_html import report_html
from fieldagent.checklist.report import (
    Answer,
    Change,
    Check,
    Comparison,
    DeviceOutcome,
    HistoryUsed,
    ItemResult,
    JsonValue,
    LimitUsed,
    LineupDifference,
    ReadingUsed,
    Reason,
    Report,
    StationInfo,
    Status,
    summarize,
)
from fieldagent.checklist.resolve import BUILTIN_DIR, StationItem
from fieldagent.outputfile import OutputFileError, write_output

PICTURE = Path(__file__).with_name("checklist-report.png")
TECHNICIAN = "Nguyễn Văn An"
PASS, FAIL, INCOMPLETE = Status.PASS, Status.FAIL, Status.INCOMPLETE


def at(hour: int, minute: int, second: int = 0, day: int = 30, month: int = 12) -> datetime:
    """A UTC time; the station (Asia/Ho_Chi_Minh) is 7 hours ahead."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def read(key: str, value: JsonValue, unit: str = "", second: int = 4) -> ReadingUsed:
    return ReadingUsed(key=key, value=value, unit=unit, quality="ok", ts=at(1, 30, second))


def check(
    device: str | None, passed: bool, evaluated: str, *used: ReadingUsed, **evidence: Any
) -> Check:
    """A check as a run records it: the expression with its values, the readings, the rest."""
    status = PASS if passed else FAIL
    return Check(device=device, status=status, evaluated=evaluated, readings=list(used), **evidence)


def answered(note: str, minute: int) -> tuple[Status, list[Check], Answer]:
    """A manual item the technician confirmed."""
    answer = Answer(confirmed=True, technician=TECHNICIAN, note=note, ts=at(1, minute))
    return PASS, [Check(device=None, status=PASS)], answer


def power(device: str, watts: float, nominal: float) -> Check:
    return check(
        device,
        abs(watts - nominal) <= 0.1 * nominal,
        f"abs({watts} - {nominal}) <= 0.1 * {nominal}",
        read("rf.forward_power_w", watts, "W"),
        nominals={"rf.forward_power_w": nominal},
    )


def vswr(device: str, value: float) -> Check:
    limit = LimitUsed(function="warn_high", key="rf.vswr", value=1.5)
    return check(device, True, f"{value} < 1.5", read("rf.vswr", value, second=5), limits=[limit])


def margin(row: int, db: float) -> Check:
    key = f"ird.link_margin_db[input={row}]"
    return check("ird1", db >= 1, f"{db} >= 1", read(key, db, "dB"), row=f"input={row}")


def locked(row: int) -> Check:
    key = f"ird.locked[input={row}]"
    return check("ird1", True, "True", read(key, True), row=f"input={row}")


def grown(key: str, increase: float, since: datetime, samples: int) -> HistoryUsed:
    """A counter's growth over 30 days; history younger than that does not cover the window."""
    return HistoryUsed(
        key=key,
        increase=increase,
        since=since,
        until=at(1, 30, 6),
        samples=samples,
        covers_window=since <= at(1, 30) - timedelta(days=30),
    )


def simple(
    device: str | None, passed: bool, evaluated: str, key: str, value: JsonValue, unit: str = ""
) -> tuple[Status, list[Check]]:
    """An item of one check on one reading."""
    return (PASS if passed else FAIL), [check(device, passed, evaluated, read(key, value, unit))]


LINEUP = LineupDifference(
    expected=["VTV1 HD", "VTV3 HD"],
    found=["VTV1 HD", "Kênh Giải Trí Quốc Tế"],
    missing=["VTV3 HD"],
    extra=["Kênh Giải Trí Quốc Tế"],
)
SERVICES = [
    read("ird1:ird.service[input=1]", "VTV1 HD"),
    read("ird1:ird.service[input=2]", "Kênh Giải Trí Quốc Tế"),
]
ON_AIR = [check(d, True, "True", read("tx.on_air", True)) for d in ("fm-main", "fm-standby")]
VOLTS = LimitUsed(function="warn_low", key="gen.battery_v", value=12.0)
OPTICAL = LimitUsed(function="warn_low", key="optical.output_dbm", value=5.0)
CHANGEOVER = [
    read("changeover.position", "main"),
    read("changeover.ready", True),
    read("changeover.fault", False),
]
SWITCHES = grown("changeover.switch_count", 2.0, at(1, 31, day=29, month=11), 8640)
RUN_HOURS = grown("gen.run_hours", 0.0, at(3, 12, day=20), 2950)

EVIDENCE: dict[str, tuple[Status, list[Check]] | tuple[Status, list[Check], Answer]] = {
    "duty.roster": answered("Lịch trực từ 30/12 đến 04/01 đã niêm yết; đã gọi thử 6 số.", 38),
    "duty.contact_person": answered("Ông Trần Văn Bình, Phó Giám đốc, 0912 345 678.", 39),
    "transmitter.on_air": (PASS, ON_AIR),
    "transmitter.forward_power": (
        FAIL,
        [power("fm-main", 1990.0, 2000.0), power("fm-standby", 820.0, 1000.0)],
    ),
    "transmitter.vswr": (PASS, [vswr("fm-main", 1.12), vswr("fm-standby", 1.2)]),
    "production.equipment": answered("Máy quay số 2 hỏng ống kính, dùng máy quay số 3 thay.", 41),
    "ird.locked": (PASS, [locked(1), locked(2)]),
    "ird.link_margin": (FAIL, [margin(1, 4.2), margin(2, 0.6)]),
    "optical.output": (
        PASS,
        [
            check(
                "optical1",
                True,
                "6.8 >= 5.0",
                read("optical.output_dbm", 6.8, "dBm"),
                limits=[OPTICAL],
            )
        ],
    ),
    "ird.lineup": (
        FAIL,
        [
            Check(
                device=None,
                status=FAIL,
                reason=Reason.LINEUP_DIFFERS,
                readings=SERVICES,
                lineup=LINEUP,
            )
        ],
    ),
    "ups.on_mains": simple(
        "ups-main",
        True,
        "'normal' in ('normal', 'booster', 'reducer')",
        "ups.output.source",
        "normal",
    ),
    "ups.charge": simple("ups-main", True, "100 >= 90", "ups.battery.charge_pct", 100, "%"),
    "ups.runtime": simple("ups-main", True, "48 >= 30", "ups.battery.runtime_min", 48, "min"),
    "generator.fuel": simple("generator", False, "62.0 >= 75", "gen.fuel_pct", 62.0, "%"),
    "generator.battery": (
        PASS,
        [
            check(
                "generator",
                True,
                "not False and 13.1 >= 12.0",
                read("gen.alarm.battery_low", False),
                read("gen.battery_v", 13.1, "V"),
                limits=[VOLTS],
            )
        ],
    ),
    "generator.auto_mode": simple("generator", True, "'auto' == 'auto'", "gen.mode", "auto"),
    "changeover.armed": (
        PASS,
        [check("changeover", True, "'main' == 'main' and True and (not False)", *CHANGEOVER)],
    ),
    "changeover.tested": (PASS, [check("changeover", True, "2.0 >= 1", history=[SWITCHES])]),
    "generator.test_run": (
        INCOMPLETE,
        [
            Check(
                device="generator",
                status=INCOMPLETE,
                reason=Reason.HISTORY_SHORT,
                detail="gen.run_hours since 2026-12-20T03:12:00+00:00",
                evaluated="0.0 >= 5 / 60",
                history=[RUN_HOURS],
            )
        ],
    ),
    "backup.plan": answered("Tuyến cáp quang về trạm phát có dự phòng bằng viba.", 42),
    "backup.spares": answered("2 mô-đun khuếch đại 1 kW, 10 cầu chì, 200 lít dầu.", 43),
    "agent.no_critical_alarm": simple(None, True, "0 == 0", "station.alarms.critical", 0),
    "agent.devices_reachable": simple(None, False, "1 == 0", "station.devices.unreachable", 1),
    "agent.clock_synced": simple("agent-host", True, "True", "host.clock_synced", True),
    "agent.outbox_empty": simple(None, True, "0 == 0", "station.outbox.waiting", 0),
}


def result(item: Item) -> ItemResult:
    """The item's result as a run makes it (evaluate.result_of), with the made-up evidence."""
    status, checks, *answer = EVIDENCE[item.id]
    made = result_of(StationItem(item, "pre-holiday", ()), status, checks)
    return made.model_copy(update={"answer": answer[0] if answer else None})


def sample_report() -> Report:
    items = [result(item) for item in load_checklist(BUILTIN_DIR / "pre-holiday.toml").item]
    return Report(
        id="demo-hamtan-20261230T013000Z-7c41",
        station=StationInfo(
            id="demo-hamtan",
            name="Trung tâm Văn hóa - Thông tin - Thể thao huyện Hàm Tân",
            timezone="Asia/Ho_Chi_Minh",
        ),
        templates=["pre-holiday"],
        trigger="command-line",
        automatic_only=False,
        technician=TECHNICIAN,
        started=at(1, 30),
        finished=at(1, 43, 20),
        agent_version="0.1.0",
        hostname="hamtan-agent",
        devices=[
            DeviceOutcome(
                id="cmts",
                name="CMTS",
                kind="cmts",
                driver="docsis_cmts",
                answered=False,
                polled=at(1, 30, 3),
                error="timeout after 3 s",
            )
        ],
        items=items,
        summary=summarize(items),
        comparison=Comparison(
            previous="demo-hamtan-20260828T010500Z-2b90",
            previous_finished=at(1, 20, day=28, month=8),
            better=[Change(item="ups.runtime", before=FAIL, after=PASS)],
            worse=[
                Change(item="transmitter.forward_power", before=PASS, after=FAIL),
                Change(item="generator.fuel", before=PASS, after=FAIL),
            ],
        ),
    )


def chromium(*arguments: str) -> None:
    """Headless Chromium with its own throwaway profile, talking to nothing outside."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *arguments,
            ],
            check=True,
            capture_output=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, help="also print the record to this PDF")
    parser.add_argument("--html", type=Path, help="keep the HTML here (a new file)")
    parser.add_argument("--force", action="store_true", help="replace an existing --html file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        page = args.html or Path(folder) / "record.html"
        try:
            write_output(page, report_html(sample_report(), "vi").encode(), args.force)
        except OutputFileError as exc:
            raise SystemExit(f"error: --html {exc}") from None
        url = page.resolve().as_uri()
        chromium("--hide-scrollbars", "--window-size=1000,1400", f"--screenshot={PICTURE}", url)
        if args.pdf:
            chromium("--no-pdf-header-footer", f"--print-to-pdf={args.pdf.resolve()}", url)
    print(f"wrote {PICTURE}" + (f" and {args.pdf}" if args.pdf else ""))


if __name__ == "__main__":
    main()
