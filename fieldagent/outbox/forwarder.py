"""The drain: from the outbox to the broker, a bounded window at a time.

At most `max_inflight` messages are handed to paho and not yet acknowledged,
so a backlog of a million rows costs a window's worth of memory.  Each refill
takes the outbox's next rows (alarms first, then by sequence number), so an
alarm raised during a long drain waits for one acknowledgement, not for the
backlog.  Messages that waited through an outage or a restart go out with
`"replayed": true`.

paho calls `on_delivered` from its own thread: it only appends to a deque and
wakes the event loop once, so no lock is shared between the two threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Protocol

from fieldagent.outbox.draft import Row, wire_payload
from fieldagent.outbox.outbox import Outbox
from fieldagent.publisher import Message


class Sender(Protocol):
    @property
    def connected(self) -> bool: ...

    def publish(self, message: Message) -> int | None: ...


class Forwarder:
    """Moves committed rows to the broker and deletes them once acknowledged."""

    def __init__(self, outbox: Outbox, max_inflight: int) -> None:
        self._outbox = outbox
        self._max_inflight = max_inflight
        self._inflight: dict[int, int] = {}  # paho message id -> seq
        self._handed: dict[int, int] = {}  # priority -> last seq handed to paho
        self._rewinds = outbox.rewinds
        self._acks: deque[int] = deque()
        self.acked = 0
        """Messages the broker acknowledged so far: the liveness check watches it move."""
        self._wake = asyncio.Event()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._replay_through = outbox.last_seq
        """Rows numbered up to here waited for a connection: they are sent as replayed."""

    def on_delivered(self, mid: int) -> None:
        """paho's thread: the broker acknowledged `mid` (or paho wrote a QoS 0 message)."""
        self._acks.append(mid)  # deque.append is atomic
        if not self._wake_pending and self._loop is not None:
            self._wake_pending = True
            self._loop.call_soon_threadsafe(self._wake.set)

    def connected(self) -> None:
        """Event loop: a connection is up; what is numbered so far waited for it."""
        self._replay_through = self._outbox.last_seq
        self._wake.set()

    def wake(self) -> None:
        """Event loop: something was committed."""
        self._wake.set()

    async def run(self, sender: Sender) -> None:
        """Forward until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            self._wake_pending = False  # before the acks are taken: a later ack wakes us again
            self._wake.clear()
            self.step(sender)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancel that lands as the event fires, and the agent would not stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._outbox.seconds_to_commit()):
                    await self._wake.wait()

    def step(self, sender: Sender) -> None:
        """Take acknowledgements, commit when due, refill the window (one write for both)."""
        self._take_acks()
        due = self._outbox.commit_due()
        if sender.connected and len(self._inflight) < self._max_inflight:
            self._fill(sender, commit=due)
        elif due:
            self._outbox.commit()

    async def drain(self, timeout: float) -> bool:
        """Commit what waits and wait until every message is delivered; False on timeout."""
        self._outbox.commit()
        self._wake.set()
        deadline = time.monotonic() + timeout
        while self._outbox.backlog_count() or self._inflight or self._acks:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def _take_acks(self) -> None:
        seqs = []
        while self._acks:
            seq = self._inflight.pop(self._acks.popleft(), None)
            if seq is not None:
                seqs.append(seq)
        if seqs:
            self._outbox.delivered(seqs)
            self.acked += len(seqs)

    def _fill(self, sender: Sender, commit: bool) -> None:
        room = self._max_inflight - len(self._inflight)
        if self._outbox.rewinds != self._rewinds:  # older rows appeared: look from the start
            self._rewinds = self._outbox.rewinds
            self._handed.clear()
        flying = set(self._inflight.values())
        taken = self._outbox.take(room, after=self._handed, commit=commit)
        rows = [r for r in taken if r.seq not in flying]
        replayed = [row.sent or row.seq <= self._replay_through for row in rows]
        for row, again in zip(rows, replayed, strict=True):
            mid = sender.publish(_message(row, again))
            if mid is None:
                break  # the connection went down: the rest waits for the next one
            self._inflight[mid] = row.seq
            self._handed[row.kind.priority] = row.seq  # paho re-sends it after a reconnect


def _message(row: Row, replayed: bool) -> Message:
    return Message(row.topic, wire_payload(row, replayed), row.qos, row.retain)
