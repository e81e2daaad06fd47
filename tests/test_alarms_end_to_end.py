"""Alarms end to end: a simulated fault raises each alarm once, within its delay and one
poll interval, and recovery clears each one once; the retained health lists them."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from fieldagent.alarms import AlarmStore
from fieldagent.localbroker import LocalBroker
from tests.agentproc import AgentProcess, fieldagent
from tests.mqtt_probe import MqttProbe, Received
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

ROOT_TOPIC = "bctv/v1/test-station"
DELAY_S = 2.0
INTERVAL_S = 1.0
UPS_RULES = (
    "ups.battery.charge_pct",
    "ups.battery.runtime_min",
    "ups.output.source",
    "ups.battery.status",
)


def alarm_events(messages: list[Received]) -> list[dict[str, object]]:
    return [m.json() for m in messages if m.topic == f"{ROOT_TOPIC}/alarm"]


def last_health(messages: list[Received]) -> dict[str, object]:
    return [m.json() for m in messages if m.topic.endswith("/ups-main/health")][-1]


def last_status(messages: list[Received]) -> dict[str, object]:
    return [m.json() for m in messages if m.topic.endswith("/status")][-1]


def test_a_fault_raises_each_alarm_once_and_recovery_clears_it_once(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    limits = {rule: {"delay_s": DELAY_S, "clear_delay_s": DELAY_S} for rule in UPS_RULES}
    device = device_fields("ups-main", sim, interval=INTERVAL_S, limits=limits)
    config = write_station(tmp_path, [device], mqtt={"url": broker.url})
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/ups-main/health") for m in ms))
        fault_at = time.monotonic()
        sim.device.play("battery_low")
        messages = probe.wait_for(
            lambda ms: (
                {e["rule"] for e in alarm_events(ms) if e["event"] == "raised"} >= set(UPS_RULES)
            ),
            timeout=20,
        )
        raised_after = time.monotonic() - fault_at
        time.sleep(DELAY_S + INTERVAL_S)  # the condition still holds: nothing more is raised
        sim.device.play("normal")
        probe.wait_for(
            lambda ms: (
                {e["rule"] for e in alarm_events(ms) if e["event"] == "cleared"} >= set(UPS_RULES)
            ),
            timeout=20,
        )
        messages = probe.wait_for(
            lambda ms: last_health(ms)["state"] == "ok" and last_status(ms)["worst"] == "ok",
            timeout=10,
        )
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    # Within the delay plus one poll interval (and a margin for two processes on a busy box).
    assert raised_after < DELAY_S + INTERVAL_S + 2.5, raised_after
    events = alarm_events(messages)
    raised = Counter(e["alarm_id"] for e in events if e["event"] == "raised")
    cleared = Counter(e["alarm_id"] for e in events if e["event"] == "cleared")
    assert set(raised.values()) == {1}, raised
    assert cleared == raised
    charge = next(e for e in events if e["rule"] == "ups.battery.charge_pct")
    assert charge["alarm_id"] == "test-station/ups-main/ups.battery.charge_pct/low"
    assert (charge["severity"], charge["value"], charge["limit"]) == ("warning", 30, 50)
    assert charge["message"]["en"] and charge["message"]["vi"]
    last_clear = [e for e in events if e["event"] == "cleared"][-1]
    assert last_clear["duration_s"] > 0 and last_clear["cleared_at"]
    healths = [m.json() for m in messages if m.topic.endswith("/ups-main/health")]
    assert any({a["rule"] for a in h["alarms"]} >= set(UPS_RULES) for h in healths)
    assert healths[-1]["state"] == "ok" and healths[-1]["alarms"] == [], healths[-1]
    statuses = [m.json()["worst"] for m in messages if m.topic.endswith("/status")]
    assert "warning" in statuses and statuses[-1] == "ok"


def test_an_alarm_active_across_a_restart_is_not_raised_again(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    limits = {"ups.output.source": {"delay_s": 1.0, "clear_delay_s": 1.0}}
    device = device_fields("ups-main", sim, interval=INTERVAL_S, limits=limits)
    config = write_station(tmp_path, [device], mqtt={"url": broker.url}, telemetry=FULL)
    sim.device.play("battery_low")
    first = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(e["event"] == "raised" for e in alarm_events(ms)))
    finally:
        first.stop()
    second = AgentProcess("run", "-c", str(config))
    try:
        # A few polls of the restarted agent with the fault still there ...
        probe.wait_for(
            lambda ms: len([m for m in ms if m.topic.endswith("/ups-main/telemetry")]) >= 6
        )
        still = alarm_events(probe.messages)
        sim.device.play("normal")
        # ... and the recovery is cleared once, by the agent that did not raise it.
        messages = probe.wait_for(
            lambda ms: any(e["event"] == "cleared" for e in alarm_events(ms)), timeout=15
        )
    finally:
        code, stderr = second.stop()
    assert code == 0, stderr
    source = "test-station/ups-main/ups.output.source/state"
    assert [e["event"] for e in still if e["alarm_id"] == source] == ["raised"]
    events = [e["event"] for e in alarm_events(messages) if e["alarm_id"] == source]
    assert events == ["raised", "cleared"]


def test_maintenance_command_holds_alarms_back_and_says_so(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    limits = {"ups.output.source": {"delay_s": 1.0, "clear_delay_s": 1.0}}
    device = device_fields("ups-main", sim, interval=INTERVAL_S, limits=limits)
    config = write_station(tmp_path, [device], mqtt={"url": broker.url})
    sim.device.play("battery_low")
    source = "test-station/ups-main/ups.output.source/state"
    maintenance = "test-station/-/maintenance[device=ups-main]/on"
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(e["alarm_id"] == source for e in alarm_events(ms)))
        done = fieldagent("maintenance", "-c", str(config), "ups-main", "--hours", "2")
        assert done.returncode == 0, done.stderr
        assert "(station time, Asia/Ho_Chi_Minh)" in done.stdout
        assert "the running agent (pid " in done.stdout and "within a second" in done.stdout
        probe.wait_for(
            lambda ms: any(e["alarm_id"] == maintenance for e in alarm_events(ms)), timeout=10
        )
        assert fieldagent("maintenance", "-c", str(config), "ups-main", "--off").returncode == 0
        messages = probe.wait_for(
            lambda ms: (
                [e["event"] for e in alarm_events(ms) if e["alarm_id"] == source]
                == ["raised", "cleared", "raised"]
            ),
            timeout=10,
        )
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    events = alarm_events(messages)
    held = next(e for e in events if e["alarm_id"] == source and e["event"] == "cleared")
    assert held["reason"] and "maintenance" in held["reason"]
    on = [e for e in events if e["alarm_id"] == maintenance]
    assert [e["event"] for e in on] == ["raised", "cleared"]
    assert on[0]["device"] is None and on[0]["severity"] == "warning"
    assert "ups-main" in on[0]["message"]["en"]


def test_maintenance_command_checks_its_arguments(tmp_path: Path) -> None:
    config = write_station(tmp_path, [{"id": "ups1", "driver": "ups_rfc1628", "host": "127.0.0.2"}])
    unknown = fieldagent("maintenance", "-c", str(config), "ups9", "--off")
    assert unknown.returncode == 2 and "no device 'ups9'" in unknown.stderr
    naive = fieldagent("maintenance", "-c", str(config), "ups1", "--until", "2026-12-01T08:00")
    assert naive.returncode == 78 and "offset" in naive.stderr


def test_maintenance_without_an_agent_says_when_it_applies_in_station_time(
    tmp_path: Path,
) -> None:
    config = write_station(tmp_path, [{"id": "ups1", "driver": "ups_rfc1628", "host": "127.0.0.2"}])
    state = tmp_path / "state"
    done = fieldagent("maintenance", "-c", str(config), "ups1", "--until", "2026-12-01T01:30Z")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "ups1: maintenance until 2026-12-01 08:30 +07:00 (station time, Asia/Ho_Chi_Minh);"
        f" no agent runs on {state} now: the request waits there, and the agent applies it"
        " when it starts\n"
    )
    store = AlarmStore(state)
    try:
        assert store.take_maintenance_requests() == [
            ("ups1", datetime(2026, 12, 1, 1, 30, tzinfo=UTC))
        ]
    finally:
        store.close()
