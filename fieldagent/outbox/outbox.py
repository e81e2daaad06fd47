"""The outbox: every message is numbered and written here before it is published.

Policy lives here; SQL lives in `sqlitestore`, the drain in `forwarder`.

- Alarms and checklist reports are committed with an fsync before `put`
  returns; status and health are committed at once without one; telemetry
  waits in memory for the next batch commit (every `commit_interval_s`, or
  sooner when anything else commits), to spare the SD card.  Nothing is
  published before it is committed.
- A retained state topic keeps only its latest value: a newer status or
  health drops the older unsent one (`chain.unlink` keeps subscribers' gap
  checks true).  Checklist reports are records: each is published, none dropped.
- Above the size limit, telemetry is thinned, oldest first, keeping one
  reading in N per device; alarms, reports and state are never dropped.  If
  they alone exceed the limit, `full` is set and the agent raises a station alarm.
- Numbers never go back: a high-water mark beside state.db (`highwater`) is
  written ahead of use, and a state.db that starts from nothing (damaged and
  replaced) numbers on above it.
- When the state directory cannot be written (disk full, read-only),
  `problem` says why, messages are held in memory (only the newest
  readings) and still published, and every later commit retries the disk.

Used from the agent's event loop thread only.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from copy import copy
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from fieldagent.config import Config
from fieldagent.outbox.chain import ChainRows, unlink
from fieldagent.outbox.draft import PRIORITIES, Draft, Kind, Row, compress
from fieldagent.outbox.highwater import HighWater
from fieldagent.outbox.memory import HeldRows
from fieldagent.outbox.sqlitestore import Counters, KindBacklog, SqliteRows, read_counters
from fieldagent.outbox.tally import Tally
from fieldagent.outbox.thinning import thin_to
from fieldagent.state import DB_NAME, StateStoreError, storage_problem

log = logging.getLogger("fieldagent.outbox")

MAX_BATCH = 500
"""Telemetry rows waiting in memory before a commit is forced."""

ACK_BATCH = 256
"""Delivered rows waiting for deletion before a commit is forced (during a drain)."""

MIN_WAIT_S = 0.05
"""The forwarder's shortest sleep between two commits."""

MAX_HELD_TELEMETRY = 1000
"""Readings kept in memory while the disk fails: sent if the broker is there, else dropped."""

LOW_WATER = 0.9
"""Thinning stops, and the full alarm clears, below this share of the limit."""


class Rows(ChainRows, Protocol):
    """Where rows are kept: state.db, or memory while it cannot be written."""

    def unsent_retained(self, topic: str, below: int) -> list[int]: ...

    def size_of(self, seqs: Collection[int]) -> int: ...


@dataclass(frozen=True)
class Backlog:
    """What `fieldagent outbox` shows a technician."""

    kinds: list[KindBacklog]
    size: int
    limit: int
    thinned: int
    superseded: int
    last_seq: int
    handed_over: int = 0
    """Checklist reports left by `checklist run` that no agent has numbered yet."""

    @property
    def count(self) -> int:
        return sum(k.messages for k in self.kinds)

    def with_handed_over(self, reports: int, oldest: str, size: int) -> Backlog:
        """The backlog with reports still on the checklist desk: each will be a message."""
        if not reports:
            return self
        kinds = {k.kind: k for k in self.kinds}
        known = kinds.get(Kind.CHECKLIST.value)
        kinds[Kind.CHECKLIST.value] = (
            KindBacklog(Kind.CHECKLIST.value, reports, oldest, size)
            if known is None
            else KindBacklog(
                known.kind,
                known.messages + reports,
                min(known.oldest, oldest),
                known.size + size,
            )
        )
        return replace(
            self,
            kinds=sorted(kinds.values()),
            size=self.size + size,
            handed_over=reports,
        )


