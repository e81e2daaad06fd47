"""The agent's durable state in one SQLite file: for now, the sequence counter.

The station's sequence number must never go backwards, or subscribers would
drop new messages as duplicates.  It lives in SQLite (WAL, synchronous=FULL)
and is reserved in batches, one commit per batch, to spare the SD card.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('seq', 0);
"""


class StateStoreError(Exception):
    """The state directory or database cannot be used."""


class StateStore:
    """Owns state.db in the state directory; one instance per agent process."""

    def __init__(self, state_dir: Path) -> None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(state_dir / "state.db", isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateStoreError(f"{state_dir}: cannot open the state database: {exc}") from None

    def reserve_seq(self, count: int = 1) -> range:
        """Reserve `count` consecutive sequence numbers, durably."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (last,) = self._db.execute("SELECT value FROM meta WHERE name='seq'").fetchone()
            self._db.execute("UPDATE meta SET value=? WHERE name='seq'", (last + count,))
        return range(last + 1, last + count + 1)

    def close(self) -> None:
        self._db.close()
