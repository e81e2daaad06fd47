"""Rows held in memory while the state directory cannot be written.

Disk full or a read-only filesystem must not silence a station: its alarms,
checklist reports and state are numbered and held here (only the newest
readings) until the outbox can write them to disk again.  Sequence numbers
only grow, so the rows stay sorted by appending.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection

from fieldagent.outbox.chain import Link
from fieldagent.outbox.draft import Kind, Row


class HeldRows:
    """Rows by sequence number, with the chain's operations."""

    def __init__(self) -> None:
        self._rows: dict[int, Row] = {}
        self._order: list[int] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: Row) -> None:
        if self._order and row.seq <= self._order[-1]:
            raise ValueError(f"held row {row.seq} is not newer than {self._order[-1]}")
        self._rows[row.seq] = row
        self._order.append(row.seq)

    def rows(self) -> list[Row]:
        return [self._rows[seq] for seq in self._order]

    def get(self, seq: int) -> Row | None:
        return self._rows.get(seq)

    def unsent_retained(self, topic: str, below: int) -> list[int]:
        return [
            seq
            for seq in self._order
            if seq < below and (r := self._rows[seq]).retain and r.topic == topic and not r.sent
        ]

    def unsent(self, kind: Kind) -> list[int]:
        return [seq for seq in self._order if (r := self._rows[seq]).kind is kind and not r.sent]

    def clear(self) -> None:
        self._rows.clear()
        self._order.clear()

    def size_of(self, seqs: Collection[int]) -> int:
        return sum(row.size for seq in seqs if (row := self._rows.get(seq)) is not None)

    # The chain's operations (fieldagent.outbox.chain.ChainRows).

    def link(self, seq: int) -> Link | None:
        row = self._rows.get(seq)
        return Link(row.seq, row.prev, row.sent) if row else None

    def successor(self, seq: int) -> Link | None:
        index = bisect.bisect_right(self._order, seq)
        if index == len(self._order):
            return None
        return self.link(self._order[index])

    def relink(self, seq: int, prev: int) -> None:
        self._rows[seq].prev = prev

    def remove(self, seq: int) -> None:
        del self._rows[seq]
        self._order.pop(bisect.bisect_left(self._order, seq))
