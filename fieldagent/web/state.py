"""What the page shows, kept on the event loop: the province's view plus device readings.

The station picture is `province.view.ProvinceView`, the same one `monitor`
keeps (no second state model).  The view keeps no readings, so telemetry is
kept here beside it, as the contract gives it: v1 messages whole, compact v2
rebuilt with the retained meta by `rebuild.StationTelemetry`.  Only messages
the view accepted are kept (a foreign or hostile payload is counted there and
goes no further), and at most `MAX_DEVICES` devices per station.

`feed` runs on the event loop (the subscriber's thread hands each message over
with `call_soon_threadsafe`); every change bumps `version` and wakes the
pages waiting in `changed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from fieldagent.payloads import CONTRACT_V2, TelemetryPayload
from fieldagent.province.view import ProvinceView
from fieldagent.rebuild import StationTelemetry

MAX_DEVICES = 256


@dataclass(frozen=True)
class Readings:
    """One device's latest readings in v1's `metrics` shape."""

    ts: str | None
    error: str | None
    metrics: dict[str, dict[str, Any]]
    titles: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """By metric key without a row index: the English title and the Vietnamese one (v2's
    meta carries them; v1 telemetry has none)."""


class WebState:
    def __init__(
        self,
        view: ProvinceView,
        on_message: Callable[[str, bytes, bool], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.view = view
        self.version = 0
        self._clock = clock
        self._on_message = on_message
        self._compact = StationTelemetry()
        self._full: dict[tuple[str, str], TelemetryPayload] = {}
        self._per_station: Counter[str] = Counter()
        self._changed = asyncio.Condition()
        self._waking = False

    def feed(self, topic: str, payload: bytes, retained: bool) -> None:
        """One message from the broker (on the event loop)."""
        if not self.view.feed(topic, payload, retained, self._clock()):
            return
        if self._on_message is not None:
            self._on_message(topic, payload, retained)
        kind = topic.rsplit("/", 1)[-1]
        if kind in ("telemetry", "meta"):
            self._readings(topic, payload)
        self.bump()

    def bump(self) -> None:
        """Count a change and wake the waiting streams (one wake-up for a burst)."""
        self.version += 1
        if not self._waking:
            self._waking = True
            asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        self._waking = False
        async with self._changed:
            self._changed.notify_all()

    async def changed(self, seen: int, timeout_s: float) -> int:
        """Wait until `version` moves past `seen`, at most `timeout_s`; the version now."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version != seen), timeout_s
                )
        return self.version

    def readings(self, station: str, device: str) -> Readings | None:
        full = self._full.get((station, device))
        compact = self._compact.devices.get((station, device))
        if compact is not None and compact.seq and (full is None or compact.seq > full.seq):
            meta = compact.meta
            titles = (
                {} if meta is None else {k: (m.title, m.title_vi) for k, m in meta.metrics.items()}
            )
            return Readings(compact.ts, compact.error, compact.metrics(), titles)
        if full is not None:
            metrics = {k: v.model_dump(mode="json") for k, v in full.metrics.items()}
            return Readings(full.ts.isoformat(), full.error, metrics)
        return None

    def _readings(self, topic: str, payload: bytes) -> None:
        data = json.loads(payload)  # the view parsed it already: a JSON object
        key = (str(data.get("station")), str(data.get("device")))
        known = key in self._full or key in self._compact.devices
        if not known:
            if self._per_station[key[0]] >= MAX_DEVICES:
                self.view.rejected["too many devices"] += 1
                return
            self._per_station[key[0]] += 1
        try:
            if data.get("v") == CONTRACT_V2:
                self._compact.add(topic, payload)
            elif topic.endswith("/telemetry"):
                message = TelemetryPayload.model_validate(data)
                previous = self._full.get(key)
                if previous is None or previous.seq < message.seq:
                    self._full[key] = message
        except (ValueError, ValidationError):
            self.view.rejected["bad telemetry"] += 1
