"""The station file: shipped examples load, and every fault is reported precisely."""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import drivers
from fieldagent.checklist.settings import ChecklistSection
from fieldagent.config import (
    DEVICE_MODELS,
    AgentSection,
    AsciiDevice,
    Config,
    ConfigError,
    LimitRule,
    LocalDevice,
    ModbusDevice,
    MqttSection,
    OutboxSection,
    SerialDevice,
    SnmpDevice,
    SnmpVersion,
    StationSection,
    TelemetrySection,
    TrapsSection,
    load_config,
    parse_config,
    read_secret_file,
)
from fieldagent.remote.settings import RemoteSection

PROJECT = Path(__file__).parent.parent
CONFIG_DIR = PROJECT / "config"
KNOWN = drivers.REGISTRY
KNOWN_LIST = ", ".join(sorted(KNOWN))
SECTIONS: dict[str, type[BaseModel]] = {
    "station": StationSection,
    "agent": AgentSection,
    "mqtt": MqttSection,
    "outbox": OutboxSection,
    "telemetry": TelemetrySection,
    "checklist": ChecklistSection,
    "traps": TrapsSection,
    "remote": RemoteSection,
}
SECTION_MODELS = [*SECTIONS.items(), *(("device", model) for model in DEVICE_MODELS.values())]
"""Every section's model; `[[device]]` has one per driver protocol."""

DROP = object()
"""An override value that removes the key."""

STATION = {"id": "bt-test", "name": "Trạm thử"}
UPS = {"id": "ups1", "driver": "ups_rfc1628", "host": "192.168.1.20"}
V3 = {
    **UPS,
    "snmp_version": 3,
    "user": "fieldagent",
    "auth_protocol": "SHA-256",
    "auth_key": "auth-key-1",
    "priv_protocol": "AES-128",
    "priv_key": "priv-key-1",
}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _table(values: dict[str, Any]) -> str:
    return "".join(f"{k} = {_value(v)}\n" for k, v in values.items() if v is not DROP)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {**base, **changes}


def ups(**changes: Any) -> dict[str, Any]:
    return _merge(UPS, changes)


def v3(**changes: Any) -> dict[str, Any]:
    return _merge(V3, changes)


def acu(**changes: Any) -> dict[str, Any]:
    """A serial ASCII device (a changeover unit)."""
    return _merge({"id": "acu1", "driver": "changeover_ascii", "serial_port": "tty/acu"}, changes)


def generator(**changes: Any) -> dict[str, Any]:
    """A Modbus device (a generator controller)."""
    fields = {"id": "gen1", "driver": "generator_modbus", "serial_port": "tty/rs485", "unit": 3}
    return _merge(fields, changes)


def station_toml(
    *,
    top: dict[str, Any] | None = None,
    station: dict[str, Any] | None = None,
    agent: dict[str, Any] | None = None,
    mqtt: dict[str, Any] | None = None,
    telemetry: dict[str, Any] | None = None,
    devices: list[dict[str, Any]] | None = None,
) -> str:
    """A station file: the base station, changed as given; one v2c UPS by default."""
    text = _table(top or {})
    text += "[station]\n" + _table(_merge(STATION, station or {}))
    if agent is not None:
        text += "[agent]\n" + _table(agent)
    if mqtt is not None:
        text += "[mqtt]\n" + _table(mqtt)
    if telemetry is not None:
        text += "[telemetry]\n" + _table(telemetry)
    for device in [UPS] if devices is None else devices:
        text += "[[device]]\n" + _table(device)
    return text


