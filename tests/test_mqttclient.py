"""The bounded paho client against a real mosquitto: an oversize message is thrown away
without taking the connection down, and acknowledged so that it does not come back; any
other oversize packet (from a scripted broker) ends the connection unread."""

from __future__ import annotations

import logging
import threading

import paho.mqtt.publish as publish
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.localbroker import LocalBroker
from fieldagent.mqttclient import BoundedClient
from tests.faults.stalled_broker import StalledBroker
from tests.mqtt_probe import MqttProbe

LIMIT = 4096
IGNORED = "ignored a message of"


def send(broker: LocalBroker, *messages: tuple[str, bytes]) -> None:
    publish.multiple(
        [{"topic": topic, "payload": payload, "qos": 1} for topic, payload in messages],
        hostname=broker.host,
        port=broker.port,
    )


def test_an_oversize_message_is_skipped_and_the_next_one_arrives_on_the_same_connection(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "fieldagent.mqtt")
    probe = MqttProbe(broker.host, broker.port, "cmd/#", max_packet_bytes=LIMIT)
    try:
        send(
            broker,
            ("cmd/big", b"x" * (3 * 1024 * 1024)),
            ("cmd/small", b"after"),
            ("cmd/edge", b"y" * (LIMIT - 100)),  # under the limit with its header: taken
        )
        probe.wait_for(lambda ms: len(ms) == 2)
        assert [(m.topic, len(m.payload)) for m in probe.messages] == [
            ("cmd/small", 5),
            ("cmd/edge", LIMIT - 100),
        ]
        assert probe.connects == 1
    finally:
        probe.close()
    (ignored,) = [r.getMessage() for r in caplog.records if IGNORED in r.getMessage()]
    assert ignored.startswith(
        f"ignored a message of {3 * 1024 * 1024 + 2 + 7 + 2} bytes on cmd/big"
    )


def test_a_skipped_message_is_acknowledged_so_a_persistent_session_does_not_resend_it(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "fieldagent.mqtt")
    first = MqttProbe(broker.host, broker.port, "cmd/#", "bounded", max_packet_bytes=LIMIT)
    try:
        send(broker, ("cmd/big", b"x" * 100_000), ("cmd/small", b"first"))
        first.wait_for(lambda ms: len(ms) == 1)
    finally:
        first.close()
    again = MqttProbe(broker.host, broker.port, "cmd/#", "bounded", max_packet_bytes=LIMIT)
    try:
        send(broker, ("cmd/small", b"second"))
        # an unacknowledged message would be re-sent on reconnect, before this one
        again.wait_for(lambda ms: len(ms) == 1)
    finally:
        again.close()
    assert [r.getMessage() for r in caplog.records if IGNORED in r.getMessage()] == [
        f"ignored a message of {100_000 + 2 + 7 + 2} bytes on cmd/big: at most {LIMIT} bytes"
        " are taken"
    ]


def test_an_oversize_packet_other_than_a_message_drops_the_connection_unread() -> None:
    """A broker announcing a 100 MB SUBACK is out of its mind: the client hangs up at once
    instead of waiting for (and buffering) the body."""
    hundred_mb = 100 * 1024 * 1024
    length = bytes(
        [(hundred_mb >> shift & 0x7F) | (0x80 if shift < 21 else 0) for shift in (0, 7, 14, 21)]
    )
    broker = StalledBroker(connack=True, then=b"\x90" + length + b"\x00\x01")
    client = BoundedClient(LIMIT, CallbackAPIVersion.VERSION2)
    dropped = threading.Event()
    client.on_disconnect = lambda c, u, f, rc, p: dropped.set()
    client.connect("127.0.0.1", broker.port, keepalive=60)
    client.loop_start()
    try:
        assert dropped.wait(10), "the client is still waiting for the body"
    finally:
        client.loop_stop()
        broker.close()
