"""Home Assistant discovery from a real agent process, through a real mosquitto, with
real simulated devices: what Home Assistant would find on its broker."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment
from paho.mqtt import publish

from fieldagent.localbroker import LocalBroker
from tests.agentproc import AgentProcess
from tests.homeassistant import hadoc
from tests.mqtt_probe import MqttProbe, Received, retained_snapshot
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

ROOT = "bctv/v1/test-station"
PREFIX = "homeassistant"


def config_topic(device_id: str) -> str:
    return f"{PREFIX}/device/fieldagent_test-station_{device_id}/config"


def configs_on(messages: list[Received], device_id: str) -> list[Received]:
    return [m for m in messages if m.topic == config_topic(device_id)]


def wait_until_gone_is_removed(broker: LocalBroker, probe: MqttProbe) -> None:
    """ "gone"'s config is emptied, and a subscriber arriving now (Home Assistant starting)
    finds "keep"'s only."""
    probe.wait_for(lambda ms: any(m.payload == b"" for m in configs_on(ms, "gone")), 20)
    after = retained_snapshot(
        broker.host, broker.port, [config_topic("keep")], topic_filter=f"{PREFIX}/device/#"
    )
    assert config_topic("gone") not in after


def test_configs_are_retained_sent_again_for_home_assistant_and_removed_on_reload(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    keep_sim = sims.serve("ups_rfc1628", "127.0.0.2")
    gone_sim = sims.serve("ups_rfc1628", "127.0.0.3")
    keep = device_fields("keep", keep_sim, interval=1)
    gone = device_fields("gone", gone_sim, interval=1)
    mqtt: dict[str, Any] = {"url": broker.url, "homeassistant_discovery": True}
    config = write_station(tmp_path, [keep, gone], mqtt=mqtt)
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: bool(configs_on(ms, "keep") and configs_on(ms, "gone")), 20)
        probe.wait_for(lambda ms: any(m.topic == f"{ROOT}/keep/telemetry" for m in ms), 20)
        retained = retained_snapshot(
            broker.host, broker.port, [config_topic("keep"), config_topic("gone")]
        )
        for device_id in ("keep", "gone"):
            assert hadoc.problems(config_topic(device_id), retained[config_topic(device_id)]) == []

        # Home Assistant restarts: its birth message brings every config again.
        before = len(configs_on(probe.messages, "keep"))
        publish.single(f"{PREFIX}/status", "online", 1, hostname=broker.host, port=broker.port)
        probe.wait_for(lambda ms: len(configs_on(ms, "keep")) > before, 10)
        assert len(configs_on(probe.messages, "gone")) > 1

        write_station(tmp_path, [keep], mqtt=mqtt)
        agent.send(signal.SIGHUP)
        wait_until_gone_is_removed(broker, probe)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert "Home Assistant is online: discovery sent again" in stderr, stderr

    # The templates read the agent's real telemetry: the first snapshot has every value.
    keep_config = retained[config_topic("keep")]
    snapshot = next(
        m.json() for m in probe.messages if m.topic == f"{ROOT}/keep/telemetry" and m.json()["full"]
    )
    env = ImmutableSandboxedEnvironment()
    for component in keep_config["cmps"].values():
        if component["state_topic"] != f"{ROOT}/keep/telemetry":
            continue
        key = next(k for k in snapshot["val"] if component["unique_id"].endswith(f"_{k}"))
        shown = env.from_string(component["value_template"]).render(value_json=snapshot)
        assert shown == str(snapshot["val"][key]), (key, shown)
    health = json.loads(
        next(m.payload for m in reversed(probe.messages) if m.topic == f"{ROOT}/keep/health")
    )
    template = keep_config["cmps"]["health"]["value_template"]
    assert env.from_string(template).render(value_json=health) == health["state"]


def test_off_by_default_nothing_is_published_under_the_prefix(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    ups = device_fields("ups1", sims.serve("ups_rfc1628", "127.0.0.2"), interval=1)
    config = write_station(tmp_path, [ups], mqtt={"url": broker.url}, telemetry=FULL)
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic == f"{ROOT}/ups1/health" for m in ms), 20)
        publish.single(f"{PREFIX}/status", "online", 1, hostname=broker.host, port=broker.port)
        probe.wait_for(lambda ms: any(m.topic == f"{PREFIX}/status" for m in ms), 10)
        seen = len(probe.messages)
        # Bounded: three more telemetry messages go by after Home Assistant's "online".
        probe.wait_for(
            lambda ms: len([m for m in ms[seen:] if m.topic.endswith("/telemetry")]) >= 3, 20
        )
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    under_prefix = {m.topic for m in probe.messages if m.topic.startswith(f"{PREFIX}/")}
    assert under_prefix == {f"{PREFIX}/status"}  # only what the test itself published
    assert not (tmp_path / "state" / "homeassistant.json").exists()


def test_a_device_removed_while_the_agent_was_stopped_is_removed_at_the_next_start(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    keep = device_fields("keep", sims.serve("ups_rfc1628", "127.0.0.2"), interval=1)
    gone = device_fields("gone", sims.serve("ups_rfc1628", "127.0.0.3"), interval=1)
    mqtt: dict[str, Any] = {"url": broker.url, "homeassistant_discovery": True}
    agent = AgentProcess("run", "-c", str(write_station(tmp_path, [keep, gone], mqtt=mqtt)))
    try:
        probe.wait_for(lambda ms: bool(configs_on(ms, "keep") and configs_on(ms, "gone")), 20)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    # Home Assistant's birth message kept retained by the broker (a common setting).
    publish.single(f"{PREFIX}/status", "online", 1, True, hostname=broker.host, port=broker.port)
    agent = AgentProcess("run", "-c", str(write_station(tmp_path, [keep], mqtt=mqtt)))
    try:
        wait_until_gone_is_removed(broker, probe)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert "ignored a retained message" not in stderr, stderr  # a retained status is normal
    state = json.loads((tmp_path / "state" / "homeassistant.json").read_text())
    assert state == {"announced": [config_topic("keep")]}
