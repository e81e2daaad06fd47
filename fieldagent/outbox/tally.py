"""The outbox's counters, as one value a transaction can change and keep only if it lands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tally:
    """Copied, changed during a transaction, and kept only if the commit succeeds."""

    last_seq: int
    tail: int
    """The newest message in the `prev` chain."""
    thinned: int
    superseded: int
    size: int
    """What the stored rows cost against the size limit (see draft.ROW_OVERHEAD)."""
    count: int
