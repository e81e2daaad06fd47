"""Every message the agent publishes, built in one place: kind, topic, payload model, QoS, retain.

Each method returns a `Draft`: its payload is rendered when the outbox gives
it the next number of the station's sequence, so the numbers follow the order
in which messages were committed.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fieldagent import __version__
from fieldagent.alarms import Alarm, AlarmEvent
from fieldagent.alarms.messages import TITLES_VI
from fieldagent.alarms.rules import build_rule
from fieldagent.checklist.report import Report
from fieldagent.config import Config, DeviceSection
from fieldagent.driver import Driver, IpAddress, Limits, Metric, RawValue
from fieldagent.model import HealthState, PollResult, Quality, utc_now
from fieldagent.outbox import Draft, Kind
from fieldagent.payloads import (
    SPLICED_FIELDS,
    AgentInfo,
    AlarmItem,
    AlarmPayload,
    ChecklistReplyPayload,
    ChecklistReportPayload,
    CommandReplyPayload,
    CompactTelemetryPayload,
    DeviceInfo,
    Envelope,
    HealthPayload,
    JsonValue,
    LimitsInfo,
    MaintenanceResult,
    Message,
    MetaPayload,
    MetricInfo,
    MetricValue,
    OutboxInfo,
    PingResult,
    PollSummary,
    StatusPayload,
    TelemetryPayload,
    TrapPayload,
)
from fieldagent.report_by_exception import Changes, deadbands_of
from fieldagent.topics import Topics


class MessageBuilder:
    """Builds the station's messages; holds nothing but the station's description."""

    def __init__(self, config: Config, topics: Topics, telemetry_qos: int) -> None:
        self._config = config
        self._station = config.station.id
        self._topics = topics
        self._telemetry_qos = telemetry_qos
        self._started = utc_now()

    def status(
        self,
        online: bool,
        worst: HealthState,
        devices: Sequence[tuple[DeviceSection, Driver]],
        alarms: Sequence[Alarm] = (),
        outbox: OutboxInfo | None = None,
    ) -> Draft:
        return self._draft(
            Kind.STATUS,
            self._topics.status,
            1,
            True,
            StatusPayload,
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
            outbox=outbox,
        )

    def telemetry(self, section: DeviceSection, driver: Driver, result: PollResult) -> Draft:
        return self._draft(
            Kind.TELEMETRY,
            self._topics.telemetry(section.id),
            self._telemetry_qos,
            False,
            TelemetryPayload,
            ts=result.ts,
            device=section.id,
            driver=driver.name,
            kind=driver.kind,
            poll_ms=round(result.duration_s * 1000),
            error=result.error,
            metrics={
                r.key: MetricValue(
                    value=r.value,
                    unit=r.unit,
                    quality=r.quality,
                    detail=r.detail or None,
                    in_use=r.in_use,
                )
                for r in result.readings
            },
        )

    def compact_telemetry(
        self, section: DeviceSection, result: PollResult, report: Changes
    ) -> Draft:
        """Contract v2: the readings `report` carries, qualities and details apart."""
        readings = report.readings
        return self._draft(
            Kind.TELEMETRY,
            self._topics.telemetry(section.id),
            self._telemetry_qos,
            False,
            CompactTelemetryPayload,
            compact=True,
            ts=result.ts,
            v=2,
            device=section.id,
            full=report.full,
            err=result.error,
            ms=round(result.duration_s * 1000) if report.full else None,
            val={r.key: r.value for r in readings},
            q={r.key: r.quality for r in readings if r.quality is not Quality.OK},
            det={r.key: r.detail for r in readings if r.detail},
            off=[r.key for r in readings if not r.in_use],
        )

    def meta(self, section: DeviceSection, driver: Driver, snapshot_interval_s: float) -> Draft:
        """Contract v2, retained: the device and its metrics as central tools show them.

        Deadbands are this device's (the station file's over the driver's); limits
        are the driver's with the station's `[limits]` and the device's own over them.
        """
        deadbands = deadbands_of(driver, section.deadband)
        return self._draft(
            Kind.META,
            self._topics.meta(section.id),
            1,
            True,
            MetaPayload,
            compact=True,
            ts=utc_now(),
            v=2,
            device=section.id,
            name=section.display_name,
            driver=driver.name,
            kind=driver.kind,
            title=driver.title,
            interval_s=section.interval,
            snapshot_interval_s=snapshot_interval_s,
            metrics={
                m.key: self._metric_info(section, m, deadbands[m.key]) for m in driver.metrics
            },
        )

    def _metric_info(
        self, section: DeviceSection, metric: Metric, deadband: float | None
    ) -> MetricInfo:
        layers = [self._config.limits.get(metric.key), section.limits.get(metric.key)]
        limits = build_rule(metric.key, metric, layers).limits
        return MetricInfo(
            unit=metric.unit,
            title=metric.title,
            title_vi=metric.title_vi or TITLES_VI.get(metric.key),
            type=metric.type.value,
            table=metric.table,
            enum=list(dict.fromkeys(metric.enum.values())) or None,
            deadband=deadband,
            limits=None if limits == Limits() else LimitsInfo(**vars(limits)),
        )

    def health(
        self,
        device_id: str,
        state: HealthState,
        reason: str | None,
        alarms: Sequence[Alarm],
        ts: datetime,
    ) -> Draft:
        return self._draft(
            Kind.HEALTH,
            self._topics.health(device_id),
            1,
            True,
            HealthPayload,
            ts=ts,
            device=device_id,
            state=state,
            reason=reason,
            alarms=[alarm_item(a) for a in alarms],
        )

    def alarm(self, event: AlarmEvent) -> Draft:
        alarm = event.alarm
        return self._draft(
            Kind.ALARM,
            self._topics.alarm,
            1,
            False,
            AlarmPayload,
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

    def trap(
        self,
        device_id: str,
        source: str,
        trap_oid: str,
        varbinds: dict[str, RawValue],
        ts: datetime,
    ) -> Draft:
        return self._draft(
            Kind.ALARM,
            self._topics.alarm,
            1,
            False,
            TrapPayload,
            ts=ts,
            event="trap",
            device=device_id,
            source=source,
            trap_oid=trap_oid,
            varbinds={oid: json_value(raw) for oid, raw in varbinds.items()},
        )

    def checklist_report(self, report: Report) -> Draft:
        """Retained, durable: the province keeps the latest report of every station."""
        return self._draft(
            Kind.CHECKLIST,
            self._topics.checklist_report,
            1,
            True,
            ChecklistReportPayload,
            ts=report.finished,
            report=report,
        )

    def checklist_reply(
        self,
        request_id: str | None,
        report_id: str | None,
        error: str | None = None,
        next_allowed: datetime | None = None,
    ) -> Draft:
        return self._draft(
            Kind.CHECKLIST,
            self._topics.checklist_reply,
            1,
            False,
            ChecklistReplyPayload,
            ts=utc_now(),
            request_id=request_id,
            accepted=error is None,
            report_id=report_id,
            error=error,
            next_allowed=next_allowed,
        )

    def command_reply(
        self,
        command: str,
        request_id: str | None,
        error: str | None = None,
        retry_after_s: float | None = None,
        ts: datetime | None = None,
        ping: PingResult | None = None,
        poll: PollSummary | None = None,
        maintenance: MaintenanceResult | None = None,
    ) -> Draft:
        """The reply on `cmd/COMMAND/reply`: `ok` with a result (`ping=`, `poll=`,
        `maintenance=`), or the refusal in `error`.  An unknown COMMAND's name is
        echoed in the payload up to 64 characters (the topic has it whole)."""
        return self._draft(
            Kind.REPLY,
            self._topics.command_reply(command),
            1,
            False,
            CommandReplyPayload,
            ts=ts or utc_now(),
            command=command[:64],
            request_id=request_id,
            ok=error is None,
            error=error,
            retry_after_s=retry_after_s,
            ping=ping,
            poll=poll,
            maintenance=maintenance,
        )

    def _draft(
        self,
        kind: Kind,
        topic: str,
        qos: int,
        retain: bool,
        model: type[Envelope],
        /,
        compact: bool = False,
        **fields: Any,
    ) -> Draft:
        """A draft whose payload is validated and rendered once it has its number.

        `compact` leaves out the fields at their defaults (v2: an absent `q` is all ok).
        """
        station = self._station
        ts = fields["ts"]
        assert isinstance(ts, datetime)

        def render(seq: int) -> bytes:
            payload = model(station=station, seq=seq, **fields)
            dumped = payload.model_dump_json(exclude=set(SPLICED_FIELDS), exclude_defaults=compact)
            return dumped.encode()

        return Draft(kind, topic, qos, retain, ts.isoformat(), render)


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
    """A trap varbind as JSON: an IpAddress dotted, octets as text (hex when not printable).

    Octets that are UTF-8 text, printable but for tabs and line ends, are that text;
    otherwise text with replacement characters if that is printable, else hex.
    """
    if isinstance(raw, IpAddress):
        return str(raw)
    if isinstance(raw, bytes):
        return _octets_json(raw)
    if raw is None or isinstance(raw, int | float | str):
        return raw
    return str(raw)


def _octets_json(octets: bytes) -> str:
    try:
        text = octets.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if all(c.isprintable() or c in "\t\r\n" for c in text):
            return text
    text = octets.decode("utf-8", errors="replace")
    return text if text.isprintable() else octets.hex()
