"""The broker connection: TLS with CA verification, username / password, the last will."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import paho.mqtt.publish as publish
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.localbroker import LocalBroker
from fieldagent.mqttclient import MAX_PACKET_BYTES, BoundedClient
from tests.agentproc import AgentProcess, fieldagent
from tests.mqtt_probe import MqttProbe
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station
from tests.support.passwords import password_file
from tests.test_end_to_end import ROOT_TOPIC


def test_tls_with_the_station_ca_publishes(
    tmp_path: Path, tls_broker: tuple[LocalBroker, Path], sims: SimRunner
) -> None:
    broker, ca = tls_broker
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(
        tmp_path,
        [device_fields("ups-main", sim)],
        mqtt={"url": f"mqtts://127.0.0.1:{broker.port}", "ca_file": ca},
    )
    done = fieldagent("run", "-c", str(config), "--once", "--ack-timeout", "10")
    assert done.returncode == 0, done.stderr


def test_tls_verification_is_on_by_default(
    tmp_path: Path, tls_broker: tuple[LocalBroker, Path], sims: SimRunner
) -> None:
    broker, _ = tls_broker
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(
        tmp_path,
        [device_fields("ups-main", sim)],
        mqtt={"url": f"mqtts://127.0.0.1:{broker.port}"},  # no ca_file: system CAs only
    )
    done = fieldagent("run", "-c", str(config), "--once", "--ack-timeout", "3")
    assert done.returncode == 69
    assert "did not acknowledge" in done.stderr
    assert "certificate verify failed" in done.stderr


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    users = password_file(tmp_path / "passwd", {"station": "đúng-mật-khẩu"})
    broker = LocalBroker(
        tmp_path / "auth-broker",
        listener_options=("allow_anonymous false", f"password_file {users}"),
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.mark.parametrize(("password", "code"), [("đúng-mật-khẩu", 0), ("sai", 69)])
def test_username_and_password_file(
    tmp_path: Path, auth_broker: LocalBroker, sims: SimRunner, password: str, code: int
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    secret = tmp_path / "broker.secret"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    config = write_station(
        tmp_path,
        [device_fields("ups-main", sim)],
        mqtt={"url": auth_broker.url, "username": "station", "password_file": secret},
    )
    done = fieldagent("run", "-c", str(config), "--once", "--ack-timeout", "3")
    assert done.returncode == code, done.stderr
    if code:
        assert "refused the connection" in done.stderr and "authori" in done.stderr.lower()


def test_last_will_marks_the_station_offline_when_the_agent_dies(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(tmp_path, [device_fields("ups-main", sim)], mqtt={"url": broker.url})
    agent = AgentProcess("run", "-c", str(config))
    status = f"{ROOT_TOPIC}/status"
    try:
        probe.wait_for(lambda ms: any(m.topic == status for m in ms))
        agent.kill(signal.SIGKILL)  # no goodbye: only the broker can tell
        messages = probe.wait_for(
            lambda ms: [m.json()["state"] for m in ms if m.topic == status][-1] == "offline",
            timeout=15,
        )
    finally:
        agent.stop()
    states = [m.json()["state"] for m in messages if m.topic == status]
    assert states == ["online", "offline"]


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_persistent_session_is_resumed_by_the_next_run(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, protocol: str
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    mqtt = {"url": broker.url, "protocol": protocol, "persistent_session": True}
    config = write_station(tmp_path, [device_fields("ups-main", sim)], mqtt=mqtt)
    first = fieldagent("run", "-c", str(config), "--once", "--ack-timeout", "10")
    second = fieldagent("run", "-c", str(config), "--once", "--ack-timeout", "10")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "persistent session new" in first.stderr
    assert "persistent session resumed" in second.stderr


def test_a_second_agent_on_the_same_state_dir_is_refused_by_name(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(tmp_path, [device_fields("ups-main", sim)], mqtt={"url": broker.url})
    probe = MqttProbe(broker.host, broker.port, "#")
    daemon = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic.endswith("/ups-main/health") for m in ms))
        second = fieldagent("run", "-c", str(config), "--once")
        assert second.returncode == 75
        assert "another fieldagent (pid " in second.stderr
        assert "is running on this state directory" in second.stderr
    finally:
        code, stderr = daemon.stop()
        probe.close()
    assert code == 0, stderr
    after = fieldagent("run", "-c", str(config), "--once", "--ack-timeout", "10")
    assert after.returncode == 0, after.stderr  # the lock went with the daemon


COMMAND = f"{ROOT_TOPIC}/cmd/checklist"
HUGE = 200 * 1024 * 1024
MAX_GROWTH_KIB = 40 * 1024
"""What a 200 MB message may add to the agent's peak memory: none of it is kept."""


