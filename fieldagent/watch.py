"""Readable one-line renderings of what the agent publishes.

Used by `fieldagent demo` to show a newcomer what reaches the province, and
meant for the fleet monitor later.  Untrusted input: a payload that is not the
JSON we expect is shown as such, never raised.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Any

TELEMETRY_SUMMARY_LIMIT = 5
"""How many numeric metrics a telemetry line shows; the rest is summarised as a count."""

LINE_LIMIT = 160
"""A line never wraps a normal terminal twice: longer ones end in an ellipsis."""


def render(topic: str, payload: bytes, retained: bool = False, zone: tzinfo = UTC) -> str:
    """One line for one MQTT message: time (in `zone`: the station's), device, kind, essentials."""
    kind = topic.rsplit("/", 1)[-1]
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # [[[[... too deep
        return f"{topic}: not JSON ({len(payload)} bytes)"
    if not isinstance(data, dict):
        return f"{topic}: unexpected payload {payload[:60]!r}"
    head = f"{_time(data, zone)} #{data.get('seq', '?'):<5} {'(retained) ' if retained else ''}"
    if kind == "status":
        line = head + _status(data)
    elif kind == "health":
        line = head + _health(data)
    elif kind == "telemetry":
        line = head + _telemetry(data)
    elif kind == "alarm":
        line = head + _alarm(data)
    elif kind == "meta":
        line = head + _meta(data)
    else:
        line = head + f"{topic}: {json.dumps(data, ensure_ascii=False)}"
    return line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 1] + "…"


def _time(data: dict[str, Any], zone: tzinfo) -> str:
    try:
        ts = datetime.fromisoformat(str(data.get("ts", "")))
    except ValueError:
        return "--:--:--"
    return f"{ts.astimezone(zone):%H:%M:%S}" if ts.tzinfo is not None else "--:--:--"


def _status(data: dict[str, Any]) -> str:
    devices = data.get("devices") or []
    agent = data.get("agent") or {}
    return (
        f"STATUS   {str(data.get('state', '?')).upper():<8} {data.get('name', '')} "
        f"(agent {agent.get('version', '?')} on {agent.get('hostname', '?')}, "
        f"{len(devices)} devices)"
    )


def _health(data: dict[str, Any]) -> str:
    alarms = data.get("alarms") or []
    details = "; ".join(
        str((a.get("message") or {}).get("en") or a.get("rule"))
        for a in alarms
        if isinstance(a, dict)
    )
    text = details or data.get("reason") or "no active alarm"
    return (
        f"HEALTH   {data.get('device', '?'):<12} {str(data.get('state', '?')).upper():<11} {text}"
    )


def _alarm(data: dict[str, Any]) -> str:
    event = str(data.get("event", "?"))
    if event == "trap":
        return f"TRAP     {data.get('device', '?'):<12} {data.get('trap_oid', '?')}"
    message = (data.get("message") or {}).get("en") or data.get("alarm_id")
    severity = str(data.get("severity", "?")).upper()
    device = data.get("device") or "(station)"
    return f"ALARM    {device:<12} {event.upper():<8} {severity:<8} {message}"


def _meta(data: dict[str, Any]) -> str:
    metrics = data.get("metrics")
    count = len(metrics) if isinstance(metrics, dict) else 0
    return f"META     {data.get('device', '?'):<12} {data.get('driver', '?')}: {count} metrics"


def _compact(data: dict[str, Any]) -> str:
    """Contract v2: a snapshot (every value) or what changed; units are in the meta message."""
    label = "SNAPSHOT" if data.get("full") is True else "DATA"
    device = f"{label:<8} {data.get('device', '?'):<12}"
    if data.get("err"):
        return f"{device} no reply: {data['err']}"
    values, qualities, off = _dict(data.get("val")), _dict(data.get("q")), data.get("off")
    flagged = set(qualities) | (
        {k for k in off if isinstance(k, str)} if isinstance(off, list) else set()
    )
    shown = [
        f"{key.split('.', 1)[-1]}={_value(value)}"
        for key, value in values.items()
        if key not in flagged and not isinstance(value, str)
    ]
    shown += [f"{key.split('.', 1)[-1]} {quality}" for key, quality in qualities.items()]
    more = len(shown) - TELEMETRY_SUMMARY_LIMIT
    tail = f" (+{more} more)" if more > 0 else ""
    return f"{device} {' '.join(shown[:TELEMETRY_SUMMARY_LIMIT])}{tail}"


def _dict(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _telemetry(data: dict[str, Any]) -> str:
    if data.get("v") == 2:
        return _compact(data)
    if data.get("error"):
        return f"DATA     {data.get('device', '?'):<12} no reply: {data['error']}"
    metrics = data.get("metrics") or {}
    shown = [
        f"{key.split('.', 1)[-1]}={_value(m.get('value'))}{m.get('unit') or ''}"
        for key, m in metrics.items()
        if isinstance(m, dict)
        and m.get("quality") == "ok"
        and m.get("in_use") is not False  # an unconfigured channel's 0 says nothing
        and not isinstance(m.get("value"), str)
    ]
    more = len(metrics) - min(len(shown), TELEMETRY_SUMMARY_LIMIT)
    tail = f" (+{more} more)" if more > 0 else ""
    return (
        f"DATA     {data.get('device', '?'):<12} {' '.join(shown[:TELEMETRY_SUMMARY_LIMIT])}{tail}"
    )


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