def write(folder: Path, text: str | bytes, name: str = "station.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, KNOWN)
    assert caught.value.problems, "a ConfigError must list at least one problem"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


# ---------------------------------------------------------------- shipped files


@pytest.mark.parametrize("name", ["demo-station.toml", "station.example.toml"])
def test_shipped_example_loads(name: str) -> None:
    config = load_config(CONFIG_DIR / name, KNOWN)
    assert config.device, "an example without devices shows nothing"
    assert {d.driver for d in config.device} <= set(KNOWN)
    assert config.agent.state_dir.is_absolute()


def test_demo_station_is_a_whole_simulated_district_station() -> None:
    config = load_config(CONFIG_DIR / "demo-station.toml", KNOWN)
    assert config.station.id == "demo-hamtan" and "Hàm Tân" in config.station.name
    assert config.agent.state_dir == (PROJECT / "state" / "demo").resolve()
    drivers_used = [d.driver for d in config.device]
    assert {"fm_transmitter_nautel", "fm_transmitter_ascii"} <= set(drivers_used)  # main, standby
    for driver in (
        "rs_xx8000_dvbt",
        "ird_pbi_dch",
        "scte_hms_optical",
        "docsis_cmts",
        "ups_rfc1628",
        "entity_sensors",
        "agent_host",
    ):
        assert driver in drivers_used
    snmp = [d for d in config.device if isinstance(d, SnmpDevice)]
    assert len(snmp) == sum(KNOWN[d.driver].protocol == "snmp" for d in config.device)
    assert all(ipaddress.ip_address(d.host).is_loopback for d in snmp)
    assert len({d.host for d in snmp}) == len(snmp), "each simulated device has its own address"
    assert any(d.snmp_version is SnmpVersion.V3 and d.priv_protocol for d in snmp)
    serial = [d.serial_port for d in config.device if isinstance(d, SerialDevice)]
    assert serial and not any(p.is_relative_to("/dev") for p in serial), "simulated, never real"


def test_real_station_example_uses_tls_and_a_protected_password() -> None:
    config = load_config(CONFIG_DIR / "station.example.toml", KNOWN)
    assert config.mqtt.tls and config.mqtt.tls_verify
    assert config.mqtt.password is None and config.mqtt.password_file is not None
    assert config.mqtt.ca_file is not None
    assert config.agent.state_dir == Path("/var/lib/fieldagent")
    versions = {d.snmp_version for d in config.device}
    assert versions == {SnmpVersion.V2C, SnmpVersion.V3}
    v3_device = next(d for d in config.device if d.snmp_version is SnmpVersion.V3)
    assert v3_device.auth_protocol is not None and v3_device.priv_protocol is not None


@pytest.mark.parametrize(("section", "model"), SECTION_MODELS)
def test_real_station_example_shows_every_key(section: str, model: type[BaseModel]) -> None:
    text = (CONFIG_DIR / "station.example.toml").read_text(encoding="utf-8")
    shown = set(re.findall(r"^(?:# )?(\w+) = ", text, flags=re.MULTILINE))
    tables = re.findall(r"^(?:# )?\[\[?\w+\.(\w+)[\].]", text, flags=re.MULTILINE)
    shown |= set(tables)  # sub-tables: [device.limits."KEY"], [[checklist.item]]
    assert set(model.model_fields) - shown == set(), f"[{section}] keys missing"


def test_real_station_example_shows_every_section_and_limit_key() -> None:
    text = (CONFIG_DIR / "station.example.toml").read_text(encoding="utf-8")
    sections = set(re.findall(r"^(?:# )?\[\[?(\w+)[\].]", text, flags=re.MULTILINE))
    assert set(Config.model_fields) - sections == set()
    shown = set(re.findall(r"^(?:# )?(\w+) = ", text, flags=re.MULTILINE))
    assert set(LimitRule.model_fields) - shown == set()
    assert re.search(r'^# \[limits\."[\w.]+"\]$', text, flags=re.MULTILINE), "station-wide"
    assert re.search(r'^\[device\.limits\."[\w.]+"\]$', text, flags=re.MULTILINE), "per device"


def test_reference_documents_every_limit_key_and_its_example_is_valid() -> None:
    text = (PROJECT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("## `[limits]` and `[device.limits]`")[1].split("\n## ")[0]
    missing = {key for key in LimitRule.model_fields if f"| `{key}` " not in section}
    assert missing == set()
    example = section.split("```toml\n")[1].split("```")[0]
    data = tomllib.loads(f'[station]\nid = "s"\nname = "S"\n{example}')
    config = parse_config(data, "docs", KNOWN)
    assert config.limits["rf.vswr"].warn_high == 1.4
    assert config.device[1].limits["ird.locked[input=3]"].enabled is False


@pytest.mark.parametrize(("section", "model"), SECTION_MODELS)
def test_reference_documents_every_key(section: str, model: type[BaseModel]) -> None:
    text = (PROJECT / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = text.split(f"## `[{section}]`" if section != "device" else "## `[[device]]`")[1]
    table = table.split("\n## ")[0]
    missing = {key for key in model.model_fields if f"| `{key}` " not in table}
    assert missing == set()
    if section == "station":  # the overview lists every top-level section
        overview = text.split("\n## ")[0]
        assert {k for k in Config.model_fields if f"`[{k}]`" not in overview} == {"device"}


# ---------------------------------------------------------------- valid files


def test_vietnamese_station_name_round_trips(tmp_path: Path) -> None:
    name = "Trung tâm Văn hóa - Thông tin - Thể thao huyện Hàm Thuận Bắc"
    config = load_config(write(tmp_path, station_toml(station={"name": name})), KNOWN)
    assert config.station.name == name
    assert json.loads(config.model_dump_json())["station"]["name"] == name


def test_each_device_is_read_with_the_model_of_its_drivers_protocol(tmp_path: Path) -> None:
    local = {"id": "box", "driver": "agent_host"}
    devices = [UPS, acu(), generator(), local]
    config = load_config(write(tmp_path, station_toml(devices=devices)), KNOWN)
    snmp, ascii_device, modbus, box = config.device
    assert isinstance(snmp, SnmpDevice) and snmp.port == 161
    assert isinstance(ascii_device, AsciiDevice) and not hasattr(ascii_device, "port")
    assert isinstance(modbus, ModbusDevice) and not hasattr(modbus, "community")
    assert modbus.location == f"{tmp_path / 'tty' / 'rs485'} (unit 3)"
    assert isinstance(box, LocalDevice) and box.location == "localhost"


def test_modbus_units_on_one_line_at_one_setting_are_accepted(tmp_path: Path) -> None:
    devices = [generator(), generator(id="gen2", unit=4), acu(serial_port="tty/other")]
    config = load_config(write(tmp_path, station_toml(devices=devices)), KNOWN)
    assert [d.id for d in config.device] == ["gen1", "gen2", "acu1"]


def test_defaults_of_a_minimal_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, station_toml()), KNOWN)
    assert config.station.timezone == "Asia/Ho_Chi_Minh"
    assert config.agent.state_dir == Path("/var/lib/fieldagent")
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("127.0.0.1", 1883, False)
    device = config.device[0]
    assert (device.port, device.snmp_version, device.interval) == (161, SnmpVersion.V2C, 10.0)
    assert (device.timeout, device.retries, device.request_retries) == (2.0, 3, 1)
    assert device.effective_community == "public"
    assert device.display_name == "ups1"


@pytest.mark.parametrize(
    ("url", "host", "port", "tls"),
    [
        ("mqtt://broker.example.vn", "broker.example.vn", 1883, False),
        ("mqtts://broker.example.vn", "broker.example.vn", 8883, True),
        ("mqtts://10.0.0.5:9883/", "10.0.0.5", 9883, True),
        ("mqtt://[fd00::5]:1884", "fd00::5", 1884, False),
    ],
)
def test_broker_url_gives_host_port_and_tls(
    tmp_path: Path, url: str, host: str, port: int, tls: bool
) -> None:
    text = station_toml(mqtt={"url": url, "allow_plaintext": True})
    mqtt = load_config(write(tmp_path, text), KNOWN).mqtt
    assert (mqtt.host, mqtt.port, mqtt.tls) == (host, port, tls)


@pytest.mark.parametrize(
    "device",
    [
        pytest.param(ups(snmp_version="1", community="private"), id="v1"),
        pytest.param(ups(snmp_version=1), id="v1-as-integer"),
        pytest.param(
            v3(auth_protocol=DROP, auth_key=DROP, priv_protocol=DROP, priv_key=DROP),
            id="v3-noAuthNoPriv",
        ),
        pytest.param(
            v3(priv_protocol=DROP, priv_key=DROP, auth_protocol="SHA"), id="v3-authNoPriv"
        ),
        pytest.param(v3(), id="v3-authPriv"),
        pytest.param(ups(host="ups-1.tram.local"), id="host-name"),
        pytest.param(ups(host="fd00::20"), id="ipv6"),
    ],
)
def test_valid_device_variants(tmp_path: Path, device: dict[str, Any]) -> None:
    config = load_config(write(tmp_path, station_toml(devices=[device])), KNOWN)
    assert config.device[0].id == "ups1"


def test_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + station_toml().encode())
    assert load_config(path, KNOWN).station.id == "bt-test"