def onlines(probe: MqttProbe) -> int:
    """How many times the agent said it is online: once per connect, and on state changes."""
    return [m.json()["state"] for m in probe.on("/status")].count("online")


def command_then_reply(broker: LocalBroker, probe: MqttProbe, *payloads: bytes) -> None:
    """Publish on the command topic, then a request of our own, and wait for its reply:
    every message before it was taken in by then."""
    request_id = f"after-{len(probe.on('/cmd/checklist/reply'))}"
    request = f'{{"request_id": "{request_id}"}}'.encode()
    publish.multiple(
        [(COMMAND, payload, 1, False) for payload in (*payloads, request)],
        hostname=broker.host,
        port=broker.port,
    )
    probe.wait_for(
        lambda ms: request_id in [m.json()["request_id"] for m in probe.on("/cmd/checklist/reply")],
        timeout=60,
    )


def small_probe(broker: LocalBroker) -> MqttProbe:
    """A probe of the station's topics that, like the agent, skips the huge message."""
    return MqttProbe(broker.host, broker.port, f"{ROOT_TOPIC}/#", max_packet_bytes=1024 * 1024)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_huge_message_on_the_command_topic_neither_grows_the_agent_nor_cuts_its_link(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, protocol: str
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    mqtt = {"url": broker.url, "protocol": protocol}
    config = write_station(tmp_path, [device_fields("ups-main", sim)], mqtt=mqtt)
    probe = small_probe(broker)
    agent = AgentProcess("run", "-c", str(config))
    try:
        # At least once: the first poll's change of worst state may say online again
        # before the probe looks (never lost: "connected to broker" is counted below).
        probe.wait_for(lambda ms: onlines(probe) >= 1)
        before = agent.peak_rss_kib()
        command_then_reply(broker, probe, b"x" * HUGE)
        grown = agent.peak_rss_kib() - before
    finally:
        code, stderr = agent.stop()
        probe.close()
    assert code == 0, stderr
    assert grown < MAX_GROWTH_KIB, f"peak memory grew by {grown} KiB"
    assert stderr.count("connected to broker") == 1, stderr  # never lost the connection
    if protocol == "5":  # the broker honoured Maximum Packet Size: it never sent the message
        assert "ignored a message" not in stderr
    else:
        assert f"ignored a message of {HUGE + 2 + len(COMMAND) + 2} bytes on {COMMAND}" in stderr


def peak_of_a_run(config: Path, broker: LocalBroker, probe: MqttProbe) -> tuple[int, str]:
    """Start the agent, ask it once, stop it: its peak memory (KiB) and its log."""
    starts = onlines(probe)
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: onlines(probe) > starts)
        command_then_reply(broker, probe)
        peak = agent.peak_rss_kib()
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    return peak, stderr


def test_a_huge_retained_message_on_the_command_topic_costs_no_memory_at_start(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(tmp_path, [device_fields("ups-main", sim)], mqtt={"url": broker.url})
    probe = small_probe(broker)
    try:
        plain, _ = peak_of_a_run(config, broker, probe)
        retained = b"x" * (HUGE // 2)
        publish.single(COMMAND, retained, 1, True, hostname=broker.host, port=broker.port)
        peak, stderr = peak_of_a_run(config, broker, probe)
    finally:
        probe.close()
    assert peak - plain < MAX_GROWTH_KIB, f"peak memory {peak} KiB, {plain} KiB without it"
    assert f"ignored a message of {len(retained) + 2 + len(COMMAND) + 2} bytes" in stderr


def test_a_huge_message_over_tls_is_skipped_and_the_next_one_arrives(
    tls_broker: tuple[LocalBroker, Path],
) -> None:
    """The bounded client reads past an oversize message through the TLS layer too."""
    broker, ca = tls_broker
    arrived: list[bytes] = []
    after = threading.Event()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        arrived.append(bytes(message.payload))
        after.set()

    client = BoundedClient(MAX_PACKET_BYTES, CallbackAPIVersion.VERSION2)
    client.tls_set(ca_certs=str(ca))
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(COMMAND, qos=1)
    client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert subscribed.wait(10)
        publish.multiple(
            [(COMMAND, b"x" * (30 * 1024 * 1024), 1, False), (COMMAND, b"after", 1, False)],
            hostname="127.0.0.1",
            port=broker.port,
            tls={"ca_certs": str(ca)},
        )
        assert after.wait(30)
        assert arrived == [b"after"] and client.is_connected()
    finally:
        client.disconnect()
        client.loop_stop()
