"""The JSON payloads the agent publishes, as pydantic models.

These models are the contract with central subscribers: their JSON Schemas are
printed by `fieldagent schema`.  Every payload carries the station id, the
station's sequence number (gap and duplicate detection) and the UTC time of
the reading it reports (not the time it was sent, which may be much later).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldagent.checklist.report import Report
from fieldagent.model import HealthState, Quality

JsonValue = float | int | str | bool | None


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(_Payload):
    station: str = Field(description="Station id, as in the topic.")
    seq: int = Field(ge=1, description="The station's monotonic sequence number.")
    prev: int | None = Field(
        default=None,
        ge=0,
        description=(
            "seq of the station's previous published message (0: none). A message"
            " dropped on purpose (superseded state, thinned telemetry) is skipped, so a"
            " prev never received is a lost message. Absent only in the last will."
        ),
    )
    replayed: bool = Field(
        default=False,
        description="Sent late from the outbox, after an outage or a restart; ts is the original.",
    )
    ts: datetime = Field(description="UTC time of the reading or event this message reports.")


class MetricValue(_Payload):
    value: JsonValue
    unit: str
    quality: Quality
    detail: str | None = Field(default=None, description="Why the quality is not good.")
    in_use: bool = Field(
        default=True,
        description=(
            "False for a table row the device says is not in use (an unconfigured"
            " channel, an idle input): listed, but not judged by health or alarms."
        ),
    )


class TelemetryPayload(Envelope):
    device: str
    driver: str
    kind: str
    poll_ms: int = Field(ge=0, description="How long the poll took.")
    error: str | None = Field(default=None, description="Set when the device did not answer.")
    metrics: dict[str, MetricValue]


CONTRACT_V2 = 2
"""The payload contract of compact telemetry and meta (docs/mqtt-topics.md, contract versions).

v1 is the full telemetry message, which carries no version field."""


class CompactTelemetryPayload(Envelope):
    """Contract v2 telemetry: what changed since the device's last message, or (`full`) all.

    Short keys, as it is the bulk of a station's bytes.  `val` lists every metric this
    message reports (a row key for a table row); `q`, `det` and `off` qualify those
    only, and are left out when empty: a reading in `val` is `ok`, without detail and
    in use unless they say otherwise.  Units and titles are in the device's retained
    meta message.
    """

    v: Literal[2] = Field(description="Contract version: 2.")
    device: str
    full: bool = Field(
        description=(
            "A snapshot: `val` lists every metric of the device; readings it leaves out are"
            " gone. Otherwise only the metrics that changed."
        )
    )
    err: str | None = Field(
        default=None, description="Why the device did not answer; absent when it answered."
    )
    ms: int | None = Field(default=None, ge=0, description="How long the poll took (snapshots).")
    val: dict[str, JsonValue] = Field(description="Metric key -> its value (null: none).")
    q: dict[str, Literal["bad", "missing", "invalid"]] = Field(
        default_factory=dict, description="Quality of the metrics in `val` that are not ok."
    )
    det: dict[str, str] = Field(
        default_factory=dict, description="Why a metric in `val` has its quality."
    )
    off: list[str] = Field(
        default_factory=list,
        description="Metrics in `val` of table rows the device says are not in use.",
    )


class LimitsInfo(_Payload):
    """The limits an alarm judges a metric by on this device (driver, [limits], [device.limits])."""

    warn_low: float | None = None
    crit_low: float | None = None
    warn_high: float | None = None
    crit_high: float | None = None


class MetricInfo(_Payload):
    """What one metric of a device is: how to show and read its values."""

    unit: str
    title: str
    title_vi: str | None = None
    type: Literal["number", "enum", "text", "bool", "counter"] = Field(
        description="counter: published as its rate per second."
    )
    table: str | None = Field(
        default=None, description="Row label of a table metric: its readings are KEY[table=i]."
    )
    enum: list[str] | None = Field(default=None, description="The labels an enum may read.")
    deadband: float | None = Field(
        default=None,
        description="Compact telemetry reports the value again once it moved further (unit).",
    )
    limits: LimitsInfo | None = None


class MetaPayload(Envelope):
    """Contract v2, retained on {device}/meta: the device and its metrics' units and names."""

    v: Literal[2] = Field(description="Contract version: 2.")
    device: str
    name: str = Field(description="The device's name at the station.")
    driver: str
    kind: str
    title: str = Field(description="What the driver reads: the device family.")
    interval_s: float = Field(description="Seconds between polls.")
    snapshot_interval_s: float = Field(description="A full snapshot comes at least this often.")
    metrics: dict[str, MetricInfo] = Field(description="By metric key (without a row index).")


class Message(_Payload):
    vi: str = Field(description="Vietnamese text.")
    en: str = Field(description="English text.")


class AlarmItem(_Payload):
    """An active alarm as listed in a health or status payload."""

    alarm_id: str = Field(description="station/device/rule/condition; '-' for a station alarm.")
    rule: str = Field(description="The reading key or device rule the alarm is about.")
    condition: str = Field(description="high, low, state, unreachable, stale, maintenance, ...")
    severity: HealthState
    raised_at: datetime
    changed_at: datetime | None = None
    value: JsonValue
    limit: float | None = None
    unit: str = ""
    message: Message


class HealthPayload(Envelope):
    device: str
    state: HealthState
    reason: str | None = None
    alarms: list[AlarmItem] = Field(description="Every active alarm of the device.")


