"""Holiday windows in the station file, the daily run inside them, and its record in state.db."""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fieldagent.checklist.schedule import ScheduledRun, ScheduleLog, due, next_run
from fieldagent.checklist.settings import HolidayWindow
from fieldagent.config import Config, ConfigError, load_config, parse_config
from fieldagent.state import DB_NAME, StateStoreError

PROJECT = Path(__file__).parent.parent.parent
HCM = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7 all year
QUOC_KHANH = HolidayWindow(name="Quốc khánh 2/9", start=date(2026, 8, 28), end=date(2026, 9, 3))
TET = HolidayWindow(name="Tết Dương lịch", start=date(2026, 12, 30), end=date(2027, 1, 2))
WINDOWS = [TET, QUOC_KHANH]  # not in date order: the station file need not be either
STATION = '[station]\nid = "bt-test"\nname = "Trạm thử"\n'


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment.astimezone(UTC)


def parse(checklist: str) -> Config:
    return parse_config(tomllib.loads(STATION + checklist), "station.toml")


def problems(checklist: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(checklist)
    return caught.value.problems


def holiday(
    name: str = "Quốc khánh 2/9", start: str = "2026-08-28", end: str = "2026-09-03"
) -> str:
    return f'[[checklist.holiday]]\nname = "{name}"\nstart = {start}\nend = {end}\n'


# ---------------------------------------------------------------- the station file


def test_windows_and_run_at_are_read_from_toml_dates() -> None:
    config = parse(
        '[checklist]\nrun_at = "05:45"\n'
        + holiday()
        + holiday("Tết Dương lịch", "2026-12-30", "2027-01-02")
    )
    assert config.checklist.run_at == "05:45"
    assert config.checklist.holiday == [QUOC_KHANH, TET]


def test_without_windows_nothing_is_scheduled_at_six() -> None:
    config = parse("")
    assert config.checklist.holiday == []
    assert config.checklist.run_at == "06:00"


def test_the_demo_station_has_both_holidays() -> None:
    config = load_config(PROJECT / "config" / "demo-station.toml")
    assert set(config.checklist.holiday) == {QUOC_KHANH, TET}
    assert config.checklist.run_at == "06:00"


def test_a_window_of_one_day_and_one_of_31_days_are_allowed() -> None:
    config = parse(
        holiday("Giỗ Tổ", "2026-04-26", "2026-04-26") + holiday("Hè", "2026-07-01", "2026-07-31")
    )
    assert [w.name for w in config.checklist.holiday] == ["Giỗ Tổ", "Hè"]


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        (
            holiday(start="2026-09-03", end="2026-08-28"),
            "checklist.holiday[1]: end (2026-08-28) is before start (2026-09-03)",
        ),
        (
            holiday(start="2026-08-28", end="2026-09-28"),
            "checklist.holiday[1]: 32 days from start (2026-08-28) to end (2026-09-28);"
            " a window is at most 31 days long",
        ),
        (
            holiday(name=" "),
            'checklist.holiday[1].name: give the window a name, e.g. "Quốc khánh 2/9"',
        ),
        (
            holiday(start="2026-08-28T06:00:00"),
            "checklist.holiday[1].start: give a date without a time of day, e.g. 2026-08-28"
            " (got 2026-08-28 06:00:00)",
        ),
        (
            holiday(end="20260903"),
            "checklist.holiday[1].end: expected a date, e.g. 2026-08-28 (got 20260903)",
        ),
        (
            holiday(end='"3/9/2026"'),
            "checklist.holiday[1].end: expected a date, e.g. 2026-08-28 (got '3/9/2026')",
        ),
        (
            '[[checklist.holiday]]\nname = "Quốc khánh"\nstart = 2026-08-28\n',
            "checklist.holiday[1].end: required key is missing",
        ),
        (
            holiday() + "days = 7\n",
            "checklist.holiday[1].days: unknown key",
        ),
    ],
)
def test_a_bad_window_is_named_by_its_place_and_key(window: str, problem: str) -> None:
    first = holiday("Tết Dương lịch", "2026-12-30", "2027-01-02")
    assert problems(first + window) == [f"station.toml: {problem}"]


def test_a_date_in_quotes_is_still_a_date() -> None:
    config = parse(holiday(start='"2026-08-28"'))
    assert config.checklist.holiday == [QUOC_KHANH]


