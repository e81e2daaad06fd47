"""The province's broker as shipped (config/mosquitto/): a real mosquitto with the shipped
acl and a password file made by mosquitto_passwd, real clients with their own accounts.

mosquitto drops a publish the acl forbids without telling the client, so every "not
delivered" below is paired with a message that must be delivered after it: a test whose
broker delivered nothing at all fails instead of passing.
"""

from __future__ import annotations

import getpass
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.localbroker import LocalBroker, free_port
from tests.agentproc import ROOT
from tests.mqtt_probe import MqttProbe, Received
from tests.support.passwords import password_file
from tests.tlsfiles import make_tls_files

SAMPLE = ROOT / "config" / "mosquitto"
ACCOUNTS = {
    "st-a": "pw-station-a",
    "st-b": "pw-station-b",
    "central-ops": "pw-central-ops",
    "central-monitor": "pw-central-monitor",
}
QUIET_S = 1.0
"""How long a message the acl forbids is waited for after the one that must follow it."""


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """mosquitto on a plain loopback listener with the shipped acl, no anonymous access."""
    local = LocalBroker(
        tmp_path / "broker",
        listener_options=(
            "allow_anonymous false",
            f"password_file {password_file(tmp_path / 'accounts' / 'passwd', ACCOUNTS)}",
            f"acl_file {SAMPLE / 'acl'}",
        ),
    )
    local.start()
    yield local
    local.stop()


def publish(broker: LocalBroker, user: str, topic: str, payload: str, **tls: str) -> None:
    """Publish one QoS 1 message as `user` and wait for the broker's PUBACK.

    mosquitto acknowledges a publish the acl forbids too; the PUBACK only says the
    broker has decided, so what follows it was decided after it.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(user, ACCOUNTS[user])
    if "ca_cert" in tls:
        client.tls_set(ca_certs=tls["ca_cert"])
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"{user} could not publish on {topic}"
    finally:
        client.disconnect()
        client.loop_stop()


def probe(broker: LocalBroker, user: str, topic_filter: str) -> MqttProbe:
    return MqttProbe(broker.host, broker.port, topic_filter, auth=(user, ACCOUNTS[user]))


def payloads(messages: list[Received]) -> list[tuple[str, str]]:
    return [(m.topic, m.payload.decode()) for m in messages]


def test_a_station_publishes_under_its_own_id_only(acl_broker: LocalBroker) -> None:
    central = probe(acl_broker, "central-monitor", "bctv/v1/#")
    try:
        publish(acl_broker, "st-a", "bctv/v1/st-a/status", "a-online")
        central.wait_for(lambda ms: ("bctv/v1/st-a/status", "a-online") in payloads(ms))

        publish(acl_broker, "st-a", "bctv/v1/st-b/status", "forged-by-a")
        publish(acl_broker, "st-a", "bctv/v1/st-b/cmd/checklist", "forged-request")
        publish(acl_broker, "st-a", "elsewhere/st-a", "outside-the-root")
        publish(acl_broker, "st-b", "bctv/v1/st-b/status", "b-online")
        central.wait_for(lambda ms: ("bctv/v1/st-b/status", "b-online") in payloads(ms))
        time.sleep(QUIET_S)

        seen = [payload for _, payload in payloads(central.messages)]
        assert seen == ["a-online", "b-online"], seen
    finally:
        central.close()


def test_central_sends_a_station_its_requests_and_no_station_reads_another(
    acl_broker: LocalBroker,
) -> None:
    a_own = probe(acl_broker, "st-a", "bctv/v1/st-a/cmd/+")
    a_prying = probe(acl_broker, "st-a", "bctv/v1/st-b/#")
    b_own = probe(acl_broker, "st-b", "bctv/v1/st-b/cmd/+")
    try:
        publish(acl_broker, "central-ops", "bctv/v1/st-b/cmd/checklist", "run-b")
        publish(acl_broker, "st-b", "bctv/v1/st-b/status", "b-online")
        b_own.wait_for(lambda ms: ("bctv/v1/st-b/cmd/checklist", "run-b") in payloads(ms))
        publish(acl_broker, "central-ops", "bctv/v1/st-a/cmd/checklist", "run-a")
        a_own.wait_for(lambda ms: ("bctv/v1/st-a/cmd/checklist", "run-a") in payloads(ms))
        time.sleep(QUIET_S)

        assert payloads(a_prying.messages) == []
        assert payloads(a_own.messages) == [("bctv/v1/st-a/cmd/checklist", "run-a")]
    finally:
        for client in (a_own, a_prying, b_own):
            client.close()


def test_a_station_reads_back_its_doctor_message_and_not_its_own_replies(
    acl_broker: LocalBroker,
) -> None:
    a_reads = probe(acl_broker, "st-a", "bctv/v1/st-a/#")
    try:
        publish(acl_broker, "st-a", "bctv/v1/st-a/cmd/checklist/reply", "a-reply")
        publish(acl_broker, "st-a", "bctv/v1/st-a/status", "a-status")
        publish(acl_broker, "st-a", "bctv/v1/st-a/doctor", "a-doctor")
        a_reads.wait_for(lambda ms: ("bctv/v1/st-a/doctor", "a-doctor") in payloads(ms))
        time.sleep(QUIET_S)

        assert payloads(a_reads.messages) == [("bctv/v1/st-a/doctor", "a-doctor")]
    finally:
        a_reads.close()


def test_a_read_only_staff_account_cannot_send_requests(acl_broker: LocalBroker) -> None:
    a_own = probe(acl_broker, "st-a", "bctv/v1/st-a/cmd/+")
    try:
        publish(acl_broker, "central-monitor", "bctv/v1/st-a/cmd/checklist", "from-monitor")
        publish(acl_broker, "central-ops", "bctv/v1/st-a/cmd/ping", "from-ops")
        a_own.wait_for(lambda ms: ("bctv/v1/st-a/cmd/ping", "from-ops") in payloads(ms))
        time.sleep(QUIET_S)

        assert payloads(a_own.messages) == [("bctv/v1/st-a/cmd/ping", "from-ops")]
    finally:
        a_own.close()


def connack(host: str, port: int, user: str | None, ca_cert: str | None) -> str:
    """The broker's answer to a CONNECT as `user` (None: anonymous), in paho's words."""
    answered = threading.Event()
    reasons: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if user is not None:
        client.username_pw_set(user, ACCOUNTS[user])
    if ca_cert is not None:
        client.tls_set(ca_certs=ca_cert)

    def on_connect(c: mqtt.Client, u: object, f: object, reason: Any, p: object) -> None:
        reasons.append(str(reason))
        answered.set()

    client.on_connect = on_connect
    client.connect(host, port)
    client.loop_start()
    try:
        assert answered.wait(10), f"no CONNACK from {host}:{port}"
    finally:
        client.disconnect()
        client.loop_stop()
    return reasons[0]


def local_sample(tmp_path: Path, tls_port: int, plain_port: int) -> str:
    """The shipped mosquitto.conf with its paths, ports and user made this test's own."""
    tls = make_tls_files(tmp_path / "tls")
    accounts = password_file(tmp_path / "accounts" / "passwd", ACCOUNTS)
    (tmp_path / "data").mkdir()
    text = (SAMPLE / "mosquitto.conf").read_text(encoding="utf-8")
    swaps = {
        "listener 8883\n": f"listener {tls_port} 127.0.0.1\n",
        "listener 1883 127.0.0.1\n": f"listener {plain_port} 127.0.0.1\n",
        "/etc/mosquitto/certs/broker.crt": str(tls.server_cert),
        "/etc/mosquitto/certs/broker.key": str(tls.server_key),
        "/etc/mosquitto/passwd": str(accounts),
        "/etc/mosquitto/acl": str(SAMPLE / "acl"),
        "/var/lib/mosquitto/": f"{tmp_path / 'data'}/",
        "/var/log/mosquitto/mosquitto.log": str(tmp_path / "mosquitto.log"),
    }
    for shipped, local in swaps.items():
        assert shipped in text, f"config/mosquitto/mosquitto.conf no longer says {shipped!r}"
        text = text.replace(shipped, local)
    settings = [line for line in text.splitlines() if not line.startswith("#")]
    assert not [line for line in settings if re.search(r"/etc/|/var/", line)], text
    # Started as root, mosquitto would drop to user "mosquitto", who cannot read tmp_path.
    return text + f"user {getpass.getuser()}\n"


