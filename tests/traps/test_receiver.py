"""TrapReceiver over real UDP: v1, v2c, informs, v3; drops, floods and trap maps.

Senders are net-snmp's snmptrap / snmpinform (a real peer; --clientaddr picks
the source address) and the simulators' send_trap.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from drivers import fm_transmitter_nautel as nautel
from drivers import scte_hms_optical as hms
from drivers import ups_rfc1628 as ups
from fieldagent import traps
from fieldagent.config import SnmpCredentials, SnmpVersion, parse_device
from fieldagent.driver import Counter, IpAddress, OidValue, TrapAction
from fieldagent.model import HealthState
from fieldagent.sim import snmp_agent
from fieldagent.transports.snmp import SnmpClient, SnmpTarget
from fieldagent.traps import TrapReceiver, TrapsSection
from tests.traps import (
    LISTEN,
    V3,
    V3_SNMPTRAP_ARGS,
    device,
    receiving,
    run_tool,
    simulator,
    until,
)

MINUTES = "1.3.6.1.2.1.33.1.2.3.0"
MANUFACTURER = "1.3.6.1.2.1.33.1.1.1.0"
ALARM_ID = "1.3.6.1.2.1.33.1.6.2.1.1.3"
ALARM_DESCR = "1.3.6.1.2.1.33.1.6.2.1.2.3"
SNMPTRAP_ENGINE_ID = "8000000001020304"


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 60))


def where(port: int) -> str:
    return f"{LISTEN}:{port}"


# -- versions -----------------------------------------------------------------


def test_v1_trap_from_snmptrap_is_the_smiv2_notification() -> None:
    async def body() -> None:
        async with receiving([device("ups1", "127.0.0.11")]) as h:
            code, err = await run_tool(
                "snmptrap", "-v1", "-c", "public", "--clientaddr=127.0.0.11",
                where(h.receiver.port),
                "1.3.6.1.2.1.33.2", "127.0.0.11", "6", "1", "",
                MINUTES, "i", "12",
            )  # fmt: skip
            assert code == 0, err
            event = await h.event()
            assert (event.device_id, event.source) == ("ups1", "127.0.0.11")
            # enterprise 1.3.6.1.2.1.33.2, specific 1 == upsTrapOnBattery (RFC 3584)
            assert event.trap_oid == ups.TRAP_ON_BATTERY
            assert event.rule is not None and event.rule.alarm == "ups.on_battery"
            assert event.rule.action is TrapAction.RAISE
            assert event.value == 12
            agent_addr = event.varbinds["1.3.6.1.6.3.18.1.3.0"]
            assert (
                agent_addr == IpAddress(bytes([127, 0, 0, 11])) and str(agent_addr) == "127.0.0.11"
            )
            assert "1.3.6.1.6.3.18.1.4.0" not in event.varbinds  # the community is a secret
            assert h.counters["received"] == 1

    run(body)


def test_v1_trap_from_the_simulator() -> None:
    async def body() -> None:
        creds = SnmpCredentials(SnmpVersion.V1, community="tram")
        async with (
            receiving([device("ups1", "127.0.0.12", creds)]) as h,
            simulator("127.0.0.12", creds) as sim,
        ):
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 9})
            event = await h.event()
            assert event.device_id == "ups1"
            assert event.trap_oid == ups.TRAP_ON_BATTERY
            assert event.value == 9
            assert event.varbinds["1.3.6.1.6.3.18.1.3.0"] == IpAddress(bytes([127, 0, 0, 12]))

    run(body)


def test_v2c_trap_from_snmptrap_and_from_the_simulator() -> None:
    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.13")]) as h,
            simulator("127.0.0.13") as sim,
        ):
            code, err = await run_tool(
                "snmptrap", "-v2c", "-c", "public", "--clientaddr=127.0.0.13",
                where(h.receiver.port), "", ups.TRAP_ON_BATTERY, MINUTES, "i", "31",
            )  # fmt: skip
            assert code == 0, err
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 30})
            await until(lambda: len(h.events) == 2, "two traps")
            assert sorted(e.value for e in h.events if e.device_id == "ups1") == [30, 31]
            assert all(e.rule is not None and e.rule.alarm == "ups.on_battery" for e in h.events)
            assert h.moved(dict.fromkeys(h.counters, 0)) == {"datagrams": 2, "received": 2}

    run(body)


def test_without_listen_it_receives_on_the_address_the_devices_are_reached_from() -> None:
    async def body() -> None:
        async with (
            receiving(
                [device("ups1", "127.0.0.52"), device("ups2", "127.0.0.53")], listen=None
            ) as h,
            simulator("127.0.0.52") as sim,
        ):
            assert h.receiver.address == f"127.0.0.1:{h.receiver.port}"  # not 0.0.0.0
            await sim.send_trap(("127.0.0.77", h.receiver.port), ups.TRAP_ON_BATTERY, {MINUTES: 1})
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 2})
            assert (await h.event()).value == 2
            assert h.counters["datagrams"] == 1, "another local address is not listened on"

    run(body)


def test_without_listen_devices_reached_from_several_addresses_get_every_address() -> None:
    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.54"), device("ups6", "::1")], listen=None) as h,
            simulator("127.0.0.54") as sim,
        ):
            assert h.receiver.address == f"[::]:{h.receiver.port}"
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 3})
            assert (await h.event()).device_id == "ups1"

    run(body)


def test_a_device_read_locally_is_no_trap_sender_and_does_not_widen_the_address() -> None:
    async def body() -> None:
        here = parse_device({"id": "box", "driver": "agent_host", "host": "::1"})  # this box
        async with receiving([device("ups1", "127.0.0.56"), here], listen=None) as h:
            assert h.receiver.address == f"127.0.0.1:{h.receiver.port}"

    run(body)


def test_v2c_inform_is_acknowledged() -> None:
    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.14")]) as h,
            simulator("127.0.0.14") as sim,
        ):
            # snmpinform exits 0 only once the receiver has acknowledged it
            code, err = await run_tool(
                "snmpinform", "-v2c", "-c", "public", "-t", "2", "-r", "0",
                "--clientaddr=127.0.0.14", where(h.receiver.port), "", ups.TRAP_TEST_COMPLETED,
            )  # fmt: skip
            assert code == 0, err
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 5}, inform=True)
            assert len(h.events) == 2  # both delivered before their acknowledgement returned
            assert h.events[0].trap_oid == ups.TRAP_TEST_COMPLETED
            assert h.events[0].rule is None  # a test result is not an alarm

    run(body)


def test_inform_that_is_dropped_is_not_acknowledged() -> None:
    async def body() -> None:
        async with receiving([device("ups1", "127.0.0.15")]) as h:
            for community, source in (("wrong", "127.0.0.15"), ("public", "127.0.0.16")):
                code, _ = await run_tool(
                    "snmpinform", "-v2c", "-c", community, "-t", "0.3", "-r", "0",
                    f"--clientaddr={source}", where(h.receiver.port), "", ups.TRAP_ON_BATTERY,
                )  # fmt: skip
                assert code != 0
            assert h.moved(dict.fromkeys(h.counters, 0)) == {
                "datagrams": 2,
                "auth_failed": 1,
                "unknown_sender": 1,
            }
            assert h.events == []

    run(body)


def test_v3_authpriv_trap_from_the_simulator_and_from_snmptrap() -> None:
    async def body() -> None:
        async with (
            receiving([device("ups3", "127.0.0.17", V3)]) as h,
            simulator("127.0.0.17", V3) as sim,
        ):
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 7})
            event = await h.event()
            assert (event.device_id, event.value) == ("ups3", 7)
            code, err = await run_tool(
                "snmptrap", *V3_SNMPTRAP_ARGS, "-e", f"0x{SNMPTRAP_ENGINE_ID}",
                "--clientaddr=127.0.0.17", where(h.receiver.port), "",
                ups.TRAP_ON_BATTERY, MINUTES, "i", "6",
            )  # fmt: skip
            assert code == 0, err
            event = await h.event(1)
            assert (event.device_id, event.value) == ("ups3", 6)
            assert event.rule is not None and event.rule.alarm == "ups.on_battery"
            # the simulator again: its engine id is still known
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 5})
            assert (await h.event(2)).value == 5
            assert h.counters["auth_failed"] == h.counters["malformed"] == 0

    run(body)


def test_v3_inform_discovers_the_receiver() -> None:
    async def body() -> None:
        async with (
            receiving([device("ups3", "127.0.0.18", V3)]) as h,
            simulator("127.0.0.18", V3) as sim,
        ):
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 4}, inform=True)
            assert [e.value for e in h.events] == [4]
            assert h.counters["discovery"] >= 1
            assert h.counters["auth_failed"] == 0

    run(body)


def test_v3_trap_with_wrong_keys_or_a_lower_level_is_dropped() -> None:
    async def body() -> None:
        async with receiving([device("ups3", "127.0.0.19", V3)]) as h:
            attempts = [
                [*V3_SNMPTRAP_ARGS[:-1], "not-the-priv-key"],
                [*V3_SNMPTRAP_ARGS[:8], "not-the-auth-key", *V3_SNMPTRAP_ARGS[9:]],
                ["-v3", "-u", "tech", "-l", "noAuthNoPriv"],  # spoofing the user without keys
                ["-v3", "-u", "intruder", "-l", "noAuthNoPriv"],
            ]
            for args in attempts:
                code, err = await run_tool(
                    "snmptrap", *args, "-e", f"0x{SNMPTRAP_ENGINE_ID}",
                    "--clientaddr=127.0.0.19", where(h.receiver.port), "", ups.TRAP_ON_BATTERY,
                )  # fmt: skip
                assert code == 0, err
            await until(lambda: h.counters["datagrams"] == len(attempts), "every attempt")
            assert h.moved(dict.fromkeys(h.counters, 0)) == {
                "datagrams": len(attempts),
                "auth_failed": len(attempts),
            }
            assert h.events == []
            # nothing was learned from the forged messages: the real keys still work
            code, err = await run_tool(
                "snmptrap", *V3_SNMPTRAP_ARGS, "-e", f"0x{SNMPTRAP_ENGINE_ID}",
                "--clientaddr=127.0.0.19", where(h.receiver.port), "", ups.TRAP_ON_BATTERY,
            )  # fmt: skip
            assert code == 0, err
            assert (await h.event()).device_id == "ups3"

    run(body)


def test_a_pinned_engine_id_is_required() -> None:
    async def body() -> None:
        pinned = {"engine_ids": {"ups3": f"0x{SNMPTRAP_ENGINE_ID}"}}
        async with (
            receiving([device("ups3", "127.0.0.20", V3)], **pinned) as h,
            simulator("127.0.0.20", V3) as sim,
        ):
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 3})  # its own engine id
            await until(lambda: h.counters["unknown_sender"] == 1, "the foreign engine dropped")
            code, err = await run_tool(
                "snmptrap", *V3_SNMPTRAP_ARGS, "-e", f"0x{SNMPTRAP_ENGINE_ID}",
                "--clientaddr=127.0.0.20", where(h.receiver.port), "", ups.TRAP_ON_BATTERY,
            )  # fmt: skip
            assert code == 0, err
            assert (await h.event()).device_id == "ups3"
            assert len(h.events) == 1

    run(body)


# -- drops --------------------------------------------------------------------


def test_wrong_community_is_dropped_and_counted() -> None:
    async def body() -> None:
        creds = SnmpCredentials(community="tram")
        async with (
            receiving([device("ups1", "127.0.0.21", creds)], communities=["station-traps"]) as h,
            simulator("127.0.0.21", SnmpCredentials(community="public")) as wrong,
        ):
            await wrong.send_trap(h.target, ups.TRAP_ON_BATTERY)
            code, err = await run_tool(
                "snmptrap", "-v1", "-c", "nope", "--clientaddr=127.0.0.21",
                where(h.receiver.port), "1.3.6.1.2.1.33.2", "127.0.0.21", "6", "1", "",
            )  # fmt: skip
            assert code == 0, err
            await until(lambda: h.counters["auth_failed"] == 2, "two wrong communities")
            assert h.events == []
            # the device's own community and the station-wide trap community both work
            for community in ("tram", "station-traps"):
                code, err = await run_tool(
                    "snmptrap", "-v2c", "-c", community, "--clientaddr=127.0.0.21",
                    where(h.receiver.port), "", ups.TRAP_ON_BATTERY,
                )  # fmt: skip
                assert code == 0, err
            await until(lambda: len(h.events) == 2, "two good traps")
            assert h.moved(dict.fromkeys(h.counters, 0)) == {
                "datagrams": 4,
                "auth_failed": 2,
                "received": 2,
            }

    run(body)


def test_unknown_sender_is_dropped_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.22")]) as h,
            simulator("127.0.0.23") as stranger,
        ):
            for _ in range(3):
                await stranger.send_trap(h.target, ups.TRAP_ON_BATTERY)
            code, err = await run_tool(
                "snmptrap", "-v2c", "-c", "public", "--clientaddr=127.0.0.24",
                where(h.receiver.port), "", ups.TRAP_ON_BATTERY,
            )  # fmt: skip
            assert code == 0, err
            await until(lambda: h.counters["unknown_sender"] == 4, "four strangers")
            assert h.events == []
            assert h.counters["received"] == 0

    with caplog.at_level(logging.WARNING, logger="fieldagent.traps"):
        run(body)
    dropped = [r.getMessage() for r in caplog.records if "no configured device" in r.getMessage()]
    # logged, but a repeating sender only once per minute
    assert sorted(dropped) == [
        "dropped a trap from 127.0.0.23: no configured device there",
        "dropped a trap from 127.0.0.24: no configured device there",
    ]


def test_a_flood_is_rate_limited_and_reported_until_it_stops() -> None:
    async def body() -> None:
        async with (
            receiving(
                [device("ups1", "127.0.0.25"), device("ups2", "127.0.0.26")],
                rate_limit=5,
                rate_window_s=1.5,
            ) as h,
            simulator("127.0.0.25") as noisy,
            simulator("127.0.0.26") as quiet,
        ):
            for n in range(20):
                await noisy.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: n})
            await quiet.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 99})
            await until(lambda: h.counters["datagrams"] == 21, "every datagram")
            assert h.counters["rate_limited"] == 15
            assert [e.value for e in h.events if e.device_id == "ups1"] == [0, 1, 2, 3, 4]
            assert [e.value for e in h.events if e.device_id == "ups2"] == [99]
            assert h.floods == [("127.0.0.25", True)]
            await until(lambda: len(h.floods) == 2, "the flood to end", timeout=6)
            assert h.floods == [("127.0.0.25", True), ("127.0.0.25", False)]
            await noisy.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 100})
            assert (await h.event(6)).value == 100

    run(body)


def test_stop_ends_a_flood_in_progress() -> None:
    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.27")], rate_limit=1, rate_window_s=60) as h,
            simulator("127.0.0.27") as sim,
        ):
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY)
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY)
            await until(lambda: h.floods == [("127.0.0.27", True)], "the flood")
            h.receiver.stop()
            assert h.floods == [("127.0.0.27", True), ("127.0.0.27", False)]
            h.receiver.stop()  # twice is fine

    run(body)


def test_garbage_from_ever_changing_addresses_floods_the_port_and_keeps_to_the_log_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every datagram from an address of its own: no sender floods, the station does."""
    addresses = [f"127.0.{block}.{host}" for block in (1, 2) for host in range(1, 251)]

    async def body() -> None:
        async with (
            receiving(
                [device("ups1", "127.0.0.51")], station_rate_limit=100, rate_window_s=1.0
            ) as h,
            simulator("127.0.0.51") as ups1,
        ):
            for sent, address in enumerate(addresses, start=1):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                    sender.bind((address, 0))
                    sender.sendto(b"\x30\x03\x02\x01garbage", h.target)
                if sent % 50 == 0:  # the receiver runs in this loop: let it read, lose none
                    await until(lambda n=sent: h.counters["datagrams"] == n, f"{sent} datagrams")
            assert h.counters["malformed"] == len(addresses)
            assert h.floods == [(None, True)]
            await ups1.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 7})
            assert (await h.event()).value == 7, "a configured device still gets through"
            await until(lambda: len(h.floods) == 2, "the flood to end", timeout=6)
            assert h.floods == [(None, True), (None, False)]

    with caplog.at_level(logging.WARNING, logger="fieldagent.traps"):
        run(body)
    lines = [r.getMessage() for r in caplog.records]
    dropped = [line for line in lines if line.startswith("dropped a malformed datagram")]
    assert len(dropped) == traps.LOG_BUDGET
    unlogged = len(addresses) - traps.LOG_BUDGET
    assert any(line.startswith(f"trap receiver: {unlogged} more dropped") for line in lines)
    assert len(lines) <= traps.LOG_BUDGET + 3, lines  # + the flood, its end, the count