class Outbox:
    """The station's outgoing messages in state.db, numbered and bounded."""

    @classmethod
    def of_station(cls, config: Config) -> Outbox:
        """The station's outbox in its state directory, with its `[outbox]` settings."""
        settings = config.outbox
        return cls(
            config.agent.state_dir,
            settings.limit_bytes,
            settings.thin_keep_one_in,
            settings.commit_interval_s,
        )

    def __init__(
        self,
        state_dir: Path,
        limit_bytes: int,
        keep_one_in: int,
        commit_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state_dir = state_dir
        self._db: SqliteRows | None = None
        self._problem: str | None = None
        try:
            self._db = SqliteRows(state_dir)
            count, size = self._db.totals()
            self._tally = Tally(*self._db.counters(), size=size, count=count)
        except (OSError, sqlite3.Error, StateStoreError) as exc:
            # Monitoring goes on without a disk: numbered on from what can be read.
            self._db = None
            self._problem = storage_problem(state_dir, exc)
            log.error("outbox: %s; alarms are held in memory until it can", self._problem)
            self._tally = Tally(*read_counters(state_dir), size=0, count=0)
        self._mark = HighWater(state_dir)
        self.renumbered: int | None = None
        """The mark numbering went on above, as state.db started from nothing where
        numbers were used; the first message names it as `prev` (subscribers see a gap)."""
        if self._tally.last_seq == 0 and self._mark.limit > 0:
            mark = self.renumbered = self._mark.limit
            self._tally = replace(self._tally, last_seq=mark, tail=mark)
            log.warning("outbox: %s starts from nothing: numbering goes on above %d", DB_NAME, mark)
        self._limit = limit_bytes
        self._keep_one_in = keep_one_in
        self._interval = commit_interval_s
        self._clock = clock
        self._last_commit = clock()
        self._pending: list[Row] = []
        self._held = HeldRows()
        self._delivered: set[int] = set()
        self._sent_unrecorded: set[int] = set()
        """Stored rows sent while their `sent` could not be written: recorded at recovery."""
        self._full = False
        self.rewinds = 0
        """How often older rows appeared (a database opened late): senders start over."""
        self.dropped_held = 0
        """Readings dropped from memory during the current disk failure (logged at recovery)."""

    # What the agent and the forwarder ask.

    @property
    def problem(self) -> str | None:
        """Why the state directory cannot be written, or None."""
        return self._problem

    @property
    def full(self) -> bool:
        """Over the size limit with no telemetry left to thin."""
        return self._full

    @property
    def last_seq(self) -> int:
        return self._tally.last_seq

    @property
    def thinned(self) -> int:
        return self._tally.thinned

    @property
    def superseded(self) -> int:
        return self._tally.superseded

    def backlog_count(self) -> int:
        """Messages not yet delivered, committed or not."""
        return self._tally.count - len(self._delivered) + len(self._pending) + len(self._held)

    def waiting_since(self, cutoff: datetime) -> int:
        """Messages not yet delivered that are older than `cutoff`.

        What a checklist calls a backlog: a message in flight on a healthy link
        is a few seconds old, one held back by a link down is older.
        """
        stamp = cutoff.isoformat()
        stored = self._db.count_before(stamp) if self._db is not None else 0
        return stored + sum(1 for row in self._held.rows() if row.ts < stamp)

    # Numbering and storing.

    def put(self, draft: Draft) -> int:
        """Number a message and store it (in memory while the disk fails); its number."""
        row = self._number(draft)
        if self._problem is not None:
            self._hold(row)
        else:
            self._pending.append(row)
            if not draft.kind.batched or len(self._pending) >= MAX_BATCH or not self._interval:
                self.commit(durable=draft.kind.durable)
        return row.seq

    def put_taken(self, draft: Draft, take: Callable[[sqlite3.Connection], None]) -> bool:
        """Number a message that waits elsewhere in state.db, in the transaction of `take`.

        `take` removes the message from where it waited (a checklist report
        left by `checklist run`), so a crash leaves it in one place only and it
        is published exactly once.  False, with nothing numbered, while the
        disk cannot be written: the message waits where it is for the next try.
        """
        self.commit()
        if self._problem is not None:
            return False
        assert self._db is not None  # no problem: the database is open
        before = self._tally
        row = self._number(draft)
        try:
            with self._db.transaction(durable=True):
                tally = self._write(self._db, [row], set(), self._tally)
                take(self._db.connection)
        except sqlite3.Error as exc:
            self._tally = before
            self._fail(exc, [])
            return False
        self._tally = tally
        return True

    def _number(self, draft: Draft) -> Row:
        """The draft as the next row of the chain, rendered with its number."""
        seq = self._tally.last_seq + 1
        self._mark.cover(seq)
        row = Row(
            seq,
            self._tally.tail,
            draft.kind,
            draft.topic,
            draft.qos,
            draft.retain,
            draft.ts,
            compress(draft.render(seq)),
        )
        self._tally = replace(self._tally, last_seq=seq, tail=seq)
        return row

    def reserve_unchained(self) -> int:
        """A number for a message outside the chain (the last will), committed durably.

        The will may never be published, so no later message names it as `prev`.
        """
        seq = self._tally.last_seq + 1
        self._mark.cover(seq)
        self._tally = replace(self._tally, last_seq=seq)
        self.commit(durable=True)
        return seq

    def _commit_waits(self) -> bool:
        """Rows to write, rows to delete, or a disk to retry."""
        return bool(self._pending or self._delivered or self._problem is not None)

    def commit_due(self) -> bool:
        return self._commit_waits() and self._clock() - self._last_commit >= self._interval

    def seconds_to_commit(self) -> float:
        """How long the forwarder may sleep before the next batch commit is due."""
        if not self._commit_waits():
            return max(self._interval, MIN_WAIT_S)
        return max(self._last_commit + self._interval - self._clock(), MIN_WAIT_S)

    def commit(self, durable: bool = False) -> None:
        """Write pending rows and deletions in one transaction, within the size limit."""
        self._commit(durable, lambda db: None)

    def take(self, limit: int, after: Mapping[int, int], commit: bool) -> list[Row]:
        """The next rows to hand to the broker, frozen first (see `mark_sent`).

        With `commit`, what is due is committed in the same transaction that
        freezes the rows, so a steady refill costs the SD card one write, not two.
        """
        if commit and self._problem is None:
            taken: list[Row] = []

            def freeze(db: SqliteRows) -> None:
                taken.extend(self.next_rows(limit, after))
                db.set_sent([r.seq for r in taken if not r.sent])
                self._freeze_held(taken)

            if self._commit(False, freeze):
                return taken
        elif commit:
            self.commit()
        rows = self.next_rows(limit, after)
        self.mark_sent(rows)
        return rows

    def _commit(self, durable: bool, also: Callable[[SqliteRows], None]) -> bool:
        """One transaction: pending rows, deletions, the size limit, then `also`."""
        self._last_commit = self._clock()
        if self._problem is not None:
            self._recover()
            return False
        assert self._db is not None  # no problem: the database is open
        pending, self._pending = self._pending, []
        delivered = set(self._delivered)
        try:
            with self._db.transaction(durable):
                tally = self._write(self._db, pending, delivered, self._tally)
                also(self._db)
        except sqlite3.Error as exc:
            self._fail(exc, pending)
            return False
        self._tally = tally
        self._delivered -= delivered
        return True

    def _write(self, db: SqliteRows, rows: list[Row], delivered: set[int], tally: Tally) -> Tally:
        db.insert(rows)
        tally = replace(
            tally,
            size=tally.size + sum(r.size for r in rows),
            count=tally.count + len(rows),
        )
        for row in rows:
            if row.retain and row.kind.state:
                tally = self._supersede(db, row, tally, counted=True)
        if delivered:
            freed = db.delete(delivered)
            tally = replace(tally, size=tally.size - freed, count=tally.count - len(delivered))
        tally = self._within_limit(db, tally)
        db.save_counters(Counters(tally.last_seq, tally.tail, tally.thinned, tally.superseded))
        return tally

    def _supersede(self, rows: Rows, newer: Row, tally: Tally, counted: bool) -> Tally:
        """Drop unsent older values of a retained topic: only the latest matters.

        `counted`: the rows are the database's, whose size and count the tally keeps.
        """
        for seq in rows.unsent_retained(newer.topic, newer.seq):
            size = rows.size_of([seq])
            tail = unlink(rows, seq, tally.tail)
            if tail is not None:
                tally = replace(tally, tail=tail, superseded=tally.superseded + 1)
                if counted:
                    tally = replace(tally, size=tally.size - size, count=tally.count - 1)
        return tally

    def _within_limit(self, db: SqliteRows, tally: Tally) -> Tally:
        """Thin telemetry until the outbox is below its low-water mark, if it is over."""
        if tally.size <= self._limit:
            if self._full and tally.size < self._limit * LOW_WATER:
                self._full = False
                log.info("outbox back under its limit (%d bytes)", tally.size)
            return tally
        before = tally.thinned
        tally = thin_to(db, tally, int(self._limit * LOW_WATER), self._keep_one_in)
        if tally.thinned > before:
            log.warning(
                "outbox over its limit: thinned %d telemetry readings (keeping one in %d)",
                tally.thinned - before,
                self._keep_one_in,
            )
        if tally.size > self._limit and not self._full:
            self._full = True
            log.error(
                "outbox full: %d bytes of alarms, reports and state over a %d-byte limit",
                tally.size,
                self._limit,
            )
        return tally

    # Reading back for the forwarder.

    def next_rows(self, limit: int, after: Mapping[int, int] | None = None) -> list[Row]:
        """The next rows to send: alarms first, then by sequence number.

        `after` maps a priority to the last number already handed over at that
        priority: rows of one priority are sent in order and every new row has a
        higher number, so each refill is an index range, whatever the backlog.
        """
        after = after or {}
        rows: list[Row] = []
        try:
            for priority in PRIORITIES if self._db is not None else ():
                assert self._db is not None
                found = self._db.rows_after(priority, after.get(priority, 0), limit - len(rows))
                rows += [r for r in found if r.seq not in self._delivered]
                if len(rows) >= limit:
                    break
        except sqlite3.Error as exc:
            log.error("outbox: cannot read %s: %s", DB_NAME, exc)
        rows += [copy(r) for r in self._held.rows() if r.seq > after.get(r.kind.priority, 0)]
        rows.sort(key=lambda r: (r.kind.priority, r.seq))
        return rows[:limit]

    def mark_sent(self, rows: list[Row]) -> None:
        """Freeze rows before they are handed to the broker (see `chain`).

        The rows given keep their `sent` as read, so the caller can still tell a
        first sending from a re-send.
        """
        self._freeze_held(rows)
        stored = [r.seq for r in rows if not r.sent and self._held.get(r.seq) is None]
        if not stored:
            return
        if self._problem is None and self._db is not None:
            try:
                with self._db.transaction(durable=False):
                    self._db.set_sent(stored)
                return
            except sqlite3.Error as exc:
                self._fail(exc, [])
        self._sent_unrecorded.update(stored)  # recorded first thing at recovery

    def _freeze_held(self, rows: list[Row]) -> None:
        for row in rows:
            held = self._held.get(row.seq)
            if held is not None:
                held.sent = True

    def delivered(self, seqs: Iterable[int]) -> None:
        """The broker acknowledged these: forget them (deleted at the next commit)."""
        for seq in seqs:
            held = self._held.get(seq)
            if held is not None:
                self._held.remove(seq)
            else:
                self._delivered.add(seq)
        if len(self._delivered) >= ACK_BATCH and self._problem is None:
            self.commit()

    def backlog(self) -> Backlog:
        """The committed backlog by kind; raises StateStoreError without a database."""
        if self._db is None:
            raise StateStoreError(self._problem or "no database")
        return Backlog(
            self._db.backlog(),
            self._tally.size,
            self._limit,
            self._tally.thinned,
            self._tally.superseded,
            self._tally.last_seq,
        )

    def close(self) -> None:
        """Commit what waits (best effort) and close the database."""
        if self._commit_waits():
            self.commit()
        if self._problem is not None and len(self._held):
            log.error("outbox: %d messages held in memory are lost at exit", len(self._held))
        if self._db is not None:
            self._db.close()

    # Disk trouble.

    def _hold(self, row: Row) -> None:
        """Keep a row in memory; only the newest MAX_HELD_TELEMETRY readings are kept."""
        self._held.add(row)
        if row.retain and row.kind.state:
            self._tally = self._supersede(self._held, row, self._tally, counted=False)
        readings = self._held.unsent(Kind.TELEMETRY)
        for seq in readings[: max(0, len(readings) - MAX_HELD_TELEMETRY)]:
            tail = unlink(self._held, seq, self._tally.tail)
            if tail is not None:
                self._tally = replace(self._tally, tail=tail)
                self.dropped_held += 1

    def _fail(self, exc: sqlite3.Error, pending: list[Row]) -> None:
        """The disk refused a write: hold what was pending in memory, say why."""
        first = self._problem is None
        self._problem = storage_problem(self._state_dir, exc)
        if first:
            log.error("outbox: %s; alarms are held in memory until it can", self._problem)
        for row in pending:
            self._hold(row)

    def _recover(self) -> None:
        """Try the disk again: open it if needed, write what is held."""
        held = self._held.rows()
        delivered = set(self._delivered)
        try:
            opened_late = self._db is None
            db = self._db or SqliteRows(self._state_dir)
            self._db = db
            if opened_late:
                self.rewinds += 1  # its rows are older than anything sent meanwhile
            tally = self._tally
            if tally.size == 0 and tally.count == 0:  # opened late: count what it holds
                count, size = db.totals()
                tally = replace(tally, size=size, count=count)
            with db.transaction(durable=True):
                db.set_sent(self._sent_unrecorded)  # first: they pin their predecessors
                tally = self._write(db, held, delivered, tally)
        except (OSError, sqlite3.Error, StateStoreError) as exc:
            self._problem = storage_problem(self._state_dir, exc)
            return
        log.info(
            "outbox: %s is writable again; %d held messages stored, %d readings were dropped",
            db.path,
            len(held),
            self.dropped_held,
        )
        self.dropped_held = 0
        self._tally = tally
        self._delivered -= delivered
        self._held.clear()
        self._sent_unrecorded.clear()
        self._problem = None
