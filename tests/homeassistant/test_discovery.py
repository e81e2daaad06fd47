"""Discovery payloads against Home Assistant's documented format (tests/homeassistant/hadoc.py),
their templates rendered by Jinja as Home Assistant renders them, and the declarations
they are built from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from drivers import REGISTRY
from fieldagent.config import SnmpDevice
from fieldagent.driver import AlarmClass, Driver, Maturity, Metric, Quantity, SimModel, ValueType
from fieldagent.homeassistant.discovery import TelemetryFormat, device_discovery
from fieldagent.profiles.build import ProfileError
from fieldagent.profiles.load import parse_profile
from tests.homeassistant import hadoc

TOPICS_ROOT = "bctv/v1"


def station_configs(
    station: str = "demo-hamtan", telemetry: TelemetryFormat = "compact"
) -> dict[str, tuple[str, dict[str, Any]]]:
    """One device per shipped driver: device id -> (config topic, payload)."""
    from fieldagent.topics import Topics

    topics = Topics(TOPICS_ROOT, station)
    found = {}
    for name in sorted(REGISTRY):
        section = SnmpDevice(id=f"dev-{name}", driver=name, host="127.0.0.2")
        discovery = device_discovery("homeassistant", topics, telemetry, section, REGISTRY[name])
        found[section.id] = (discovery.topic, json.loads(discovery.payload))
    return found


@pytest.mark.parametrize("telemetry", ["compact", "full"])
def test_every_shipped_driver_gives_a_config_home_assistant_takes(
    telemetry: TelemetryFormat,
) -> None:
    for device_id, (topic, payload) in station_configs(telemetry=telemetry).items():
        assert hadoc.problems(topic, payload) == [], device_id


def test_the_health_and_every_dashboard_metric_are_entities_with_both_availabilities() -> None:
    topic, payload = station_configs()["dev-ups_rfc1628"]
    assert topic == "homeassistant/device/fieldagent_demo-hamtan_dev-ups_rfc1628/config"
    components = payload["cmps"]
    dashboard = [m.key for m in REGISTRY["ups_rfc1628"].metrics if m.dashboard]
    assert sorted(components) == sorted([k.replace(".", "_") for k in dashboard] + ["health"])
    charge = components["ups_battery_charge_pct"]
    base = f"{TOPICS_ROOT}/demo-hamtan/dev-ups_rfc1628"
    assert charge["state_topic"] == f"{base}/telemetry"
    assert (charge["device_class"], charge["unit_of_measurement"]) == ("battery", "%")
    assert charge["availability_mode"] == "all"
    assert [a["topic"] for a in charge["availability"]] == [
        f"{TOPICS_ROOT}/demo-hamtan/status",
        f"{base}/health",
    ]
    health = components["health"]
    assert health["state_topic"] == f"{base}/health"
    assert [a["topic"] for a in health["availability"]] == [f"{TOPICS_ROOT}/demo-hamtan/status"]
    assert health["options"] == ["ok", "warning", "critical", "unreachable"]
    assert payload["qos"] == 1
    assert payload["o"]["name"] == "fieldagent"
    assert payload["dev"]["mdl"] == REGISTRY["ups_rfc1628"].title


def test_availability_templates_follow_the_status_and_the_health() -> None:
    _, payload = station_configs()["dev-ups_rfc1628"]
    station, device = payload["cmps"]["ups_input_voltage_v"]["availability"]
    render = ImmutableSandboxedEnvironment().from_string
    for state, shown in (("online", "online"), ("offline", "offline")):
        assert render(station["value_template"]).render(value_json={"state": state}) == shown
    for state in ("ok", "warning", "critical"):
        out = render(device["value_template"]).render(value_json={"state": state})
        assert out == device["payload_available"]
    out = render(device["value_template"]).render(value_json={"state": "unreachable"})
    assert out == device["payload_not_available"]


def test_device_classes_come_only_from_declared_quantities() -> None:
    for _, payload in station_configs().values():
        device_id = payload["dev"]["ids"][0]
        driver = REGISTRY[device_id.split("_dev-", 1)[1]]
        for key, component in payload["cmps"].items():
            if key == "health":
                continue
            metric = next(m for m in driver.metrics if m.key.replace(".", "_") == key)
            if metric.type is ValueType.ENUM:
                assert component["device_class"] == "enum"
            elif metric.quantity is None:
                assert "device_class" not in component, (device_id, key)
            else:
                assert component["device_class"], (device_id, key)
    # A temperature by its key and unit, not declared: no device class.
    undeclared = _driver(
        Metric(
            "x.temperature_c",
            "°C",
            "1.3.6.1.4.1.1.1.0",
            "Temperature",
            alarm_class=AlarmClass.TEMPERATURE,
            dashboard=True,
        )
    )
    section = SnmpDevice(id="d", driver="t", host="127.0.0.2")
    from fieldagent.topics import Topics

    payload = json.loads(
        device_discovery("ha", Topics("r", "s"), "compact", section, undeclared).payload
    )
    assert "device_class" not in payload["cmps"]["x_temperature_c"]


def test_unique_ids_are_stable_and_unique_within_and_across_stations() -> None:
    first = station_configs("station-a")
    assert first == station_configs("station-a")
    ids = [c["unique_id"] for _, payload in first.values() for c in payload["cmps"].values()]
    assert len(ids) == len(set(ids))
    other = station_configs("station-b")
    other_ids = {c["unique_id"] for _, p in other.values() for c in p["cmps"].values()}
    assert not set(ids) & other_ids
    topics = [topic for topic, _ in first.values()]
    assert len(topics) == len(set(topics))


def test_every_shipped_driver_with_a_scalar_declares_its_main_values() -> None:
    for name in REGISTRY:
        driver = REGISTRY[name]
        scalars = [m for m in driver.metrics if m.table is None]
        dashboard = [m for m in driver.metrics if m.dashboard]
        if scalars:  # a table-only driver (rows known only once read) shows its health
            assert dashboard, f"{name} declares no dashboard metric"
        assert all(m.table is None and m in driver.metrics for m in dashboard), name


COMPACT = {
    "station": "s",
    "seq": 9,
    "ts": "2026-12-02T05:00:25.004Z",
    "v": 2,
    "device": "ups-main",
    "full": False,
}


class EntityState:
    """What Home Assistant gives a value template as `this`: the entity's state object."""

    state = "kept"


