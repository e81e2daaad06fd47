"""How the station's secrets are kept and sent: refused or said at start, and by check-config."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.config import load_config
from fieldagent.localbroker import LocalBroker, free_port
from fieldagent.secrecy import inline_secrets, start_problems
from tests.agentproc import AgentProcess, fieldagent, refused_start
from tests.mqtt_probe import MqttProbe
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

TLS_UNCHECKED = "tls_verify = false: the broker's certificate is not checked"


def station(folder: Path, mode: int, **mqtt: object) -> Path:
    folder.mkdir(exist_ok=True)
    path = write_station(
        folder,
        [{"id": "ups1", "driver": "ups_rfc1628", "host": "127.0.0.2", "timeout": 0.2}],
        mqtt={"url": f"mqtt://127.0.0.1:{free_port()}", **mqtt},
    )
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("mode", "exposed"),
    [
        (0o644, "readable by other users"),
        (0o602, "writable by other users"),
        (0o660, "writable by its group"),
        (0o666, "readable by other users and writable by other users and writable by its group"),
    ],
)
def test_a_station_file_with_a_secret_open_to_others_is_refused_at_start_and_by_check_config(
    tmp_path: Path, mode: int, exposed: str
) -> None:
    path = station(tmp_path, mode, username="station", password="hunter22")
    expected = (
        f"{path}: holds secrets (mqtt.password) and is {exposed};"
        f" run: chmod 600 {path} (or 640 with the agent's group)"
    )
    run = fieldagent("run", "-c", str(path), "--once", "--ack-timeout", "1")
    assert refused_start(run) == expected
    checked = fieldagent("check-config", str(path))
    assert (checked.returncode, checked.stderr.strip()) == (1, expected)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_a_station_file_with_secrets_kept_private_is_accepted(tmp_path: Path, mode: int) -> None:
    path = station(tmp_path, mode, username="station", password="hunter22")
    assert start_problems(path, load_config(path)) == []
    checked = fieldagent("check-config", str(path))
    assert checked.returncode == 0, checked.stderr


def test_a_station_file_without_secrets_may_be_read_by_everyone(tmp_path: Path) -> None:
    path = station(tmp_path, 0o644)  # community unset: "public", known to everyone
    assert start_problems(path, load_config(path)) == []


def test_a_client_key_file_open_to_others_is_refused_at_start(tmp_path: Path) -> None:
    key, cert = tmp_path / "station.key", tmp_path / "station.crt"
    key.write_text("-----BEGIN PRIVATE KEY-----\n", encoding="utf-8")
    cert.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    key.chmod(0o644)
    path = station(tmp_path, 0o600, key_file=key, cert_file=cert)
    run = fieldagent("run", "-c", str(path), "--once", "--ack-timeout", "1")
    assert refused_start(run) == (
        f"{key}: holds the private key of the client certificate (key_file) and is readable"
        f" by other users; run: chmod 600 {key} (or 640 with the agent's group)"
    )
    key.chmod(0o600)
    assert start_problems(path, load_config(path)) == []


def test_every_kind_of_inline_secret_is_found(tmp_path: Path) -> None:
    v3 = {"snmp_version": "3", "user": "tech", "auth_protocol": "SHA-256"}
    path = write_station(
        tmp_path,
        [
            {"id": "a", "driver": "ups_rfc1628", "host": "127.0.0.2", "community": "public"},
            {"id": "b", "driver": "ups_rfc1628", "host": "127.0.0.3", "community": "s3cret"},
            {"id": "c", "driver": "ups_rfc1628", "host": "127.0.0.4", **v3, "auth_key": "k" * 8},
        ],
        mqtt={"password": "hunter22"},
    )
    with path.open("a", encoding="utf-8") as station_file:
        station_file.write('[traps]\ncommunities = ["trap-secret"]\n')
    assert inline_secrets(load_config(path)) == [
        "mqtt.password",
        "device 'b'.community",
        "device 'c'.auth_key",
        "traps.communities",
    ]


def this_host_address() -> str:
    """An address of this machine that is not loopback (no datagram is sent to learn it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            pytest.skip("this machine has no address but loopback")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("this machine has no address but loopback")
    return address


@pytest.fixture
def remote_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker on this machine's network address: for the agent, a broker across the network."""
    broker = LocalBroker(tmp_path / "remote-broker", host=this_host_address())
    broker.start()
    yield broker
    broker.stop()


def test_plaintext_to_a_remote_broker_is_refused_unless_the_file_allows_it_then_said_at_start(
    tmp_path: Path, remote_broker: LocalBroker, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    devices = [device_fields("ups1", sim)]
    refused = write_station(tmp_path, devices, mqtt={"url": remote_broker.url})
    run = fieldagent("run", "-c", str(refused), "--once")
    assert refused_start(run) == (
        f"{refused}: mqtt: {remote_broker.url} would send the broker password and every message"
        " unencrypted over the network: use mqtts://, or set allow_plaintext = true if the link"
        " is private"
    )

    allowed = write_station(
        tmp_path, devices, mqtt={"url": remote_broker.url, "allow_plaintext": True}
    )
    said = (
        f"broker {remote_broker.host}:{remote_broker.port} is reached without TLS"
        " (allow_plaintext = true): the broker password and every message cross the network"
        " unencrypted"
    )
    checked = fieldagent("check-config", str(allowed))
    assert checked.returncode == 0, checked.stderr
    assert f"{allowed}: warning: {said}" in checked.stdout.splitlines()
    probe = MqttProbe(remote_broker.host, remote_broker.port, "#")
    agent = AgentProcess("run", "-c", str(allowed))
    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/ups1/telemetry") for m in ms))
    finally:
        _, log = agent.stop()
        probe.close()
    assert f"WARNING fieldagent.mqtt: {said}" in log


def test_a_remote_broker_override_follows_the_station_file_s_choice(
    tmp_path: Path, remote_broker: LocalBroker
) -> None:
    override = ("--broker", remote_broker.url, "--once", "--ack-timeout", "5")
    refused = fieldagent("run", "-c", str(station(tmp_path / "refused", 0o600)), *override)
    assert refused.returncode == 78
    assert refused.stderr.startswith(
        f"--broker: {remote_broker.url} would send the broker password"
    )
    allowed = station(tmp_path / "allowed", 0o600, allow_plaintext=True)
    run = fieldagent("run", "-c", str(allowed), *override)
    assert run.returncode == 1, run.stderr  # published; its device (no simulator) unreachable
    assert (
        f"WARNING fieldagent.mqtt: broker {remote_broker.host}:{remote_broker.port}" in run.stderr
    )


def test_tls_without_verification_is_said_at_every_start_and_by_check_config(
    tmp_path: Path,
) -> None:
    path = station(tmp_path, 0o600, tls_verify=False)
    path.write_text(
        path.read_text(encoding="utf-8").replace("mqtt://", "mqtts://"), encoding="utf-8"
    )
    checked = fieldagent("check-config", str(path))
    assert checked.returncode == 0, checked.stderr
    assert any(
        line.startswith(f"{path}: warning: {TLS_UNCHECKED}") for line in checked.stdout.splitlines()
    )
    for _ in range(2):
        run = fieldagent("run", "-c", str(path), "--once", "--ack-timeout", "1")
        assert f"WARNING fieldagent.mqtt: {TLS_UNCHECKED}" in run.stderr
