"""The shipped demo station end to end: every device simulated over real UDP, the agent
as a process, a real broker, and every device healthy."""

from __future__ import annotations

from pathlib import Path

from drivers import REGISTRY
from fieldagent.config import load_config
from fieldagent.localbroker import LocalBroker
from tests.mqtt_probe import retained_snapshot
from tests.support.demo import demo_copy, run_demo_once


def test_the_demo_station_runs_end_to_end_with_every_device_healthy(
    tmp_path: Path, broker: LocalBroker
) -> None:
    config = demo_copy(tmp_path / "config")  # its relative state_dir then lands in tmp_path
    done = run_demo_once(config, broker)
    assert done.returncode == 0, done.stderr
    topics = ["bctv/v1/demo-hamtan/status"]
    status = retained_snapshot(broker.host, broker.port, topics)["bctv/v1/demo-hamtan/status"]
    device_ids = [d["id"] for d in status["devices"]]
    assert device_ids == [d.id for d in load_config(config, REGISTRY).device]
    health_topics = [f"bctv/v1/demo-hamtan/{d}/health" for d in device_ids]
    retained = retained_snapshot(broker.host, broker.port, health_topics)
    health = {topic.split("/")[-2]: retained[topic] for topic in health_topics}
    # The agent host is this very machine, not a simulator: its state is whatever the
    # machine's is (a CI box's clock may not be NTP-synchronised). It must be read, though.
    host = health.pop("agent-host")
    assert host["state"] != "unreachable", host
    assert {a["rule"] for a in host["alarms"]} <= {"host.clock_synced"}, host
    assert {name: h["state"] for name, h in health.items()} == dict.fromkeys(health, "ok"), health
