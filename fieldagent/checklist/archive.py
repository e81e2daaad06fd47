"""The station's archive of checklist reports: one JSON file per run, never overwritten.

A report is the station's signed record of an inspection, so the archive
guarantees two things: a file is either whole or absent (written to a
temporary file, fsynced, then linked in under its final name, and the folder
fsynced), and no report ever replaces another (the final name is created
with `link`, which fails if the name exists, where `rename` would overwrite).
A crash mid-write leaves at most a temporary file, which is never read as a
report and is swept away by a later save.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from fieldagent.checklist.report import Report

log = logging.getLogger("fieldagent.checklist")

ARCHIVE_DIR = "checklists"
TEMP_PREFIX = ".tmp-"
STALE_TEMP_S = 3600.0
"""A temporary file this old is a crash's leftover, not a save in progress."""


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


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
