"""The whole slice with real parts: simulated UPSes over UDP, the agent as a process,
a real mosquitto, and a subscriber checking what arrives."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from fieldagent.config import SnmpCredentials
from fieldagent.localbroker import LocalBroker, free_port
from fieldagent.sequence import StationSequence
from tests.agentproc import AgentProcess, fieldagent
from tests.mqtt_probe import MqttProbe, Received, retained_snapshot
from tests.simrunner import V3_SHA256, SimRunner, device_fields
from tests.stationfile import FULL, write_station

ROOT_TOPIC = "bctv/v1/test-station"


def states(messages: list[Received], device: str) -> list[str]:
    return [m.json()["state"] for m in messages if m.topic == f"{ROOT_TOPIC}/{device}/health"]


def test_run_once_publishes_status_health_and_telemetry_that_match_the_devices(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    main = sims.serve("ups_rfc1628", "127.0.0.2")
    studio = sims.serve("ups_rfc1628", "127.0.0.3", V3_SHA256)
    main.device.set("ups.battery.voltage_v", 54.3)
    main.device.set("ups.battery.charge_pct", 77)
    studio.device.set("ups.input.voltage_v", 219)
    config = write_station(
        tmp_path,
        [device_fields("ups-main", main), device_fields("ups-studio", studio)],
        mqtt={"url": broker.url},
        telemetry=FULL,
    )

    done = fieldagent("run", "-c", str(config), "--once")

    assert done.returncode == 0, done.stderr
    retained = retained_snapshot(
        broker.host,
        broker.port,
        [
            f"{ROOT_TOPIC}/status",
            f"{ROOT_TOPIC}/ups-main/health",
            f"{ROOT_TOPIC}/ups-studio/health",
        ],
    )
    status = retained[f"{ROOT_TOPIC}/status"]
    assert status["state"] == "offline"  # a --once run ends by saying so
    assert status["name"] == "Đài Truyền thanh - Truyền hình huyện Thử Nghiệm"
    assert [d["id"] for d in status["devices"]] == ["ups-main", "ups-studio"]
    assert status["agent"]["version"]
    for device in ("ups-main", "ups-studio"):
        health = retained[f"{ROOT_TOPIC}/{device}/health"]
        assert (health["state"], health["alarms"]) == ("ok", [])

    messages = probe.wait_for(lambda ms: len([m for m in ms if "telemetry" in m.topic]) == 2)
    telemetry = {m.json()["device"]: m.json() for m in messages if m.topic.endswith("/telemetry")}
    assert telemetry["ups-main"]["metrics"]["ups.battery.voltage_v"]["value"] == 54.3
    assert telemetry["ups-main"]["metrics"]["ups.battery.charge_pct"] == {
        "value": 77,
        "unit": "%",
        "quality": "ok",
        "detail": None,
        "in_use": True,
    }
    assert telemetry["ups-studio"]["metrics"]["ups.input.voltage_v"]["value"] == 219
    assert telemetry["ups-main"]["metrics"]["ups.output.source"]["value"] == "normal"

    stream = StationSequence()
    assert all(stream.add(m.json()["seq"], m.json()["prev"]) for m in messages)  # no duplicate
    assert stream.gaps() == []
    by_topic: dict[str, list[int]] = {}
    for message in messages:
        by_topic.setdefault(message.topic, []).append(message.json()["seq"])
    assert all(seqs == sorted(seqs) for seqs in by_topic.values())  # alarms may overtake readings
    for message in messages:
        stamp = message.json()["ts"]
        assert stamp.endswith("Z")
        assert datetime.fromisoformat(stamp).utcoffset() is not None


def test_wrong_community_makes_the_device_unreachable_with_a_clear_message(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2", SnmpCredentials(community="s3cret"))
    entry = device_fields("ups-main", sim, community="public")
    config = write_station(tmp_path, [entry], mqtt={"url": broker.url})

    done = fieldagent("run", "-c", str(config), "--once")

    assert done.returncode == 1
    assert "ups-main" in done.stderr and "check the address, the community," in done.stderr
    health = retained_snapshot(broker.host, broker.port, [f"{ROOT_TOPIC}/ups-main/health"])
    payload = health[f"{ROOT_TOPIC}/ups-main/health"]
    assert payload["state"] == "unreachable"
    assert "no reply from 127.0.0.2" in payload["reason"]


@pytest.fixture
def late_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker on a reserved port that the test starts only later."""
    local = LocalBroker(tmp_path / "late-broker", port=free_port())
    yield local
    local.stop()


