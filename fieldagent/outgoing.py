"""Every message the agent publishes, built in one place: topic, payload model, QoS, retain.

Each message takes the next number of the station's sequence when it is built,
so the numbers follow the order in which the agent decided to say things.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import datetime

from fieldagent import __version__
from fieldagent.alarms import Alarm, AlarmEvent
from fieldagent.config import Config, DeviceSection
from fieldagent.driver import Driver, RawValue
from fieldagent.model import HealthState, PollResult, utc_now
from fieldagent.payloads import (
    AgentInfo,
    AlarmItem,
    AlarmPayload,
    DeviceInfo,
    HealthPayload,
    JsonValue,
    Message,
    MetricValue,
    StatusPayload,
    TelemetryPayload,
    TrapPayload,
)
from fieldagent.publisher import Message as Outgoing
from fieldagent.state import StateStore
from fieldagent.topics import Topics


class MessageBuilder:
    """Builds the station's messages; owns nothing but the sequence numbers it takes."""

    def __init__(
        self, config: Config, topics: Topics, store: StateStore, telemetry_qos: int
    ) -> None:
        self._config = config
        self._station = config.station.id
        self._topics = topics
        self._store = store
        self._telemetry_qos = telemetry_qos
        self._started = utc_now()

    def _seq(self) -> int:
        (seq,) = self._store.reserve_seq(1)
        return seq

    def status(
        self,
        online: bool,
        worst: HealthState,
        devices: Sequence[tuple[DeviceSection, Driver]],
        alarms: Sequence[Alarm] = (),
    ) -> Outgoing:
        payload = StatusPayload(
            station=self._station,
            seq=self._seq(),
            ts=utc_now(),
            state="online" if online else "offline",
            worst=worst,
            name=self._config.station.name,
            timezone=self._config.station.timezone,
            agent=AgentInfo(
                version=__version__, hostname=socket.gethostname(), started=self._started
            ),
            devices=[
                DeviceInfo(
                    id=section.id,
                    name=section.display_name,
                    driver=driver.name,
                    kind=driver.kind,
                    host=section.address,
                )
                for section, driver in devices
            ],
            alarms=[alarm_item(a) for a in alarms],
        )
        return Outgoing(self._topics.status, payload.model_dump_json().encode(), 1, True)

    def telemetry(self, section: DeviceSection, driver: Driver, result: PollResult) -> Outgoing:
        payload = TelemetryPayload(
            station=self._station,
            seq=self._seq(),
            ts=result.ts,
            device=section.id,
            driver=driver.name,
            kind=driver.kind,
            poll_ms=round(result.duration_s * 1000),
            error=result.error,
            metrics={
                r.key: MetricValue(
                    value=r.value, unit=r.unit, quality=r.quality, detail=r.detail or None
                )
                for r in result.readings
            },
        )
        topic = self._topics.telemetry(section.id)
        return Outgoing(topic, payload.model_dump_json().encode(), self._telemetry_qos, False)

    def health(
        self,
        device_id: str,
        state: HealthState,
        reason: str | None,
        alarms: Sequence[Alarm],
        ts: datetime,
    ) -> Outgoing:
        payload = HealthPayload(
            station=self._station,
            seq=self._seq(),
            ts=ts,
            device=device_id,
            state=state,
            reason=reason,
            alarms=[alarm_item(a) for a in alarms],
        )
        return Outgoing(self._topics.health(device_id), payload.model_dump_json().encode(), 1, True)

    def alarm(self, event: AlarmEvent) -> Outgoing:
        alarm = event.alarm
        payload = AlarmPayload(
            station=self._station,
            seq=self._seq(),
            ts=event.ts,
            event=event.transition.value,
            device=alarm.device,
            alarm_id=alarm.alarm_id,
            rule=alarm.rule,
            condition=alarm.condition,
            severity=alarm.severity,
            previous_severity=event.previous,
            raised_at=alarm.raised_at,
            cleared_at=alarm.cleared_at,
            duration_s=alarm.duration_s,
            value=alarm.value,
            limit=alarm.limit,
            unit=alarm.unit,
            message=Message(vi=alarm.message_vi, en=alarm.message_en),
            reason=event.reason or None,
        )
        return Outgoing(self._topics.alarm, payload.model_dump_json().encode(), 1, False)

    def trap(
        self,
        device_id: str,
        source: str,
        trap_oid: str,
        varbinds: dict[str, RawValue],
        ts: datetime,
    ) -> Outgoing:
        payload = TrapPayload(
            station=self._station,
            seq=self._seq(),
            ts=ts,
            event="trap",
            device=device_id,
            source=source,
            trap_oid=trap_oid,
            varbinds={oid: json_value(raw) for oid, raw in varbinds.items()},
        )
        return Outgoing(self._topics.alarm, payload.model_dump_json().encode(), 1, False)


def alarm_item(alarm: Alarm) -> AlarmItem:
    return AlarmItem(
        alarm_id=alarm.alarm_id,
        rule=alarm.rule,
        condition=alarm.condition,
        severity=alarm.severity,
        raised_at=alarm.raised_at,
        changed_at=alarm.changed_at,
        value=alarm.value,
        limit=alarm.limit,
        unit=alarm.unit,
        message=Message(vi=alarm.message_vi, en=alarm.message_en),
    )


def json_value(raw: RawValue) -> JsonValue:
    """A trap varbind as JSON: octets as text (hex when not printable)."""
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", errors="replace")
        return text if text.isprintable() else raw.hex()
    if raw is None or isinstance(raw, int | float | str):
        return raw
    return str(raw)