# -- trap maps ----------------------------------------------------------------


def test_ups_alarm_traps_raise_and_clear() -> None:
    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.28")]) as h,
            simulator("127.0.0.28") as sim,
        ):
            plays = [
                (ups.TRAP_ALARM_ADDED, ups.ALARM_LOW_BATTERY),
                (ups.TRAP_ALARM_ADDED, f"{ups._UPS}.6.3.8"),  # upsAlarmOutputOverload
                (ups.TRAP_ALARM_REMOVED, f"{ups._UPS}.6.3.8"),
                (ups.TRAP_ALARM_REMOVED, ups.ALARM_LOW_BATTERY),
                (ups.TRAP_ALARM_REMOVED, ups.ALARM_ON_BATTERY),
            ]
            for trap_oid, alarm in plays:
                await sim.send_trap(h.target, trap_oid, {ALARM_ID: 3, ALARM_DESCR: OidValue(alarm)})
            await until(lambda: len(h.events) == len(plays), "every alarm trap")
            seen = [
                (e.alarm_key, e.rule.action, e.rule.severity)
                for e in h.events
                if e.rule is not None
            ]
            overload = f"ups.alarm[oid={ups._UPS}.6.3.8]"
            assert seen == [
                ("ups.battery_low", TrapAction.RAISE, HealthState.CRITICAL),
                (overload, TrapAction.RAISE, HealthState.WARNING),
                (overload, TrapAction.CLEAR, HealthState.OK),
                ("ups.battery_low", TrapAction.CLEAR, HealthState.OK),
                ("ups.on_battery", TrapAction.CLEAR, HealthState.OK),
            ]
            assert h.counters["unknown_trap"] == 0

    run(body)


