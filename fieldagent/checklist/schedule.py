"""When the daemon runs the pre-holiday checklist by itself, and which days it has run.

Over a holiday the station is often unattended.  Inside each holiday window
of the station file (`[[checklist.holiday]]`) the daemon runs the checklist's
automatic items once a day at `run_at`, station time, so the province sees
each morning whether the station is still ready.

The rules are pure functions of the clock, kept apart from the daemon so they
can be tested day by day:

- a day's run is due from `run_at` to the end of that station-local day, so an
  agent started (or restarted) after `run_at` still runs that day's checklist;
- a day that passed while the agent was down is not run afterwards: the run
  reports the station as it is, which says nothing about a day gone by;
- state.db remembers the day of the last run (`ScheduleLog`), so a restart
  does not run the same day twice.

Times are compared as instants.  `run_at` on a day is the instant the
station's clock shows it, the first of the two in an hour the clock repeats;
in an hour it skips, the run comes that much later (02:30 becomes 03:30).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fieldagent.checklist.settings import HolidayWindow
from fieldagent.state import StateStoreError, open_state_db

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class ScheduledRun:
    """A run that is due: for which station-local day, in which holiday window."""

    day: date
    window: HolidayWindow


def due(
    windows: Sequence[HolidayWindow],
    run_at: str,
    timezone: ZoneInfo,
    now: datetime,
    last_day: date | None,
) -> ScheduledRun | None:
    """The run due at `now`, or None.

    Due when the station-local day of `now` lies in a window (both ends
    included), `now` is at or past that day's `run_at`, and `last_day` (the
    local day of the last run, from `ScheduleLog.last_day`) is another day.
    """
    day = _local_day(now, timezone)
    window = next((w for w in windows if w.holds(day)), None)
    if window is None or day == last_day or now < _run_instant(day, run_at, timezone):
        return None
    return ScheduledRun(day, window)


def next_run(
    windows: Sequence[HolidayWindow],
    run_at: str,
    timezone: ZoneInfo,
    now: datetime,
    last_day: date | None,
) -> datetime | None:
    """When the next run is due, in UTC: `now` itself if one is due now; None if none lies ahead.

    For the daemon's log and `checklist show`; `due` at the returned instant
    gives that run.
    """
    today = _local_day(now, timezone)
    instants: list[datetime] = []
    for window in windows:
        day = max(window.start, today)
        if day == last_day:
            day += _ONE_DAY
        if day <= window.end:
            instants.append(max(_run_instant(day, run_at, timezone), now.astimezone(UTC)))
    return min(instants, default=None)


def _local_day(now: datetime, timezone: ZoneInfo) -> date:
    # A naive datetime would silently be read as the machine's own time zone.
    if now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got {now.isoformat()}")
    return now.astimezone(timezone).date()


def _run_instant(day: date, run_at: str, timezone: ZoneInfo) -> datetime:
    """`run_at` on `day`, station time, as a UTC instant (see the module docstring)."""
    local = datetime.combine(day, time.fromisoformat(run_at), tzinfo=timezone)
    # In UTC, so comparisons are between instants even when `now` is in the station's zone.
    return local.astimezone(UTC)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS checklist_schedule (
    day       TEXT PRIMARY KEY,
    report_id TEXT NOT NULL,
    ts        TEXT NOT NULL
);
"""


class ScheduleLog:
    """The days the daemon ran the checklist by itself (table `checklist_schedule` of state.db).

    One row per station-local day: the day, the report that run made, and when
    it was recorded (UTC).
    """

    def __init__(self, state_dir: Path) -> None:
        try:
            self._db = open_state_db(state_dir)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateStoreError(f"{state_dir}: cannot open the state database: {exc}") from None

    def last_day(self) -> date | None:
        """The day of the run recorded last, or None before the first.

        Recorded last, not the latest day: a clock that was once wrong (a
        board without a battery-backed clock boots with a stale or guessed
        time) must not leave a day in the future that blocks the real one.
        """
        row = self._db.execute(
            "SELECT day FROM checklist_schedule ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        return None if row is None else date.fromisoformat(row[0])

    def ran(self, day: date, report_id: str) -> None:
        """Record the run of `day` and its report; a second record of the day replaces it."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            # REPLACE deletes the old row and inserts a new one: it becomes the last recorded.
            self._db.execute(
                "INSERT OR REPLACE INTO checklist_schedule (day, report_id, ts) VALUES (?, ?, ?)",
                (day.isoformat(), report_id, datetime.now(UTC).isoformat()),
            )

    def close(self) -> None:
        self._db.close()
