"""Shared fixtures: a real mosquitto per test that wants one, station files on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker
from tests.mqtt_probe import MqttProbe
from tests.simrunner import SimRunner


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A private mosquitto on a free loopback port, stopped after the test."""
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.stop()


@pytest.fixture
def probe(broker: LocalBroker) -> Iterator[MqttProbe]:
    subscriber = MqttProbe(broker.host, broker.port, "#")
    yield subscriber
    subscriber.close()


@pytest.fixture
def sims() -> Iterator[SimRunner]:
    """Simulated SNMP devices answering from a background loop."""
    runner = SimRunner()
    yield runner
    runner.close()