def test_hms_alarm_event_carries_state_object_and_value() -> None:
    laser_output = "1.3.6.1.4.1.5591.1.11.1.1.1.1.3.1.4.2.1"

    def event(state: int) -> dict[str, object]:
        return {
            f"{hms.LOG_OID}.7": OidValue(laser_output),
            f"{hms.LOG_VALUE}.7": 25,
            f"{hms.LOG_STATE}.7": state,
            f"{hms.LOG_TIME}.7": bytes([0x07, 0xEA, 5, 1, 10, 30, 0, 0]),
            f"{hms.LOG_MODULE_ID_OID}.7": OidValue("1.3.6.1.2.1.47.1.1.1.1.1.2"),
            f"{hms.LOG_CARD_TYPE}.7": "1550 nm transmitter",
            f"{hms.LOG_ALIAS}.7": "TX1",
        }

    async def body() -> None:
        async with (
            receiving([device("optical1", "127.0.0.29", driver="scte_hms_optical")]) as h,
            simulator("127.0.0.29", driver="scte_hms_optical") as sim,
        ):
            for state in (5, 3, 1, 8):  # LOLO, HI, nominal, informational
                await sim.send_trap(h.target, hms.HE_COMMON_ALARM_EVENT, event(state))  # type: ignore[arg-type]
            await until(lambda: len(h.events) == 4, "four HMS events")
            lolo, hi, nominal, info = h.events
            key = f"hms.alarm[oid={laser_output}]"
            assert lolo.rule is not None and lolo.rule.severity is HealthState.CRITICAL
            assert (lolo.alarm_key, lolo.value, lolo.rule.action) == (key, 25, TrapAction.RAISE)
            assert hi.rule is not None and hi.rule.severity is HealthState.WARNING
            assert nominal.rule is not None and nominal.rule.action is TrapAction.CLEAR
            assert nominal.alarm_key == key
            assert info.rule is None and info.trap_oid == hms.HE_COMMON_ALARM_EVENT
            assert info.varbinds[f"{hms.LOG_ALIAS}.7"] == b"TX1"
            assert info.varbinds[f"{hms.LOG_TIME}.7"] == bytes([0x07, 0xEA, 5, 1, 10, 30, 0, 0])
            assert h.counters["unknown_trap"] == 1

    run(body)


