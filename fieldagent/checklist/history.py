"""Counter history for readiness items: how much a counter grew over the last N days.

A changeover unit counts its switch-overs and a generator its run hours, but
neither says *when*.  The agent keeps a sparse history of the counters its
readiness items read (in state.db): one sample per device and key an hour, and
one more whenever the value goes back (a reset), so `increase(KEY)` over 30
days costs a few hundred rows per counter, not one per poll.

The increase sums the growth between consecutive samples; a value lower than
the one before is a reset, after which the counter counted from zero (as
Prometheus' `increase` does).  When the oldest sample is younger than the
window, the increase is a lower bound and says so (`covers_window`).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from fieldagent.checklist.report import HistoryUsed
from fieldagent.checklist.resolve import StationItem
from fieldagent.driver import base_key
from fieldagent.model import PollResult, Quality
from fieldagent.state import open_state_db

SAMPLE_EVERY = timedelta(hours=1)
KEEP = timedelta(days=400)
"""Longer than any item's window (within_days <= 366)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checklist_history (
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    ts TEXT NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS checklist_history_by_key ON checklist_history (device, key, ts);
"""


@dataclass(frozen=True)
class Sample:
    ts: datetime
    value: float


class CounterHistory:
    """The stored samples of the counters readiness items need."""

    def __init__(self, state_dir: Path) -> None:
        self._db = open_state_db(state_dir)
        self._db.executescript(_SCHEMA)
        self._last: dict[tuple[str, str], Sample] = {}

    def record(self, device: str, samples: Iterable[tuple[str, Sample]]) -> None:
        """Store the samples that are due: an hour after the last one, or after a reset."""
        due = [
            (device, key, sample.ts.isoformat(), sample.value)
            for key, sample in samples
            if self._due(device, key, sample)
        ]
        if not due:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO checklist_history VALUES (?, ?, ?, ?)", due)
            self._db.execute(
                "DELETE FROM checklist_history WHERE device = ? AND ts < ?",
                (device, (datetime.fromisoformat(due[-1][2]) - KEEP).isoformat()),
            )
        for _, key, ts, value in due:
            self._last[(device, key)] = Sample(datetime.fromisoformat(ts), value)

    def record_polls(self, keys: Mapping[str, set[str]], results: Mapping[str, PollResult]) -> None:
        """The samples due from one poll of every device (`keys`: from history_keys)."""
        for device, device_keys in keys.items():
            self.record(device, samples_of(results[device], device_keys))

    def _due(self, device: str, key: str, sample: Sample) -> bool:
        last = self._last.get((device, key)) or self._newest(device, key)
        return last is None or sample.value < last.value or sample.ts - last.ts >= SAMPLE_EVERY

    def _newest(self, device: str, key: str) -> Sample | None:
        row = self._db.execute(
            "SELECT ts, value FROM checklist_history WHERE device = ? AND key = ?"
            " ORDER BY ts DESC LIMIT 1",
            (device, key),
        ).fetchone()
        return _sample(row) if row else None

    def window(self, device: str, key: str, since: datetime) -> list[Sample]:
        """The samples from `since` on, led by the last one before it (the baseline)."""
        baseline = self._db.execute(
            "SELECT ts, value FROM checklist_history WHERE device = ? AND key = ? AND ts <= ?"
            " ORDER BY ts DESC LIMIT 1",
            (device, key, since.isoformat()),
        ).fetchall()
        inside = self._db.execute(
            "SELECT ts, value FROM checklist_history WHERE device = ? AND key = ? AND ts > ?"
            " ORDER BY ts",
            (device, key, since.isoformat()),
        ).fetchall()
        return [_sample(row) for row in baseline + inside]

    def close(self) -> None:
        self._db.close()


def _sample(row: sqlite3.Row | tuple[str, float]) -> Sample:
    return Sample(datetime.fromisoformat(row[0]), float(row[1]))


def increase(key: str, samples: list[Sample], window_start: datetime) -> HistoryUsed:
    """How much the counter grew over the samples (oldest first), resets counted from zero."""
    grown, resets = 0.0, 0
    for before, after in itertools.pairwise(samples):
        if after.value >= before.value:
            grown += after.value - before.value
        else:
            grown += after.value
            resets += 1
    return HistoryUsed(
        key=key,
        increase=round(grown, 9),
        since=samples[0].ts,
        until=samples[-1].ts,
        samples=len(samples),
        covers_window=samples[0].ts <= window_start,
        resets=resets,
    )


def history_keys(items: Iterable[StationItem]) -> dict[str, set[str]]:
    """Per device id, the counters its readiness items read with increase()."""
    keys: dict[str, set[str]] = {}
    for station_item in items:
        parsed = station_item.item.parsed
        if parsed is None or not parsed.history:
            continue
        for device in station_item.devices:
            keys.setdefault(device, set()).update(parsed.history)
    return keys


def samples_of(result: PollResult, keys: set[str]) -> list[tuple[str, Sample]]:
    """The usable readings of `keys` in one poll, as samples (bad ones are no history)."""
    return [
        (reading.key, Sample(reading.ts, float(reading.value)))
        for reading in result.readings
        if base_key(reading.key) in keys
        and reading.quality is Quality.OK
        and isinstance(reading.value, int | float)
        and not isinstance(reading.value, bool)
    ]
