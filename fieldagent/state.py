"""The state directory's SQLite file, state.db: how every part of the agent opens it.

One file holds the outbox with the station's sequence counter
(`fieldagent.outbox`) and the active alarms (`fieldagent.alarms.store`), each
part with its own connection.  WAL mode lets `fieldagent outbox` and
`fieldagent maintenance` read and write while the daemon runs; the busy
timeout makes the rare concurrent writer wait instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

DB_NAME = "state.db"
BUSY_TIMEOUT_MS = 5000


class StateStoreError(Exception):
    """The state directory or database cannot be used."""


def open_state_db(state_dir: Path) -> sqlite3.Connection:
    """Connect to state.db in autocommit mode (transactions are explicit), WAL, NORMAL sync."""
    state_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(state_dir / DB_NAME, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def storage_problem(state_dir: Path, error: BaseException) -> str:
    """A write failure in words a technician can act on: which file, and why.

    SQLite says "unable to open database file" or "disk I/O error" for several
    causes; the filesystem's own flags tell a read-only or full disk apart.
    """
    where = state_dir / DB_NAME
    existing = next((p for p in (state_dir, *state_dir.parents) if p.exists()), None)
    cause = ""
    if existing is not None and existing.is_dir():
        stats = os.statvfs(existing)
        if stats.f_flag & os.ST_RDONLY:
            cause = " (the filesystem is read-only)"
        elif stats.f_bavail == 0:
            cause = " (the disk is full)"
    return f"cannot write {where}: {error}{cause}"
