"""Completeness for subscribers: gaps and duplicates in a station's message stream.

Every message carries `seq` (the station's number, unique) and `prev` (the
number of the station's previous published message, skipping those the outbox
dropped on purpose).  So, per station:

- a message whose (station, seq) was seen before is a duplicate: a re-send of
  the same message (only `replayed` may differ), safe to drop;
- a `prev` that never arrives is a lost message: the gap is the numbers
  between the newest seq received below it and that `prev`, inclusive.
  After a damaged state.db was replaced, the station numbers on above its
  high-water mark and names the mark as `prev`: the gap up to it covers what
  the damaged outbox held unsent, and never closes (numbers never go back,
  so nothing new is taken for a duplicate).

Messages arrive out of order after an outage (alarms first), so gaps are only
final once the station's backlog has drained.  A subscriber that joins late
sees no gaps before the first message it received (or before `since`), and
retained messages delivered on subscribe only count as seen, never as the start.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StationSequence:
    """What one subscriber has seen of one station's stream."""

    since: int | None = None
    """Gaps are reported only above this seq; by default the first live message's prev."""
    _seen: set[int] = field(default_factory=set)
    _prevs: set[int] = field(default_factory=set)

    def add(self, seq: int, prev: int | None, retained: bool = False) -> bool:
        """Record a message; False if (station, seq) was seen already (a duplicate)."""
        if seq in self._seen:
            return False
        self._seen.add(seq)
        if prev is not None and not retained:
            self._prevs.add(prev)
            if self.since is None:
                self.since = prev
        return True

    def gaps(self) -> list[tuple[int, int]]:
        """(first, last) ranges of numbers that may hold lost messages, oldest first."""
        floor = self.since if self.since is not None else 0
        seen = sorted(self._seen)
        found = []
        for prev in sorted(self._prevs):
            if prev <= floor or prev in self._seen:
                continue
            below = bisect.bisect_left(seen, prev)
            first = max(seen[below - 1] + 1 if below else floor + 1, floor + 1)
            found.append((first, prev))
        return found

    @property
    def seen(self) -> frozenset[int]:
        return frozenset(self._seen)


@dataclass
class SequenceCheck:
    """Gap and duplicate detection over many stations, from raw payloads."""

    stations: dict[str, StationSequence] = field(default_factory=dict)

    def add_payload(self, payload: bytes, retained: bool = False) -> bool:
        """Record a published payload (JSON); False if it is a duplicate.

        Raises ValueError for a payload that is not one of the agent's envelopes.
        """
        envelope = envelope_of(payload)
        station = self.stations.setdefault(envelope["station"], StationSequence())
        return station.add(envelope["seq"], envelope.get("prev"), retained)

    def gaps(self) -> dict[str, list[tuple[int, int]]]:
        found = {name: s.gaps() for name, s in self.stations.items()}
        return {name: ranges for name, ranges in found.items() if ranges}


def envelope_of(payload: bytes) -> dict[str, Any]:
    """The station, seq and prev of a payload, checked (untrusted input)."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # [[[[... too deep
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    station, seq, prev = data.get("station"), data.get("seq"), data.get("prev")
    if not isinstance(station, str) or not station:
        raise ValueError("no station")
    if _counter(seq) < 1:
        raise ValueError(f"{station}: bad seq {seq!r}")
    if prev is not None and not 0 <= _counter(prev) < _counter(seq):
        raise ValueError(f"{station}: bad prev {prev!r} for seq {seq}")
    return {"station": station, "seq": seq, "prev": prev}


def _counter(value: object) -> int:
    """The value as a sequence number; -1 when it is not an integer (JSON true is not 1)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1
