"""The subscribers' side of compact telemetry: each device's full state, rebuilt.

A compact message (contract v2) carries only what changed; a snapshot
(`"full": true`) carries every value.  So a subscriber keeps, per device, the
last snapshot with the changes after it applied, in `seq` order, and takes
units and titles from the device's retained meta message.  The result has the
shape of a v1 message's `metrics` (value, unit, quality, detail, in_use), so a
central tool written for v1 reads it unchanged.  Untrusted input: a payload
that is not what the contract says raises ValueError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fieldagent.driver import base_key
from fieldagent.payloads import CONTRACT_V2, CompactTelemetryPayload, MetaPayload


@dataclass
class DeviceState:
    """One device's readings as the last snapshot and the changes after it say."""

    meta: MetaPayload | None = None
    seq: int = 0
    """The newest compact message applied; an older one (a re-send) changes nothing."""
    error: str | None = None
    ts: str | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = False
    """A snapshot has been applied: `values` lists every reading of the device."""

    def apply(self, message: CompactTelemetryPayload) -> bool:
        """Apply one compact message; False when it is older than what was applied."""
        if message.seq <= self.seq:
            return False
        self.seq = message.seq
        if message.full:
            self.values = {}
            self.complete = True
        self.error = message.err
        self.ts = message.ts.isoformat().replace("+00:00", "Z")
        off = set(message.off)
        for key, value in message.val.items():
            self.values[key] = {
                "value": value,
                "quality": message.q.get(key, "ok"),
                "detail": message.det.get(key),
                "in_use": key not in off,
            }
        return True

    def metrics(self) -> dict[str, dict[str, Any]]:
        """The readings as a v1 message lists them, units from the meta message ("" unknown)."""
        units = {} if self.meta is None else {k: m.unit for k, m in self.meta.metrics.items()}
        return {
            key: {
                "value": reading["value"],
                "unit": units.get(base_key(key), ""),
                "quality": reading["quality"],
                "detail": reading["detail"],
                "in_use": reading["in_use"],
            }
            for key, reading in self.values.items()
        }


@dataclass
class StationTelemetry:
    """Every device's rebuilt state, from raw MQTT payloads of many stations."""

    devices: dict[tuple[str, str], DeviceState] = field(default_factory=dict)

    def add(self, topic: str, payload: bytes) -> bool:
        """Take a `meta` or compact `telemetry` payload; False for anything else or a re-send.

        A v1 telemetry payload (no `v`) is not taken: it is whole by itself.
        """
        kind = topic.rsplit("/", 1)[-1]
        if kind not in ("meta", "telemetry"):
            return False
        data = _object(payload)
        if data.get("v") != CONTRACT_V2:
            return False
        if kind == "meta":
            meta = MetaPayload.model_validate(data)
            self.device(meta.station, meta.device).meta = meta
            return True
        message = CompactTelemetryPayload.model_validate(data)
        return self.device(message.station, message.device).apply(message)

    def device(self, station: str, device: str) -> DeviceState:
        return self.devices.setdefault((station, device), DeviceState())


def _object(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data
