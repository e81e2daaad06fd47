"""A test subscriber: collects what a real broker delivers, waits with bounds."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.mqttclient import BoundedClient


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retained: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class MqttProbe:
    """Subscribes to a topic filter and records every message, in arrival order."""

    def __init__(
        self,
        host: str,
        port: int,
        topic_filter: str = "#",
        session: str | None = None,
        max_packet_bytes: int | None = None,
        auth: tuple[str, str] | None = None,
        ca_cert: str | None = None,
    ) -> None:
        """`session`: a client id whose persistent session keeps messages across reconnects.
        `max_packet_bytes`: receive with the agent's BoundedClient, with this limit.
        `auth`: (user name, password); `ca_cert`: connect over TLS, trusting this CA."""
        self.messages: list[Received] = []
        self.connects = 0
        self._filter = topic_filter
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        session_args: dict[str, Any] = {"clean_session": False} if session else {}
        self._client = (
            mqtt.Client(CallbackAPIVersion.VERSION2, session, **session_args)
            if max_packet_bytes is None
            else BoundedClient(
                max_packet_bytes, CallbackAPIVersion.VERSION2, session, **session_args
            )
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self._client.on_message = self._on_message
        if auth is not None:
            self._client.username_pw_set(*auth)
        if ca_cert is not None:
            self._client.tls_set(ca_certs=ca_cert)
        self._client.connect(host, port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("probe could not subscribe")

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object
    ) -> None:
        self.connects += 1
        client.subscribe(self._filter, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 15.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    topics = [m.topic for m in self.messages][-20:]
                    raise AssertionError(f"condition not met in {timeout} s; last topics {topics}")
                self._cond.wait(remaining)
            return list(self.messages)

    def on(self, suffix: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def retained_snapshot(
    host: str, port: int, topics: list[str], timeout: float = 10.0, topic_filter: str = "#"
) -> dict[str, Any]:
    """What a newly arriving subscriber of `topic_filter` sees: the retained message of each
    topic, once every one of `topics` has come (each payload read as JSON)."""
    probe = MqttProbe(host, port, topic_filter)
    try:
        probe.wait_for(lambda ms: set(topics) <= {m.topic for m in ms if m.retained}, timeout)
        return {m.topic: m.json() for m in probe.messages if m.retained}
    finally:
        probe.close()
