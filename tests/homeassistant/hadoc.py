"""Home Assistant's device-based MQTT discovery format, written from its documentation.

Source: https://www.home-assistant.io/integrations/mqtt/ ("Discovery messages", "Device
discovery payload", the list of supported abbreviations) and the MQTT sensor and
binary sensor pages (https://www.home-assistant.io/integrations/sensor.mqtt/,
https://www.home-assistant.io/integrations/binary_sensor.mqtt/), and the sensor device
classes with their units (https://www.home-assistant.io/integrations/sensor/#device-class).
Written from those pages, not from the agent's code: a test that checks our payloads
against it fails when we drift from what Home Assistant reads.
"""

from __future__ import annotations

import re
from typing import Any

TOPIC = re.compile(r"^(?P<prefix>[^+#]+)/device/(?P<object_id>[a-zA-Z0-9_-]+)/config$")
"""`<discovery_prefix>/device/<object_id>/config`; the object id of [a-zA-Z0-9_-]."""

COMPONENT_ID = re.compile(r"^[a-zA-Z0-9_-]+$")

PLATFORMS = {"sensor", "binary_sensor"}
"""The platforms we may announce (`p` is required in every component)."""

AVAILABILITY_ITEM = {
    "topic",
    "t",
    "value_template",
    "val_tpl",
    "payload_available",
    "pl_avail",
    "payload_not_available",
    "pl_not_avail",
}

COMMON_OPTIONS = {
    "p",
    "platform",
    "name",
    "unique_id",
    "uniq_id",
    "state_topic",
    "stat_t",
    "value_template",
    "val_tpl",
    "availability",
    "avty",
    "availability_mode",
    "avty_mode",
    "qos",
    "icon",
    "ic",
    "enabled_by_default",
    "en",
    "entity_category",
    "ent_cat",
    "expire_after",
    "exp_aft",
    "force_update",
    "frc_upd",
    "json_attributes_topic",
    "json_attr_t",
    "device_class",
    "dev_cla",
}
"""Options both sensor and binary sensor take (full names and their abbreviations)."""

SENSOR_OPTIONS = COMMON_OPTIONS | {
    "unit_of_measurement",
    "unit_of_meas",
    "state_class",
    "stat_cla",
    "options",
    "ops",
    "suggested_display_precision",
    "sug_dsp_prc",
}
BINARY_SENSOR_OPTIONS = COMMON_OPTIONS | {"payload_on", "pl_on", "payload_off", "pl_off"}

SENSOR_DEVICE_CLASS_UNITS: dict[str, set[str]] = {
    "power": {"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "current": {"A", "mA"},
    "temperature": {"°C", "°F", "K"},
    "frequency": {"Hz", "kHz", "MHz", "GHz"},
    "battery": {"%"},
    "duration": {"d", "h", "min", "s", "ms"},
    "signal_strength": {"dB", "dBm"},
}
"""A sensor device class -> the units Home Assistant accepts with it (those we may use)."""

STATE_CLASSES = {"measurement", "total", "total_increasing"}
DEVICE_KEYS = {
    "identifiers",
    "ids",
    "name",
    "manufacturer",
    "mf",
    "model",
    "mdl",
    "sw_version",
    "sw",
    "hw_version",
    "hw",
    "serial_number",
    "sn",
    "suggested_area",
    "sa",
    "configuration_url",
    "cu",
    "via_device",
}
ORIGIN_KEYS = {"name", "sw_version", "sw", "support_url", "url"}
TOP_KEYS = {"dev", "device", "o", "origin", "cmps", "components", "qos", "state_topic", "stat_t"}


def _get(obj: dict[str, Any], *names: str) -> Any:
    return next((obj[n] for n in names if n in obj), None)


def problems(topic: str, payload: dict[str, Any]) -> list[str]:
    """Every way `payload` on `topic` is not a device discovery message Home Assistant takes."""
    found: list[str] = []
    if not TOPIC.fullmatch(topic):
        found.append(f"topic {topic!r} is not <prefix>/device/<object_id>/config")
    found += [f"unknown top-level key {k!r}" for k in payload.keys() - TOP_KEYS]
    device = _get(payload, "dev", "device")
    if not isinstance(device, dict):
        return [*found, "no device mapping (dev)"]
    found += [f"unknown device key {k!r}" for k in device.keys() - DEVICE_KEYS]
    ids = _get(device, "ids", "identifiers")
    if not (
        isinstance(ids, str)
        or (isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids))
    ):
        found.append("device identifiers must be a string or a non-empty list of strings")
    for key in ("name", "mdl", "model", "mf", "manufacturer", "sw"):
        if key in device and not isinstance(device[key], str):
            found.append(f"device {key} must be a string")
    origin = _get(payload, "o", "origin")
    if not isinstance(origin, dict) or not isinstance(origin.get("name"), str):
        found.append("origin (o) with a name is required for device discovery")
    else:
        found += [f"unknown origin key {k!r}" for k in origin.keys() - ORIGIN_KEYS]
    qos = payload.get("qos", 0)
    if qos not in (0, 1, 2):
        found.append(f"qos {qos!r} is not 0, 1 or 2")
    components = _get(payload, "cmps", "components")
    if not isinstance(components, dict) or not components:
        return [*found, "cmps must be a non-empty mapping"]
    for component_id, component in components.items():
        where = f"cmps.{component_id}"
        if not COMPONENT_ID.fullmatch(component_id):
            found.append(f"{where}: component id must be [a-zA-Z0-9_-]+")
        found += [f"{where}: {p}" for p in _component_problems(component)]
    return found


