"""One log event per line, for a terminal or for journald.

Under systemd stderr is a stream into the journal: the service manager sets
JOURNAL_STREAM to that stream's `device:inode`, and a line that starts with
`<N>` (N a syslog priority, sd-daemon(3)) is stored at that priority.  Then
no timestamp is written (journald stamps every line itself).  Anywhere else
(a terminal, a file, a test's pipe) each line starts with its time.  A device's
lines name it in one place, `device=ID`, right after the level; other lines
name the part of the agent that speaks.  A traceback (logged with -v) gets the
event's priority on each of its lines, so journald keeps them together in level.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TextIO

from fieldagent.devicelog import device_of

PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
"""Python's levels as syslog priorities (crit, err, warning, info, debug)."""


def priority(levelno: int) -> int:
    """The syslog priority of a level; a level between two takes the more urgent one."""
    return next((p for level, p in sorted(PRIORITIES.items()) if levelno <= level), 2)


class LineFormatter(logging.Formatter):
    """`LEVEL where: message`, after a time or behind `<N>` for the journal."""

    def __init__(self, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        device = device_of(record.name)
        where = record.name if device is None else f"device={device}"
        text = f"{record.levelname} {where}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if self.journal:
            prefix = f"<{priority(record.levelno)}>"
            return "\n".join(prefix + line for line in text.splitlines())
        return f"{self.formatTime(record)} {text}"


def stream_is_journal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether `stream` is the journal stream systemd names in JOURNAL_STREAM."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    try:
        info = os.fstat(stream.fileno())
        return (info.st_dev, info.st_ino) == (int(device), int(inode))
    except (OSError, ValueError, AttributeError):
        return False


def configure(stream: TextIO, level: int) -> None:
    """The root logger's one handler on `stream`, in the journal's form when it is one."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LineFormatter(stream_is_journal(stream)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
