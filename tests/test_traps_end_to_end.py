"""Traps end to end: from a simulated UPS and from net-snmp's snmptrap (a real peer) to
alarms on the broker; an unknown sender's trap and garbage datagrams publish nothing."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from drivers.ups_rfc1628 import (
    ALARM_DESCR,
    ALARM_ON_BATTERY,
    MINUTES_REMAINING,
    TRAP_ALARM_REMOVED,
    TRAP_ON_BATTERY,
)
from fieldagent.driver import OidValue
from fieldagent.localbroker import LocalBroker, free_port
from tests.agentproc import AgentProcess
from tests.mqtt_probe import MqttProbe, Received
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

ROOT_TOPIC = "bctv/v1/test-station"


def alarm_messages(messages: list[Received]) -> list[dict[str, object]]:
    return [m.json() for m in messages if m.topic == f"{ROOT_TOPIC}/alarm"]


def snmptrap(source: str, port: int, *varbind: str) -> None:
    subprocess.run(
        [
            "snmptrap",
            "-v",
            "2c",
            "-c",
            "public",
            f"--clientaddr={source}",
            f"udp:127.0.0.1:{port}",
            "",
            TRAP_ON_BATTERY,
            *varbind,
        ],
        check=True,
        timeout=10,
        capture_output=True,
    )


def test_traps_from_a_known_device_reach_the_broker_as_alarms(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    trap_port = free_port(udp=True)
    config = write_station(
        tmp_path,
        [device_fields("ups-main", sim, interval=30)],
        mqtt={"url": broker.url},
    )
    with config.open("a", encoding="utf-8") as station:
        station.write(f'\n[traps]\nenabled = true\nlisten = "127.0.0.1"\nport = {trap_port}\n')
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/ups-main/health") for m in ms))
        # Garbage and a stranger first: neither may publish anything.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            junk.sendto(b"\x30\x03\x02\x01garbage", ("127.0.0.1", trap_port))
        snmptrap("127.0.0.9", trap_port, f"{MINUTES_REMAINING}", "i", "12")
        # A real peer from the device's own address: net-snmp's snmptrap.
        sent = time.monotonic()
        sent_at = datetime.now(UTC)
        snmptrap("127.0.0.2", trap_port, f"{MINUTES_REMAINING}", "i", "35")
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