QK = "'Quốc khánh 2/9' (2026-08-28..2026-09-03)"


@pytest.mark.parametrize(
    ("second", "named"),
    [
        (("Nghỉ bù", "2026-09-03", "2026-09-05"), f"{QK} and 'Nghỉ bù' (2026-09-03..2026-09-05)"),
        (("Trong", "2026-08-30", "2026-08-31"), f"{QK} and 'Trong' (2026-08-30..2026-08-31)"),
        (("Quanh", "2026-08-20", "2026-09-10"), f"'Quanh' (2026-08-20..2026-09-10) and {QK}"),
    ],
)
def test_overlapping_windows_are_refused_naming_both(
    second: tuple[str, str, str], named: str
) -> None:
    assert problems(holiday() + holiday(*second)) == [
        f"station.toml: checklist.holiday: holiday windows {named} overlap"
    ]


def test_windows_one_after_the_other_do_not_overlap() -> None:
    config = parse(holiday() + holiday("Nghỉ bù", "2026-09-04", "2026-09-05"))
    assert len(config.checklist.holiday) == 2


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('"6:00"', "'6:00'"),
        ('"24:00"', "'24:00'"),
        ('"06:60"', "'06:60'"),
        ('"0600"', "'0600'"),
        ('"06:00:00"', "'06:00:00'"),
        ('"06:00 "', None),  # surrounding blanks are forgiven
    ],
)
def test_run_at_is_hh_mm(value: str, shown: str | None) -> None:
    text = f"[checklist]\nrun_at = {value}\n"
    if shown is None:
        assert parse(text).checklist.run_at == "06:00"
    else:
        assert problems(text) == [
            f"station.toml: checklist.run_at: expected HH:MM, e.g. 06:00 (got {shown})"
        ]


def test_run_at_as_a_toml_time_asks_for_quotes() -> None:
    assert problems("[checklist]\nrun_at = 06:00:00\n") == [
        'station.toml: checklist.run_at: expected HH:MM, e.g. 06:00, in quotes: run_at = "06:00"'
        " (got 06:00:00)"
    ]


def test_every_schedule_problem_is_reported_at_once() -> None:
    text = '[checklist]\nrun_at = "7h"\n' + holiday(end="2026-08-01")
    assert len(problems(text)) == 2


# ---------------------------------------------------------------- when a run is due


def run(now: str, last_day: date | None = None, run_at: str = "06:00") -> ScheduledRun | None:
    return due(WINDOWS, run_at, HCM, utc(now), last_day)


def test_due_at_run_at_station_time_which_is_the_evening_before_in_utc() -> None:
    # 2026-08-27 23:30 UTC is 2026-08-28 06:30 in Hồ Chí Minh City: the window's first morning.
    assert run("2026-08-27T23:30Z") == ScheduledRun(date(2026, 8, 28), QUOC_KHANH)
    assert run("2026-08-27T23:00Z") == ScheduledRun(date(2026, 8, 28), QUOC_KHANH)


def test_not_due_before_run_at() -> None:
    assert run("2026-08-27T22:59:59Z") is None  # 05:59:59 local
    assert run("2026-08-27T17:30Z") is None  # 00:30 local, already in the window
    assert run("2026-08-28T00:00Z", run_at="07:15") is None  # 07:00 local
    assert run("2026-08-28T00:15Z", run_at="07:15") == ScheduledRun(date(2026, 8, 28), QUOC_KHANH)


def test_not_due_outside_the_windows() -> None:
    assert run("2026-08-27T12:00Z") is None  # 19:00 on 27 August, the day before
    assert run("2026-10-15T03:00Z") is None
    assert due([], "06:00", HCM, utc("2026-08-28T03:00Z"), None) is None


def test_the_window_ends_at_local_midnight_not_utc_midnight() -> None:
    assert run("2026-09-03T16:59Z") == ScheduledRun(date(2026, 9, 3), QUOC_KHANH)  # 23:59 local
    assert run("2026-09-03T17:00Z") is None  # 00:00 on 4 September locally, still 3rd in UTC


def test_a_window_across_new_year() -> None:
    assert run("2026-12-31T23:00Z") == ScheduledRun(date(2027, 1, 1), TET)
    assert run("2027-01-02T05:00Z") == ScheduledRun(date(2027, 1, 2), TET)
    assert run("2027-01-02T23:00Z") is None


