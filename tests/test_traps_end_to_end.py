"""Traps end to end: from a simulated UPS and from net-snmp's snmptrap (a real peer) to
alarms on the broker; an unknown sender's trap and garbage datagrams publish nothing; a trap
alarm whose clearing trap never comes is cleared by the polls, for each driver's traps."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drivers import fm_transmitter_nautel as nautel
from drivers import scte_hms_optical as hms
from drivers.ups_rfc1628 import (
    ALARM_DESCR,
    ALARM_LOW_BATTERY,
    ALARM_ON_BATTERY,
    TRAP_ALARM_ADDED,
    TRAP_ALARM_REMOVED,
)
from fieldagent.alarms.engine import REASON_CAUSE_OVER
from fieldagent.driver import OidValue, RawValue
from fieldagent.localbroker import LocalBroker, free_port
from fieldagent.traps import LOG_BUDGET
from tests.agentproc import AgentProcess
from tests.mqtt_probe import MqttProbe, Received
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station
from tests.support.snmptrap import ups_on_battery

ROOT_TOPIC = "bctv/v1/test-station"


def alarm_messages(messages: list[Received]) -> list[dict[str, object]]:
    return [m.json() for m in messages if m.topic == f"{ROOT_TOPIC}/alarm"]


def agent_with_traps(
    folder: Path, broker: LocalBroker, devices: list[dict[str, Any]], more_toml: str = ""
) -> tuple[AgentProcess, int]:
    """The agent as a process, polling `devices` and receiving traps on 127.0.0.1; its trap port.

    `more_toml` is appended to the station file (a transmitter's checklist nominal, say).
    """
    trap_port = free_port(udp=True)
    # Full telemetry: every poll is published, so a confirming poll shows.
    config = write_station(folder, devices, mqtt={"url": broker.url}, telemetry=FULL)
    with config.open("a", encoding="utf-8") as station:
        station.write(f'\n[traps]\nenabled = true\nlisten = "127.0.0.1"\nport = {trap_port}\n')
        station.write(more_toml)
    return AgentProcess("run", "-c", str(config)), trap_port


def test_traps_from_a_known_device_reach_the_broker_as_alarms(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    agent, trap_port = agent_with_traps(
        tmp_path, broker, [device_fields("ups-main", sim, interval=30)]
    )
    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/ups-main/health") for m in ms))
        # Garbage and a stranger first: neither may publish anything.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            junk.sendto(b"\x30\x03\x02\x01garbage", ("127.0.0.1", trap_port))
        ups_on_battery("127.0.0.9", trap_port, 12)
        # A real peer from the device's own address: net-snmp's snmptrap.
        sent = time.monotonic()
        sent_at = datetime.now(UTC)
        ups_on_battery("127.0.0.2", trap_port)
        messages = probe.wait_for(
            lambda ms: any(a["event"] == "raised" for a in alarm_messages(ms)), timeout=10
        )
        latency = time.monotonic() - sent
        # The trap also makes the agent poll the UPS at once (its interval is 30 s); the
        # reading's own time says when (telemetry is published with the next batch commit).
        polled = probe.wait_for(
            lambda ms: len([m for m in ms if m.topic.endswith("/ups-main/telemetry")]) >= 2,
            timeout=10,
        )
        confirming = [m.json() for m in polled if m.topic.endswith("/ups-main/telemetry")][1]
        assert (datetime.fromisoformat(confirming["ts"]) - sent_at).total_seconds() < 5
        sims.call(
            sim.send_trap(
                ("127.0.0.1", trap_port),
                TRAP_ALARM_REMOVED,
                {f"{ALARM_DESCR}.1": OidValue(ALARM_ON_BATTERY)},
            )
        )
        messages = probe.wait_for(
            lambda ms: any(a["event"] == "cleared" for a in alarm_messages(ms)), timeout=10
        )
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    alarms = alarm_messages(messages)
    raised = [a for a in alarms if a["event"] == "raised"]
    assert len(raised) == 1, alarms  # the stranger's trap raised nothing
    assert raised[0]["alarm_id"] == "test-station/ups-main/ups.on_battery/trap"
    assert raised[0]["value"] == 35
    assert raised[0]["message"]["en"] == "UPS on battery (mains power lost)"
    assert [a["event"] for a in alarms] == ["raised", "cleared"]
    assert latency < 1.0, latency  # "faults reach the province within a second"
    assert "unknown sender" in stderr or "127.0.0.9" in stderr


LASER_OUTPUT = "1.3.6.1.4.1.5591.1.11.1.1.1.1.3.1.4.2.1"
LOST_CLEARS = [
    # driver, device address, the trap (None: snmptrap's upsTrapOnBattery), the alarm id's end,
    # the reading that shows the cause over
    ("ups_rfc1628", "127.0.0.3", None, "ups.on_battery/trap", "ups.output.source"),
    (
        "ups_rfc1628",
        "127.0.0.10",
        (TRAP_ALARM_ADDED, {f"{ALARM_DESCR}.2": OidValue(ALARM_LOW_BATTERY)}),
        "ups.battery_low/trap",
        "ups.battery.status",
    ),
    (
        "fm_transmitter_nautel",
        "127.0.0.4",
        (nautel.ALARM_SUMMARY_TRAP, {nautel.DRIVER.metric(nautel.HIGH_SWR).source_key: 1}),
        f"{nautel.HIGH_SWR}/state",
        nautel.HIGH_SWR,
    ),
    (
        "scte_hms_optical",
        "127.0.0.5",
        (
            hms.HE_COMMON_ALARM_EVENT,
            {
                f"{hms.LOG_OID}.7": OidValue(LASER_OUTPUT),
                f"{hms.LOG_VALUE}.7": 25,
                f"{hms.LOG_STATE}.7": 5,  # LOLO
            },
        ),
        f"hms.alarm[oid={LASER_OUTPUT}]/trap",
        hms.ALARM_COUNT,
    ),
]


@pytest.mark.parametrize(
    ("driver", "host", "trap", "alarm", "reading"),
    LOST_CLEARS,
    ids=[c[3].split("[")[0].removesuffix("/trap") for c in LOST_CLEARS],
)
def test_a_trap_alarm_whose_clearing_trap_is_lost_is_cleared_by_the_polls(
    tmp_path: Path,
    broker: LocalBroker,
    probe: MqttProbe,
    sims: SimRunner,
    driver: str,
    host: str,
    trap: tuple[str, dict[str, RawValue]] | None,
    alarm: str,
    reading: str,
) -> None:
    """The device is fine all along (the simulator plays `normal`): one trap raises the
    alarm at once, and polls reading `reading` normal clear it after its clear delay."""
    sim = sims.serve(driver, host)
    fields = device_fields("dev", sim, interval=1, limits={reading: {"clear_delay_s": 2}})
    # The pre-holiday checklist's power items need a transmitter's licensed power.
    nominal = '\n[checklist.nominal.dev]\n"rf.forward_power_w" = 2000\n'
    agent, trap_port = agent_with_traps(
        tmp_path, broker, [fields], nominal if sim.device.driver.kind == "transmitter" else ""
    )
    alarm_id = f"test-station/dev/{alarm}"

    def events(ms: list[Received]) -> list[dict[str, object]]:
        return [a for a in alarm_messages(ms) if a["alarm_id"] == alarm_id]

    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/dev/health") for m in ms))
        if trap is None:  # a real peer: net-snmp's snmptrap from the UPS's address
            ups_on_battery(host, trap_port)
        else:
            sims.call(sim.send_trap(("127.0.0.1", trap_port), *trap))
        messages = probe.wait_for(lambda ms: len(events(ms)) >= 2, timeout=30)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    raised, cleared = events(messages)[:2]
    assert (raised["event"], cleared["event"]) == ("raised", "cleared"), events(messages)
    if alarm.endswith("/trap"):
        assert str(cleared["reason"]).startswith(f"{REASON_CAUSE_OVER}: {reading} "), cleared
    else:  # the flag's own condition: cleared by its readings, as any state alarm
        assert cleared.get("reason") is None, cleared


def captured_trap(source: str) -> bytes:
    """upsTrapOnBattery as net-snmp's snmptrap encodes it from `source`, caught, not delivered."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as capture:
        capture.bind(("127.0.0.1", 0))
        capture.settimeout(10)
        ups_on_battery(source, capture.getsockname()[1])
        return capture.recv(65535)


def test_a_burst_of_traps_from_a_slow_device_queues_one_confirming_poll(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.8")
    sim.device.play("no_reply")  # a slow device: every poll waits for its timeout
    fields = device_fields("slow", sim, interval=3600, timeout=0.5)
    agent, trap_port = agent_with_traps(
        tmp_path, broker, [fields], "\n[outbox]\ncommit_interval_s = 0\n"
    )

    def polls(ms: list[Received]) -> list[Received]:
        return [m for m in ms if m.topic.endswith("/slow/telemetry")]

    try:
        probe.wait_for(lambda ms: len(polls(ms)) == 1)  # the scheduled poll at start
        datagram = captured_trap("127.0.0.8")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as device:
            device.bind(("127.0.0.8", 0))
            for _ in range(20):  # the default rate limit lets all of them through
                device.sendto(datagram, ("127.0.0.1", trap_port))
        probe.wait_for(lambda ms: len(polls(ms)) >= 2)
        # One poll confirms the traps that came before it started, and one more the traps
        # that came while it ran. Without merging, 18 more polls of a timeout each would
        # follow, one every 0.5 s: none may come.
        with pytest.raises(AssertionError, match="condition not met"):
            probe.wait_for(lambda ms: len(polls(ms)) > 3, timeout=4)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    raised = {a["alarm_id"] for a in alarm_messages(probe.messages) if a["event"] == "raised"}
    assert "test-station/slow/ups.on_battery/trap" in raised, raised


def test_garbage_from_ever_changing_addresses_raises_the_trap_port_flood_alarm(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.9")
    more = "station_rate_limit = 100\nrate_window_s = 1\n"  # into [traps], the last section
    agent, trap_port = agent_with_traps(tmp_path, broker, [device_fields("ups", sim)], more)
    flood = "test-station/-/traps.flood/flood"

    def events(ms: list[Received]) -> list[str]:
        return [str(a["event"]) for a in alarm_messages(ms) if a["alarm_id"] == flood]

    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/ups/health") for m in ms))
        for host in range(1, 251):  # 250 addresses, one datagram each
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
                junk.bind((f"127.0.3.{host}", 0))
                junk.sendto(b"\x30\x03\x02\x01garbage", ("127.0.0.1", trap_port))
        messages = probe.wait_for(lambda ms: events(ms) == ["raised", "cleared"], timeout=15)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    raised = next(a for a in alarm_messages(messages) if a["alarm_id"] == flood)
    assert raised["message"]["en"] == "Trap port flooded from many addresses"
    assert 1 <= stderr.count("dropped a malformed datagram") <= LOG_BUDGET, stderr
    assert "more dropped datagrams not logged" in stderr