def _component_problems(component: Any) -> list[str]:
    if not isinstance(component, dict):
        return ["not a mapping"]
    platform = _get(component, "p", "platform")
    if platform not in PLATFORMS:
        return [f"platform (p) {platform!r} missing or not one of {sorted(PLATFORMS)}"]
    allowed = SENSOR_OPTIONS if platform == "sensor" else BINARY_SENSOR_OPTIONS
    found = [f"unknown {platform} option {k!r}" for k in component.keys() - allowed]
    if not isinstance(_get(component, "unique_id", "uniq_id"), str):
        found.append("unique_id is required (a string) in a device discovery component")
    if not isinstance(_get(component, "state_topic", "stat_t"), str):
        found.append("state_topic is required")
    template = _get(component, "value_template", "val_tpl")
    if template is not None and not isinstance(template, str):
        found.append("value_template must be a string")
    found += _availability_problems(component)
    if platform == "sensor":
        found += _sensor_problems(component)
    elif _get(component, "device_class", "dev_cla") not in (None, "problem", "running", "power"):
        found.append("binary sensor device class not expected here")
    return found


def _availability_problems(component: dict[str, Any]) -> list[str]:
    found: list[str] = []
    items = _get(component, "availability", "avty")
    if items is not None:
        if not isinstance(items, list) or not items:
            return ["availability must be a non-empty list"]
        for item in items:
            if not isinstance(item, dict) or not isinstance(_get(item, "topic", "t"), str):
                found.append("each availability item needs a topic")
                continue
            found += [f"unknown availability key {k!r}" for k in item.keys() - AVAILABILITY_ITEM]
    mode = _get(component, "availability_mode", "avty_mode")
    if mode is not None and mode not in ("all", "any", "latest"):
        found.append(f"availability_mode {mode!r} is not all, any or latest")
    return found


def _sensor_problems(component: dict[str, Any]) -> list[str]:
    found: list[str] = []
    device_class = _get(component, "device_class", "dev_cla")
    unit = _get(component, "unit_of_measurement", "unit_of_meas")
    state_class = _get(component, "state_class", "stat_cla")
    options = _get(component, "options", "ops")
    if device_class == "enum":
        if (
            not isinstance(options, list)
            or not options
            or not all(isinstance(o, str) for o in options)
        ):
            found.append("an enum sensor needs options, a list of strings")
        if unit is not None or state_class is not None:
            found.append("an enum sensor has no unit and no state class")
    elif options is not None:
        found.append("options only go with device class enum")
    elif device_class is not None:
        units = SENSOR_DEVICE_CLASS_UNITS.get(device_class)
        if units is None:
            found.append(f"device class {device_class!r} unknown here")
        elif unit not in units:
            found.append(f"device class {device_class} does not take unit {unit!r}")
    if state_class is not None and state_class not in STATE_CLASSES:
        found.append(f"state_class {state_class!r} unknown")
    return found
