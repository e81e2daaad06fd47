"""fieldagent/reload.py: which devices a reloaded station file adds, removes, changes or
leaves alone, and which keys wait for a restart; station files parsed as at start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers import REGISTRY
from fieldagent.config import Config, parse_config
from fieldagent.driver import Driver
from fieldagent.reload import ConfigDiff, diff_configs, effective, restart_keys

UPS1 = {"id": "ups1", "driver": "ups_rfc1628", "host": "127.0.0.2"}
UPS2 = {"id": "ups2", "driver": "ups_rfc1628", "host": "127.0.0.3"}
FM = {"id": "fm", "driver": "fm_transmitter_nautel", "host": "127.0.0.4"}


def config(*devices: Mapping[str, Any], **sections: Any) -> Config:
    data: dict[str, Any] = {
        "station": {"id": "st", "name": "Trạm"},
        "agent": {"state_dir": "/tmp/unused"},
        "device": [dict(d) for d in devices],
        **sections,
    }
    return parse_config(data, "station.toml", REGISTRY)


def drivers(cfg: Config) -> dict[str, Driver]:
    return {d.id: REGISTRY.get_driver(d.driver).with_scaling(d.scaling) for d in cfg.device}


def diff(old: Config, new: Config) -> ConfigDiff:
    return diff_configs(old, new, drivers(old), drivers(new))


def test_the_same_file_changes_nothing() -> None:
    old = config(UPS1, FM)
    assert diff(old, config(UPS1, FM)) == ConfigDiff(unchanged=("ups1", "fm"))


def test_devices_added_removed_and_changed_by_id() -> None:
    old = config(UPS1, UPS2, FM)
    new = config(
        {**UPS1, "interval": 30}, FM, {"id": "ups3", "driver": "ups_rfc1628", "host": "127.0.0.9"}
    )
    change = diff(old, new)
    assert change.added == ("ups3",)
    assert change.removed == ("ups2",)
    assert change.changed == ("ups1",)
    assert change.unchanged == ("fm",)
    assert change.summary() == "added ups3; removed ups2; changed ups1; 1 unchanged"


def test_any_device_setting_or_its_driver_is_a_change() -> None:
    old = config(UPS1)
    for edit in (
        {"host": "127.0.0.7"},
        {"community": "other"},
        {"scaling": {"ups.battery.voltage_v": 0.1}},
        {"limits": {"ups.battery.charge_pct": {"warn_low": 40}}},
        {"maintenance_until": "2030-01-01T00:00:00+07:00"},
    ):
        assert diff(old, config({**UPS1, **edit})).changed == ("ups1",), edit
    same_config = config(UPS1)
    other_driver = {
        "ups1": REGISTRY.get_driver("ups_rfc1628").with_scaling({"ups.battery.voltage_v": 2})
    }
    change = diff_configs(old, same_config, drivers(old), other_driver)
    assert change.changed == ("ups1",), "a profile edited on disk changes the device"


def test_station_limits_touch_the_devices_whose_driver_has_the_metric() -> None:
    old = config(UPS1, FM)
    new = config(UPS1, FM, limits={"ups.battery.charge_pct": {"warn_low": 40}})
    change = diff(old, new)
    assert change.limits == ("ups1",)
    assert change.unchanged == ("fm",)
    assert change.rejudged == ("ups1",)
    back = diff(new, old)
    assert back.limits == ("ups1",), "a station limit taken away touches them too"


def test_restart_only_keys_are_named_never_their_values() -> None:
    old = config(UPS1)
    new = config(
        UPS1,
        mqtt={"url": "mqtts://broker.example:8883", "password": "s3cret-value"},
        traps={"enabled": True},
        station={"id": "st2", "name": "Trạm"},
    )
    keys = restart_keys(old, new)
    assert keys == ("station.id", "mqtt.password", "mqtt.url", "traps.enabled")
    assert not any("s3cret" in k or "example" in k for k in keys)
    assert diff(old, new).restart_keys == keys


def test_log_settings_and_the_stop_bound_apply_without_a_restart() -> None:
    old = config(UPS1)
    new = config(
        UPS1,
        agent={
            "state_dir": "/tmp/unused",
            "log_level": "debug",
            "stop_flush_s": 1,
            "debug_devices": ["ups1"],
        },
    )
    assert restart_keys(old, new) == ()


def test_the_effective_config_keeps_the_restart_only_values() -> None:
    old = config(UPS1)
    new = config(
        UPS1,
        UPS2,
        station={"id": "st2", "name": "Đài mới", "timezone": "UTC"},
        agent={"state_dir": "/tmp/elsewhere", "stop_flush_s": 2},
        mqtt={"url": "mqtt://127.0.0.1:1999"},
        telemetry={"format": "full"},
        outbox={"max_mb": 10},
    )
    running = effective(old, new)
    assert (running.station.id, running.station.timezone) == ("st", "Asia/Ho_Chi_Minh")
    assert running.station.name == "Đài mới"  # the next status message says it
    assert str(running.agent.state_dir) == "/tmp/unused"
    assert running.agent.stop_flush_s == 2
    assert running.mqtt == old.mqtt and running.telemetry == old.telemetry
    assert running.outbox == old.outbox and running.traps == old.traps
    assert [d.id for d in running.device] == ["ups1", "ups2"]
