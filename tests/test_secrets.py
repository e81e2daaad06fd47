"""No secret of the station file leaves the box or reaches a log.

The agent runs as a process with debug logging against devices that fail in
every way a secret could be named (no answer, a wrong community, wrong v3
keys) and a broker that refuses its password; every published payload and
every log line is then searched for every secret of the station file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.config import SnmpCredentials
from fieldagent.localbroker import LocalBroker, free_port
from tests.agentproc import AgentProcess, fieldagent
from tests.mqtt_probe import MqttProbe
from tests.simrunner import V3_SHA256, SimRunner, device_fields
from tests.stationfile import write_station
from tests.support.passwords import password_file
from tests.test_end_to_end import ROOT_TOPIC

BROKER_USER = "station"
BROKER_PASSWORD = "broker-pass-Vb81"
SECRETS = {
    "dead": "community-dead-Xq4",
    "wrong_community": "community-wrong-Zr7",
    "auth_key": "auth-key-wrong-Kp2",
    "priv_key": "priv-key-wrong-Jm5",
    "wrong_password": "broker-wrong-Yt3",
    "trap_community": "trap-community-Qw9",
    "password": BROKER_PASSWORD,
}
DEVICES = ("ups-dead", "ups-community", "ups-v3")


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """Anonymous subscribers welcome; a client that gives a user name needs its password."""
    users = password_file(tmp_path / "passwd", {BROKER_USER: BROKER_PASSWORD})
    broker = LocalBroker(
        tmp_path / "broker",
        listener_options=("allow_anonymous true", f"password_file {users}"),
    )
    broker.start()
    yield broker
    broker.stop()


def station(folder: Path, sims: SimRunner, broker: LocalBroker, password: str) -> Path:
    """Three failing devices, each with a secret of its own, a trap community and the
    broker `password`."""
    v1_answering = sims.serve("ups_rfc1628", "127.0.0.2", SnmpCredentials(community="right-one"))
    v3_answering = sims.serve("ups_rfc1628", "127.0.0.3", V3_SHA256)
    dead = {
        "id": "ups-dead",
        "driver": "ups_rfc1628",
        "host": "127.0.0.4",
        "port": free_port("127.0.0.4", udp=True),
        "timeout": 0.3,
        "request_retries": 0,
        "community": SECRETS["dead"],
    }
    wrong = {"community": SECRETS["wrong_community"], "retries": 1}
    keys = {"auth_key": SECRETS["auth_key"], "priv_key": SECRETS["priv_key"], "retries": 1}
    devices = [
        {**dead, "retries": 1},
        device_fields("ups-community", v1_answering, **wrong),
        device_fields("ups-v3", v3_answering, **keys),
    ]
    mqtt = {"url": broker.url, "username": BROKER_USER, "password": password}
    folder.mkdir()
    path = write_station(folder, devices, mqtt=mqtt)
    with path.open("a", encoding="utf-8") as station_file:
        station_file.write(
            '[traps]\nenabled = true\nlisten = "127.0.0.1"\nport = 0\n'
            f'communities = ["{SECRETS["trap_community"]}"]\n'
        )
    return path


def leaks(text: str) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in text]


def test_no_secret_reaches_a_payload_or_a_log_line(
    tmp_path: Path, auth_broker: LocalBroker, sims: SimRunner
) -> None:
    refused = fieldagent(
        "-v",
        "run",
        "-c",
        str(station(tmp_path / "refused", sims, auth_broker, SECRETS["wrong_password"])),
        "--once",
        "--ack-timeout",
        "3",
    )
    assert "refused the connection" in refused.stderr, refused.stderr

    probe = MqttProbe(auth_broker.host, auth_broker.port, "#")
    agent = AgentProcess(
        "-v", "run", "-c", str(station(tmp_path / "accepted", sims, auth_broker, BROKER_PASSWORD))
    )
    try:
        alarm = f"{ROOT_TOPIC}/alarm"
        messages = probe.wait_for(
            lambda ms: {m.json()["device"] for m in ms if m.topic == alarm} >= set(DEVICES)
        )
    finally:
        _, log = agent.stop()
        probe.close()

    errors = [m.json().get("err") for m in messages if m.topic.endswith("/telemetry")]
    assert any("check the address, the community" in e for e in errors if e)
    assert any("check auth_key" in e for e in errors if e)
    assert "connected to broker" in log and " DEBUG " in log
    assert "receiving SNMP traps" in log
    for message in messages:
        assert leaks(message.payload.decode()) == [], message.topic
    for line in (refused.stdout + refused.stderr + log).splitlines():
        assert leaks(line) == [], line
