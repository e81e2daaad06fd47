"""The province's picture of every station, from what the stations publish: no I/O.

`ProvinceView` is fed each MQTT message as `(topic, payload bytes, retained,
now)` and keeps, per station, what central staff ask first: is it online, what
is its worst state, how many devices are ok / warning / critical / unreachable,
which alarms are active, when was it last heard from, is it silent or missing
messages, and what its latest checklist report said.  It reads nothing and
starts no thread, so the terminal monitor, `readiness` and a web page can all
feed it from the same subscriber (an asyncio program calls `feed` from its
loop; it never blocks).

API (small on purpose):

- `ProvinceView(root="bctv/v1", silent_after_s=300.0, limits=Limits(), judge_gaps=True)`
- `feed(topic, payload, retained, now) -> bool`: True when the picture changed.
  Never raises on what a broker sends: a topic outside the contract, a payload
  that is not its model's JSON, an oversize payload or one whose station does
  not match its topic is counted in `rejected` (by reason) and skipped.
- `stations(now) -> list[StationView]`: a frozen snapshot per station, worst first.
- `station(name, now) -> StationView | None`.
- `rejected: Counter[str]`; `accepted: int`.

Memory is bounded: at most `limits.stations` stations, `limits.devices` devices and
`limits.alarms` alarms per device (or per station's own list), `limits.events`
recent alarm events per station; the sequence check is restarted above
`limits.seqs` numbers per station, keeping the gaps it found.  What is left
out is counted in `rejected` too.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from fieldagent.checklist.report import Report, Status
from fieldagent.model import HealthState
from fieldagent.payloads import (
    AlarmItem,
    AlarmPayload,
    ChecklistReplyPayload,
    ChecklistReportPayload,
    CommandReplyPayload,
    Envelope,
    HealthPayload,
    MetaPayload,
    StatusPayload,
    TrapPayload,
    telemetry_model,
)
from fieldagent.sequence import StationSequence

MAX_PAYLOAD_BYTES = 1024 * 1024
"""A checklist report with its evidence is the largest message (tens of KiB for a big
station); anything past this is not one of the agent's and is skipped unread."""


class Topic(StrEnum):
    """The kinds of topic of the contract (docs/mqtt-topics.md)."""

    STATUS = "status"
    ALARM = "alarm"
    REPORT = "checklist/report"
    REPLY = "cmd/checklist/reply"
    COMMAND_REPLY = "cmd/+/reply"
    """Replies to the other commands (ping, poll, ...): numbered like the rest, so they
    count for gaps and last seen."""
    HEALTH = "health"
    TELEMETRY = "telemetry"
    META = "meta"


STATION_TOPICS = (Topic.STATUS, Topic.ALARM, Topic.REPORT, Topic.REPLY)
DEVICE_TOPICS = (Topic.HEALTH, Topic.TELEMETRY, Topic.META)


@dataclass(frozen=True)
class Limits:
    """What one view keeps at most."""

    stations: int = 2000
    devices: int = 256
    alarms: int = 64
    events: int = 50
    seqs: int = 100_000
    gap_ranges: int = 100


@dataclass(frozen=True)
class DeviceView:
    id: str
    state: HealthState
    reason: str | None
    alarms: tuple[AlarmItem, ...]
    ts: datetime


@dataclass(frozen=True)
class ReportView:
    """What the province needs of a checklist report; `report` is the whole of it."""

    id: str
    finished: datetime
    technician: str | None
    trigger: str
    verdict: Status
    failed: tuple[str, ...]
    incomplete: tuple[str, ...]
    report: Report


@dataclass(frozen=True)
class StationView:
    """One station as the province sees it at `now`."""

    id: str
    name: str
    online: bool | None
    """None: no status seen yet."""
    worst: HealthState
    devices: tuple[DeviceView, ...]
    station_alarms: tuple[AlarmItem, ...]
    last_seen: datetime | None
    silent: bool
    gaps: tuple[tuple[int, int], ...]
    missing: int
    """Numbers inside the gaps: messages that may be lost."""
    report: ReportView | None
    events: tuple[AlarmPayload | TrapPayload, ...]

    @property
    def counts(self) -> dict[HealthState, int]:
        found = Counter(d.state for d in self.devices)
        return {state: found.get(state, 0) for state in HealthState}

    @property
    def active_alarms(self) -> tuple[AlarmItem, ...]:
        return self.station_alarms + tuple(a for d in self.devices for a in d.alarms)

    @property
    def rank(self) -> int:
        """How bad, for sorting worst first: offline above unreachable above critical …"""
        rank = self.worst.rank * 4
        if self.online is False:
            rank = 100
        return rank + (2 if self.silent else 0) + (1 if self.missing else 0)