def render(component: dict[str, Any], message: dict[str, Any]) -> str:
    template = ImmutableSandboxedEnvironment().from_string(component["value_template"])
    return template.render(value_json=message, value=json.dumps(message), this=EntityState())


def test_templates_read_a_compact_message_and_keep_the_state_when_the_key_is_absent() -> None:
    cmps = station_configs()["dev-generator_modbus"][1]["cmps"]
    fuel, running = cmps["gen_fuel_pct"], cmps["gen_running"]
    changed = {**COMPACT, "val": {"gen.fuel_pct": 79, "gen.running": True}}
    assert render(fuel, changed) == "79"
    assert render(running, changed) == "ON"
    other = {**COMPACT, "val": {"gen.engine_rpm": 1500}}
    assert render(fuel, other) == ""  # Home Assistant ignores an empty state: the value stays
    assert render(running, other) == ""
    bad = {
        **COMPACT,
        "val": {"gen.fuel_pct": None, "gen.running": None},
        "q": {"gen.fuel_pct": "bad", "gen.running": "bad"},
    }
    assert render(fuel, bad) == "None"  # no value: unknown
    assert render(running, bad) == "None"
    assert render(running, {**COMPACT, "val": {"gen.running": False}}) == "OFF"


def test_templates_read_a_full_message() -> None:
    cmps = station_configs(telemetry="full")["dev-ups_rfc1628"][1]["cmps"]
    message = {
        "station": "s",
        "seq": 7,
        "device": "ups-main",
        "metrics": {
            "ups.battery.charge_pct": {"value": 100, "unit": "%", "quality": "ok"},
            "ups.output.source": {"value": "battery", "unit": "", "quality": "ok"},
        },
    }
    assert render(cmps["ups_battery_charge_pct"], message) == "100"
    assert render(cmps["ups_output_source"], message) == "battery"
    assert "battery" in cmps["ups_output_source"]["options"]
    assert render(cmps["ups_input_voltage_v"], message) == ""
    # An enum sensor would take "" as its state: it keeps the one it has.
    assert render(cmps["ups_output_source"], {**message, "metrics": {}}) == "kept"


def _driver(*metrics: Metric) -> Driver:
    return Driver("t", "Test", "test", "snmp", metrics, SimModel({}, {}), maturity=Maturity.MODEL)


def test_a_quantity_must_fit_the_type_and_unit_and_a_dashboard_metric_be_a_scalar() -> None:
    with pytest.raises(ValueError, match="quantity power goes with W, kW, not 'dBm'"):
        _driver(
            Metric(
                "a.level_dbm",
                "dBm",
                "1.3.6.1.4.1.1.1.0",
                "Level",
                alarm_class=AlarmClass.POWER,
                quantity=Quantity.POWER,
            )
        )
    with pytest.raises(ValueError, match="a dashboard metric must be a scalar"):
        _driver(
            Metric(
                "a.cn_db",
                "dB",
                "1.3.6.1.4.1.1.1",
                "C/N",
                table="input",
                alarm_class=AlarmClass.OTHER,
                dashboard=True,
            )
        )


PROFILE = """
[profile]
name = "test_tx"
title = "Test transmitter"
kind = "transmitter"
protocol = "snmp"
maturity = "model"

[[metric]]
key = "rf.forward_w"
title = "Forward power"
source = "1.3.6.1.4.1.99999.1.1.0"
unit = "W"
alarm_class = "power"
"""


def test_a_profile_declares_dashboard_and_quantity() -> None:
    driver = parse_profile(PROFILE + 'dashboard = true\nquantity = "power"\n', "tx.toml", Path("."))
    [metric] = driver.metrics
    assert metric.dashboard and metric.quantity is Quantity.POWER
    with pytest.raises(ProfileError) as caught:
        parse_profile(
            PROFILE.replace('"W"', '"dBm"') + 'quantity = "power"\n', "tx.toml", Path(".")
        )
    assert caught.value.problems == [
        "tx.toml: metric[0] (rf.forward_w).quantity: quantity power goes with W, kW, not 'dBm'"
    ]


def test_the_documented_format_refuses_what_home_assistant_would_refuse() -> None:
    topic, payload = station_configs()["dev-ups_rfc1628"]
    charge = payload["cmps"]["ups_battery_charge_pct"]
    broken = [
        ("x/sensor/y/config", payload),
        (topic, {**payload, "o": {}}),
        (topic, {**payload, "cmps": {"a.b": charge}}),
        (topic, {**payload, "cmps": {"c": {k: v for k, v in charge.items() if k != "p"}}}),
        (topic, {**payload, "cmps": {"c": {**charge, "unit_of_measurement": "dBm"}}}),
        (topic, {**payload, "cmps": {"c": {**charge, "state_topik": "t"}}}),
        (topic, {**payload, "cmps": {"c": {**charge, "availability_mode": "both"}}}),
    ]
    for bad_topic, bad in broken:
        assert hadoc.problems(bad_topic, bad), bad_topic
