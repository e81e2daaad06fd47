"""MQTT publishing with paho-mqtt 2 (callback API v2), in paho's own thread.

The publisher owns the connection: TLS, credentials, the last will (set before
connect, so the broker marks the station offline if the agent dies), reconnect
with backoff, and the count of QoS 1 messages the broker has not yet
acknowledged.  If the broker is down at start, polling goes on and paho keeps
trying; `on_connected` lets the agent re-send its retained state each time.
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from fieldagent.config import MqttSection

log = logging.getLogger("fieldagent.mqtt")

MAX_QUEUED_MESSAGES = 10_000
"""paho's in-memory queue bound while disconnected: memory must not grow without limit."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttPublisher:
    """A connection to the province's broker that only ever publishes."""

    def __init__(
        self,
        settings: MqttSection,
        client_id: str,
        will: Message,
        on_connected: Callable[[], None],
        password: str | None = None,
    ) -> None:
        self._settings = settings
        self._on_connected = on_connected
        self._lock = threading.Lock()
        self._unacked: set[int] = set()
        self._acks: deque[int] = deque()
        self._connected = threading.Event()
        self._stopping = False
        self._last_error: str | None = None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        if settings.username is not None:
            client.username_pw_set(settings.username, password)
        if settings.tls:
            client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                certfile=str(settings.cert_file) if settings.cert_file else None,
                keyfile=str(settings.key_file) if settings.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED if settings.tls_verify else ssl.CERT_NONE,
            )
            client.tls_insecure_set(not settings.tls_verify)
        client.reconnect_delay_set(
            min_delay=max(1, round(settings.reconnect_min_s)),
            max_delay=max(1, round(settings.reconnect_max_s)),
        )
        client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_connect_fail = self._handle_connect_fail
        client.on_publish = self._handle_publish
        self._client = client

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def start(self, host: str, port: int) -> None:
        """Connect in the background; paho retries until the broker answers."""
        log.info("connecting to broker %s:%d", host, port)
        self._client.connect_async(host, port, keepalive=self._settings.keepalive)
        self._client.loop_start()

    def publish(self, message: Message) -> None:
        """Queue a message; thread-safe.  QoS 1 messages are tracked until PUBACK.

        The mid is recorded under our lock right after paho returns it, and
        acknowledgements are only applied under the same lock, so a PUBACK
        that races ahead of the recording is still matched.  paho's callback
        never takes our lock (it only appends to a deque), so the two threads
        cannot deadlock on each other's mutexes.
        """
        with self._lock:
            info = self._client.publish(
                message.topic, message.payload, qos=message.qos, retain=message.retain
            )
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                log.error("MQTT queue full (%d): dropped %s", MAX_QUEUED_MESSAGES, message.topic)
                return
            if message.qos > 0:
                self._unacked.add(info.mid)
            self._apply_acks()

    def unacked_count(self) -> int:
        with self._lock:
            self._apply_acks()
            return len(self._unacked)

    def _apply_acks(self) -> None:
        while self._acks:
            self._unacked.discard(self._acks.popleft())

    def wait_acked(self, timeout: float) -> bool:
        """Block until the broker acknowledged every QoS 1 message so far."""
        deadline = time.monotonic() + timeout
        while self.unacked_count():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self, last: Message | None = None, timeout: float = 5.0) -> None:
        """Publish `last` (the offline status) if connected, then disconnect cleanly."""
        if last is not None and self.connected:
            self.publish(last)
            self.wait_acked(timeout)
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    def _handle_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        if reason_code.is_failure:
            self._last_error = f"broker refused the connection: {reason_code}"
            log.error("%s", self._last_error)
            return
        self._last_error = None
        self._connected.set()
        log.info("connected to broker")
        self._on_connected()

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        if self._connected.is_set() and not self._stopping:
            log.warning("disconnected from broker (%s); reconnecting", reason_code)
        self._connected.clear()

    def _handle_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        # paho calls this inside its `except OSError` block and drops the exception:
        # fetch it here, because "certificate verify failed" is what a technician needs.
        exc = sys.exc_info()[1]
        error = f"cannot connect: {exc}" if exc else "cannot connect"
        if error != self._last_error:
            log.warning("broker: %s (retrying with backoff)", error)
        self._last_error = error

    def _handle_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        self._acks.append(mid)  # deque.append is atomic: no lock in paho's thread
