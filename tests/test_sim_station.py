"""SimulatedStation built from a station file, and the stdin control protocol."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from typing import Any

import pytest
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    usmAesCfb128Protocol,
    usmHMAC192SHA256AuthProtocol,
)

from drivers import generator_modbus, get_driver
from fieldagent.config import Config, parse_config
from fieldagent.driver import Driver
from fieldagent.localbroker import free_port
from fieldagent.sim.station import SimulatedStation, Skipped, apply_command, parse_value

CHARGE = "1.3.6.1.2.1.33.1.2.4.0"


def station_config(*devices: dict[str, Any]) -> Config:
    data = {"station": {"id": "test", "name": "Test station"}, "device": list(devices)}
    return parse_config(data, "test.toml")


def ups(device_id: str, host: str, port: int = 16161, **extra: Any) -> dict[str, Any]:
    return {"id": device_id, "driver": "ups_rfc1628", "host": host, "port": port, **extra}


MODBUS_METER = dataclasses.replace(generator_modbus.DRIVER, name="meter")


def drivers(name: str) -> Driver:
    return MODBUS_METER if name == "meter" else get_driver(name)


@pytest.fixture
def station() -> SimulatedStation:
    config = station_config(
        ups("ups-a", "127.0.0.15"),
        ups("ups-b", "::1", snmp_version="1"),
        ups("ups-real", "192.168.1.20"),
        ups("ups-named", "ups.local"),
        {"id": "meter", "driver": "meter", "serial_port": "/dev/ttyUSB0"},
        {"id": "mystery", "driver": "no_such_driver", "host": "127.0.0.15"},
    )
    return SimulatedStation(config, drivers)


def test_only_loopback_and_non_dev_serial_devices_are_simulated(station: SimulatedStation) -> None:
    assert list(station.devices) == ["ups-a", "ups-b"]
    assert station.devices["ups-a"].name == "ups-a"
    assert station.simulators["ups-b"].address == "[::1]:16161"
    reasons = dict(station.skipped)
    assert set(reasons) == {"ups-real", "ups-named", "meter", "mystery"}
    assert "not a loopback address" in reasons["ups-real"]
    assert "not a loopback address" in reasons["ups-named"]
    assert "/dev/ttyUSB0 is a real port (under /dev): never simulated" in reasons["meter"]
    assert "unknown driver 'no_such_driver'" in reasons["mystery"]
    assert all(isinstance(skipped, Skipped) for skipped in station.skipped)


def test_initial_scenarios_and_time_scale_apply() -> None:
    now = [0.0]
    config = station_config(ups("ups-a", "127.0.0.15"))
    station = SimulatedStation(
        config, get_driver, scenarios={"ups-a": "mains_fail"}, time_scale=5, clock=lambda: now[0]
    )
    device = station.devices["ups-a"]
    assert device.scenario == "mains_fail"
    now[0] = 2.0  # 10 s of scenario time
    assert device.snapshot()["ups.battery.charge_pct"] == 90


def test_initial_scenarios_are_checked() -> None:
    config = station_config(ups("ups-a", "127.0.0.15"), ups("ups-real", "10.0.0.9"))
    with pytest.raises(KeyError, match=r"no simulated device 'ups-real'.*ups-a"):
        SimulatedStation(config, get_driver, scenarios={"ups-real": "mains_fail"})
    with pytest.raises(KeyError, match="no scenario 'fire'"):
        SimulatedStation(config, get_driver, scenarios={"ups-a": "fire"})


async def read_charge(port: int, host: str, auth: Any) -> int:
    client = SnmpEngine()
    try:
        error, status, _, var_binds = await get_cmd(
            client,
            auth,
            await UdpTransportTarget.create((host, port), timeout=2.0, retries=0),
            ContextData(),
            ObjectType(ObjectIdentity(CHARGE)),
            lookupMib=False,
        )
    finally:
        client.close_dispatcher()
    assert error is None and int(status) == 0
    return int(var_binds[0][1])


def test_start_serves_each_device_with_its_configured_security() -> None:
    v2c_port, v3_port = free_port("127.0.0.16", udp=True), free_port("127.0.0.17", udp=True)
    config = station_config(
        ups("ups-a", "127.0.0.16", v2c_port, community="area51"),
        ups(
            "ups-b",
            "127.0.0.17",
            v3_port,
            snmp_version="3",
            user="tech",
            auth_protocol="SHA-256",
            auth_key="authkey123",
            priv_protocol="AES-128",
            priv_key="privkey123",
        ),
    )
    station = SimulatedStation(config, get_driver)
    station.devices["ups-b"].set("ups.battery.charge_pct", 64)
    user = UsmUserData(
        "tech",
        "authkey123",
        "privkey123",
        authProtocol=usmHMAC192SHA256AuthProtocol,
        privProtocol=usmAesCfb128Protocol,
    )

    async def scenario() -> None:
        await station.start()
        try:
            assert await read_charge(v2c_port, "127.0.0.16", CommunityData("area51")) == 100
            assert await read_charge(v3_port, "127.0.0.17", user) == 64
        finally:
            station.stop()

    asyncio.run(scenario())


def test_a_failed_start_stops_the_agents_already_started() -> None:
    first_port = free_port("127.0.0.18", udp=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.19", 0))
        busy_port = taken.getsockname()[1]
        config = station_config(
            ups("ups-a", "127.0.0.18", first_port), ups("ups-b", "127.0.0.19", busy_port)
        )
        station = SimulatedStation(config, get_driver)
        with pytest.raises(OSError, match=f"127.0.0.19:{busy_port}"):
            asyncio.run(station.start())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.18", first_port))  # released by the failed start


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("set ups-a ups.output.load_pct 88", "ups.output.load_pct", 88),
        ("set ups-a ups.input.frequency_hz 49.5", "ups.input.frequency_hz", 49.5),
        ("set ups-a ups.battery.status low", "ups.battery.status", "low"),
        ("SET ups-a ups.ident.model Castle 3K RT", "ups.ident.model", "Castle 3K RT"),
    ],
)
def test_set_command(station: SimulatedStation, line: str, key: str, value: object) -> None:
    reply = apply_command(station, line)
    assert reply == f"ups-a: {key} = {value!r}"
    assert station.devices["ups-a"].snapshot()[key] == value


def test_scenario_command(station: SimulatedStation) -> None:
    reply = apply_command(station, "scenario ups-a no_reply")
    assert reply == "ups-a: playing no_reply: the card stops answering"
    assert station.devices["ups-a"].silent


def test_show_command_lists_devices_and_details(station: SimulatedStation) -> None:
    summary = apply_command(station, "show")
    assert "ups-a (ups_rfc1628) at 127.0.0.15:16161, scenario normal" in summary
    assert "ups-real: not simulated: host 192.168.1.20" in summary
    details = apply_command(station, "show ups-a")
    assert details.splitlines()[0] == "ups-a (ups_rfc1628), scenario normal"
    assert "  ups.battery.charge_pct = 100 %" in details
    assert "  ups.battery.status = 'normal'" in details
    assert "scenarios: battery_low, mains_fail, no_reply, normal" in details


def test_help_and_empty_lines(station: SimulatedStation) -> None:
    assert "set DEVICE KEY VALUE" in apply_command(station, "help")
    assert apply_command(station, "   ") == ""


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("explode ups-a", "unknown command 'explode'"),
        ("set ups-a ups.output.load_pct", "usage: set DEVICE KEY VALUE"),
        ("set ups-x ups.output.load_pct 5", "no simulated device 'ups-x'"),
        ("set ups-a ups.output.volume 5", "has no metric 'ups.output.volume'"),
        ("set ups-a ups.battery.status on-fire", "'on-fire' is not one of"),
        ("set ups-a ups.output.load_pct nan", "not a finite number"),
        ("scenario ups-a", "usage: scenario DEVICE NAME"),
        ("scenario ups-a flood", "no scenario 'flood'"),
        ("show ups-a ups-b", "usage: show [DEVICE]"),
        ("show ups-real", "no simulated device 'ups-real'"),
    ],
)
def test_bad_commands_get_an_error_reply(
    station: SimulatedStation, line: str, problem: str
) -> None:
    before = station.devices["ups-a"].snapshot()
    reply = apply_command(station, line)
    assert reply.startswith("error: ")
    assert problem in reply
    assert station.devices["ups-a"].snapshot() == before


@pytest.mark.parametrize(
    ("text", "value"), [("42", 42), ("-3", -3), ("49.5", 49.5), ("1e3", 1000.0), ("low", "low")]
)
def test_parse_value(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)
