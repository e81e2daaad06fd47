"""SIGTERM with a backlog and no broker to take it: the agent stops within
`[agent] stop_flush_s` (plus closing), exits 0, and the backlog stays in state.db."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fieldagent.config import load_config
from fieldagent.localbroker import LocalBroker
from fieldagent.outbox import Kind, Outbox
from tests.agentproc import AgentProcess, fieldagent
from tests.faults.stalled_broker import StalledBroker
from tests.mqtt_probe import MqttProbe
from tests.outbox import draft
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

FLUSH_S = 2.0
MARGIN_S = 2.9
"""Closing after the flush: cancelling the loops, paho's thread, SQLite, the interpreter."""


@contextmanager
def silent_broker() -> Iterator[str]:
    """A TCP listener that takes connections and never answers (a hung broker)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield f"mqtt://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def backlog(config: Path) -> int:
    done = fieldagent("outbox", "-c", str(config), "--json")
    assert done.returncode == 0, done.stderr
    count = json.loads(done.stdout)["messages"]
    assert isinstance(count, int)
    return count


def stop_timed(agent: AgentProcess) -> tuple[int, str, float]:
    started = time.monotonic()
    code, stderr = agent.stop(timeout=30)
    return code, stderr, time.monotonic() - started


def devices(sims: SimRunner) -> list[dict[str, object]]:
    hosts = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
    return [
        device_fields(f"ups{n}", sims.serve("ups_rfc1628", host), interval=1)
        for n, host in enumerate(hosts)
    ]


def test_a_stop_after_the_broker_went_away_takes_stop_flush_s_and_keeps_the_backlog(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    config = write_station(
        tmp_path,
        devices(sims),
        mqtt={"url": broker.url, "reconnect_max_s": 1},
        telemetry=FULL,
        agent={"stop_flush_s": FLUSH_S},
    )
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/telemetry") for m in ms))
        broker.stop()
        time.sleep(3)  # polls go on: telemetry waits in the outbox
    finally:
        code, stderr, took = stop_timed(agent)
    assert code == 0, stderr
    assert took < FLUSH_S + MARGIN_S, (took, stderr)
    assert "stopping with" in stderr and "kept in state.db" in stderr, stderr
    assert backlog(config) > 0


@pytest.mark.parametrize("flush_s", [0.0, FLUSH_S])
def test_a_stop_against_a_broker_that_never_answers_is_bounded_too(
    tmp_path: Path, sims: SimRunner, flush_s: float
) -> None:
    with silent_broker() as url:
        config = write_station(
            tmp_path,
            devices(sims),
            mqtt={"url": url},
            telemetry=FULL,
            agent={"stop_flush_s": flush_s},
        )
        agent = AgentProcess("run", "-c", str(config))
        try:
            time.sleep(3)
        finally:
            code, stderr, took = stop_timed(agent)
    assert code == 0, stderr
    assert took < flush_s + MARGIN_S, (took, stderr)
    assert backlog(config) > 0


BACKLOG = 20_000
"""Rows waiting at start: about a day's telemetry of a small station cut off."""


def test_a_stop_with_a_large_backlog_and_a_broker_that_takes_it_but_never_acknowledges(
    tmp_path: Path, sims: SimRunner
) -> None:
    broker = StalledBroker(connack=True)
    try:
        config = write_station(
            tmp_path,
            devices(sims),
            mqtt={"url": broker.url},
            telemetry=FULL,
            agent={"stop_flush_s": FLUSH_S},
        )
        outbox = Outbox.of_station(load_config(config))
        for number in range(BACKLOG):
            outbox.put(draft(Kind.TELEMETRY, "bctv/v1/test-station/old/telemetry", str(number)))
        outbox.close()
        agent = AgentProcess("run", "-c", str(config))
        try:
            deadline = time.monotonic() + 15
            while sum(broker.counts()) < 100:  # a full window handed over, none acknowledged
                assert time.monotonic() < deadline, broker.counts()
                time.sleep(0.1)
        finally:
            code, stderr, took = stop_timed(agent)
    finally:
        broker.close()
    assert code == 0, stderr
    assert took < FLUSH_S + MARGIN_S, (took, stderr)
    assert backlog(config) >= BACKLOG, "nothing acknowledged: every row stays for the next start"
