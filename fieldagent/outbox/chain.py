"""The `prev` chain that lets a subscriber tell a lost message from a dropped one.

Every published message carries `prev`, the sequence number of the station's
previous message that is (or will be) published.  When the outbox drops a
message on purpose (a retained value superseded by a newer one, or telemetry
thinned under the size limit), it links the dropped message's successor to the
dropped message's predecessor, so no subscriber ever waits for it.

One rule keeps that honest: a message that was already handed to the broker
has a frozen `prev`.  So a row may be dropped only while it and its successor
are unsent; otherwise it stays and is delivered like any other.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Link(NamedTuple):
    seq: int
    prev: int
    sent: bool


class ChainRows(Protocol):
    """The four operations the chain needs from wherever rows are kept."""

    def link(self, seq: int) -> Link | None:
        """The row `seq`, if it is kept here."""

    def successor(self, seq: int) -> Link | None:
        """The kept row with the smallest sequence number above `seq`."""

    def relink(self, seq: int, prev: int) -> None:
        """Point row `seq` at a new predecessor."""

    def remove(self, seq: int) -> None:
        """Forget row `seq`."""


def unlink(rows: ChainRows, seq: int, tail: int) -> int | None:
    """Drop row `seq` from the chain; return the new tail, or None if it must stay.

    `tail` is the newest message in the chain (the `prev` of the next message
    to be numbered).  The row's successor is either the next kept row, whose
    `prev` is `seq`, or, when the next kept row points elsewhere, a message
    that was already delivered and deleted: then `seq` was announced and stays.
    """
    row = rows.link(seq)
    if row is None or row.sent:
        return None
    after = rows.successor(seq)
    if after is not None and after.prev == seq:
        if after.sent:
            return None
        rows.relink(after.seq, row.prev)
        rows.remove(seq)
        return tail
    if tail != seq:
        return None  # its successor was delivered already
    rows.remove(seq)
    return row.prev