def test_nautel_modelled_alarm_summary_trap() -> None:
    high_swr = "1.3.6.1.4.1.28142.1.300.512.1.0"

    async def body() -> None:
        async with (
            receiving([device("fm1", "127.0.0.30", driver="fm_transmitter_nautel")]) as h,
            simulator("127.0.0.30", driver="fm_transmitter_nautel") as sim,
        ):
            await sim.send_trap(h.target, nautel.ALARM_SUMMARY_TRAP, {high_swr: 1})
            await sim.send_trap(h.target, nautel.ALARM_SUMMARY_TRAP, {high_swr: 0})
            await until(lambda: len(h.events) == 2, "raise and clear")
            raised, cleared = (e.rule for e in h.events)
            assert raised is not None and cleared is not None
            assert (raised.alarm, raised.action, raised.severity) == (
                nautel.HIGH_SWR,
                TrapAction.RAISE,
                HealthState.CRITICAL,
            )
            assert (cleared.alarm, cleared.action) == (nautel.HIGH_SWR, TrapAction.CLEAR)

    run(body)


def test_unknown_trap_of_a_known_device_keeps_its_varbinds() -> None:
    base = "1.3.6.1.4.1.99999.1"
    sent = {
        f"{base}.1.0": 42,
        f"{base}.2.0": "Nhiệt độ cao",
        f"{base}.3.0": b"\x00\xff\x10",
        f"{base}.4.0": OidValue("1.3.6.1.4.1.99999.7"),
        f"{base}.5.0": Counter(2**40, 64),
        f"{base}.6.0": Counter(7),
    }

    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.31")]) as h,
            simulator("127.0.0.31") as sim,
        ):
            await sim.send_trap(h.target, "1.3.6.1.4.1.99999.0.7", sent)
            event = await h.event()
            assert event.rule is None and event.alarm_key is None
            assert event.trap_oid == "1.3.6.1.4.1.99999.0.7"
            # text is served as its UTF-8 octets, and read back as those octets
            assert event.varbinds == {**sent, f"{base}.2.0": "Nhiệt độ cao".encode()}
            assert isinstance(event.varbinds[f"{base}.4.0"], OidValue)
            counter = event.varbinds[f"{base}.5.0"]
            assert isinstance(counter, Counter) and counter.bits == 64
            assert event.received_at.tzinfo is not None
            assert h.counters["unknown_trap"] == h.counters["received"] == 1

    run(body)