def test_broker_down_at_start_then_up_the_agent_connects_and_publishes(
    tmp_path: Path, late_broker: LocalBroker, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(
        tmp_path,
        [device_fields("ups-main", sim, interval=1)],
        mqtt={"url": "mqtt://127.0.0.1:1", "reconnect_max_s": 2},
    )
    agent = AgentProcess("run", "-c", str(config), "--broker", late_broker.url)
    try:
        time.sleep(2.5)  # it polls a few times with nowhere to publish
        late_broker.start()
        probe = MqttProbe(late_broker.host, late_broker.port, f"{ROOT_TOPIC}/#")
        try:
            probe.wait_for(
                lambda ms: (
                    any(m.topic.endswith("/status") and m.json()["state"] == "online" for m in ms)
                    and any(m.topic.endswith("/ups-main/health") for m in ms)
                    and any(m.topic.endswith("/ups-main/telemetry") for m in ms)
                ),
                timeout=20,
            )
        finally:
            probe.close()
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    status = retained_snapshot(late_broker.host, late_broker.port, [f"{ROOT_TOPIC}/status"])
    assert status[f"{ROOT_TOPIC}/status"]["state"] == "offline"


def test_a_dead_device_does_not_delay_a_live_one(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    live = sims.serve("ups_rfc1628", "127.0.0.2")
    dead = sims.serve("ups_rfc1628", "127.0.0.3")
    dead.device.play("no_reply")
    config = write_station(
        tmp_path,
        [
            device_fields("live", live, interval=1),
            device_fields("dead", dead, interval=1, timeout=2.0, request_retries=1, retries=2),
        ],
        mqtt={"url": broker.url},
        telemetry=FULL,  # every poll of the live device is published: its rhythm shows
    )
    agent = AgentProcess("run", "-c", str(config))
    try:
        messages = probe.wait_for(
            lambda ms: (
                "unreachable" in states(ms, "dead")
                and len([m for m in ms if m.topic.endswith("/live/telemetry")]) >= 8
            ),
            timeout=30,
        )
        dead.device.play("normal")  # it answers again: health recovers by itself
        probe.wait_for(lambda ms: states(ms, "dead")[-1] == "ok", timeout=20)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    stamps = [
        datetime.fromisoformat(m.json()["ts"])
        for m in messages
        if m.topic.endswith("/live/telemetry")
    ]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    # Each dead poll costs 2 s x 2 tries; the live device still keeps its 1 s rhythm.
    assert max(gaps) < 2.5, gaps
    dead_health = [m.json() for m in messages if m.topic.endswith("/dead/health")][-1]
    assert "2 polls in a row" in dead_health["reason"]


def test_mains_fail_takes_health_from_warning_to_critical(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2", time_scale=10)
    sim.device.play("mains_fail")
    config = write_station(
        tmp_path, [device_fields("ups-main", sim, interval=1)], mqtt={"url": broker.url}
    )
    agent = AgentProcess("run", "-c", str(config))
    try:
        # Alarm delays (10 s by default) come on top of the falling charge.
        messages = probe.wait_for(lambda ms: "critical" in states(ms, "ups-main"), timeout=60)
    finally:
        agent.stop()
    seen = states(messages, "ups-main")
    distinct = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
    # OK until the alarm delay has passed: a fault must hold before it is an alarm.
    assert distinct == ["ok", "warning", "critical"], seen
    critical = [m.json() for m in messages if m.topic.endswith("/health")][-1]
    alarms = {a["rule"]: a for a in critical["alarms"]}
    assert alarms["ups.output.source"]["value"] == "battery"
    assert alarms["ups.battery.charge_pct"]["severity"] == "critical"
    assert alarms["ups.battery.charge_pct"]["limit"] == 15
    assert alarms["ups.battery.charge_pct"]["value"] < 15
    assert "ngưỡng 15 %" in alarms["ups.battery.charge_pct"]["message"]["vi"]
    assert json.loads(json.dumps(critical)) == critical


@pytest.mark.parametrize(("level", "info_logged"), [("info", True), ("warning", False)])
def test_the_station_files_log_level_is_the_lowest_severity_logged(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, level: str, info_logged: bool
) -> None:
    main = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(tmp_path, [device_fields("ups-main", main)], mqtt={"url": broker.url})
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[agent]\n", f'[agent]\nlog_level = "{level}"\n'), "utf-8")

    done = fieldagent("run", "-c", str(config), "--once")
    verbose = fieldagent("-v", "run", "-c", str(config), "--once")

    assert done.returncode == 0 and verbose.returncode == 0, done.stderr + verbose.stderr
    assert (" INFO fieldagent" in done.stderr) is info_logged, done.stderr
    assert " DEBUG " in verbose.stderr  # -v overrides the file