def test_a_number_too_long_for_python_to_read_is_named_as_a_toml_problem(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, station_toml() + f"\n[outbox]\nmax_mb = {'9' * 5000}\n")
    assert problems_of(path) == [
        f"{path}: TOML syntax: an integer of more than 4300 digits (no setting needs one)"
    ]


def test_relative_paths_resolve_against_the_file_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = station_toml(
        agent={"state_dir": "../state/demo"},
        mqtt={
            "url": "mqtts://broker.example.vn",
            "password_file": "secret/mqtt-password",
            "ca_file": "ca.pem",
            "cert_file": "/etc/fieldagent/station.crt",
            "key_file": "station.key",
        },
    )
    path = write(tmp_path / "etc", text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path, KNOWN)
    assert config.agent.state_dir == (tmp_path / "state" / "demo").resolve()
    assert config.mqtt.password_file == (tmp_path / "etc" / "secret" / "mqtt-password").resolve()
    assert config.mqtt.ca_file == (tmp_path / "etc" / "ca.pem").resolve()
    assert config.mqtt.key_file == (tmp_path / "etc" / "station.key").resolve()
    assert config.mqtt.cert_file == Path("/etc/fieldagent/station.crt")


def test_relative_file_name_resolves_against_its_folder_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "etc", station_toml(agent={"state_dir": "state"}))
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("etc/station.toml"), KNOWN)
    assert config.agent.state_dir == tmp_path.resolve() / "etc" / "state"


def test_parse_config_names_the_source_and_skips_drivers_when_unknown() -> None:
    data = {"station": STATION, "device": [ups(driver="future_driver")]}
    assert parse_config(data, "inline").device[0].driver == "future_driver"
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "inline", KNOWN)
    assert caught.value.problems == [
        f"inline: device 'ups1'.driver: unknown driver 'future_driver' (known: {KNOWN_LIST})"
    ]


# ---------------------------------------------------------------- one fault, one line

TOPIC_SAFE = "is not topic-safe: use letters, digits, '-' and '_'"
URL_PORT = "the port must be a number from 1 to 65535"

