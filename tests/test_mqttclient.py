"""The bounded paho client against a real mosquitto: an oversize message is thrown away
without taking the connection down, and acknowledged so that it does not come back."""

from __future__ import annotations

import logging

import paho.mqtt.publish as publish
import pytest

from fieldagent.localbroker import LocalBroker
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
