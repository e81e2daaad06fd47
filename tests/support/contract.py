"""Published messages checked against the committed schema files (docs/schema/), as a
central tool written on the contract would check them: by topic, with a JSON Schema
validator that knows nothing of the agent's pydantic models."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from tests.agentproc import ROOT
from tests.mqtt_probe import Received

SCHEMA_DIR = ROOT / "docs" / "schema"


@cache
def validator(kind: str) -> Draft202012Validator:
    """The validator of one payload kind, from its committed schema file."""
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def kind_of(topic: str, payload: dict[str, Any]) -> str | None:
    """The payload kind a topic carries (docs/schema/index.json); None for a request to
    the station (cmd/NAME, sent by central, not by the agent)."""
    parts = topic.split("/")
    assert parts[:2] == ["bctv", "v1"] and len(parts) >= 4, f"{topic}: outside the contract"
    tail = "/".join(parts[3:])
    if parts[3] == "cmd":
        if tail == "cmd/checklist/reply":
            return "checklist-reply"
        return "command-reply" if len(parts) == 6 and parts[5] == "reply" else None
    if tail == "checklist/report":
        return "checklist"
    by_tail = {"status": "status", "alarm": "trap" if payload.get("event") == "trap" else "alarm"}
    if tail in by_tail:
        return by_tail[tail]
    assert len(parts) == 5, f"{topic}: no payload kind is published there"
    last = parts[4]
    if last == "telemetry":
        return "telemetry-compact" if payload.get("v") == 2 else "telemetry"
    assert last in {"meta", "health"}, f"{topic}: no payload kind is published there"
    return last


def problems(kind: str, payload: object) -> list[str]:
    """Why `payload` is not a valid `kind` message, one line each (none: it is)."""
    return [
        f"{kind} {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator(kind).iter_errors(payload)
    ]


def validate_all(messages: list[Received]) -> dict[str, int]:
    """Every message the agent published, checked against its kind's schema file;
    how many of each kind. Fails naming the topic and the field at fault."""
    counts: dict[str, int] = {}
    for message in messages:
        payload = message.json()
        kind = kind_of(message.topic, payload)
        if kind is None:
            continue
        found = problems(kind, payload)
        assert not found, f"{message.topic}: {found}"
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def opened(schema: Any) -> Any:
    """A closed schema file made tolerant of fields added within bctv/v1, as
    docs/mqtt-topics.md (validating messages) tells a central tool to do in production."""
    if isinstance(schema, dict):
        return {
            k: (True if k == "additionalProperties" and v is False else opened(v))
            for k, v in schema.items()
        }
    return [opened(v) for v in schema] if isinstance(schema, list) else schema


def opened_problems(kind: str, payload: object) -> list[str]:
    """`problems` against the opened schema of `kind`."""
    schema = opened(json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8")))
    return [e.message for e in Draft202012Validator(schema).iter_errors(payload)]
