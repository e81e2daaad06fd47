"""The outbox's rows in state.db (SQLite, WAL): the SQL and nothing else.

The sequence counter lives in the same database (`meta`), next to the rows,
so a number and its message are committed together: a crash that loses an
uncommitted batch also loses the numbers it took, and no subscriber sees a gap.
Writes happen in explicit transactions (`transaction`); the policy of when to
commit and what to fsync belongs to `Outbox`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from fieldagent.outbox.chain import Link
from fieldagent.outbox.draft import ROW_OVERHEAD, Kind, Row
from fieldagent.state import DB_NAME, open_state_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('seq', 0);
INSERT OR IGNORE INTO meta (name, value) SELECT 'tail', value FROM meta WHERE name = 'seq';
INSERT OR IGNORE INTO meta (name, value) VALUES ('thinned', 0), ('superseded', 0);
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY,
    prev     INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    topic    TEXT NOT NULL,
    qos      INTEGER NOT NULL,
    retain   INTEGER NOT NULL,
    ts       TEXT NOT NULL,
    payload  BLOB NOT NULL,
    sent     INTEGER NOT NULL DEFAULT 0,
    thin     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, seq);
CREATE INDEX IF NOT EXISTS outbox_retained ON outbox (topic) WHERE retain = 1;
"""

_ROW = "seq, prev, kind, topic, qos, retain, ts, payload, sent, thin"
_SIZE = f"length(payload) + length(topic) + {ROW_OVERHEAD}"


class Counters(NamedTuple):
    last_seq: int
    tail: int
    thinned: int
    superseded: int


class Candidate(NamedTuple):
    """A telemetry row that thinning may drop."""

    seq: int
    topic: str
    size: int


class KindBacklog(NamedTuple):
    kind: str
    messages: int
    oldest: str
    size: int