def test_not_due_twice_the_same_day() -> None:
    assert run("2026-08-28T03:00Z", last_day=date(2026, 8, 28)) is None
    assert run("2026-08-29T03:00Z", last_day=date(2026, 8, 28)) == ScheduledRun(
        date(2026, 8, 29), QUOC_KHANH
    )


def test_an_agent_started_late_catches_up_today_but_not_the_days_it_missed() -> None:
    # Down from the 28th's run until 15:00 on the 30th: the 30th runs at once, the 29th never.
    assert run("2026-08-30T08:00Z", last_day=date(2026, 8, 28)) == ScheduledRun(
        date(2026, 8, 30), QUOC_KHANH
    )


def test_now_in_the_station_zone_means_the_same_instant() -> None:
    local = datetime(2026, 8, 28, 6, 30, tzinfo=HCM)
    assert due(WINDOWS, "06:00", HCM, local, None) == ScheduledRun(date(2026, 8, 28), QUOC_KHANH)
    early = datetime(2026, 8, 28, 5, 30, tzinfo=HCM)
    assert due(WINDOWS, "06:00", HCM, early, None) is None


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due(WINDOWS, "06:00", HCM, datetime(2026, 8, 28, 6, 30), None)
    with pytest.raises(ValueError, match="aware"):
        next_run(WINDOWS, "06:00", HCM, datetime(2026, 8, 28, 6, 30), None)


def every(start: datetime, stop: datetime, step: timedelta) -> Iterator[datetime]:
    while start < stop:
        yield start
        start += step


def test_a_daemon_polling_every_ten_minutes_runs_once_a_day_skipping_its_downtime() -> None:
    down = (utc("2026-08-29T17:00Z"), utc("2026-08-31T05:00Z"))  # 30 Aug 00:00 to 31 Aug 12:00
    last_day: date | None = None
    runs: list[tuple[date, datetime]] = []
    for now in every(utc("2026-08-25T00:00Z"), utc("2026-09-06T00:00Z"), timedelta(minutes=10)):
        if down[0] <= now < down[1]:
            continue
        scheduled = due(WINDOWS, "06:00", HCM, now, last_day)
        if scheduled is not None:
            runs.append((scheduled.day, now))
            last_day = scheduled.day
    assert runs == [
        (date(2026, 8, 28), utc("2026-08-27T23:00Z")),
        (date(2026, 8, 29), utc("2026-08-28T23:00Z")),
        (date(2026, 8, 31), utc("2026-08-31T05:00Z")),  # caught up at restart; 30th missed
        (date(2026, 9, 1), utc("2026-08-31T23:00Z")),
        (date(2026, 9, 2), utc("2026-09-01T23:00Z")),
        (date(2026, 9, 3), utc("2026-09-02T23:00Z")),
    ]


# ---------------------------------------------------------------- the next run


def following(now: str, last_day: date | None = None) -> datetime | None:
    return next_run(WINDOWS, "06:00", HCM, utc(now), last_day)


def test_next_run_before_a_window_is_its_first_morning() -> None:
    assert following("2026-08-01T00:00Z") == utc("2026-08-27T23:00Z")
    assert following("2026-08-27T22:00Z") == utc("2026-08-27T23:00Z")


def test_next_run_is_now_while_one_is_due() -> None:
    assert following("2026-08-28T08:00Z") == utc("2026-08-28T08:00Z")


def test_next_run_after_todays_is_tomorrows() -> None:
    assert following("2026-08-28T08:00Z", date(2026, 8, 28)) == utc("2026-08-28T23:00Z")


def test_next_run_after_a_windows_last_run_is_the_next_windows_first() -> None:
    assert following("2026-09-03T08:00Z", date(2026, 9, 3)) == utc("2026-12-29T23:00Z")
    assert following("2026-09-03T17:00Z", date(2026, 9, 3)) == utc("2026-12-29T23:00Z")


def test_no_next_run_after_the_last_window() -> None:
    assert following("2027-01-02T08:00Z", date(2027, 1, 2)) is None
    assert following("2027-03-01T00:00Z") is None
    assert next_run([], "06:00", HCM, utc("2026-08-01T00:00Z"), None) is None