INVALID = [
    # unknown keys, with a hint when one is close
    ({"top": {"devices": 1}}, "devices", "unknown key (did you mean 'device'?)"),
    (
        {"station": {"timezon": "Asia/Ho_Chi_Minh"}},
        "station.timezon",
        "unknown key (did you mean 'timezone'?)",
    ),
    (
        {"mqtt": {"pasword_file": "p"}},
        "mqtt.pasword_file",
        "unknown key (did you mean 'password_file'?)",
    ),
    (
        {"devices": [ups(comunity="public")]},
        "device 'ups1'.comunity",
        "unknown key (did you mean 'community'?)",
    ),
    (
        {"devices": [UPS, ups(id="ups2", intervall=5)]},
        "device 'ups2'.intervall",
        "unknown key (did you mean 'interval'?)",
    ),
    # missing keys and sections
    ({"station": {"name": DROP}}, "station.name", "required key is missing"),
    (
        {"devices": [ups(host=DROP)]},
        "device 'ups1'.host",
        "required key is missing: an SNMP device needs its address",
    ),
    (
        {"devices": [ups(serial_port="/dev/ttyUSB0")]},
        "device 'ups1'.serial_port",
        "serial_port is not a key of an SNMP device (driver ups_rfc1628): it goes with serial"
        " ASCII and Modbus devices",
    ),
    ({"devices": [acu(baud=9601)]}, "device 'acu1'.baud", "9601 is not a standard rate"),
    ({"devices": [acu(parity="X")]}, "device 'acu1'.parity", "Input should be 'N', 'E' or 'O'"),
    ({"devices": [generator(unit=0)]}, "device 'gen1'.unit", "greater than or equal to 1"),
    (
        {"devices": [generator(serial_port=DROP)]},
        "device 'gen1'.serial_port",
        "required key is missing: a serial device needs its port",
    ),
    (
        {"devices": [acu(port=161)]},
        "device 'acu1'.port",
        "port is not a key of a serial ASCII device (driver changeover_ascii): it goes with"
        " SNMP devices",
    ),
    (
        {"devices": [acu(unit=2)]},
        "device 'acu1'.unit",
        "unit is not a key of a serial ASCII device (driver changeover_ascii): it goes with"
        " Modbus devices",
    ),
    (
        {"devices": [generator(community="private")]},
        "device 'gen1'.community",
        "community is not a key of a Modbus device (driver generator_modbus): it goes with"
        " SNMP devices",
    ),
    (
        {"devices": [{"id": "box", "driver": "agent_host", "port": 1}]},
        "device 'box'.port",
        "port is not a key of a local device (driver agent_host): it goes with SNMP devices",
    ),
    (
        {"devices": [{"id": "box", "driver": "agent_host", "host": "192.168.1.9"}]},
        "device 'box'.host",
        "'192.168.1.9' is not this box: a local device is read here",
    ),
    # wrong types
    ({"devices": [ups(port="abc")]}, "device 'ups1'.port", "Input should be a valid integer"),
    ({"devices": [ups(id=5)]}, "device[0].id", "Input should be a valid string (got 5)"),
    ({"mqtt": {"keepalive": 1.5}}, "mqtt.keepalive", "Input should be a valid integer"),
    ({"mqtt": {"tls_verify": "maybe"}}, "mqtt.tls_verify", "Input should be a valid boolean"),
    # broker URL
    (
        {"mqtt": {"url": "http://broker.example.vn"}},
        "mqtt.url",
        "'http://broker.example.vn': the scheme must be mqtt:// or mqtts://",
    ),
    ({"mqtt": {"url": "broker.example.vn"}}, "mqtt.url", "the scheme must be mqtt:// or mqtts://"),
    ({"mqtt": {"url": "mqtt://"}}, "mqtt.url", "'mqtt://': no host"),
    ({"mqtt": {"url": "mqtt://:1883"}}, "mqtt.url", "no host"),
    ({"mqtt": {"url": "mqtt://broker:0"}}, "mqtt.url", URL_PORT),
    ({"mqtt": {"url": "mqtt://broker:70000"}}, "mqtt.url", URL_PORT),
    ({"mqtt": {"url": "mqtt://broker:abc"}}, "mqtt.url", URL_PORT),
    ({"mqtt": {"url": "mqtt://broker/topic"}}, "mqtt.url", "no path or query is allowed"),
    (
        {"mqtt": {"url": "mqtts://bt:s3cret@broker"}},
        "mqtt.url",
        "no user name or password in the URL: use username and password_file",
    ),
    # other [mqtt] rules
    (
        {"mqtt": {"password": "p", "password_file": "p.txt"}},
        "mqtt",
        "give either password or password_file, not both",
    ),
    ({"mqtt": {"cert_file": "c.pem"}}, "mqtt", "cert_file and key_file go together"),
    ({"mqtt": {"key_file": "k.pem"}}, "mqtt", "cert_file and key_file go together"),
    (
        {"mqtt": {"reconnect_min_s": 30, "reconnect_max_s": 5}},
        "mqtt",
        "reconnect_min_s must not be greater than reconnect_max_s",
    ),
    (
        {"mqtt": {"topic_root": "bctv/+/v1"}},
        "mqtt.topic_root",
        "must be non-empty, without '+', '#' or a leading '/'",
    ),
    ({"mqtt": {"topic_root": "/bctv"}}, "mqtt.topic_root", "without '+', '#' or a leading '/'"),
    ({"mqtt": {"keepalive": 4}}, "mqtt.keepalive", "greater than or equal to 5"),
    ({"mqtt": {"telemetry_qos": 2}}, "mqtt.telemetry_qos", "Input should be 0 or 1 (got 2)"),
    # [telemetry]
    ({"telemetry": {"format": "short"}}, "telemetry.format", "'compact' or 'full'"),
    ({"telemetry": {"snapshot_interval_s": 5}}, "telemetry.snapshot_interval_s", "10"),
    ({"telemetry": {"snapshot": 300}}, "telemetry.snapshot", ""),
    # [station] and [agent]
    ({"station": {"id": "Hàm Tân"}}, "station.id", f"'Hàm Tân' {TOPIC_SAFE}"),
    ({"station": {"id": "bt.hamtan"}}, "station.id", TOPIC_SAFE),
    ({"station": {"id": "-hamtan"}}, "station.id", TOPIC_SAFE),
    ({"station": {"id": "x" * 65}}, "station.id", TOPIC_SAFE),
    ({"station": {"id": "a/b"}}, "station.id", TOPIC_SAFE),
    ({"station": {"name": "   "}}, "station.name", "at least 1 character"),
    (
        {"station": {"timezone": "Vietnam/Hanoi"}},
        "station.timezone",
        "unknown time zone 'Vietnam/Hanoi' (e.g. 'Asia/Ho_Chi_Minh')",
    ),
    ({"station": {"timezone": "../../etc/passwd"}}, "station.timezone", "unknown time zone"),
    (
        {"agent": {"log_level": "verbose"}},
        "agent.log_level",
        "Input should be 'debug', 'info', 'warning' or 'error'",
    ),
    # [[device]]
    ({"devices": [ups(id="ups main")]}, "device 'ups main'.id", f"'ups main' {TOPIC_SAFE}"),
    (
        {"devices": [ups(), ups(host="192.168.1.21")]},
        "device",
        "duplicate device id 'ups1' (device[0] and device[1])",
    ),
    (
        {"devices": [acu(), generator(serial_port="tty/acu")]},
        "device",
        "devices 'acu1' and 'gen1' share serial_port tty/acu but speak ascii and modbus:"
        " one line, one protocol",
    ),
    (
        {"devices": [generator(), generator(id="gen2", unit=4, baud=19200, parity="E")]},
        "device",
        "devices 'gen1' and 'gen2' share serial_port tty/rs485 with different settings"
        " (baud 9600 and 19200, parity N and E): a line has one",
    ),
    (
        {"devices": [generator(), generator(id="gen2")]},
        "device",
        "devices 'gen1' and 'gen2' are both unit 3 on serial_port tty/rs485: each Modbus unit"
        " once per line",
    ),
    (
        {"devices": [acu(), acu(id="acu2")]},
        "device",
        "devices 'acu1' and 'acu2' share serial_port tty/acu: the ASCII dialect has no address,"
        " so one device per line",
    ),
    ({"devices": [ups(port=0)]}, "device 'ups1'.port", "greater than or equal to 1 (got 0)"),
    (
        {"devices": [ups(port=65536)]},
        "device 'ups1'.port",
        "less than or equal to 65535 (got 65536)",
    ),
    (
        {"devices": [ups(driver="ups_rfc1682")]},
        "device 'ups1'.driver",
        f"unknown driver 'ups_rfc1682' (did you mean 'ups_rfc1628'?) (known: {KNOWN_LIST})",
    ),
    (
        {"devices": [ups(driver="xyz")]},
        "device 'ups1'.driver",
        f"unknown driver 'xyz' (known: {KNOWN_LIST})",
    ),
    (
        {"devices": [ups(interval=0.5)]},
        "device 'ups1'.interval",
        "greater than or equal to 1 (got 0.5)",
    ),
    ({"devices": [ups(interval=0)]}, "device 'ups1'.interval", "greater than or equal to 1"),
    ({"devices": [ups(timeout=0)]}, "device 'ups1'.timeout", "greater than 0"),
    ({"devices": [ups(retries=0)]}, "device 'ups1'.retries", "greater than or equal to 1"),
    (
        {"devices": [ups(request_retries=11)]},
        "device 'ups1'.request_retries",
        "less than or equal to 10",
    ),
    (
        {"devices": [ups(host="ups 1")]},
        "device 'ups1'.host",
        "'ups 1' is neither an IP address nor a host name",
    ),
    (
        {"devices": [ups(host="-ups")]},
        "device 'ups1'.host",
        "is neither an IP address nor a host name",
    ),
    (
        {"devices": [ups(snmp_version=2)]},
        "device 'ups1'.snmp_version",
        "Input should be '1', '2c' or '3' (got '2')",
    ),
    (
        {"devices": [v3(auth_protocol="MD5")]},
        "device 'ups1'.auth_protocol",
        "Input should be 'SHA' or 'SHA-256'",
    ),
    # SNMP v3 rules
    ({"devices": [v3(user=DROP)]}, "device 'ups1'", "snmp_version 3 needs user"),
    ({"devices": [v3(user="")]}, "device 'ups1'", "snmp_version 3 needs user"),
    (
        {"devices": [v3(community="public")]},
        "device 'ups1'",
        "community is not used with snmp_version 3; set user instead",
    ),
    (
        {"devices": [v3(auth_protocol=DROP, auth_key=DROP)]},
        "device 'ups1'",
        "privacy (priv_protocol) needs authentication (auth_protocol)",
    ),
    ({"devices": [v3(auth_key=DROP)]}, "device 'ups1'", "auth_protocol and auth_key go together"),
    (
        {"devices": [v3(priv_protocol=DROP)]},
        "device 'ups1'",
        "priv_protocol and priv_key go together",
    ),
    (
        {"devices": [ups(snmp_version="2c", user="u", auth_protocol="SHA", auth_key="12345678")]},
        "device 'ups1'",
        "user, auth_protocol, auth_key only apply to snmp_version 3",
    ),
    (
        {"devices": [ups(priv_key="12345678")]},
        "device 'ups1'",
        "priv_key only apply to snmp_version 3",
    ),
    (
        {"devices": [ups(snmp_version="1", user="u")]},
        "device 'ups1'",
        "user only apply to snmp_version 3",
    ),
]


