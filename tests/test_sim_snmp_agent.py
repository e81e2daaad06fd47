"""SnmpSimulator over real UDP on loopback, queried with pysnmp's own client."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    Integer32,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
    get_cmd,
    next_cmd,
    set_cmd,
    usmAesCfb128Protocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto import rfc1902, rfc1905

from drivers import ups_rfc1628
from fieldagent.config import AuthProtocol, PrivProtocol, SnmpCredentials, SnmpVersion
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator

CHARGE = "1.3.6.1.2.1.33.1.2.4.0"
MANUFACTURER = "1.3.6.1.2.1.33.1.1.1.0"
LOAD = "1.3.6.1.2.1.33.1.4.4.1.5.1"
MISSING = "1.3.6.1.2.1.33.1.9.0"
LAST = "1.3.6.1.2.1.33.1.4.4.1.5.1"
NO_REPLY = 0.3
"""Seconds to wait when no reply is the expected outcome; answers get 2 s."""

V3_SHA256 = SnmpCredentials(
    SnmpVersion.V3,
    user="tech",
    auth_protocol=AuthProtocol.SHA256,
    auth_key="authkey123",
    priv_protocol=PrivProtocol.AES128,
    priv_key="privkey123",
)
TECH_SHA256 = UsmUserData(
    "tech",
    "authkey123",
    "privkey123",
    authProtocol=usmHMAC192SHA256AuthProtocol,
    privProtocol=usmAesCfb128Protocol,
)

Result = tuple[Any, Any, Any, list[tuple[Any, Any]]]


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def ups() -> SimulatedDevice:
    return SimulatedDevice(ups_rfc1628.DRIVER, name="ups1")


@asynccontextmanager
async def serving(
    device: SimulatedDevice, host: str, access: SnmpCredentials | None = None
) -> AsyncIterator[SnmpSimulator]:
    simulator = SnmpSimulator(device, host, 0, access)
    await simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


async def target(simulator: SnmpSimulator, timeout: float = 2.0) -> Any:
    kind = Udp6TransportTarget if ":" in simulator.host else UdpTransportTarget
    return await kind.create((simulator.host, simulator.port), timeout=timeout, retries=0)


async def get(simulator: SnmpSimulator, auth: Any, *oids: str, timeout: float = 2.0) -> Result:
    """One GET from a fresh client engine (fresh, so no discovery state carries over)."""
    client = SnmpEngine()
    try:
        objects = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        return await get_cmd(  # type: ignore[no-any-return]
            client, auth, await target(simulator, timeout), ContextData(), *objects, lookupMib=False
        )
    finally:
        client.close_dispatcher()


async def walk(simulator: SnmpSimulator, auth: Any) -> list[tuple[str, Any]]:
    client = SnmpEngine()
    found: list[tuple[str, Any]] = []
    try:
        async for error, status, _, var_binds in bulk_walk_cmd(
            client,
            auth,
            await target(simulator),
            ContextData(),
            0,
            4,
            ObjectType(ObjectIdentity("1.3.6")),
            lookupMib=False,
        ):
            assert error is None and int(status) == 0
            found += [(str(name), value) for name, value in var_binds]
    finally:
        client.close_dispatcher()
    return found


def assert_value(result: Result, *expected: int | bytes) -> None:
    error, status, _, var_binds = result
    assert error is None
    assert int(status) == 0
    values = [value for _, value in var_binds]
    assert [v.asOctets() if isinstance(v, rfc1902.OctetString) else int(v) for v in values] == [
        *expected
    ]


def assert_no_answer(result: Result) -> None:
    error, _, _, var_binds = result
    assert error is not None
    assert list(var_binds) == []


def test_v2c_get_serves_the_device_values() -> None:
    async def scenario() -> None:
        async with serving(ups(), "127.0.0.2") as simulator:
            result = await get(simulator, CommunityData("public"), CHARGE, MANUFACTURER, MISSING)
            error, status, _, var_binds = result
            assert error is None and int(status) == 0
            assert [str(name) for name, _ in var_binds] == [CHARGE, MANUFACTURER, MISSING]
            charge, manufacturer, missing = (value for _, value in var_binds)
            assert charge.tagSet == rfc1902.Integer32.tagSet and int(charge) == 100
            assert manufacturer.asOctets() == b"Santak"
            assert missing.tagSet == rfc1905.NoSuchInstance.tagSet

    run(scenario)


def test_v1_get_and_missing_object_gives_no_such_name() -> None:
    async def scenario() -> None:
        v1 = SnmpCredentials(SnmpVersion.V1, community="area")
        async with serving(ups(), "127.0.0.3", v1) as simulator:
            assert_value(await get(simulator, CommunityData("area", mpModel=0), CHARGE), 100)
            error, status, index, _ = await get(
                simulator, CommunityData("area", mpModel=0), MISSING
            )
            assert error is None
            assert status.prettyPrint() == "noSuchName" and int(index) == 1
            # A v1-only card does not speak v2c.
            assert_no_answer(await get(simulator, CommunityData("area"), CHARGE, timeout=NO_REPLY))

    run(scenario)


def test_a_v2c_card_also_answers_v1() -> None:
    async def scenario() -> None:
        async with serving(ups(), "127.0.0.3") as simulator:
            assert_value(await get(simulator, CommunityData("public", mpModel=0), CHARGE), 100)

    run(scenario)


def test_wrong_community_gets_no_reply() -> None:
    async def scenario() -> None:
        async with serving(ups(), "127.0.0.4") as simulator:
            error, _, _, var_binds = await get(
                simulator, CommunityData("private"), CHARGE, timeout=NO_REPLY
            )
            assert "timeout" in str(error).lower()
            assert list(var_binds) == []

    run(scenario)


def as_raw(value: Any) -> object:
    """A served SNMP value back as the raw value the device model holds."""
    if isinstance(value, rfc1902.OctetString):
        return value.asOctets()
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    return int(value)


def test_bulk_walk_returns_every_present_object_in_oid_order() -> None:
    async def scenario() -> None:
        device = ups()
        device.set("ups.battery.temperature_c", None)  # absent objects are skipped
        async with serving(device, "127.0.0.5") as simulator:
            found = await walk(simulator, CommunityData("public"))
        present = sorted((oid, raw) for oid, raw in device.objects().items() if raw is not None)
        assert [name for name, _ in found] == [".".join(map(str, oid)) for oid, _ in present]
        assert "1.3.6.1.2.1.33.1.2.7.0" not in [name for name, _ in found]
        served = [as_raw(v) for _, v in found]
        assert served == [raw.encode() if type(raw) is str else raw for _, raw in present]

    run(scenario)


def test_getnext_past_the_last_object_is_end_of_mib_view() -> None:
    async def scenario() -> None:
        client = SnmpEngine()
        try:
            async with serving(ups(), "127.0.0.5") as simulator:
                error, status, _, var_binds = await next_cmd(
                    client,
                    CommunityData("public"),
                    await target(simulator),
                    ContextData(),
                    ObjectType(ObjectIdentity(LAST)),
                    lookupMib=False,
                )
        finally:
            client.close_dispatcher()
        assert error is None and int(status) == 0
        assert var_binds[0][1].tagSet == rfc1905.EndOfMibView.tagSet

    run(scenario)


@pytest.mark.parametrize(
    ("auth_protocol", "client_auth"),
    [
        (AuthProtocol.SHA256, usmHMAC192SHA256AuthProtocol),
        (AuthProtocol.SHA, usmHMACSHAAuthProtocol),
    ],
)
def test_v3_auth_priv_with_aes128(auth_protocol: AuthProtocol, client_auth: Any) -> None:
    async def scenario() -> None:
        access = SnmpCredentials(
            SnmpVersion.V3,
            user="tech",
            auth_protocol=auth_protocol,
            auth_key="authkey123",
            priv_protocol=PrivProtocol.AES128,
            priv_key="privkey123",
        )
        user = UsmUserData(
            "tech",
            "authkey123",
            "privkey123",
            authProtocol=client_auth,
            privProtocol=usmAesCfb128Protocol,
        )
        async with serving(ups(), "127.0.0.6", access) as simulator:
            assert_value(await get(simulator, user, CHARGE, MANUFACTURER), 100, b"Santak")

    run(scenario)


def test_v3_no_auth_user() -> None:
    async def scenario() -> None:
        access = SnmpCredentials(SnmpVersion.V3, user="monitor")
        async with serving(ups(), "127.0.0.6", access) as simulator:
            assert_value(await get(simulator, UsmUserData("monitor"), CHARGE), 100)
            assert_no_answer(await get(simulator, UsmUserData("intruder"), CHARGE))

    run(scenario)


@pytest.mark.parametrize(
    "user",
    [
        UsmUserData(
            "tech",
            "wrongauth1",
            "privkey123",
            authProtocol=usmHMAC192SHA256AuthProtocol,
            privProtocol=usmAesCfb128Protocol,
        ),
        UsmUserData(
            "tech",
            "authkey123",
            "wrongpriv1",
            authProtocol=usmHMAC192SHA256AuthProtocol,
            privProtocol=usmAesCfb128Protocol,
        ),
        UsmUserData("tech", "authkey123", authProtocol=usmHMAC192SHA256AuthProtocol),
        UsmUserData("tech"),
    ],
    ids=["wrong-auth-key", "wrong-priv-key", "no-privacy", "no-auth"],
)
def test_v3_wrong_key_or_lower_security_level_gets_no_data(user: Any) -> None:
    async def scenario() -> None:
        async with serving(ups(), "127.0.0.7", V3_SHA256) as simulator:
            error, status, _, var_binds = await get(simulator, user, CHARGE)
            assert error is not None or int(status) != 0
            assert all(value.tagSet != rfc1902.Integer32.tagSet for _, value in var_binds)

    run(scenario)


def test_a_value_set_while_running_is_served_on_the_next_get() -> None:
    async def scenario() -> None:
        device = ups()
        async with serving(device, "127.0.0.8") as simulator:
            assert_value(await get(simulator, CommunityData("public"), LOAD), 37)
            device.set("ups.output.load_pct", 91)
            assert_value(await get(simulator, CommunityData("public"), LOAD), 91)

    run(scenario)


def test_a_scenario_is_visible_over_snmp() -> None:
    async def scenario() -> None:
        now = [0.0]
        device = SimulatedDevice(ups_rfc1628.DRIVER, clock=lambda: now[0], time_scale=10)
        async with serving(device, "127.0.0.8") as simulator:
            device.play("mains_fail")
            now[0] = 4.0  # 40 s on battery
            source = "1.3.6.1.2.1.33.1.4.1.0"
            assert_value(await get(simulator, CommunityData("public"), CHARGE, source), 60, 5)

    run(scenario)


@pytest.mark.parametrize("access", [None, V3_SHA256], ids=["v2c", "v3"])
def test_a_silent_device_does_not_answer_at_all(access: SnmpCredentials | None) -> None:
    auth = TECH_SHA256 if access else CommunityData("public")

    async def scenario() -> None:
        device = ups()
        async with serving(device, "127.0.0.9", access) as simulator:
            device.play("no_reply")
            error, _, _, var_binds = await get(simulator, auth, CHARGE, timeout=NO_REPLY)
            assert "timeout" in str(error).lower()  # not even a v3 discovery report
            assert list(var_binds) == []
            device.play("normal")
            assert_value(await get(simulator, auth, CHARGE), 100)

    run(scenario)


@pytest.mark.parametrize("access", [None, V3_SHA256], ids=["v2c", "v3"])
def test_set_gets_no_success_and_changes_nothing(access: SnmpCredentials | None) -> None:
    auth = TECH_SHA256 if access else CommunityData("public")

    async def scenario() -> None:
        device = ups()
        async with serving(device, "127.0.0.10", access) as simulator:
            client = SnmpEngine()
            try:
                error, status, _, _ = await set_cmd(
                    client,
                    auth,
                    await target(simulator, NO_REPLY),
                    ContextData(),
                    ObjectType(ObjectIdentity(CHARGE), Integer32(5)),
                    lookupMib=False,
                )
            finally:
                client.close_dispatcher()
            assert error is not None or int(status) != 0
            assert device.snapshot()["ups.battery.charge_pct"] == 100
            assert_value(await get(simulator, auth, CHARGE), 100)

    run(scenario)


def test_ipv6_loopback() -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")

    async def scenario() -> None:
        async with serving(ups(), "::1") as simulator:
            assert simulator.address == f"[::1]:{simulator.port}"
            assert_value(await get(simulator, CommunityData("public"), CHARGE), 100)

    run(scenario)


def test_each_simulator_has_its_own_engine_id() -> None:
    async def scenario() -> None:
        async with (
            serving(ups(), "127.0.0.11") as first,
            serving(ups(), "127.0.0.11") as second,
        ):
            assert first.port != second.port
            assert first.engine_id != second.engine_id

    run(scenario)


def test_an_address_in_use_is_a_clear_error() -> None:
    async def scenario() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.12", 0))
            port = taken.getsockname()[1]
            simulator = SnmpSimulator(ups(), "127.0.0.12", port)
            with pytest.raises(OSError, match=f"127.0.0.12:{port}.*in use"):
                await simulator.start()
            simulator.stop()

    run(scenario)


def test_an_address_not_on_this_machine_is_a_clear_error() -> None:
    async def scenario() -> None:
        simulator = SnmpSimulator(ups(), "192.0.2.1", 16161)  # TEST-NET-1, never local
        with pytest.raises(OSError, match=r"192\.0\.2\.1:16161.*no local interface"):
            await simulator.start()

    run(scenario)


def test_a_host_name_is_refused() -> None:
    with pytest.raises(ValueError, match="IP address"):
        SnmpSimulator(ups(), "localhost")


def test_stop_releases_the_port_without_resource_warnings() -> None:
    async def scenario() -> int:
        simulator = SnmpSimulator(ups(), "127.0.0.13")
        await simulator.start()
        assert_value(await get(simulator, CommunityData("public"), CHARGE), 100)
        simulator.stop()
        simulator.stop()
        quick = SnmpSimulator(ups(), "127.0.0.13")
        await quick.start()
        quick.stop()  # before the loop ever attached its socket
        return simulator.port

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        port = asyncio.run(scenario())
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.13", port))


def test_start_twice_is_refused() -> None:
    async def scenario() -> None:
        async with serving(ups(), "127.0.0.14") as simulator:
            with pytest.raises(RuntimeError, match="already running"):
                await simulator.start()

    run(scenario)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"user": None}, "needs user"),
        ({"auth_protocol": AuthProtocol.SHA}, "go together"),
        ({"priv_protocol": PrivProtocol.AES128, "priv_key": "privkey123"}, "needs authentication"),
        ({"auth_protocol": AuthProtocol.SHA, "auth_key": "short"}, "at least 8 characters"),
        ({"version": SnmpVersion.V2C}, "user only apply to snmp_version 3"),
    ],
)
def test_inconsistent_access_is_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SnmpCredentials(**{"version": SnmpVersion.V3, "user": "tech", **fields})
