"""A subscriber feeding a view on the caller's thread: what `monitor` and `readiness` share.

paho's thread only puts `(topic, payload, retained)` on a queue; the command's
own thread takes them off and feeds the view (and the archive), so the view
is only ever touched by one thread.  `settle` is "complete from retained
messages": connected, subscribed, and no retained message for a quiet time.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fieldagent.config import MqttSection
from fieldagent.province.subscriber import ProvinceSubscriber
from fieldagent.province.view import ProvinceView

log = logging.getLogger("fieldagent.province")

Message = tuple[str, bytes, bool]


class BrokerUnavailable(Exception):
    """The broker was not reached, or the retained burst did not settle, in time."""


class Feed:
    def __init__(
        self,
        view: ProvinceView,
        settings: MqttSection,
        password: str | None,
        station: str | None = None,
        share: str | None = None,
        filters: list[str] | None = None,
        on_message: Callable[[str, bytes, bool], None] | None = None,
        telemetry: bool = True,
    ) -> None:
        self.view = view
        self._queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._on_message = on_message
        self.subscriber = ProvinceSubscriber(
            settings,
            lambda t, p, r: self._queue.put((t, p, r)),
            station=station,
            share=share,
            password=password,
            filters=filters,
            telemetry=telemetry,
        )
        self._url = settings.url

    def start(self) -> None:
        self.subscriber.start()

    def stop(self) -> None:
        self.subscriber.stop()

    def settle(self, quiet_s: float = 1.0, timeout_s: float = 30.0) -> None:
        """Wait for the retained burst, then feed it; BrokerUnavailable when it never came."""
        if not self.subscriber.wait_settled(quiet_s, timeout_s):
            error = self.subscriber.last_error or "no answer"
            raise BrokerUnavailable(f"{self._url}: not subscribed within {timeout_s:g} s: {error}")
        self.drain(0.0)

    def drain(self, wait_s: float) -> bool:
        """Feed what waits (up to `wait_s` for a first message); True if the view changed."""
        changed = False
        deadline = time.monotonic() + wait_s
        while True:
            try:
                topic, payload, retained = self._queue.get(
                    timeout=max(0.0, deadline - time.monotonic())
                )
            except queue.Empty:
                return changed
            if self.view.feed(topic, payload, retained, datetime.now(UTC)):
                changed = True
                if self._on_message is not None:
                    self._on_message(topic, payload, retained)
            deadline = 0.0  # once something came, take only what is already there