@pytest.mark.parametrize(
    ("parts", "where", "says"),
    [pytest.param(p, w, s, id=f"{w}:{s[:40]}") for p, w, s in INVALID],
)
def test_invalid_value_is_reported_with_its_key_path(
    tmp_path: Path, parts: dict[str, Any], where: str, says: str
) -> None:
    path = write(tmp_path, station_toml(**parts))
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: {where}: "), problems[0]
    assert says in problems[0]


@pytest.mark.parametrize(
    ("device", "where", "secret"),
    [
        (v3(auth_key="s3cr3t!"), "device 'ups1'.auth_key", "s3cr3t!"),
        (v3(priv_key="hush-7"), "device 'ups1'.priv_key", "hush-7"),
        (ups(community=12345), "device 'ups1'.community", "12345"),
    ],
)
def test_secret_values_are_not_echoed(
    tmp_path: Path, device: dict[str, Any], where: str, secret: str
) -> None:
    path = write(tmp_path, station_toml(devices=[device]))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: {where}: ")
    assert secret not in problem


def test_a_trap_community_of_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    text = station_toml() + '[traps]\ncommunities = ["trap-secret", 4567890]\n'
    [problem] = problems_of(write(tmp_path, text))
    assert problem.startswith(f"{tmp_path / 'station.toml'}: traps.communities[1]: ")
    assert "4567890" not in problem


def test_the_repr_of_a_station_shows_no_secret(tmp_path: Path) -> None:
    text = station_toml(
        mqtt={"username": "station", "password": "broker-hunter22"},
        devices=[
            ups(community="v2c-hunter22"),
            v3(id="ups2", auth_key="auth-hunter22", priv_key="priv-hunter22"),
        ],
    )
    config = load_config(
        write(tmp_path, text + '[traps]\ncommunities = ["trap-hunter22"]\n'), KNOWN
    )
    shown = repr(config) + "".join(repr(d.snmp_credentials) for d in config.device)
    assert "hunter22" not in shown
    assert "station" in shown and "ups1" in shown


def test_a_validation_error_as_text_shows_no_secret() -> None:
    with pytest.raises(ValidationError) as caught:
        MqttSection(url="mqtt://station:hunter22@broker.example")
    assert "hunter22" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://127.0.0.1",
        "mqtt://127.8.9.10:1884",
        "mqtt://localhost",
        "mqtt://LocalHost:1883",
        "mqtt://[::1]:1883",
        "mqtts://broker.example",
    ],
)
def test_a_loopback_or_tls_broker_needs_no_permission(url: str) -> None:
    assert not MqttSection(url=url).plaintext_remote


@pytest.mark.parametrize(
    "url",
    ["mqtt://10.0.0.5", "mqtt://broker.example:1883", "mqtt://[2001:db8::1]", "mqtt://0.0.0.0"],
)
def test_plaintext_to_a_remote_broker_needs_allow_plaintext(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, station_toml(mqtt={"url": url}))
    assert problems_of(path) == [
        f"{path}: mqtt: {url} would send the broker password and every message unencrypted over"
        " the network: use mqtts://, or set allow_plaintext = true if the link is private"
    ]
    allowed = write(tmp_path, station_toml(mqtt={"url": url, "allow_plaintext": True}))
    assert load_config(allowed, KNOWN).mqtt.plaintext_remote


