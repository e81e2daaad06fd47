"""What goes into the outbox: a message not yet numbered, and a numbered row.

A `Draft` renders its payload only once the outbox gives it its sequence
number, so numbers follow the order in which messages were committed and a
message that never reached the disk never used one.  A `Row` is a committed
message; its payload is stored without the two fields that can change until
it is sent (`prev`, `replayed`), which `wire_payload` adds on the way out.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The kinds of message, which decide priority, durability and thinning."""

    ALARM = "alarm"
    CHECKLIST = "checklist"
    STATUS = "status"
    HEALTH = "health"
    META = "meta"
    """A device's retained description (units, titles, deadbands): compact telemetry's key."""
    TELEMETRY = "telemetry"
    REPLY = "reply"
    """The answer to a remote command on cmd/NAME: useful while the sender waits, so it goes
    out early, but a power cut may lose it (it is not fsynced; the sender asks again)."""

    @property
    def priority(self) -> int:
        """Lower goes out first: alarm > checklist > state (status, health, meta) > telemetry."""
        return _PRIORITY[self]

    @property
    def durable(self) -> bool:
        """Committed with an fsync before the agent counts it as sent."""
        return self in (Kind.ALARM, Kind.CHECKLIST)

    @property
    def state(self) -> bool:
        """A retained value of which only the latest matters: a newer one supersedes it.

        Checklist reports are retained too, but each is a record: none is ever dropped.
        """
        return self in (Kind.STATUS, Kind.HEALTH, Kind.META)

    @property
    def batched(self) -> bool:
        """May wait in memory for the next batch commit (sparing the SD card)."""
        return self is Kind.TELEMETRY


_PRIORITY = {
    Kind.ALARM: 0,
    Kind.CHECKLIST: 1,
    Kind.STATUS: 2,
    Kind.HEALTH: 2,
    Kind.META: 2,
    Kind.TELEMETRY: 3,
    Kind.REPLY: 1,
}


PRIORITIES = sorted(set(_PRIORITY.values()))


@dataclass(frozen=True)
class Draft:
    """A message to send, whose JSON payload is rendered once it has its number."""

    kind: Kind
    topic: str
    qos: int
    retain: bool
    ts: str
    render: Callable[[int], bytes]
    """seq -> the payload as JSON, without `prev` and `replayed`."""


@dataclass
class Row:
    """A numbered message in the outbox (committed, or held in memory)."""

    seq: int
    prev: int
    kind: Kind
    topic: str
    qos: int
    retain: bool
    ts: str
    stored: bytes
    """The payload, zlib-compressed."""
    sent: bool = False
    """Handed to the broker connection at least once: its `prev` is frozen."""
    thin: int = 0
    """How many thinning passes this telemetry row has survived."""

    @property
    def size(self) -> int:
        """What the row costs against the outbox's size limit."""
        return len(self.stored) + len(self.topic) + ROW_OVERHEAD


ROW_OVERHEAD = 120
"""Bytes per row beyond payload and topic: key, columns, index entries, page slack.

Measured by bench/outbox_drain.py: state.db holds 1.11x the payload and topic
bytes of a 100,000-message backlog with 64 here; 120 makes the estimate match.
"""

_COMPRESS_LEVEL = 1  # fastest: JSON shrinks 4-8x already, and the Pi's CPU is small


def compress(payload: bytes) -> bytes:
    return zlib.compress(payload, _COMPRESS_LEVEL)


def wire_payload(row: Row, replayed: bool) -> bytes:
    """The payload as published: the stored JSON object with `prev` (and `replayed`) added.

    Both are spliced in front of the first key rather than re-serialised, so a
    100,000-message backlog costs no JSON parsing; a JSON object's key order
    carries no meaning.
    """
    body = zlib.decompress(row.stored)
    if not body.startswith(b"{") or body.startswith(b"{}"):
        raise ValueError(f"outbox row {row.seq}: payload is not a non-empty JSON object")
    head = b'{"prev":%d,' % row.prev
    if replayed:
        head += b'"replayed":true,'
    return head + body[1:]
