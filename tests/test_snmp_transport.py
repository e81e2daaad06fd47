"""The SNMP transport and the UPS driver against the UPS simulator, over real UDP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds

from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent.config import (
    DeviceSection,
    SnmpCredentials,
    SnmpVersion,
    parse_device,
)
from fieldagent.model import Quality
from fieldagent.poller import Poller
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.transports.pysnmpexchange import TIMER_RESOLUTION_S, PysnmpExchange
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget
from fieldagent.transports.snmpwire import PduKind
from tests.simrunner import V3_SHA1, V3_SHA256, SimRunner, device_fields

T = TypeVar("T")


def device_for(sim: SnmpSimulator, **overrides: object) -> DeviceSection:
    return parse_device(device_fields("ups1", sim, **overrides))


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable

    return asyncio.run(main())


async def poll(device: DeviceSection):  # type: ignore[no-untyped-def]
    client = SnmpClient()
    try:
        return await Poller(client).poll(device, UPS)
    finally:
        client.close()


@pytest.mark.parametrize(
    "access",
    [
        SnmpCredentials(version=SnmpVersion.V1),
        SnmpCredentials(version=SnmpVersion.V2C),
        V3_SHA256,
        V3_SHA1,
    ],
    ids=["v1", "v2c", "v3-sha256-aes128", "v3-sha-aes128"],
)
def test_ups_driver_reads_and_scales_what_the_simulator_serves(
    sims: SimRunner, access: SnmpCredentials
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2", access)
    sim.device.set("ups.battery.voltage_v", 54.3)
    sim.device.set("ups.input.frequency_hz", 49.8)
    sim.device.set("ups.battery.charge_pct", 87)
    sim.device.set("ups.output.source", "bypass")
    result = run(poll(device_for(sim)))
    assert result.error is None
    values = {r.key: r.value for r in result.readings}
    assert values["ups.battery.voltage_v"] == 54.3
    assert values["ups.input.frequency_hz"] == 49.8
    assert values["ups.battery.charge_pct"] == 87
    assert values["ups.output.source"] == "bypass"
    assert values["ups.ident.model"] == UPS.simulator.initial["ups.ident.model"]
    assert all(r.quality is Quality.OK for r in result.readings)


def test_a_value_changed_while_running_is_read_on_the_next_poll(sims: SimRunner) -> None:
    access = SnmpCredentials()
    sim = sims.serve("ups_rfc1628", "127.0.0.2", access)
    first = run(poll(device_for(sim)))
    sim.device.set("ups.battery.charge_pct", 42)
    second = run(poll(device_for(sim)))
    charge = {r.key: r.value for r in first.readings}["ups.battery.charge_pct"]
    assert charge == 100
    assert {r.key: r.value for r in second.readings}["ups.battery.charge_pct"] == 42


@pytest.mark.parametrize("version", [SnmpVersion.V1, SnmpVersion.V2C])
def test_a_missing_object_is_missing_and_the_rest_still_read(
    sims: SimRunner, version: SnmpVersion
) -> None:
    access = SnmpCredentials(version=version)
    sim = sims.serve("ups_rfc1628", "127.0.0.2", access)
    sim.device.set("ups.battery.temperature_c", None)
    result = run(poll(device_for(sim)))
    readings = {r.key: r for r in result.readings}
    assert readings["ups.battery.temperature_c"].quality is Quality.MISSING
    assert readings["ups.battery.charge_pct"].value == 100
    assert result.error is None


def test_many_oids_are_split_into_several_requests(sims: SimRunner) -> None:
    access = SnmpCredentials()
    sim = sims.serve("ups_rfc1628", "127.0.0.2", access)
    target = SnmpTarget.from_device(device_for(sim))
    real = [m.source_key for m in UPS.metrics]
    absent = [f"1.3.6.1.4.1.99999.{i}.0" for i in range(40)]

    async def get() -> dict[str, object]:
        client = SnmpClient()
        try:
            return await client.get(target, absent + real)
        finally:
            client.close()

    values = run(get())
    assert len(values) == len(real) + len(absent)
    assert all(values[oid] is None for oid in absent)
    assert values[UPS.metric("ups.battery.charge_pct").source_key] == 100


@pytest.mark.parametrize("version", [SnmpVersion.V1, SnmpVersion.V2C])
def test_walk_returns_the_whole_subtree(sims: SimRunner, version: SnmpVersion) -> None:
    access = SnmpCredentials(version=version)
    sim = sims.serve("ups_rfc1628", "127.0.0.2", access)
    target = SnmpTarget.from_device(device_for(sim))

    async def walk() -> dict[str, object]:
        client = SnmpClient()
        try:
            return await client.walk(target, "1.3.6.1.2.1.33.1")
        finally:
            client.close()

    values = run(walk())
    assert set(values) == {m.source_key for m in UPS.metrics}
    assert values[UPS.metric("ups.input.voltage_v").source_key] == 226


def test_wrong_community_is_a_clear_no_reply_error(sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2", SnmpCredentials(community="secret"))
    result = run(poll(device_for(sim, community="public")))
    assert result.error is not None
    assert "no reply from 127.0.0.2" in result.error
    assert "check the address, the community," in result.error
    assert "public" not in result.error  # a community is a password
    assert all(r.quality is Quality.BAD for r in result.readings)


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ({"auth_key": "not-the-key"}, "check auth_key and auth_protocol"),
        ({"priv_key": "not-the-key"}, "check priv_key and priv_protocol"),
        ({"user": "nobody"}, "no SNMPv3 user 'nobody'"),
    ],
)
def test_wrong_v3_credentials_say_what_to_check(
    sims: SimRunner, override: dict[str, str], hint: str
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2", V3_SHA256)
    result = run(poll(device_for(sim, **override)))
    assert result.error is not None
    assert result.error.startswith(f"127.0.0.2:{sim.port}: ")
    assert hint in result.error


def silent_target(silent: socket.socket, retries: int) -> SnmpTarget:
    """A target at a UDP socket that receives and never answers."""
    silent.bind(("127.0.0.2", 0))
    port = silent.getsockname()[1]
    return SnmpTarget("127.0.0.2", port, SnmpCredentials(), timeout=0.2, retries=retries)


@pytest.mark.parametrize("retries", [0, 2])
def test_a_silent_device_gets_one_datagram_per_try_then_a_no_reply_error(retries: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        target = silent_target(silent, retries)

        async def get() -> dict[str, object]:
            client = SnmpClient()
            try:
                return await client.get(target, ["1.3.6.1.2.1.1.1.0"])
            finally:
                client.close()

        with pytest.raises(SnmpError, match=rf"no reply .* within 0.2 s x {retries + 1} tries"):
            run(get())
        silent.setblocking(False)
        datagrams = 0
        with contextlib.suppress(BlockingIOError):
            while silent.recv(65535):
                datagrams += 1
    assert datagrams == retries + 1


def test_the_v3_back_end_needs_no_mib_compiler_and_checks_timeouts_finely() -> None:
    # pysnmp built its MIB compiler inside an engine's first request (before the datagram
    # left) and looked for expired requests every 0.1 s: a silent device took far more than
    # its timeout x tries.  bench/snmp_timeout.py measures the whole.
    back_end = PysnmpExchange()
    view = CommandGeneratorVarBinds.get_mib_view_controller(back_end.engine.cache)
    stand_in = view.mibBuilder.get_mib_compiler()  # pysnmp builds none where one is set
    assert stand_in.compile("UPS-MIB") == {"UPS-MIB": "missing"}  # numeric OIDs need none

    async def resolution_after_a_request(target: SnmpTarget) -> float:
        try:
            with contextlib.suppress(SnmpError):
                await back_end.exchange(target, PduKind.GET, ["1.3.6.1.2.1.1.1.0"], 0)
            return float(back_end.engine.transport_dispatcher.get_timer_resolution())
        finally:
            back_end.close()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        resolution = run(resolution_after_a_request(silent_target(silent, 0)))
    assert resolution == TIMER_RESOLUTION_S
