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

from fieldagent.model import HealthState, Quality

JsonValue = float | int | str | bool | None


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(_Payload):
    station: str = Field(description="Station id, as in the topic.")
    seq: int = Field(ge=1, description="The station's monotonic sequence number.")
    ts: datetime = Field(description="UTC time of the reading or event this message reports.")


class MetricValue(_Payload):
    value: JsonValue
    unit: str
    quality: Quality
    detail: str | None = Field(default=None, description="Why the quality is not good.")


class TelemetryPayload(Envelope):
    device: str
    driver: str
    kind: str
    poll_ms: int = Field(ge=0, description="How long the poll took.")
    error: str | None = Field(default=None, description="Set when the device did not answer.")
    metrics: dict[str, MetricValue]


class ProblemItem(_Payload):
    metric: str
    title: str
    value: JsonValue
    unit: str
    state: HealthState
    limit: float | None = Field(default=None, description="The limit the value broke.")


class HealthPayload(Envelope):
    device: str
    state: HealthState
    reason: str | None = None
    problems: list[ProblemItem]


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


class StatusPayload(Envelope):
    state: Literal["online", "offline"]
    name: str
    timezone: str
    agent: AgentInfo
    devices: list[DeviceInfo]


PUBLISHED_MODELS: dict[str, type[BaseModel]] = {
    "status": StatusPayload,
    "telemetry": TelemetryPayload,
    "health": HealthPayload,
}
"""Topic kind -> payload model, for `fieldagent schema` and for subscribers' validation."""
