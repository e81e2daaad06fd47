"""The station's archive of checklist reports: one JSON file per run, never overwritten.

A report is the station's signed record of an inspection, so the archive
guarantees two things: a file is either whole or absent (written to a
temporary file, fsynced, then linked in under its final name, and the folder
fsynced), and no report ever replaces another (the final name is created
with `link`, which fails if the name exists, where `rename` would overwrite).
A crash mid-write leaves at most a temporary file, which is never read as a
report and is swept away by a later save.

The archive does not grow for ever: `prune` deletes reports older than the
station's `archive_keep_days`, and those beyond its `archive_keep_count`, but
never a report of the last `KEEP_DAYS_FLOOR` days, which the directive wants kept.
A report is dated by its id (its start), not by its file's time, which a copy changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from fieldagent.checklist.report import ID_TIME_FORMAT, Report
from fieldagent.checklist.settings import KEEP_DAYS_FLOOR

log = logging.getLogger("fieldagent.checklist")

ARCHIVE_DIR = "checklists"
TEMP_PREFIX = ".tmp-"
STALE_TEMP_S = 3600.0
"""A temporary file this old is a crash's leftover, not a save in progress."""

_ID_TIME = re.compile(r"-(\d{8}T\d{6}Z)-[0-9a-f]+$")


class ArchiveError(Exception):
    """A report that cannot be archived: the message names the file and the cause."""


class ReportArchive:
    """Reports under `STATE_DIR/checklists/ID.json`, newest id last in name order."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / ARCHIVE_DIR

    def path_of(self, report_id: str) -> Path:
        return self.folder / f"{report_id}.json"

    def save(self, report: Report) -> Path:
        """Write the report atomically under its id; ArchiveError if it cannot."""
        final = self.path_of(report.id)
        data = report.model_dump_json(indent=2).encode("utf-8")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._sweep()
            temp = self.folder / f"{TEMP_PREFIX}{report.id}.{os.getpid()}"
            with open(temp, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temp, final)
            except FileExistsError:
                raise ArchiveError(f"{final}: a report with this id is already archived") from None
            finally:
                temp.unlink()
            _fsync_folder(self.folder)
        except OSError as exc:
            raise ArchiveError(f"cannot archive {final}: {exc.strerror or exc}") from None
        return final

    def load(self, report_id: str) -> Report:
        path = self.path_of(report_id)
        try:
            return Report.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValidationError as exc:
            raise ArchiveError(f"{path}: not a checklist report: {exc}") from None

    def reports(self) -> Iterator[Report]:
        """Every readable report, newest first; a damaged file is logged and skipped."""
        for path in sorted(self._files(), reverse=True):
            try:
                yield self.load(path.stem)
            except ArchiveError as exc:
                log.warning("%s", exc)

    def previous(self, report: Report) -> Report | None:
        """The newest archived report of the same checklists before `report`."""
        return next(
            (
                older
                for older in self.reports()
                if older.id < report.id and older.templates == report.templates
            ),
            None,
        )

    def prune(self, now: datetime, keep_days: int, keep_count: int) -> list[str]:
        """Delete the reports the station no longer keeps; the ids deleted, oldest first.

        A report goes when it is older than `keep_days`, or older than the newest
        `keep_count`; never when it is younger than `KEEP_DAYS_FLOOR` days, whatever
        the settings say.  A file whose name carries no date is kept.  A file that
        cannot be deleted is logged and kept: pruning never stops a save.
        """
        expired = now - timedelta(days=max(keep_days, KEEP_DAYS_FLOOR))
        protected = now - timedelta(days=KEEP_DAYS_FLOOR)  # from then on, every report stays
        dated = sorted(
            ((started, path) for path in self._files() if (started := started_of(path.stem))),
            reverse=True,
        )
        deleted: list[str] = []
        for rank, (started, path) in enumerate(dated):
            if started < expired or (rank >= keep_count and started < protected):
                try:
                    path.unlink()
                except OSError as exc:
                    log.warning("cannot delete %s from the archive: %s", path, exc.strerror or exc)
                else:
                    deleted.append(path.stem)
        if deleted:
            with contextlib.suppress(OSError):
                _fsync_folder(self.folder)
            log.info(
                "checklist archive: deleted %d report(s), %s to %s (keeping %d days, %d reports)",
                len(deleted),
                deleted[-1],
                deleted[0],
                keep_days,
                keep_count,
            )
        return deleted[::-1]

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.glob("*.json") if not p.name.startswith(".")]

    def _sweep(self) -> None:
        """Remove temporary files a crash left behind (old enough not to be in use)."""
        cutoff = time.time() - STALE_TEMP_S
        for temp in self.folder.glob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()


def started_of(report_id: str) -> datetime | None:
    """When the report's run started, from its id; None for an id of another form."""
    found = _ID_TIME.search(report_id)
    if found is None:
        return None
    try:
        return datetime.strptime(found[1], ID_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # 20261399T...: not a time
        return None


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
