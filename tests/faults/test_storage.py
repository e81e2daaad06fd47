"""The agent on a disk that fills up, or on a read-only state dir: it keeps running, says so
with a station alarm, still publishes alarms, and goes back to normal when the disk does."""

from __future__ import annotations

from pathlib import Path

from fieldagent.localbroker import LocalBroker
from fieldagent.outbox import Kind
from tests.agentproc import AgentProcess
from tests.conftest import fill_up, remount
from tests.faults import ROOT_TOPIC, check_stream, integrity
from tests.mqtt_probe import MqttProbe, Received
from tests.outbox import draft, open_outbox
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

RULES = ("ups.output.source", "ups.battery.status")


def events(messages: list[Received], rule: str) -> list[str]:
    bodies = [m.json() for m in messages if m.topic == f"{ROOT_TOPIC}/alarm"]
    return [b["event"] for b in bodies if b["rule"] == rule]


def test_a_full_disk_is_survived_with_a_station_alarm(
    tmp_path: Path, small_fs: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    limits = {rule: {"delay_s": 0, "clear_delay_s": 0} for rule in RULES}
    device = device_fields("ups-main", sim, interval=1, limits=limits)
    config = write_station(small_fs, [device], mqtt={"url": broker.url})  # state on the tmpfs
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/ups-main/health") for m in ms))
        filler = fill_up(small_fs)
        probe.wait_for(lambda ms: events(ms, "outbox.storage") == ["raised"], timeout=15)
        sim.device.play("battery_low")  # alarms while the disk is full: held, and sent
        probe.wait_for(lambda ms: all(events(ms, rule) == ["raised"] for rule in RULES))
        filler.unlink()
        probe.wait_for(lambda ms: events(ms, "outbox.storage") == ["raised", "cleared"], 15)
        sim.device.play("normal")
        probe.wait_for(lambda ms: all(events(ms, r) == ["raised", "cleared"] for r in RULES))
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert "the disk is full" in stderr
    raised = next(
        m.json()
        for m in probe.messages
        if m.topic == f"{ROOT_TOPIC}/alarm" and m.json()["rule"] == "outbox.storage"
    )
    assert raised["severity"] == "critical" and raised["device"] is None
    check_stream(probe.messages)
    assert integrity(small_fs / "state") == "ok"


def test_a_read_only_state_dir_at_start_does_not_stop_monitoring(
    tmp_path: Path,
    read_only_view: tuple[Path, Path],
    broker: LocalBroker,
    probe: MqttProbe,
    sims: SimRunner,
) -> None:
    source, view = read_only_view
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    earlier = open_outbox(source / "state")  # left by the last run, before the disk went bad
    earlier.put(draft(Kind.ALARM, topic=f"{ROOT_TOPIC}/earlier", body="before"))
    earlier.close()
    config = write_station(
        tmp_path,
        [device_fields("ups-main", sim, interval=1)],
        mqtt={"url": broker.url},
        state_dir=view / "state",
        telemetry=FULL,  # two polls, two messages
    )
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: events(ms, "outbox.storage") == ["raised"])
        probe.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/telemetry")]) >= 2)
        assert not probe.on("/earlier")  # on the disk that cannot be opened yet
        remount(view, "bind,rw")
        probe.wait_for(lambda ms: events(ms, "outbox.storage") == ["raised", "cleared"], 15)
        probe.wait_for(lambda ms: any(m.topic.endswith("/earlier") for m in ms))
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert "the filesystem is read-only" in stderr
    check_stream(probe.messages)
    assert integrity(source / "state") == "ok"