def test_mqtt_password_of_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, station_toml(mqtt={"password": 98765432}))
    assert problems_of(path) == [f"{path}: mqtt.password: Input should be a valid string"]


def test_device_table_instead_of_array_of_tables(tmp_path: Path) -> None:
    text = station_toml(devices=[]) + "[device]\n" + _table(UPS)
    path = write(tmp_path, text)
    assert problems_of(path) == [f"{path}: device: Input should be a valid list"]


def test_missing_station_section(tmp_path: Path) -> None:
    path = write(tmp_path, "[[device]]\n" + _table(UPS))
    assert problems_of(path) == [f"{path}: station: required key is missing"]


def test_section_given_as_a_value(tmp_path: Path) -> None:
    path = write(tmp_path, 'station = "bt-test"\n')
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: station: Input should be a valid dictionary")


# ---------------------------------------------------------------- whole-file faults


def test_toml_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    text = '[station]\nid = "bt-test"\nname = Trạm thử\n'
    path = write(tmp_path, text)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: TOML syntax: ")
    assert "line 3" in problem


def test_non_utf8_file_is_refused_with_the_line(tmp_path: Path) -> None:
    head = b'[station]\nid = "bt-test"\n'
    path = write(tmp_path, head + 'name = "Hàm Tân"\n'.encode("cp1258"))
    offset = len(head) + len(b'name = "H')
    assert problems_of(path) == [
        f"{path}: not UTF-8 text (line 3, byte {offset}): save it as UTF-8"
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    assert problems_of(path) == [f"{path}: cannot read: No such file or directory"]


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    text = station_toml(
        top={"devics": []},
        station={"id": "bt test", "timezone": "Asia/Saigon City"},
        agent={"log_level": "loud"},
        mqtt={"url": "http://broker", "keepalive": 1},
        devices=[ups(port=0), ups(id="ups2", driver="ups_rfc1682", interval=0.1, comunity="x")],
    )
    path = write(tmp_path, text)
    problems = problems_of(path)
    where = [line.removeprefix(f"{path}: ").split(": ", 1)[0] for line in problems]
    assert sorted(where) == sorted(
        [
            "devics",
            "station.id",
            "station.timezone",
            "agent.log_level",
            "mqtt.url",
            "mqtt.keepalive",
            "device 'ups1'.port",
            "device 'ups2'.interval",
            "device 'ups2'.comunity",
            "device 'ups2'.driver",
        ]
    )


# ---------------------------------------------------------------- secrets


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_password_file_open_to_other_users_is_refused(tmp_path: Path, mode: int) -> None:
    secret = write(tmp_path, "hunter22\n", "mqtt-password")
    secret.chmod(mode)
    mqtt = MqttSection(password_file=secret)
    for read in (mqtt.resolved_password, lambda: read_secret_file(secret)):
        with pytest.raises(ConfigError) as caught:
            read()
        assert caught.value.problems == [
            f"{secret}: secret file is readable by other users; run: chmod 600 {secret}"
        ]


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_password_file_private_to_its_owner_is_read(tmp_path: Path, mode: int) -> None:
    secret = write(tmp_path, "  hunter22\n", "mqtt-password")
    secret.chmod(mode)
    assert read_secret_file(secret) == "hunter22"
    assert MqttSection(password_file=secret).resolved_password() == "hunter22"


def test_relative_password_file_is_read_from_the_station_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    write(folder, "hunter22\n", "mqtt-password").chmod(0o600)
    path = write(folder, station_toml(mqtt={"password_file": "mqtt-password"}))
    monkeypatch.chdir(tmp_path)
    assert load_config(path, KNOWN).mqtt.resolved_password() == "hunter22"


def test_inline_password_or_none(tmp_path: Path) -> None:
    assert MqttSection(password="hunter22").resolved_password() == "hunter22"
    assert MqttSection().resolved_password() is None


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_password_file_is_a_config_error(tmp_path: Path, kind: str) -> None:
    secret = tmp_path / "mqtt-password"
    if kind == "directory":
        secret.mkdir(mode=0o700)
    with pytest.raises(ConfigError) as caught:
        read_secret_file(secret)
    [problem] = caught.value.problems
    assert problem.startswith(f"{secret}: cannot read secret file: ")


def test_scaling_names_metrics_of_the_device_driver(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(
        '[station]\nid = "s"\nname = "S"\n\n'
        '[[device]]\nid = "ups1"\ndriver = "ups_rfc1628"\nhost = "127.0.0.2"\n'
        '[device.scaling]\n"ups.battery.charge_pctt" = 0.1\n"ups.battery.runtime_min" = -1\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, KNOWN)
    problems = "\n".join(caught.value.problems)
    assert f"{path}: device 'ups1'.scaling.ups.battery.runtime_min: " in problems
    assert "greater than 0" in problems
    assert (
        "has no metric 'ups.battery.charge_pctt' (did you mean 'ups.battery.charge_pct'?)"
        in problems
    )


def test_deadband_names_number_metrics_of_the_device_driver(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(
        '[station]\nid = "s"\nname = "S"\n\n'
        '[[device]]\nid = "ups1"\ndriver = "ups_rfc1628"\nhost = "127.0.0.2"\n'
        'deadband = { "ups.input.voltage" = 3.0, "ups.output.load_pct" = -1,'
        ' "ups.output.source" = 1 }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, KNOWN)
    problems = caught.value.problems
    assert (
        f"{path}: device 'ups1'.deadband.ups.input.voltage: driver ups_rfc1628 has no metric"
        " 'ups.input.voltage' (did you mean 'ups.input.voltage_v'?)"
    ) in problems
    assert any(
        p.startswith(f"{path}: device 'ups1'.deadband.ups.output.load_pct: ")
        and "greater than or equal to 0" in p
        for p in problems
    ), problems
    assert (
        f"{path}: device 'ups1'.deadband.ups.output.source: ups.output.source is a enum (any"
        " change is reported): only a number has a deadband"
    ) in problems


def test_telemetry_defaults_to_compact_and_a_device_deadband_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(
        '[station]\nid = "s"\nname = "S"\n\n[telemetry]\nsnapshot_interval_s = 60\n\n'
        '[[device]]\nid = "ups1"\ndriver = "ups_rfc1628"\nhost = "127.0.0.2"\n'
        'deadband = { "ups.input.voltage_v" = 0 }\n',
        encoding="utf-8",
    )
    config = load_config(path, KNOWN)
    assert (config.telemetry.format, config.telemetry.snapshot_interval_s) == ("compact", 60)
    assert config.device[0].deadband == {"ups.input.voltage_v": 0.0}


def test_scaling_multiplies_the_metric_scale(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(
        '[station]\nid = "s"\nname = "S"\n\n'
        '[[device]]\nid = "ups1"\ndriver = "ups_rfc1628"\nhost = "127.0.0.2"\n'
        '[device.scaling]\n"ups.battery.charge_pct" = 0.1\n',
        encoding="utf-8",
    )
    device = load_config(path, KNOWN).device[0]
    driver = KNOWN["ups_rfc1628"].with_scaling(device.scaling)
    charge = driver.metric("ups.battery.charge_pct")
    assert charge.decode(1000, datetime.now(UTC)).value == 100
    assert charge.precision == 1
    assert KNOWN["ups_rfc1628"].metric("ups.battery.charge_pct").scale == 1.0


# ---------------------------------------------------------------- alarm limits and maintenance

FM = {"id": "fm-main", "driver": "fm_transmitter_nautel", "host": "192.168.1.30"}
IRD = {"id": "ird1", "driver": "ird_satellite", "host": "192.168.1.40"}


def limits_problems(
    tmp_path: Path, text: str, devices: list[dict[str, Any]] | None = None
) -> list[str]:
    """The problems of a station file with `text` (TOML tables) appended, path prefix cut."""
    path = write(tmp_path, station_toml(devices=devices or [FM]) + text)
    return [p.removeprefix(f"{path}: ") for p in problems_of(path)]


def test_limits_maintenance_and_states_load(tmp_path: Path) -> None:
    text = station_toml(devices=[{**FM, "maintenance_until": DROP}, IRD])
    text = text.replace(
        'driver = "fm_transmitter_nautel"\n',
        'driver = "fm_transmitter_nautel"\nmaintenance_until = 2026-12-01T08:00:00+07:00\n',
    )
    text += (
        '[device.limits."ird.link_margin_db[input=2]"]\nwarn_low = 2.5\ncrit_low = "off"\n'
        '[device.limits."ird.locked"]\nstates = { false = "warning" }\ndelay_s = 0\n'
        '[limits."rf.vswr"]\nwarn_high = 1.4\ncrit_high = 1.8\ndelay_s = 5\n'
        "clear_delay_s = 30\ndeadband = 0.05\n"
        '[limits."ups.output.source"]\nstates = { battery = "critical" }\nenabled = true\n'
    )
    config = load_config(write(tmp_path, text), KNOWN)
    fm, ird = config.device
    assert fm.maintenance_until == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert fm.maintenance_until.utcoffset() == timedelta(hours=7)
    assert fm.maintenance_until.tzinfo == timezone(timedelta(hours=7))
    assert ird.maintenance_until is None
    row = ird.limits["ird.link_margin_db[input=2]"]
    assert (row.warn_low, row.crit_low) == (2.5, "off")
    assert ird.limits["ird.locked"].states == {"false": "warning"}
    vswr = config.limits["rf.vswr"]
    assert (vswr.warn_high, vswr.crit_high, vswr.delay_s, vswr.clear_delay_s, vswr.deadband) == (
        1.4,
        1.8,
        5,
        30,
        0.05,
    )


LIMIT_FAULTS = [
    # unknown metric keys, with a hint
    (
        '[device.limits."rf.vswrr"]\nwarn_high = 1.4\n',
        "device 'fm-main'.limits.rf.vswrr: driver fm_transmitter_nautel has no metric 'rf.vswrr'"
        " (did you mean 'rf.vswr'?)",
    ),
    (
        '[limits."rf.vswrr"]\nwarn_high = 1.4\n',
        "limits.rf.vswrr: no driver has a metric 'rf.vswrr' (did you mean 'rf.vswr'?)",
    ),
    (
        '[device.limits."rf.vswr"]\nwarn_hihg = 1.4\n',
        "device 'fm-main'.limits.rf.vswr.warn_hihg: unknown key (did you mean 'warn_high'?)",
    ),
    (
        '[limits."rf.vswr"]\ndelay = 5\n',
        "limits.rf.vswr.delay: unknown key (did you mean 'delay_s'?)",
    ),
    # bad delays and deadbands
    (
        '[device.limits."rf.vswr"]\ndelay_s = -5\n',
        "device 'fm-main'.limits.rf.vswr.delay_s:"
        " Input should be greater than or equal to 0 (got -5)",
    ),
    (
        '[limits."rf.vswr"]\nclear_delay_s = 100000\n',
        "limits.rf.vswr.clear_delay_s: Input should be less than or equal to 86400 (got 100000)",
    ),
    (
        '[device.limits."rf.vswr"]\ndelay_s = "5 s"\n',
        "device 'fm-main'.limits.rf.vswr.delay_s: Input should be a valid number",
    ),
    (
        '[device.limits."rf.vswr"]\nclear_delay_s = nan\n',
        "device 'fm-main'.limits.rf.vswr.clear_delay_s: Input should be a finite number",
    ),
    (
        '[device.limits."rf.vswr"]\ndeadband = -0.1\n',
        "device 'fm-main'.limits.rf.vswr.deadband: Input should be greater than or equal to 0",
    ),
    # limit values and their order
    (
        '[device.limits."rf.vswr"]\nwarn_high = "of"\n',
        "device 'fm-main'.limits.rf.vswr.warn_high: a limit is a number, or \"off\" to remove the"
        " driver's limit (got 'of')",
    ),
    (
        '[device.limits."rf.vswr"]\nwarn_high = inf\n',
        "device 'fm-main'.limits.rf.vswr.warn_high: a limit must be a finite number",
    ),
    (
        '[device.limits."rf.vswr"]\nwarn_high = 2.1\ncrit_high = 1.9\n',
        "device 'fm-main'.limits.rf.vswr: warn_high (2.1) must be at most crit_high (1.9)",
    ),
    (
        '[limits."rf.vswr"]\nwarn_low = 2\nwarn_high = 2\n',
        "limits.rf.vswr: warn_low (2) must be below warn_high (2)",
    ),
    (
        '[device.limits."rf.vswr"]\nwarn_high = 2.1\n',
        "device 'fm-main'.limits.rf.vswr: with the driver's and station-wide limits of device"
        " fm-main, warn_high (2.1) must be at most crit_high (2)",
    ),
    (
        '[device.limits."rf.vswr"]\nwarn_high = "off"\ncrit_high = 1.2\n'
        '[limits."rf.vswr"]\nwarn_high = 1.3\n',
        None,  # the device's "off" removes the station's warn_high: valid
    ),
    # limits and states must fit the metric
    (
        '[device.limits."tx.on_air"]\nwarn_low = 1\n',
        "device 'fm-main'.limits.tx.on_air: tx.on_air is a true/false value: warn_low do not apply;"
        " use states",
    ),
    (
        '[device.limits."rf.vswr"]\nstates = { high = "critical" }\n',
        "device 'fm-main'.limits.rf.vswr.states: rf.vswr is a number: states do not apply",
    ),
    (
        '[device.limits."tx.on_air"]\nstates = { flase = "critical" }\n',
        "device 'fm-main'.limits.tx.on_air.states: tx.on_air has no state 'flase'"
        " (did you mean 'false'?) (known: false, true)",
    ),
    (
        '[limits."ups.output.source"]\nstates = { batery = "critical" }\n',
        "limits.ups.output.source.states: ups.output.source has no state 'batery'"
        " (did you mean 'battery'?)",
    ),
    (
        '[device.limits."tx.on_air"]\nstates = { false = "bad" }\n',
        "device 'fm-main'.limits.tx.on_air.states.false:"
        " Input should be 'ok', 'warning' or 'critical'",
    ),
    # rows
    (
        '[device.limits."rf.vswr[input=1]"]\nwarn_high = 1.4\n',
        "device 'fm-main'.limits.rf.vswr[input=1]: rf.vswr is a single value, not a table",
    ),
    (
        '[limits."ird.cn_db[input=1]"]\nwarn_low = 4\n',
        "limits.ird.cn_db[input=1]: a station-wide limit names a metric, not a table row",
    ),
    (
        '[limits."rf.vswr"]\nwarn_high = 1.5\n[limits."ird.service"]\nenabled = false\n',
        "limits.ird.service: ird.service is a text value: it has no limits or states to set",
    ),
]


@pytest.mark.parametrize(
    ("text", "says"), [pytest.param(t, s, id=(s or "valid")[:50]) for t, s in LIMIT_FAULTS]
)
def test_limit_faults_are_reported_with_their_key_path(
    tmp_path: Path, text: str, says: str | None
) -> None:
    if says is None:
        load_config(write(tmp_path, station_toml(devices=[FM]) + text), KNOWN)
        return
    problems = limits_problems(tmp_path, text)
    assert len(problems) == 1, problems
    assert problems[0].startswith(says), problems[0]


def test_row_keys_name_the_table_of_the_metric(tmp_path: Path) -> None:
    text = (
        '[device.limits."ird.cn_db[inputs=2]"]\nwarn_low = 3\n'
        '[device.limits."ird.cn_db[input=2"]\nwarn_low = 3\n'
        '[device.limits."ird.cn_db[input=2]"]\nwarn_low = 3\n'
    )
    assert limits_problems(tmp_path, text, devices=[IRD]) == [
        "device 'ird1'.limits.ird.cn_db[inputs=2]: rows of ird.cn_db are named [input=...],"
        " not [inputs=...]",
        "device 'ird1'.limits.ird.cn_db[input=2: a table row is written KEY[label=index],"
        " e.g. 'ird.cn_db[input=2]'",
    ]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2026-12-01T08:00:00", "(got no offset)"),
        ("2026-12-01", "(got a date without a time)"),
        ('"tomorrow"', "Input should be a valid datetime"),
    ],
)
def test_maintenance_until_needs_a_time_with_its_offset(
    tmp_path: Path, value: str, says: str
) -> None:
    path = write(tmp_path, station_toml(devices=[{**FM, "maintenance_until": DROP}]))
    text = path.read_text(encoding="utf-8") + f"maintenance_until = {value}\n"
    [problem] = problems_of(write(tmp_path, text))
    assert problem.startswith(f"{path}: device 'fm-main'.maintenance_until: "), problem
    assert says in problem


def test_a_limit_given_as_a_value_instead_of_a_table(tmp_path: Path) -> None:
    [problem] = limits_problems(tmp_path, '[limits]\n"rf.vswr" = 1.5\n')
    assert problem.startswith("limits.rf.vswr: give a table of settings for the metric")


def test_debug_devices_must_name_devices_of_the_station(tmp_path: Path) -> None:
    text = station_toml(agent={"debug_devices": ["ups1", "ups9"]})
    assert problems_of(write(tmp_path, text)) == [
        f"{tmp_path / 'station.toml'}: agent.debug_devices: no device 'ups9' in the station"
        " file (devices: ups1)"
    ]


def test_the_stop_flush_bound_stays_under_the_units_stop_timeout(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, station_toml(agent={"stop_flush_s": 60})))
    assert "agent.stop_flush_s" in problem
    config = load_config(write(tmp_path, station_toml(agent={"stop_flush_s": 0})), KNOWN)
    assert config.agent.stop_flush_s == 0
