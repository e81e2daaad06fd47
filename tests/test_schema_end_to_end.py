"""What a real agent publishes is valid against the committed schema files (docs/schema/):
the demo station run once beside its simulator (compact telemetry and meta), and a running
agent through an alarm, an unexplained trap and a checklist request (full telemetry).
Real parts: the agent as a process, mosquitto, simulated devices over UDP."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import paho.mqtt.publish as publish

from fieldagent.localbroker import LocalBroker, free_port
from fieldagent.payloads import PUBLISHED_MODELS
from tests.agentproc import AgentProcess
from tests.checklist.test_daemon import TEMPLATE
from tests.mqtt_probe import MqttProbe, Received
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station
from tests.support.contract import kind_of, opened_problems, problems, validate_all
from tests.support.demo import demo_copy, run_demo_once
from tests.support.snmptrap import send_v2c_trap

BASE = "bctv/v1/test-station"
UNEXPLAINED_TRAP = "1.3.6.1.4.1.99999.0.7"
"""A trap OID no driver rule names: published as a `trap` event on the alarm topic."""


def test_the_demo_stations_messages_are_valid_and_a_mutated_one_is_refused(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe
) -> None:
    config = demo_copy(tmp_path / "config")

    done = run_demo_once(config, broker)

    assert done.returncode == 0, done.stderr
    messages = probe.wait_for(lambda ms: any(m.topic.endswith("/status") for m in ms))
    counts = validate_all(messages)
    assert set(counts) == {"status", "meta", "telemetry-compact", "health"}, counts

    snapshot = next(m.json() for m in messages if m.topic.endswith("/telemetry"))
    assert kind_of("bctv/v1/demo-hamtan/x/telemetry", snapshot) == "telemetry-compact"
    assert problems("telemetry-compact", snapshot) == []
    mutations = {
        "an unknown field": lambda p: p.update(colour="red"),
        "a string seq": lambda p: p.update(seq=str(p["seq"])),
        "no station": lambda p: p.pop("station"),
        "a quality outside the enum": lambda p: p.update(q={next(iter(p["val"])): "dubious"}),
        "contract version 3": lambda p: p.update(v=3),
    }
    for what, mutate in mutations.items():
        mutated = copy.deepcopy(snapshot)
        mutate(mutated)
        assert problems("telemetry-compact", mutated), f"{what} was accepted"
    status = next(m.json() for m in messages if m.topic.endswith("/status"))
    assert problems("status", {**status, "state": "sleeping"})  # a closed enum
    # Opened as the doc says for production: a field added within v1 passes, the rest holds.
    assert opened_problems("telemetry-compact", {**snapshot, "colour": "red"}) == []
    assert opened_problems("telemetry-compact", {**snapshot, "v": 3})
    assert opened_problems("status", {**status, "state": "sleeping"})


def kinds(messages: list[Received]) -> set[str]:
    return {k for m in messages if (k := kind_of(m.topic, m.json())) is not None}


def test_a_running_agents_alarm_trap_checklist_and_full_telemetry_are_valid(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    ups = sims.serve("ups_rfc1628", "127.0.0.2")
    limits = {"ups.output.source": {"delay_s": 1.0, "clear_delay_s": 1.0}}
    device = device_fields("ups-main", ups, interval=1, limits=limits)
    config = write_station(tmp_path, [device], mqtt={"url": broker.url}, telemetry=FULL)
    trap_port = free_port(udp=True)
    (tmp_path / "test.toml").write_text(TEMPLATE, encoding="utf-8")
    with config.open("a", encoding="utf-8") as station:
        station.write(f'\n[traps]\nenabled = true\nlisten = "127.0.0.1"\nport = {trap_port}\n')
        station.write('\n[checklist]\ntemplates = ["test.toml"]\n')
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic == f"{BASE}/ups-main/health" for m in ms), 20)
        ups.device.play("battery_low")
        send_v2c_trap("127.0.0.2", trap_port, UNEXPLAINED_TRAP, "1.3.6.1.2.1.1.5.0", "s", "ups")
        publish.single(
            f"{BASE}/cmd/checklist",
            json.dumps({"request_id": "schema-check"}),
            qos=1,
            hostname=broker.host,
            port=broker.port,
        )
        publish.single(
            f"{BASE}/cmd/ping",
            json.dumps({"request_id": "schema-ping"}),
            qos=1,
            hostname=broker.host,
            port=broker.port,
        )
        wanted = {"status", "telemetry", "health", "alarm", "trap", "checklist"}
        wanted |= {"checklist-reply", "command-reply"}
        probe.wait_for(lambda ms: wanted <= kinds(ms), timeout=30)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    counts = validate_all(list(probe.messages))  # and what came until the agent stopped
    assert set(counts) == wanted, counts
    # With the first test, every kind of the contract met a real message.
    assert wanted | {"meta", "telemetry-compact"} == set(PUBLISHED_MODELS)
