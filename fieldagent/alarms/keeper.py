"""The alarm store as the daemon uses it: a failing disk never stops alarm handling.

`AlarmStore` raises when state.db cannot be opened or written (read-only
filesystem, disk full).  The daemon must go on judging and publishing alarms
all the same: the engine holds every active alarm in memory, and the keeper
writes the whole set again (`catch_up`) as soon as the disk takes it.  The
outbox raises the station alarm that says the disk is failing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from fieldagent.alarms.engine import MaintenanceOverride
from fieldagent.alarms.model import Alarm, AlarmEvent
from fieldagent.alarms.store import AlarmStore
from fieldagent.state import StateStoreError, storage_problem

log = logging.getLogger("fieldagent.alarms")


class AlarmKeeper:
    """Records alarm transitions and maintenance commands; never raises."""

    def __init__(self, state_dir: Path) -> None:
        self._state_dir = state_dir
        self._store: AlarmStore | None = None
        self.behind = False
        """Some transitions were not written: `catch_up` writes the whole active set."""
        try:
            self._store = AlarmStore(state_dir)
        except StateStoreError as exc:
            log.error("active alarms cannot be restored or saved: %s", exc)
            self.behind = True

    def restore(self) -> tuple[list[Alarm], dict[str, MaintenanceOverride]]:
        """What was active and in maintenance before the restart (nothing without a disk)."""
        if self._store is None:
            return [], {}
        try:
            return self._store.load_active(), self._store.load_maintenance()
        except sqlite3.Error as exc:
            log.error("active alarms cannot be restored: %s", exc)
            return [], {}

    def record(self, events: Iterable[AlarmEvent]) -> None:
        batch = list(events)
        if not batch:
            return
        if self._store is not None and not self.behind:
            try:
                self._store.apply(batch)
                return
            except sqlite3.Error as exc:
                log.error("cannot save active alarms (%s): retrying every tick", exc)
        self.behind = True

    def record_maintenance(self, overrides: Mapping[str, MaintenanceOverride]) -> None:
        if self._store is not None and not self.behind:
            try:
                self._store.save_maintenance(overrides)
                return
            except sqlite3.Error as exc:
                log.error("cannot save maintenance commands (%s): retrying every tick", exc)
        self.behind = True

    def take_requests(self) -> list[tuple[str, datetime | None]]:
        """Maintenance commands left by `fieldagent maintenance` (none without a disk)."""
        if self._store is None:
            return []
        try:
            return self._store.take_maintenance_requests()
        except sqlite3.Error:
            return []  # they stay on disk for the next tick

    def request_maintenance(self, device: str, until: datetime | None, now: datetime) -> str | None:
        """Leave a maintenance command as `fieldagent maintenance` does (applied at the next
        tick, kept across a restart); what went wrong, in words, or None."""
        try:
            if self._store is None:
                self._store = AlarmStore(self._state_dir)
            self._store.request_maintenance(device, until, now)
        except (StateStoreError, sqlite3.Error) as exc:
            return storage_problem(self._state_dir, exc)
        return None

    def catch_up(self, active: list[Alarm], overrides: Mapping[str, MaintenanceOverride]) -> None:
        """Write the whole state again after a failure; quietly keep trying until it works."""
        try:
            if self._store is None:
                self._store = AlarmStore(self._state_dir)
            self._store.replace_active(active)
            self._store.save_maintenance(overrides)
        except (StateStoreError, sqlite3.Error) as exc:
            log.debug("active alarms still not saved: %s", exc)
            return
        log.info("active alarms saved again (%d)", len(active))
        self.behind = False

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
