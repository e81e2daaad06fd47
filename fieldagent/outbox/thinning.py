"""Which telemetry rows to drop when the outbox reaches its size limit."""

from __future__ import annotations

from typing import NamedTuple


class Candidate(NamedTuple):
    seq: int
    topic: str
    size: int


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
