"""The province's archive of checklist reports: one file per report id, never overwritten.

A station's retained report on the broker is only its latest; the monitor
keeps each one it sees, so `readiness` still finds a station's pre-holiday
report after a later run replaced it on the broker, and the Department keeps
its own record.  Report ids come from the network, so a file name is made of
the id's safe characters plus a hash of the whole id (two ids that differ only
in unsafe characters never share a file), in one folder per station named the
same way.  A file is created exclusively (O_EXCL, no link followed) and is at
most `MAX_FILE_BYTES`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from fieldagent.checklist.report import Report
from fieldagent.payloads import ChecklistReportPayload

log = logging.getLogger("fieldagent.province")

MAX_FILE_BYTES = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(text: str, limit: int = 80) -> str:
    """`text` as a file name: safe characters only, bounded, never hidden, plus a short hash."""
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:10]
    cleaned = _UNSAFE.sub("_", text)[:limit].lstrip(".") or "_"
    return f"{cleaned}-{digest}"


@dataclass
class ReportArchive:
    folder: Path

    def path_of(self, report: Report) -> Path:
        return self.folder / safe_name(report.station.id) / f"{safe_name(report.id)}.json"

    def store(self, report: Report) -> Path | None:
        """Keep `report`; its path when written now, None when kept already or too large.

        Raises OSError when the folder cannot be written (the caller says so once).
        """
        data = report.model_dump_json(indent=1).encode()
        if len(data) > MAX_FILE_BYTES:
            log.warning("report %.80r of %d bytes not archived: too large", report.id, len(data))
            return None
        path = self.path_of(report)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            return None
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return path

    def reports(self) -> Iterator[Report]:
        """Every archived report that reads as one; others are logged and skipped."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*/*.json")):
            try:
                if path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
                    log.warning("%s: skipped (a link, or over %d bytes)", path, MAX_FILE_BYTES)
                    continue
                yield Report.model_validate_json(path.read_bytes())
            except (OSError, ValidationError, ValueError) as exc:
                log.warning("%s: not a checklist report, skipped (%s)", path, type(exc).__name__)


class ReportKeeper:
    """A feed's `on_message`: stores each checklist report seen; a folder that cannot be
    written is said once, not per report."""

    def __init__(self, folder: Path) -> None:
        self._archive = ReportArchive(folder)
        self._failed = False

    def __call__(self, topic: str, payload: bytes, retained: bool) -> None:
        if not topic.endswith("/checklist/report"):
            return
        try:
            report = ChecklistReportPayload.model_validate_json(payload).report
            self._archive.store(report)
        except ValidationError:
            return
        except OSError as exc:
            if not self._failed:
                print(f"error: archive {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
            self._failed = True
