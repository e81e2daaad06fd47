"""Retained topics to empty on the broker: a device removed by a reload.

MQTT deletes a retained message when an empty retained payload is published to its
topic.  That payload is not a numbered message (it has no JSON to carry `seq` and
`prev`), so it does not go through the outbox: the agent publishes it itself, and
only once the outbox is empty, so that an older health or meta of the device still
waiting there cannot put the retained value back after it.  Every reconnect sends
the clears again (a broker restarted from an older persistence file may hold the
value again); they are forgotten when the agent stops, as the device is no longer
in its station file.
"""

from __future__ import annotations

from collections.abc import Iterable


class RetainedClears:
    """Which topics to empty, and which of them still wait for their turn."""

    def __init__(self) -> None:
        self._topics: set[str] = set()
        self._waiting: set[str] = set()

    def add(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self._topics.add(topic)
            self._waiting.add(topic)

    def keep(self, topics: Iterable[str]) -> None:
        """A device came back: its topics are its own again, not to be emptied."""
        for topic in topics:
            self._topics.discard(topic)
            self._waiting.discard(topic)

    def rearm(self) -> None:
        """A new broker connection: every clear goes out again."""
        self._waiting = set(self._topics)

    def due(self, connected: bool, backlog: int) -> list[str]:
        """The topics to empty now: connected, nothing older waiting in the outbox."""
        if not connected or backlog or not self._waiting:
            return []
        topics, self._waiting = sorted(self._waiting), set()
        return topics
