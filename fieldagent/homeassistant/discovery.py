"""Home Assistant MQTT discovery: one device-based config message per device.

Home Assistant's device-based discovery (https://www.home-assistant.io/integrations/mqtt/,
"Device discovery payload") takes one retained JSON object on
``<prefix>/device/<object_id>/config``: the device (``dev``), who sends it (``o``,
origin) and its entities (``cmps``, each with its platform ``p``).  An empty retained
payload on the same topic removes the device.

What appears in Home Assistant is declared, never guessed: a sensor per metric the
driver marks `dashboard`, its device class only from the metric's declared
`Quantity`, and a sensor for the device's health.  Values are read from the
device's telemetry topic as it is: a compact (v2) message lists only what changed,
so each template renders an empty string when its key is absent, which Home
Assistant's numeric MQTT sensor and binary sensor ignore (the entity keeps its
state); an enum or text sensor, which would take the empty string as its state,
renders its own state (``this.state``) instead.  A null value (no reading) renders
``None``, which makes the state unknown.

Each metric's entity is available only when both the station is online (its
retained status) and the device answers (its retained health is not
``unreachable``): ``availability_mode: all``.  The health entity depends on the
station only, so an unreachable device still shows as such.

This module only builds payloads; `announcer.py` decides when they go out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from fieldagent import __version__
from fieldagent.config import DeviceSection
from fieldagent.driver import Driver, Metric, Quantity, ValueType
from fieldagent.model import HealthState
from fieldagent.topics import Topics

TelemetryFormat = Literal["full", "compact"]

ORIGIN_NAME = "fieldagent"

DEVICE_CLASSES: Mapping[Quantity, str] = {
    Quantity.POWER: "power",
    Quantity.VOLTAGE: "voltage",
    Quantity.CURRENT: "current",
    Quantity.TEMPERATURE: "temperature",
    Quantity.FREQUENCY: "frequency",
    Quantity.BATTERY_CHARGE: "battery",
    Quantity.DURATION: "duration",
    Quantity.SIGNAL_LEVEL: "signal_strength",
}
"""A declared quantity -> Home Assistant's sensor device class for it."""

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
"""A metric key that can be written inside a template's quoted string as it is."""


@dataclass(frozen=True)
class DeviceDiscovery:
    """One device's discovery message: its config topic and retained payload."""

    topic: str
    payload: bytes


def object_id(station: str, device_id: str) -> str:
    """The device's id in discovery topics and identifiers (ids are topic-safe already)."""
    return f"fieldagent_{station}_{device_id}"


def config_topic(prefix: str, station: str, device_id: str) -> str:
    return f"{prefix}/device/{object_id(station, device_id)}/config"


def device_discovery(
    prefix: str,
    topics: Topics,
    telemetry: TelemetryFormat,
    section: DeviceSection,
    driver: Driver,
) -> DeviceDiscovery:
    """The discovery message of one device, as compact JSON (keys sorted: stable bytes)."""
    device_oid = object_id(topics.station, section.id)
    station_available = {
        "topic": topics.status,
        "value_template": "{{ value_json.state }}",
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    device_available = {
        "topic": topics.health(section.id),
        "value_template": (
            "{{ 'offline' if value_json.state == '"
            + HealthState.UNREACHABLE.value
            + "' else 'online' }}"
        ),
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    components: dict[str, dict[str, object]] = {}
    for metric in driver.metrics:
        if not metric.dashboard or metric.table is not None:
            continue
        component = _metric_component(metric, topics.telemetry(section.id), telemetry)
        component["unique_id"] = f"{device_oid}_{metric.key}"
        component["availability"] = [station_available, device_available]
        component["availability_mode"] = "all"
        components[metric.key.replace(".", "_")] = component
    components["health"] = {
        "p": "sensor",
        "name": "Health",
        "unique_id": f"{device_oid}_health",
        "state_topic": topics.health(section.id),
        "value_template": "{{ value_json.state }}",
        "device_class": "enum",
        "options": [state.value for state in HealthState],
        "availability": [station_available],
    }
    payload = {
        "dev": {
            "ids": [device_oid],
            "name": section.display_name,
            "mdl": driver.title,
        },
        "o": {"name": ORIGIN_NAME, "sw": __version__},
        "cmps": components,
        "qos": 1,
    }
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return DeviceDiscovery(config_topic(prefix, topics.station, section.id), body.encode())


def _metric_component(
    metric: Metric, state_topic: str, telemetry: TelemetryFormat
) -> dict[str, object]:
    """A metric's entity: platform, name, state topic and template, unit and classes."""
    if not _SAFE_KEY.fullmatch(metric.key):
        raise ValueError(f"metric {metric.key!r}: not usable in a template")
    component: dict[str, object] = {
        "name": metric.title,
        "state_topic": state_topic,
        "value_template": value_template(metric, telemetry),
    }
    if metric.type is ValueType.BOOL:
        component["p"] = "binary_sensor"
        return component
    component["p"] = "sensor"
    if metric.type is ValueType.ENUM:
        component["device_class"] = "enum"
        component["options"] = list(dict.fromkeys(metric.enum.values()))
        return component
    if metric.type is ValueType.TEXT:
        return component
    unit = f"{metric.unit}/s" if metric.type is ValueType.COUNTER and metric.unit else metric.unit
    if unit:
        component["unit_of_measurement"] = unit
    if metric.quantity is not None:
        component["device_class"] = DEVICE_CLASSES[metric.quantity]
    component["state_class"] = "measurement"
    return component


def value_template(metric: Metric, telemetry: TelemetryFormat) -> str:
    """The template reading the metric's value from one telemetry message.

    v2 (compact) carries the key in ``val`` only when it changed; v1 (full) in
    ``metrics`` with its ``value``.  An absent key renders nothing (Home Assistant keeps
    the state); null renders ``None`` (unknown); a truth value renders ON / OFF, a
    binary sensor's default payloads.
    """
    key = metric.key
    holder = "value_json.val" if telemetry == "compact" else "value_json.metrics"
    value = f"{holder}['{key}']" if telemetry == "compact" else f"{holder}['{key}'].value"
    if metric.type is ValueType.BOOL:
        shown = f"('None' if {value} is none else ('ON' if {value} else 'OFF'))"
    else:
        shown = value
    # Home Assistant drops an empty rendering only for a binary sensor and a numeric sensor;
    # an enum or text sensor would take "" as its state, so it renders its own state again
    # (`this`, which Home Assistant's MQTT value templates are given).
    kept = "" if _ignores_empty(metric) else "{% else %}{{ this.state }}"
    return f"{{% if '{key}' in {holder} %}}{{{{ {shown} }}}}{kept}{{% endif %}}"


def _ignores_empty(metric: Metric) -> bool:
    """Whether Home Assistant ignores an empty rendering for this metric's entity."""
    return metric.type not in (ValueType.ENUM, ValueType.TEXT)