class AlarmPayload(Envelope):
    """One transition of one alarm on {root}/{station}/alarm."""

    event: Literal["raised", "severity_changed", "cleared"]
    device: str | None = Field(description="None for a station alarm.")
    alarm_id: str
    rule: str
    condition: str
    severity: HealthState
    previous_severity: HealthState | None = None
    raised_at: datetime
    cleared_at: datetime | None = None
    duration_s: float | None = None
    value: JsonValue
    limit: float | None = None
    unit: str = ""
    message: Message
    reason: str | None = Field(default=None, description="Why it cleared, when not by itself.")


class TrapPayload(Envelope):
    """A trap from a known device that no driver rule explains, on the alarm topic."""

    event: Literal["trap"]
    device: str
    source: str
    trap_oid: str
    varbinds: dict[str, JsonValue]


class AgentInfo(_Payload):
    version: str
    hostname: str
    started: datetime


class DeviceInfo(_Payload):
    id: str
    name: str
    driver: str
    kind: str
    host: str


class OutboxInfo(_Payload):
    """The station's outbox when the status was sent: what is still coming, what was dropped."""

    waiting: int = Field(ge=0, description="Messages not yet acknowledged by the broker.")
    thinned: int = Field(
        ge=0, description="Readings dropped at the size limit, since the outbox was created."
    )
    superseded: int = Field(
        ge=0, description="Status and health values replaced by newer ones before being sent."
    )


class StatusPayload(Envelope):
    state: Literal["online", "offline"]
    worst: HealthState = Field(description="The station's worst state: devices and station alarms.")
    name: str
    timezone: str
    agent: AgentInfo
    devices: list[DeviceInfo]
    alarms: list[AlarmItem] = Field(
        default_factory=list, description="Active station alarms (maintenance mode, trap flood)."
    )
    outbox: OutboxInfo | None = Field(
        default=None, description="The station's outbox when this status was built."
    )


class ChecklistReportPayload(Envelope):
    """A checklist report, retained: `report` is the archived JSON of the run, unchanged."""

    report: Report


class ChecklistReplyPayload(Envelope):
    """The answer to a `cmd/checklist` request."""

    request_id: str | None = Field(
        default=None, description="The request's own id, echoed (absent if it gave none)."
    )
    accepted: bool
    report_id: str | None = Field(
        default=None,
        description="The report this run will publish on checklist/report (when accepted).",
    )
    error: str | None = Field(default=None, description="Why the request was refused.")
    next_allowed: datetime | None = Field(
        default=None,
        description="Refused for the cooldown: from when a request will start a run again.",
    )


class PingResult(_Payload):
    """What `cmd/ping` tells: the agent is alive, and the station in a few figures."""

    version: str = Field(description="The agent's version.")
    uptime_s: float = Field(ge=0, description="Seconds since the agent started.")
    state: HealthState = Field(description="The station's worst state, as in its status.")
    devices: int = Field(ge=0, description="Devices the agent polls.")
    outbox_waiting: int = Field(ge=0, description="Messages waiting for the broker.")


class PollSummary(_Payload):
    """What a poll asked for on `cmd/poll` found (its telemetry and health are published too)."""

    device: str
    answered: bool
    health: HealthState = Field(description="The device's state once the poll was judged.")
    poll_ms: int = Field(ge=0, description="How long the poll took.")
    error: str | None = Field(default=None, description="Why the device did not answer.")


class MaintenanceResult(_Payload):
    """The maintenance `cmd/maintenance` recorded (applied within a second, kept on disk)."""

    device: str
    until: datetime | None = Field(description="When it ends (UTC); null: ended now.")


class CommandReplyPayload(Envelope):
    """The answer to a request on `cmd/NAME` (ping, poll, maintenance or an unknown NAME)."""

    command: str = Field(description="NAME, from the request's topic.")
    request_id: str | None = Field(
        default=None, description="The request's own id, echoed (absent if it gave none)."
    )
    ok: bool
    error: str | None = Field(default=None, description="Why the request was refused.")
    retry_after_s: float | None = Field(
        default=None, description="Refused for the rate limit: seconds until one is accepted."
    )
    ping: PingResult | None = None
    poll: PollSummary | None = None
    maintenance: MaintenanceResult | None = None


SPLICED_FIELDS = frozenset({"prev", "replayed"})
"""Added by the outbox as a message leaves (fieldagent.outbox.wire_payload), not stored."""

PUBLISHED_MODELS: dict[str, type[BaseModel]] = {
    "status": StatusPayload,
    "telemetry": TelemetryPayload,
    "telemetry-compact": CompactTelemetryPayload,
    "meta": MetaPayload,
    "health": HealthPayload,
    "alarm": AlarmPayload,
    "trap": TrapPayload,
    "checklist": ChecklistReportPayload,
    "checklist-reply": ChecklistReplyPayload,
    "command-reply": CommandReplyPayload,
}
"""Topic kind -> payload model, for `fieldagent schema` and for subscribers' validation.

The telemetry topic carries `telemetry` (v1: no `v`) or `telemetry-compact` (`"v": 2`),
as the station's `[telemetry] format` says; `telemetry_model` picks the one of a payload."""


def telemetry_model(payload: dict[str, object]) -> type[Envelope]:
    """The model of a telemetry payload: compact when it says contract v2, else full (v1)."""
    return CompactTelemetryPayload if payload.get("v") == CONTRACT_V2 else TelemetryPayload
