"""A damaged state.db (cut short, garbage header, emptied): moved aside, replaced, said in a
station alarm, and numbering goes on above everything used before. Real mosquitto, the
agent as a process, real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker
from fieldagent.outbox.highwater import MARK_NAME
from fieldagent.sequence import StationSequence
from tests.agentproc import AgentProcess, fieldagent
from tests.faults import DAMAGES, ROOT_TOPIC, damage_state_db
from tests.mqtt_probe import MqttProbe, Received
from tests.stationfile import write_station


def offline(messages: list[Received]) -> int:
    return sum(
        1 for m in messages if m.topic.endswith("/status") and m.json()["state"] == "offline"
    )


def run_until(station: Path, probe: MqttProbe, done: Callable[[list[Received]], bool]) -> None:
    """Run the agent until `done` holds, stop it, and wait for its goodbye."""
    stopped = offline(probe.messages)
    agent = AgentProcess("run", "-c", str(station))
    try:
        probe.wait_for(done, timeout=20)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    probe.wait_for(lambda ms: offline(ms) > stopped)


def replaced_alarms(messages: list[Received]) -> list[Received]:
    return [
        m
        for m in messages
        if m.topic == f"{ROOT_TOPIC}/alarm" and m.json().get("rule") == "outbox.replaced"
    ]


@pytest.mark.parametrize("kind", DAMAGES)
def test_a_damaged_state_db_is_replaced_and_numbering_never_goes_back(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, kind: str
) -> None:
    station = write_station(tmp_path, [], mqtt={"url": broker.url})
    state = tmp_path / "state"
    run_until(station, probe, lambda ms: any(m.topic.endswith("/status") for m in ms))
    before = len(probe.messages)
    mark = int((state / MARK_NAME).read_text())
    damage_state_db(state, kind)
    damaged = (state / "state.db").read_bytes()

    for command in (("checklist", "run"), ("outbox",)):
        refused = fieldagent(*command, "-c", str(station))
        assert refused.returncode != 0
        (line,) = refused.stderr.strip().splitlines()  # one line, no traceback
        assert line.startswith(f"error: {state / 'state.db'} is damaged ("), line
        assert "Traceback" not in refused.stderr

    run_until(station, probe, lambda ms: bool(replaced_alarms(ms)))
    (alarm,) = replaced_alarms(probe.messages)
    assert alarm.json()["event"] == "raised"
    assert alarm.json()["severity"] == "warning"
    assert "was damaged" in alarm.json()["message"]["en"]
    assert f"numbers go on above {mark}" in alarm.json()["message"]["en"]
    (aside,) = state.glob("state.db.damaged-*")
    assert aside.read_bytes() == damaged  # moved aside whole, never deleted
    assert (state / "state.db").stat().st_size > 0  # a new one

    subscriber = StationSequence(since=0)
    seqs = []
    for message in probe.messages:
        body = message.json()
        assert subscriber.add(body["seq"], body.get("prev"), message.retained), body["seq"]
        seqs.append(body["seq"])
    assert min(seqs[before:]) > mark  # nothing numbered again, alarms included
    last_before = max(seqs[:before])
    assert subscriber.gaps() == [(last_before + 1, mark)]  # the reset, as subscribers see it
