"""Hand-over between `fieldagent checklist run` and the running daemon, in state.db.

The daemon owns the serial lines (one request at a time on an RS-485 bus),
the alarm state and the outbox, so while it runs, the command asks it to poll
and judge (a row in `checklist_request`, answered with the automatic part of
the report and progress lines on the way), and leaves the finished report for
it to publish (`checklist_outgoing`).  With no daemon running, the command
polls by itself and the report waits in `checklist_outgoing` until the agent
starts (`run` or `run --once`): it is archived either way, and published once,
as its own message: the outbox numbers it in the transaction that removes it
from the desk.

The daemon looks at both tables every second with a read, so an idle desk
costs no write on the SD card.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import NamedTuple

from pydantic import ValidationError

from fieldagent.checklist.report import Report
from fieldagent.state import open_state_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checklist_request (
    id TEXT PRIMARY KEY,
    requested TEXT NOT NULL,
    state TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '',
    report TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS checklist_outgoing (
    id TEXT PRIMARY KEY,
    report TEXT NOT NULL
);
"""

log = logging.getLogger("fieldagent.checklist")

WAITING, RUNNING, DONE, FAILED = "waiting", "running", "done", "failed"
POLL_S = 0.2
STALE_REQUEST = timedelta(hours=1)


class DeskError(Exception):
    """The daemon did not answer a checklist request, or answered an error."""


class ChecklistDesk:
    """Both sides of the hand-over; each process opens its own."""

    def __init__(self, state_dir: Path) -> None:
        self._db = open_state_db(state_dir)
        self._db.executescript(_SCHEMA)

    # -- the command's side --------------------------------------------------------

    def request(self, report_id: str, now: datetime) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO checklist_request (id, requested, state) VALUES (?, ?, ?)",
                (report_id, now.isoformat(), WAITING),
            )

    async def answer(
        self, report_id: str, timeout: float, progress: Callable[[str], None]
    ) -> Report:
        """Wait for the daemon's automatic report; DeskError on a timeout or an error."""
        deadline = time.monotonic() + timeout
        shown = ""
        try:
            while time.monotonic() < deadline:
                state, text, report, error = self._db.execute(
                    "SELECT state, progress, report, error FROM checklist_request WHERE id = ?",
                    (report_id,),
                ).fetchone()
                if text != shown:
                    progress(text)
                    shown = text
                if state == DONE:
                    return Report.model_validate_json(report)
                if state == FAILED:
                    raise DeskError(f"the agent could not run the checklist: {error}")
                await asyncio.sleep(POLL_S)
            taken = "started but did not finish" if state == RUNNING else "did not take it"
            raise DeskError(f"the running agent {taken} within {timeout:g} s")
        finally:
            with self._db:
                self._db.execute("DELETE FROM checklist_request WHERE id = ?", (report_id,))

    def hand_over(self, report: Report) -> None:
        """Leave a finished report for the agent to publish."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO checklist_outgoing (id, report) VALUES (?, ?)",
                (report.id, report.model_dump_json()),
            )

    # -- the daemon's side ---------------------------------------------------------

    def take_request(self, now: datetime) -> str | None:
        """The id of the oldest waiting request, marked running; a read when there is none.

        Requests older than STALE_REQUEST were left by a command that was killed (it
        removes its request when it ends): they are dropped, not run.
        """
        row = self._db.execute(
            "SELECT id FROM checklist_request WHERE state = ? ORDER BY requested LIMIT 1",
            (WAITING,),
        ).fetchone()
        if row is None:
            return None
        with self._db:
            self._db.execute(
                "DELETE FROM checklist_request WHERE requested < ?",
                ((now - STALE_REQUEST).isoformat(),),
            )
            taken = self._db.execute(
                "UPDATE checklist_request SET state = ? WHERE id = ? AND state = ?",
                (RUNNING, row[0], WAITING),
            ).rowcount
        return str(row[0]) if taken else None

    def progress(self, report_id: str, text: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE checklist_request SET progress = ? WHERE id = ?", (text, report_id)
            )

    def done(self, report: Report) -> None:
        with self._db:
            self._db.execute(
                "UPDATE checklist_request SET state = ?, report = ? WHERE id = ?",
                (DONE, report.model_dump_json(), report.id),
            )

    def failed(self, report_id: str, error: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE checklist_request SET state = ?, error = ? WHERE id = ?",
                (FAILED, error, report_id),
            )

    def outgoing(self) -> list[Report]:
        """Reports left for publishing, oldest first; a read when there is none.

        A row that is not a report (a damaged file) is logged and dropped: the
        archive still has the report.
        """
        rows = self._db.execute(
            "SELECT id, report FROM checklist_outgoing ORDER BY rowid"
        ).fetchall()
        reports = []
        for report_id, text in rows:
            try:
                reports.append(Report.model_validate_json(text))
            except ValidationError as exc:
                log.error(
                    "checklist %s: not published, the stored report is damaged: %s", report_id, exc
                )
                self.published(report_id)
        return reports

    def published(self, report_id: str) -> None:
        with self._db:
            _take_outgoing(report_id, self._db)

    def publish_outgoing(self, publish: Callable[[Report, Take], bool]) -> int:
        """Hand each waiting report, oldest first, to `publish`; return how many it took.

        `publish` numbers the report in the transaction that runs the `Take` it
        is given, and says False when the disk refuses: the rest wait for the
        next try. The count tells the daemon whether the archive grew (and wants pruning).
        """
        taken = 0
        for report in self.outgoing():
            if not publish(report, partial(_take_outgoing, report.id)):
                break
            taken += 1
        return taken

    def waiting(self) -> Waiting:
        """The reports left for publishing: how many, the oldest's finish time, their size.

        Only a read: a damaged row is not counted (the agent drops it, see `outgoing`).
        """
        finished, size = [], 0
        for (text,) in self._db.execute("SELECT report FROM checklist_outgoing"):
            try:
                finished.append(Report.model_validate_json(text).finished)
            except ValidationError:
                continue
            size += len(text)
        oldest = min(finished).isoformat() if finished else ""
        return Waiting(len(finished), oldest, size)

    def close(self) -> None:
        self._db.close()


class Waiting(NamedTuple):
    reports: int
    oldest: str
    """ISO time; empty when no report waits."""
    size: int


Take = Callable[[sqlite3.Connection], None]
"""Removes a report from the desk, inside the transaction of whoever runs it."""


def _take_outgoing(report_id: str, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM checklist_outgoing WHERE id = ?", (report_id,))