def test_next_run_is_in_utc() -> None:
    moment = next_run(WINDOWS, "06:00", HCM, datetime(2026, 8, 1, tzinfo=HCM), None)
    assert moment is not None and moment.utcoffset() == timedelta(0)
    assert moment == utc("2026-08-27T23:00Z")


@pytest.mark.parametrize(
    ("zone", "window", "run_at"),
    [
        ("Asia/Ho_Chi_Minh", QUOC_KHANH, "06:00"),
        ("Asia/Ho_Chi_Minh", TET, "23:59"),
        ("Asia/Ho_Chi_Minh", TET, "00:00"),
        # Clocks skip 02:00-03:00 on 8 March and repeat 01:00-02:00 on 1 November.
        (
            "America/New_York",
            HolidayWindow(name="m", start=date(2026, 3, 7), end=date(2026, 3, 9)),
            "02:30",
        ),
        (
            "America/New_York",
            HolidayWindow(name="n", start=date(2026, 10, 31), end=date(2026, 11, 2)),
            "01:30",
        ),
    ],
)
def test_next_run_is_exactly_when_due_says_so(
    zone: str, window: HolidayWindow, run_at: str
) -> None:
    timezone = ZoneInfo(zone)
    first = datetime.combine(window.start, datetime.min.time(), tzinfo=timezone) - timedelta(days=1)
    last_day: date | None = None
    for now in every(first.astimezone(UTC), first + timedelta(days=5), timedelta(minutes=15)):
        moment = next_run([window], run_at, timezone, now, last_day)
        if moment is None:
            assert now.astimezone(timezone).date() >= window.end
            continue
        scheduled = due([window], run_at, timezone, moment, last_day)
        assert scheduled is not None, (now, moment)
        if moment > now:
            assert due([window], run_at, timezone, now, last_day) is None
            assert due([window], run_at, timezone, moment - timedelta(seconds=1), last_day) is None
        else:
            last_day = scheduled.day  # the daemon runs it


# ---------------------------------------------------------------- the record in state.db


def test_schedule_log_remembers_the_last_day_across_a_reopen(tmp_path: Path) -> None:
    log = ScheduleLog(tmp_path)
    assert log.last_day() is None
    log.ran(date(2026, 8, 28), "report-0828")
    log.ran(date(2026, 8, 29), "report-0829")
    log.close()
    assert (tmp_path / DB_NAME).is_file()

    again = ScheduleLog(tmp_path)
    assert again.last_day() == date(2026, 8, 29)
    again.close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        rows = db.execute(
            "SELECT day, report_id, ts FROM checklist_schedule ORDER BY day"
        ).fetchall()
    assert [row[:2] for row in rows] == [
        ("2026-08-28", "report-0828"),
        ("2026-08-29", "report-0829"),
    ]
    assert all(datetime.fromisoformat(row[2]).utcoffset() == timedelta(0) for row in rows)


def test_the_last_day_is_the_one_recorded_last_not_the_latest(tmp_path: Path) -> None:
    log = ScheduleLog(tmp_path)
    log.ran(date(2027, 1, 1), "report-from-a-wrong-clock")
    log.ran(date(2026, 8, 28), "report-0828")
    assert log.last_day() == date(2026, 8, 28)
    log.ran(date(2027, 1, 1), "report-0101")  # the real New Year's Day replaces the wrong one
    assert log.last_day() == date(2027, 1, 1)
    log.close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        reports = dict(db.execute("SELECT day, report_id FROM checklist_schedule").fetchall())
    assert reports == {"2026-08-28": "report-0828", "2027-01-01": "report-0101"}


def test_schedule_log_shares_state_db_with_the_other_parts(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("CREATE TABLE other_part (x INTEGER)")
    log = ScheduleLog(tmp_path)
    log.ran(date(2026, 8, 28), "r")
    log.close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"other_part", "checklist_schedule"} <= tables


def test_an_unusable_state_dir_is_a_state_store_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "state"
    not_a_dir.write_text("", encoding="utf-8")
    with pytest.raises(StateStoreError, match="cannot open the state database"):
        ScheduleLog(not_a_dir)


def test_the_reference_example_is_a_valid_station_file() -> None:
    text = (PROJECT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = text.split("### Holiday windows")[1].split("```toml\n")[1].split("```")[0]
    config = parse(example)
    assert config.checklist.holiday == [QUOC_KHANH]
    assert config.checklist.run_at == "06:00"
