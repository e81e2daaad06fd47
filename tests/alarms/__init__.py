"""Helpers for the alarm tests: a hand-moved clock and a station built from a dict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from drivers import REGISTRY
from fieldagent.alarms import Alarm, AlarmEngine, AlarmEvent, MaintenanceOverride, Transition
from fieldagent.config import Config, parse_config
from fieldagent.model import PollResult, Quality, Reading, Value

T0 = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
STATION = "bt-test"

FM = {
    "id": "fm-main",
    "driver": "fm_transmitter_nautel",
    "host": "127.0.0.2",
    "name": "Máy phát FM",
}
UPS = {"id": "ups1", "driver": "ups_rfc1628", "host": "127.0.0.3"}
IRD = {"id": "ird1", "driver": "ird_satellite", "host": "127.0.0.4"}
CMTS = {"id": "cmts1", "driver": "docsis_cmts", "host": "127.0.0.5"}


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def station_config(
    devices: Iterable[Mapping[str, Any]] = (FM,), limits: Mapping[str, Any] | None = None
) -> Config:
    data: dict[str, Any] = {
        "station": {"id": STATION, "name": "Trạm thử"},
        "agent": {"state_dir": "/tmp/unused"},
        "device": [dict(d) for d in devices],
    }
    if limits is not None:
        data["limits"] = dict(limits)
    return parse_config(data, "test.toml", REGISTRY)


def with_limits(device: Mapping[str, Any], **limits: Any) -> dict[str, Any]:
    """A device with `[device.limits]`; keyword names use `__` for dots."""
    return {**device, "limits": {k.replace("__", "."): dict(v) for k, v in limits.items()}}


@dataclass
class Station:
    """An engine over a station file, a clock, and the events it gave so far."""

    config: Config
    clock: Clock = field(default_factory=Clock)
    restored: Iterable[Alarm] = ()
    maintenance: Mapping[str, MaintenanceOverride] | None = None
    events: list[AlarmEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = AlarmEngine(
            STATION, self.config, REGISTRY, self.clock, self.restored, self.maintenance
        )

    def poll(
        self,
        device: str,
        values: Mapping[str, Value] | None = None,
        *,
        quality: Mapping[str, Quality] | None = None,
        error: str | None = None,
        after: float = 0.0,
    ) -> list[AlarmEvent]:
        """One poll of `device` `after` seconds from now, answering `values` (or failing)."""
        ts = self.clock.advance(after)
        if error is not None:
            result = PollResult(device, ts, (), error=error)
        else:
            qualities = quality or {}
            readings = tuple(
                Reading(key, value, "", qualities.get(key, Quality.OK), ts, "test")
                for key, value in (values or {}).items()
            )
            readings += tuple(
                Reading(key, None, "", q, ts, "garbled reply")
                for key, q in qualities.items()
                if key not in (values or {})
            )
            result = PollResult(device, ts, readings)
        return self._keep(self.engine.observe(device, result))

    def tick(self, after: float = 0.0) -> list[AlarmEvent]:
        self.clock.advance(after)
        return self._keep(self.engine.tick())

    def _keep(self, events: list[AlarmEvent]) -> list[AlarmEvent]:
        self.events += events
        return events


def transitions(events: Iterable[AlarmEvent]) -> list[tuple[str, str, str]]:
    """(transition, alarm id without the station, severity) of each event, for assertions."""
    return [
        (e.transition.value, e.alarm.alarm_id.removeprefix(f"{STATION}/"), e.alarm.severity.value)
        for e in events
    ]


def replay(events: Iterable[AlarmEvent]) -> dict[str, Alarm]:
    """The active alarms that a sequence of events leaves, checking it is well formed."""
    active: dict[str, Alarm] = {}
    for event in events:
        key = event.alarm.alarm_id
        if event.transition is Transition.RAISED:
            assert key not in active, f"raised twice without a clear: {key}"
            active[key] = event.alarm
        elif event.transition is Transition.SEVERITY_CHANGED:
            assert key in active, f"severity changed while not raised: {key}"
            assert event.previous is active[key].severity, "previous must be the last severity"
            assert event.alarm.severity is not event.previous, "a change must change something"
            active[key] = event.alarm
        else:
            assert key in active, f"cleared while not raised: {key}"
            assert event.alarm.cleared_at is not None and event.alarm.duration_s is not None
            del active[key]
    return active


def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"
