"""The broker goes away during a poll storm and comes back: every alarm arrives, telemetry
arrives complete, in order per topic, and duplicates are only exact re-sends."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from fieldagent.localbroker import LocalBroker
from tests.agentproc import AgentProcess, fieldagent
from tests.faults import ROOT_TOPIC, check_stream, outbox_report
from tests.mqtt_probe import MqttProbe
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

RULES = ("ups.output.source", "ups.battery.status")
DEVICES = [f"ups-{n}" for n in range(1, 5)]


def test_an_outage_of_the_broker_loses_nothing(
    tmp_path: Path, central: LocalBroker, sims: SimRunner
) -> None:
    broker = central
    probe = MqttProbe(broker.host, broker.port, f"{ROOT_TOPIC}/#", session="central-office")
    limits = {rule: {"delay_s": 0, "clear_delay_s": 0} for rule in RULES}
    simulators = [sims.serve("ups_rfc1628", f"127.0.0.{n + 2}") for n in range(len(DEVICES))]
    devices = [
        device_fields(name, sim, interval=1, limits=limits)
        for name, sim in zip(DEVICES, simulators, strict=True)
    ]
    config = write_station(
        tmp_path,
        devices,
        mqtt={"url": broker.url, "reconnect_max_s": 1, "keepalive": 5},
        telemetry=FULL,  # every reading taken during the outage must arrive
    )
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(
            lambda ms: {m.topic for m in ms} >= {f"{ROOT_TOPIC}/{d}/health" for d in DEVICES}
        )
        broker.stop()
        outage_from = datetime.now().astimezone()
        time.sleep(2)
        simulators[0].device.play("battery_low")
        time.sleep(3)
        simulators[0].device.play("normal")
        time.sleep(3)
        outage_to = datetime.now().astimezone()
        broker.start()

        def settled(ms: list) -> bool:  # type: ignore[type-arg]
            events = [m.json() for m in ms if m.topic == f"{ROOT_TOPIC}/alarm"]
            return {(e["rule"], e["event"]) for e in events} >= {
                (rule, event) for rule in RULES for event in ("raised", "cleared")
            }

        probe.wait_for(settled, timeout=30)
        report = fieldagent("outbox", "-c", str(config), "--json")
        assert report.returncode == 0, report.stderr
        assert outbox_report(report.stdout)["thinned"] == 0
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    time.sleep(0.5)  # the offline status and the last readings reach the probe
    probe.close()

    first = check_stream(probe.messages)
    bodies = list(first.values())
    alarms = [b for b in bodies if "event" in b and b.get("device") == DEVICES[0]]
    for rule in RULES:
        assert [a["event"] for a in alarms if a["rule"] == rule] == ["raised", "cleared"]
        assert all(a["replayed"] for a in alarms if a["rule"] == rule)  # sent after the outage
    during = [
        b
        for b in bodies
        if "metrics" in b and outage_from < datetime.fromisoformat(b["ts"]) < outage_to
    ]
    for device in DEVICES:  # readings taken while the broker was away, every one of them
        assert len([b for b in during if b["device"] == device]) >= 6
    assert all(b["replayed"] for b in during)
    back = [
        b
        for b in bodies
        if b.get("state") == "online" and datetime.fromisoformat(b["ts"]) > outage_to
    ]
    assert back[0]["outbox"]["waiting"] > 4 * 6  # the status on reconnect says what is coming
    assert back[0]["outbox"]["thinned"] == 0
    by_topic: dict[str, list[int]] = {}
    for message in probe.messages:  # first copies, as published (not re-delivered as retained)
        body = message.json()
        seqs = by_topic.setdefault(message.topic, [])
        if not message.retained and "prev" in body and body["seq"] not in seqs:
            seqs.append(body["seq"])  # a last will ("prev" absent) carries its connection's seq
    assert {topic: seqs for topic, seqs in by_topic.items() if seqs != sorted(seqs)} == {}