class SqliteRows:
    """state.db's outbox table and counters; used from one thread only."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DB_NAME
        self._db = open_state_db(state_dir)
        with self.transaction(durable=True):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    @property
    def connection(self) -> sqlite3.Connection:
        """For another table's statement inside one of this store's transactions."""
        return self._db

    @contextmanager
    def transaction(self, durable: bool) -> Iterator[None]:
        """One write transaction; `durable` fsyncs the commit (synchronous=FULL).

        In WAL mode a NORMAL commit survives a crash of the process but may be
        rolled back by a power cut; FULL survives both, at one fsync.
        """
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    def counters(self) -> Counters:
        values = dict(self._db.execute("SELECT name, value FROM meta").fetchall())
        return Counters(values["seq"], values["tail"], values["thinned"], values["superseded"])

    def save_counters(self, counters: Counters) -> None:
        self._db.executemany(
            "UPDATE meta SET value = ? WHERE name = ?",
            [
                (counters.last_seq, "seq"),
                (counters.tail, "tail"),
                (counters.thinned, "thinned"),
                (counters.superseded, "superseded"),
            ],
        )

    def insert(self, rows: Iterable[Row]) -> None:
        self._db.executemany(
            "INSERT INTO outbox (seq, prev, priority, kind, topic, qos, retain, ts, payload,"
            " sent, thin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.seq,
                    r.prev,
                    r.kind.priority,
                    r.kind.value,
                    r.topic,
                    r.qos,
                    int(r.retain),
                    r.ts,
                    r.stored,
                    int(r.sent),
                    r.thin,
                )
                for r in rows
            ],
        )

    # The chain's operations (fieldagent.outbox.chain.ChainRows).

    def link(self, seq: int) -> Link | None:
        found = self._db.execute("SELECT seq, prev, sent FROM outbox WHERE seq = ?", (seq,))
        row = found.fetchone()
        return Link(row[0], row[1], bool(row[2])) if row else None

    def successor(self, seq: int) -> Link | None:
        found = self._db.execute(
            "SELECT seq, prev, sent FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)
        )
        row = found.fetchone()
        return Link(row[0], row[1], bool(row[2])) if row else None

    def relink(self, seq: int, prev: int) -> None:
        self._db.execute("UPDATE outbox SET prev = ? WHERE seq = ?", (prev, seq))

    def remove(self, seq: int) -> None:
        self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    # Queries for the policy.

    def unsent_retained(self, topic: str, below: int) -> list[int]:
        found = self._db.execute(
            "SELECT seq FROM outbox WHERE retain = 1 AND topic = ? AND seq < ? AND sent = 0"
            " ORDER BY seq",
            (topic, below),
        )
        return [seq for (seq,) in found]

    def size_of(self, seqs: Collection[int]) -> int:
        total = 0
        for chunk in _chunks(list(seqs)):
            marks = ",".join("?" * len(chunk))
            found = self._db.execute(
                f"SELECT COALESCE(SUM({_SIZE}), 0) FROM outbox WHERE seq IN ({marks})", chunk
            )
            total += found.fetchone()[0]
        return int(total)

    def totals(self) -> tuple[int, int]:
        """(rows, size) of the whole outbox: one scan, at open or after opening late."""
        found = self._db.execute(f"SELECT COUNT(*), COALESCE(SUM({_SIZE}), 0) FROM outbox")
        count, size = found.fetchone()
        return int(count), int(size)

    def rows_after(self, priority: int, seq: int, limit: int) -> list[Row]:
        """Up to `limit` rows of one priority numbered after `seq`, in order (an index range)."""
        found = self._db.execute(
            f"SELECT {_ROW} FROM outbox WHERE priority = ? AND seq > ? ORDER BY seq LIMIT ?",
            (priority, seq, limit),
        )
        return [_row(r) for r in found]

    def set_sent(self, seqs: Iterable[int]) -> None:
        self._db.executemany("UPDATE outbox SET sent = 1 WHERE seq = ?", [(s,) for s in seqs])

    def delete(self, seqs: Collection[int]) -> int:
        """Delete delivered rows; return the bytes they cost."""
        freed = self.size_of(seqs)
        self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
        return freed

    def thinnable(self, level: int, limit: int) -> list[Candidate]:
        """The oldest unsent telemetry rows that survived `level` thinning passes."""
        found = self._db.execute(
            f"SELECT seq, topic, {_SIZE} FROM outbox WHERE priority = ? AND sent = 0 AND thin = ?"
            " ORDER BY seq LIMIT ?",
            (Kind.TELEMETRY.priority, level, limit),
        )
        return [Candidate(seq, topic, size) for seq, topic, size in found]

    def lowest_thin_level(self) -> int | None:
        found = self._db.execute(
            "SELECT MIN(thin) FROM outbox WHERE priority = ? AND sent = 0",
            (Kind.TELEMETRY.priority,),
        )
        (level,) = found.fetchone()
        return None if level is None else int(level)

    def set_thin(self, seqs: Iterable[int], level: int) -> None:
        self._db.executemany("UPDATE outbox SET thin = ? WHERE seq = ?", [(level, s) for s in seqs])

    def count_before(self, ts: str) -> int:
        """Rows (sent or not, until their PUBACK deletes them) stamped before `ts`."""
        found = self._db.execute("SELECT COUNT(*) FROM outbox WHERE ts < ?", (ts,)).fetchone()
        return int(found[0])

    def backlog(self) -> list[KindBacklog]:
        found = self._db.execute(
            f"SELECT kind, COUNT(*), MIN(ts), SUM({_SIZE}) FROM outbox GROUP BY kind ORDER BY kind"
        )
        return [KindBacklog(kind, count, oldest, size) for kind, count, oldest, size in found]

    def close(self) -> None:
        self._db.close()


def read_counters(state_dir: Path) -> Counters:
    """The counters of a state.db that cannot be opened for writing (read-only disk).

    So an agent that starts on a read-only filesystem numbers on from where it
    stopped instead of from 1 (which subscribers would drop as duplicates).
    Zeros if there is no readable database at all.
    """
    path = (state_dir / DB_NAME).resolve().as_uri()
    values: dict[str, int] = {}
    # mode=ro reads the WAL too (SQLite >= 3.22); immutable=1 when even that is refused.
    for uri in (f"{path}?mode=ro", f"{path}?immutable=1"):
        try:
            db = sqlite3.connect(uri, uri=True)
            try:
                values = dict(db.execute("SELECT name, value FROM meta").fetchall())
            finally:
                db.close()
            break
        except sqlite3.Error:
            continue
    return Counters(
        values.get("seq", 0),
        values.get("tail", 0),
        values.get("thinned", 0),
        values.get("superseded", 0),
    )


def _row(values: tuple[object, ...]) -> Row:
    seq, prev, kind, topic, qos, retain, ts, payload, sent, thin = values
    assert isinstance(seq, int) and isinstance(prev, int) and isinstance(kind, str)
    assert isinstance(topic, str) and isinstance(qos, int) and isinstance(ts, str)
    assert isinstance(payload, bytes) and isinstance(thin, int)
    return Row(seq, prev, Kind(kind), topic, qos, bool(retain), ts, payload, bool(sent), thin)


def _chunks(values: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
