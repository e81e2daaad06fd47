"""The high-water mark of the station's sequence numbers, in a file beside state.db.

The counter lives in state.db with the messages (`sqlitestore`), so a number
and its message are committed together.  But a damaged state.db must not take
the counter with it: numbering from 1 again would make central tools drop
every new message, alarms included, as duplicates.  So before the outbox uses
a number above the mark, it writes a new mark a block ahead (a temporary file,
fsync, rename, fsync of the folder): one small write per `BLOCK` numbers.  A
state.db that starts from nothing numbers on above the mark.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("fieldagent.outbox")

MARK_NAME = "seq.mark"
BLOCK = 10_000
"""Numbers reserved by one write of the mark: one write every few minutes of a busy station."""


class HighWater:
    """The highest sequence number the station may have used, kept ahead of use."""

    def __init__(self, state_dir: Path, block: int = BLOCK) -> None:
        self._path = state_dir / MARK_NAME
        self._block = block
        self._failing = False
        self.limit = self._read()
        """No number above it was used; 0 when there is no (readable) mark."""

    def _read(self) -> int:
        try:
            text = self._path.read_text(encoding="ascii")
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as exc:
            log.error("%s cannot be read (%s): numbering trusts state.db alone", self._path, exc)
            return 0
        value = text.strip()
        if not value.isdigit():
            log.error("%s: %r is not a number: numbering trusts state.db alone", self._path, value)
            return 0
        return int(value)

    def cover(self, seq: int) -> None:
        """Make the mark reach `seq` before the number is used.

        A mark that cannot be written (a read-only or full disk, which the
        outbox reports) does not stop numbering: the agent keeps monitoring.
        """
        if seq <= self.limit:
            return
        limit = seq + self._block - 1
        temporary = self._path.with_name(MARK_NAME + ".new")
        try:
            with temporary.open("w", encoding="ascii") as file:
                file.write(f"{limit}\n")
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self._path)
            folder = os.open(self._path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        except OSError as exc:
            if not self._failing:
                log.error(
                    "cannot write %s (%s): a damaged state.db may reuse numbers", self._path, exc
                )
            self._failing = True
            return
        self._failing = False
        self.limit = limit
