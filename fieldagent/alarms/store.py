"""The active alarms and maintenance commands, kept in the state directory's state.db.

So a restart neither raises an active alarm a second time nor forgets one:
the agent applies every batch of events as it gets them (one transaction per
batch) and gives `load_active()` back to the next engine.  The tables are the
alarm engine's own (`alarm_active`, `alarm_maintenance`) in the same SQLite
file as the outbox, in WAL mode with synchronous=FULL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from fieldagent.alarms.engine import MaintenanceOverride
from fieldagent.alarms.model import Alarm, AlarmEvent, Transition
from fieldagent.model import HealthState, Value
from fieldagent.state import StateStoreError, open_state_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_active (
    alarm_id   TEXT PRIMARY KEY,
    station    TEXT NOT NULL,
    device     TEXT,
    rule       TEXT NOT NULL,
    condition  TEXT NOT NULL,
    severity   TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    changed_at TEXT,
    value      TEXT NOT NULL,
    limit_     REAL,
    unit       TEXT NOT NULL,
    message_vi TEXT NOT NULL,
    message_en TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_maintenance (
    device       TEXT PRIMARY KEY,
    until        TEXT,
    config_until TEXT,
    set_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS maintenance_request (
    device       TEXT PRIMARY KEY,
    until        TEXT,
    requested_at TEXT NOT NULL
);
"""

_COLUMNS = (
    "alarm_id, station, device, rule, condition, severity, raised_at, changed_at,"
    " value, limit_, unit, message_vi, message_en"
)


class AlarmStore:
    """The alarm tables of state.db; one instance per agent process."""

    def __init__(self, state_dir: Path) -> None:
        try:
            self._db = open_state_db(state_dir)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateStoreError(f"{state_dir}: cannot open the state database: {exc}") from None

    def apply(self, events: Iterable[AlarmEvent]) -> None:
        """Record a batch of events: raised and changed alarms are kept, cleared ones go."""
        batch = list(events)
        if not batch:
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for event in batch:
                if event.transition is Transition.CLEARED:
                    self._db.execute(
                        "DELETE FROM alarm_active WHERE alarm_id=?", (event.alarm.alarm_id,)
                    )
                else:
                    self._insert(event.alarm)

    def replace_active(self, alarms: Iterable[Alarm]) -> None:
        """Record exactly these alarms as active (after a batch could not be written)."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM alarm_active")
            for alarm in alarms:
                self._insert(alarm)

    def _insert(self, alarm: Alarm) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO alarm_active ({_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alarm.alarm_id,
                alarm.station,
                alarm.device,
                alarm.rule,
                alarm.condition,
                alarm.severity.value,
                alarm.raised_at.isoformat(),
                alarm.changed_at.isoformat() if alarm.changed_at else None,
                json.dumps(alarm.value),
                alarm.limit,
                alarm.unit,
                alarm.message_vi,
                alarm.message_en,
            ),
        )

    def load_active(self) -> list[Alarm]:
        """The alarms that were active, oldest first, for `AlarmEngine(restored=...)`."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM alarm_active ORDER BY raised_at, alarm_id"
        ).fetchall()
        return [_alarm(row) for row in rows]

    def save_maintenance(self, overrides: Mapping[str, MaintenanceOverride]) -> None:
        """Replace the recorded maintenance commands with `engine.maintenance_overrides`."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM alarm_maintenance")
            self._db.executemany(
                "INSERT INTO alarm_maintenance (device, until, config_until, set_at)"
                " VALUES (?, ?, ?, ?)",
                [
                    (device, _iso(o.until), _iso(o.config_until), o.set_at.isoformat())
                    for device, o in overrides.items()
                ],
            )

    def load_maintenance(self) -> dict[str, MaintenanceOverride]:
        """The maintenance commands in force, for `AlarmEngine(maintenance=...)`."""
        rows = self._db.execute(
            "SELECT device, until, config_until, set_at FROM alarm_maintenance ORDER BY device"
        ).fetchall()
        return {
            device: MaintenanceOverride(
                _time(until), _time(config_until), datetime.fromisoformat(set_at)
            )
            for device, until, config_until, set_at in rows
        }

    def request_maintenance(self, device: str, until: datetime | None, now: datetime) -> None:
        """Leave a maintenance command for the running agent (`fieldagent maintenance`).

        The agent takes it at its next alarm tick (within a second), or at its
        start if it is not running; the last request for a device wins.
        """
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO maintenance_request (device, until, requested_at)"
                " VALUES (?, ?, ?)",
                (device, _iso(until), now.isoformat()),
            )

    def take_maintenance_requests(self) -> list[tuple[str, datetime | None]]:
        """The waiting maintenance commands, removed as they are taken (one transaction).

        Asked every second: a read first, so that no request costs no write on the SD card.
        """
        if self._db.execute("SELECT 1 FROM maintenance_request LIMIT 1").fetchone() is None:
            return []
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute(
                "SELECT device, until FROM maintenance_request ORDER BY requested_at"
            ).fetchall()
            self._db.execute("DELETE FROM maintenance_request")
        return [(device, _time(until)) for device, until in rows]

    def close(self) -> None:
        self._db.close()


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _alarm(row: tuple[object, ...]) -> Alarm:
    (
        alarm_id,
        station,
        device,
        rule,
        condition,
        severity,
        raised_at,
        changed_at,
        value,
        limit,
        unit,
        message_vi,
        message_en,
    ) = row
    decoded: Value = json.loads(str(value))
    return Alarm(
        alarm_id=str(alarm_id),
        station=str(station),
        device=None if device is None else str(device),
        rule=str(rule),
        condition=str(condition),
        severity=HealthState(str(severity)),
        raised_at=datetime.fromisoformat(str(raised_at)),
        value=decoded,
        limit=None if limit is None else float(str(limit)),
        message_vi=str(message_vi),
        message_en=str(message_en),
        unit=str(unit),
        changed_at=None if changed_at is None else datetime.fromisoformat(str(changed_at)),
    )
