"""SIGKILL at random moments while a backlog drains (power cut without the power cut):
the database opens cleanly every time and nothing committed is lost."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

from fieldagent.localbroker import LocalBroker
from fieldagent.outbox import Draft, Kind, Outbox
from tests.agentproc import AgentProcess
from tests.faults import ROOT_TOPIC, check_stream, integrity, missing, outbox_rows
from tests.mqtt_probe import MqttProbe
from tests.stationfile import write_station

BACKLOG = 40_000
KILLS = 20
SEED = 20261129


def reading(device: str, number: int) -> Draft:
    def render(seq: int) -> bytes:
        metrics = {f"m{k}": {"value": number + k, "unit": "V", "quality": "ok"} for k in range(8)}
        body = {"station": "test-station", "seq": seq, "ts": "2026-11-29T06:00:00Z"}
        return json.dumps({**body, "device": device, "metrics": metrics}).encode()

    kind = Kind.ALARM if number % 100 == 0 else Kind.TELEMETRY
    topic = f"{ROOT_TOPIC}/alarm" if kind is Kind.ALARM else f"{ROOT_TOPIC}/{device}/telemetry"
    return Draft(kind, topic, 1, False, "2026-11-29T06:00:00+00:00", render)


def test_sigkill_while_draining_loses_nothing_committed(
    tmp_path: Path, central: LocalBroker
) -> None:
    broker = central
    state_dir = tmp_path / "state"  # where write_station puts it
    outbox = Outbox(state_dir, 1 << 30, 4, 5.0)
    for number in range(BACKLOG):
        outbox.put(reading(f"dev{number % 7}", number))
    outbox.close()
    must_arrive = outbox_rows(state_dir)
    assert len(must_arrive) == BACKLOG
    config = write_station(
        tmp_path,
        [],
        mqtt={"url": broker.url, "max_inflight": 20},
    )
    probe = MqttProbe(broker.host, broker.port, f"{ROOT_TOPIC}/#")
    rng = random.Random(SEED)
    left_after_kill = []
    for _ in range(KILLS):
        agent = AgentProcess("run", "-c", str(config))
        try:
            started = len(probe.messages)
            probe.wait_for(lambda ms, n=started: len(ms) > n + 10, timeout=30)  # draining
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            agent.kill(signal.SIGKILL)
        assert integrity(state_dir) == "ok"
        committed = outbox_rows(state_dir)
        must_arrive.update(committed)
        left_after_kill.append(len(committed))
    agent = AgentProcess("run", "-c", str(config))
    try:
        deadline = time.monotonic() + 120
        while outbox_rows(state_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = len(outbox_rows(state_dir))
    finally:
        code, stderr = agent.stop()
    assert left == 0, f"{left} rows not drained in 120 s"
    assert code == 0, stderr
    time.sleep(0.3)
    probe.close()
    assert left_after_kill[0] > left_after_kill[-1] > 0, left_after_kill  # kills hit a drain
    first = check_stream(probe.messages)
    topics = {m.json()["seq"]: m.topic for m in probe.messages}
    assert missing(must_arrive, first, topics) == set()
    assert integrity(state_dir) == "ok"