def test_the_sample_mosquitto_conf_runs_with_tls_accounts_and_the_acl(tmp_path: Path) -> None:
    tls_port, plain_port = free_port(), free_port()
    sample = LocalBroker(
        tmp_path / "broker", port=tls_port, config=local_sample(tmp_path, tls_port, plain_port)
    )
    sample.start()
    try:
        ca = str(tmp_path / "tls" / "ca.pem")
        central = MqttProbe(
            sample.host,
            tls_port,
            "bctv/v1/#",
            auth=("central-monitor", ACCOUNTS["central-monitor"]),
            ca_cert=ca,
        )
        try:
            publish(sample, "st-a", "bctv/v1/st-b/status", "forged-over-tls", ca_cert=ca)
            publish(sample, "st-a", "bctv/v1/st-a/status", "a-over-tls", ca_cert=ca)
            central.wait_for(lambda ms: ("bctv/v1/st-a/status", "a-over-tls") in payloads(ms))
            assert payloads(central.messages) == [("bctv/v1/st-a/status", "a-over-tls")]
        finally:
            central.close()
        assert connack(sample.host, tls_port, None, ca) == "Not authorized"
        assert connack(sample.host, plain_port, None, None) == "Not authorized"
        assert connack(sample.host, plain_port, "st-a", None) == "Success"
    finally:
        sample.stop()


def test_central_consumers_share_a_subscription_under_the_same_rules(
    acl_broker: LocalBroker,
) -> None:
    shared = "$share/archive/bctv/v1/+/status"
    members = [probe(acl_broker, "central-monitor", shared) for _ in range(2)]
    a_shared = probe(acl_broker, "st-a", "$share/archive/bctv/v1/st-b/#")
    try:
        for n in range(6):
            publish(acl_broker, "st-b", "bctv/v1/st-b/status", f"b-{n}")
        deadline = time.monotonic() + 10
        while sum(len(m.messages) for m in members) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(QUIET_S)

        seen = sorted(p for member in members for _, p in payloads(member.messages))
        assert seen == [f"b-{n}" for n in range(6)]  # each message to one member only
        assert payloads(a_shared.messages) == []  # a station shares nothing of another's
    finally:
        for client in (*members, a_shared):
            client.close()