@dataclass
class _Station:
    id: str
    status: StatusPayload | None = None
    devices: dict[str, HealthPayload] = field(default_factory=dict)
    report: ChecklistReportPayload | None = None
    last_seen: datetime | None = None
    sequence: StationSequence = field(default_factory=StationSequence)
    old_gaps: list[tuple[int, int]] = field(default_factory=list)
    events: deque[AlarmPayload | TrapPayload] = field(default_factory=deque)


class ProvinceView:
    """Every station's state from the contract's messages (see the module docstring)."""

    def __init__(
        self,
        root: str = "bctv/v1",
        silent_after_s: float = 300.0,
        limits: Limits | None = None,
        judge_gaps: bool = True,
    ) -> None:
        self.root = root.rstrip("/")
        self.judge_gaps = judge_gaps
        """False when the feed is not every message of each station (a shared subscription's
        member, a subscription without telemetry): a gap there would be a false alarm."""
        self.silent_after = timedelta(seconds=silent_after_s)
        self.limits = limits or Limits()
        self.rejected: Counter[str] = Counter()
        self.accepted = 0
        self._stations: dict[str, _Station] = {}
        self._started: datetime | None = None
        """When the first message came: silence is judged only after watching that long."""

    def feed(self, topic: str, payload: bytes, retained: bool, now: datetime) -> bool:
        """Take one message; True if the picture changed. Never raises on its content."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            self.rejected["oversize"] += 1
            return False
        parsed = self._parse_topic(topic)
        if parsed is None:
            self.rejected["foreign topic"] += 1
            return False
        station_id, device, kind = parsed
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError, RecursionError):
            self.rejected["not JSON"] += 1
            return False
        if not isinstance(data, dict):
            self.rejected["not JSON"] += 1
            return False
        try:
            message = _model(kind, data).model_validate(data)
        except ValidationError:
            self.rejected[f"bad {kind.value}"] += 1
            return False
        except RecursionError:
            self.rejected["not JSON"] += 1
            return False
        if getattr(message, "station", None) != station_id or (
            device is not None and getattr(message, "device", None) != device
        ):
            self.rejected["station or device not as in topic"] += 1
            return False
        station = self._station(station_id)
        if station is None:
            return False
        if not station.sequence.add(message.seq, message.prev, retained):
            self.rejected["duplicate"] += 1
            return False
        self._bound_sequence(station)
        self.accepted += 1
        if self._started is None:
            self._started = now
        # A retained message is as old as its ts says; a live one is heard now.
        heard = message.ts if retained else now
        station.last_seen = heard if station.last_seen is None else max(station.last_seen, heard)
        self._apply(station, kind, device, message)
        return True

    def stations(self, now: datetime) -> list[StationView]:
        """Every station, worst first, then by id."""
        views = [self._view(s, now) for s in self._stations.values()]
        return sorted(views, key=lambda v: (-v.rank, v.id))

    def station(self, name: str, now: datetime) -> StationView | None:
        found = self._stations.get(name)
        return None if found is None else self._view(found, now)

    def _parse_topic(self, topic: str) -> tuple[str, str | None, Topic] | None:
        prefix = self.root + "/"
        if not topic.startswith(prefix):
            return None
        rest = topic[len(prefix) :].split("/")
        if len(rest) < 2 or not rest[0]:
            return None
        station, tail = rest[0], "/".join(rest[1:])
        for kind in STATION_TOPICS:
            if tail == kind.value:
                return station, None, kind
        if len(rest) == 4 and rest[1] == "cmd" and rest[2] and rest[3] == "reply":
            return station, None, Topic.COMMAND_REPLY
        if len(rest) == 3 and rest[1] and rest[1] != "cmd":
            for kind in DEVICE_TOPICS:
                if rest[2] == kind.value:
                    return station, rest[1], kind
        return None

    def _station(self, name: str) -> _Station | None:
        found = self._stations.get(name)
        if found is None:
            if len(self._stations) >= self.limits.stations:
                self.rejected["too many stations"] += 1
                return None
            found = self._stations[name] = _Station(name)
        return found

    def _bound_sequence(self, station: _Station) -> None:
        """Past `limits.seqs` numbers, keep the gaps found and start the check afresh above."""
        sequence = station.sequence
        if len(sequence.seen) <= self.limits.seqs:
            return
        station.old_gaps = (station.old_gaps + sequence.gaps())[-self.limits.gap_ranges :]
        station.sequence = StationSequence(since=max(sequence.seen))

    def _apply(self, station: _Station, kind: Topic, device: str | None, message: Envelope) -> None:
        if kind is Topic.STATUS:
            assert isinstance(message, StatusPayload)
            if len(message.alarms) > self.limits.alarms:
                self.rejected["alarms over the limit"] += len(message.alarms) - self.limits.alarms
                message = message.model_copy(
                    update={"alarms": message.alarms[: self.limits.alarms]}
                )
            station.status = message
        elif kind is Topic.HEALTH:
            assert isinstance(message, HealthPayload) and device is not None
            if device not in station.devices and len(station.devices) >= self.limits.devices:
                self.rejected["too many devices"] += 1
                return
            if len(message.alarms) > self.limits.alarms:
                self.rejected["alarms over the limit"] += len(message.alarms) - self.limits.alarms
                message = message.model_copy(
                    update={"alarms": message.alarms[: self.limits.alarms]}
                )
            previous = station.devices.get(device)
            if previous is None or previous.seq <= message.seq:
                station.devices[device] = message
        elif kind is Topic.REPORT:
            assert isinstance(message, ChecklistReportPayload)
            current = station.report
            if current is None or current.report.finished <= message.report.finished:
                station.report = message
        elif kind is Topic.ALARM:
            assert isinstance(message, AlarmPayload | TrapPayload)
            station.events.append(message)
            while len(station.events) > self.limits.events:
                station.events.popleft()
        # telemetry, meta and replies count as heard from and numbered (gaps), nothing more

    def _view(self, station: _Station, now: datetime) -> StationView:
        status = station.status
        online = None if status is None else status.state == "online"
        devices = tuple(
            DeviceView(h.device, h.state, h.reason, tuple(h.alarms), h.ts)
            for h in sorted(station.devices.values(), key=lambda h: h.device)
        )
        station_alarms = tuple(status.alarms) if status is not None else ()
        states = [d.state for d in devices] + [a.severity for a in station_alarms]
        if status is not None and online:
            states.append(status.worst)
        gaps = tuple(station.old_gaps + station.sequence.gaps()) if self.judge_gaps else ()
        heard = max(filter(None, (station.last_seen, self._started)), default=None)
        silent = online is not False and heard is not None and now - heard > self.silent_after
        return StationView(
            id=station.id,
            name=status.name if status is not None else "",
            online=online,
            worst=HealthState.worst(states),
            devices=devices,
            station_alarms=station_alarms,
            last_seen=station.last_seen,
            silent=silent,
            gaps=gaps,
            missing=sum(last - first + 1 for first, last in gaps),
            report=None if station.report is None else report_view(station.report.report),
            events=tuple(station.events),
        )


def report_view(report: Report) -> ReportView:
    return ReportView(
        id=report.id,
        finished=report.finished,
        technician=report.technician,
        trigger=report.trigger,
        verdict=report.status,
        failed=tuple(i.id for i in report.items if i.status is Status.FAIL),
        incomplete=tuple(i.id for i in report.items if i.status is Status.INCOMPLETE),
        report=report,
    )


_MODELS: dict[Topic, type[Envelope]] = {
    Topic.STATUS: StatusPayload,
    Topic.HEALTH: HealthPayload,
    Topic.REPORT: ChecklistReportPayload,
    Topic.REPLY: ChecklistReplyPayload,
    Topic.COMMAND_REPLY: CommandReplyPayload,
    Topic.META: MetaPayload,
}


def _model(kind: Topic, data: dict[str, Any]) -> type[Envelope]:
    if kind is Topic.TELEMETRY:
        return telemetry_model(data)
    if kind is Topic.ALARM:
        return TrapPayload if data.get("event") == "trap" else AlarmPayload
    return _MODELS[kind]