def test_devices_sharing_an_address_are_told_apart_by_community() -> None:
    async def body() -> None:
        devices = [
            device("ups-a", "127.0.0.32", SnmpCredentials(community="alpha"), port=1161),
            device("ups-b", "127.0.0.32", SnmpCredentials(community="beta"), port=2161),
        ]
        async with (
            receiving(devices) as h,
            simulator("127.0.0.32", SnmpCredentials(community="beta")) as sim,
        ):
            await sim.send_trap(h.target, ups.TRAP_ON_BATTERY)
            assert (await h.event()).device_id == "ups-b"

    run(body)


def test_a_failing_handler_does_not_stop_the_receiver(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        seen: list[object] = []

        def handler(event: object) -> None:
            seen.append(event)
            raise RuntimeError("the lead's handler broke")

        settings = TrapsSection(enabled=True, listen=LISTEN, port=0)
        receiver = TrapReceiver(
            settings, [device("ups1", "127.0.0.33")], {}, handler, lambda s, f: None
        )
        await receiver.start()
        try:
            async with simulator("127.0.0.33") as sim:
                await sim.send_trap((LISTEN, receiver.port), ups.TRAP_ON_BATTERY)
                await sim.send_trap((LISTEN, receiver.port), ups.TRAP_ON_BATTERY)
                await until(lambda: len(seen) == 2, "both traps")
        finally:
            receiver.stop()
        assert receiver.counters.received == 2
        assert receiver.counters.unknown_trap == 2  # no driver given: no rules

    with caplog.at_level(logging.ERROR, logger="fieldagent.traps"):
        run(body)
    assert any("the trap handler failed" in r.getMessage() for r in caplog.records)


def test_a_receiver_bug_hit_by_every_datagram_keeps_to_the_log_budget(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that hostile input hits on every datagram logs its traceback a few times only."""

    def broken(datagram: bytes) -> traps.TrapHeader:
        raise RuntimeError("a bug in the screening")

    monkeypatch.setattr(traps, "read_header", broken)
    addresses = [f"127.0.4.{host}" for host in range(1, 101)]

    async def body() -> None:
        async with receiving([device("ups1", "127.0.0.55")]) as h:
            for sent, address in enumerate(addresses, start=1):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                    sender.bind((address, 0))
                    sender.sendto(b"\x30\x00", h.target)
                if sent % 50 == 0:  # the receiver runs in this loop: let it read, lose none
                    await until(lambda n=sent: h.counters["datagrams"] == n, f"{sent} datagrams")
            assert h.counters["malformed"] == len(addresses), "the receiver went on"

    with caplog.at_level(logging.WARNING, logger="fieldagent.traps"):
        run(body)
    failed = [r for r in caplog.records if "failed on a datagram" in r.getMessage()]
    assert len(failed) == traps.LOG_BUDGET
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failed)


# -- binding ------------------------------------------------------------------


def test_a_busy_port_fails_with_the_address() -> None:
    async def body() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
            busy.bind((LISTEN, 0))
            port = busy.getsockname()[1]
            settings = TrapsSection(enabled=True, listen=LISTEN, port=port)
            receiver = TrapReceiver(settings, [], {}, lambda e: None, lambda s, f: None)
            with pytest.raises(OSError) as failure:
                await receiver.start()
            assert failure.value.errno == errno.EADDRINUSE
            assert f"cannot receive SNMP traps at {LISTEN}:{port}" in str(failure.value)
            assert "snmptrapd" in str(failure.value)
            receiver.stop()

    run(body)


_PRIVILEGED_BIND = """
import asyncio, sys
from fieldagent import traps
from fieldagent.traps import TrapReceiver, TrapsSection
async def main():
    receiver = TrapReceiver(TrapsSection(listen="127.0.0.1"), [], {}, print, print)
    try:
        await receiver.start()
    except OSError as exc:
        print(exc)
        sys.exit(3)
    receiver.stop()
asyncio.run(main())
"""


def test_a_privileged_port_without_the_capability_says_what_is_needed() -> None:
    """Port 162 without CAP_NET_BIND_SERVICE (root drops it from its bounding set, via setpriv).

    Root keeps its uid, so the check runs from a checkout only root can read.
    """
    if Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text().strip() != "1024":
        pytest.skip("unprivileged users may bind low ports on this machine")
    command = [sys.executable, "-c", _PRIVILEGED_BIND]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop the capability")
        command = ["setpriv", "--bounding-set=-net_bind_service", *command]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=30, cwd=Path(__file__).parents[2]
    )
    assert done.returncode == 3, done.stderr
    assert "cannot receive SNMP traps at 127.0.0.1:162: Permission denied" in done.stdout
    assert "CAP_NET_BIND_SERVICE" in done.stdout
    assert "port = 1162" in done.stdout


# -- the simulators' side -----------------------------------------------------


def test_a_simulator_still_answers_polls_after_sending_traps() -> None:
    async def body() -> None:
        for host, creds in (("127.0.0.34", SnmpCredentials()), ("127.0.0.35", V3)):
            async with (
                receiving([device("ups", host, creds)]) as h,
                simulator(host, creds) as sim,
            ):
                await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, {MINUTES: 1})
                await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, inform=True)
                await until(lambda: len(h.events) == 2, "both")
                client = SnmpClient()
                try:
                    target = SnmpTarget(host, sim.port, creds, timeout=1.0, retries=1)
                    objects = await client.get(target, [MANUFACTURER])
                finally:
                    client.close()
                assert objects[MANUFACTURER] == b"Santak"

    run(body)


def test_an_unacknowledged_inform_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snmp_agent, "INFORM_TIMEOUT_S", 0.2)
    monkeypatch.setattr(snmp_agent, "INFORM_RETRIES", 1)

    async def body() -> None:
        async with (
            receiving([device("ups1", "127.0.0.36")]) as h,
            simulator("127.0.0.36", SnmpCredentials(community="wrong")) as sim,
        ):
            with pytest.raises(TimeoutError, match="not acknowledged"):
                await sim.send_trap(h.target, ups.TRAP_ON_BATTERY, inform=True)
            assert h.counters["auth_failed"] == 2  # the inform and its retry
            with pytest.raises(ValueError, match="no inform"):
                async with simulator("127.0.0.36", SnmpCredentials(SnmpVersion.V1)) as v1:
                    await v1.send_trap(h.target, ups.TRAP_ON_BATTERY, inform=True)

    run(body)
