"""Which telemetry rows to drop when the outbox reaches its size limit, and dropping them."""

from __future__ import annotations

from dataclasses import replace

from fieldagent.outbox.chain import unlink
from fieldagent.outbox.sqlitestore import Candidate, SqliteRows
from fieldagent.outbox.tally import Tally

THIN_BATCH = 2000
"""Rows looked at per thinning pass."""


def thin_to(db: SqliteRows, tally: Tally, target: int, keep_one_in: int) -> Tally:
    """Thin unsent telemetry, oldest and least thinned first, until the size is `target`.

    Each pass keeps one reading in `keep_one_in` per device of the oldest rows
    and marks the survivors one level more thinned; a later pass thins them
    again.  A row whose successor was sent stays (see `chain`).  Stops when no
    telemetry is left, or when a pass could drop nothing.
    """
    while tally.size > target:
        level = db.lowest_thin_level()
        if level is None:
            break  # no telemetry left
        candidates = db.thinnable(level, THIN_BATCH)
        kept, dropped = thin_out(candidates, keep_one_in)
        if not dropped:
            kept, dropped = [], kept  # one reading per device left: the oldest go
        sizes = {c.seq: c.size for c in candidates}
        stayed = []
        for seq in dropped:
            tail = unlink(db, seq, tally.tail)
            if tail is None:
                stayed.append(seq)
                continue
            tally = replace(
                tally,
                tail=tail,
                thinned=tally.thinned + 1,
                size=tally.size - sizes[seq],
                count=tally.count - 1,
            )
        db.set_thin(kept + stayed, level + 1)
        if len(stayed) == len(dropped):
            break  # what is left is pinned by messages already sent
    return tally


def thin_out(candidates: list[Candidate], keep_one_in: int) -> tuple[list[int], list[int]]:
    """Keep one reading in `keep_one_in` per topic (device), oldest first; drop the rest.

    The first reading of each run is kept, so a device that reported once in
    the span keeps that reading: thinning lowers resolution, it does not
    erase a device.  Returns (kept, dropped) sequence numbers.
    """
    if keep_one_in < 2:
        raise ValueError("keep_one_in must be at least 2")
    seen: dict[str, int] = {}
    kept: list[int] = []
    dropped: list[int] = []
    for candidate in candidates:
        position = seen.get(candidate.topic, 0)
        seen[candidate.topic] = position + 1
        (kept if position % keep_one_in == 0 else dropped).append(candidate.seq)
    return kept, dropped
