"""MQTT publishing with paho-mqtt 2 (callback API v2), in paho's own thread.

The publisher owns the connection: TLS, credentials, the last will (set before
each connect, so the broker marks the station offline if the agent dies),
reconnect with backoff, and an optional persistent session.  It keeps no
messages of its own: the outbox does, and the forwarder hands it a bounded
window (`max_inflight`) at a time, so paho's memory never holds a backlog.
paho re-sends what is in flight after a reconnect; `on_delivered` reports each
PUBACK (or, for QoS 0, each write) by message id.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fieldagent.config import MqttSection
from fieldagent.mqttclient import MAX_PACKET_BYTES, BoundedClient
from fieldagent.mqtttls import tls_context
from fieldagent.secrecy import link_warnings

log = logging.getLogger("fieldagent.mqtt")


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True)
class Incoming:
    """A message the broker delivered on a subscription, as untrusted input."""

    topic: str
    payload: bytes
    user_properties: tuple[tuple[str, str], ...] = ()
    """MQTT 5 user properties as the sender set them (none on MQTT 3.1.1)."""

    def user_property(self, name: str) -> str | None:
        """The first value of the user property `name`, if the sender set one."""
        return next((value for key, value in self.user_properties if key == name), None)


def secure_link(client: mqtt.Client, settings: MqttSection, password: str | None) -> None:
    """Credentials, TLS and reconnect backoff as `[mqtt]` says: the agent's publisher and the
    province's subscriber (fieldagent.province.subscriber) set up their link the same way."""
    if settings.username is not None:
        client.username_pw_set(settings.username, password)
    if settings.tls:
        client.tls_set_context(tls_context(settings))
    client.reconnect_delay_set(
        min_delay=max(1, round(settings.reconnect_min_s)),
        max_delay=max(1, round(settings.reconnect_max_s)),
    )


class MqttPublisher:
    """A connection to the province's broker: it publishes, and takes a few commands.

    The commands it subscribes to (`subscribe`) are handed over as raw bytes:
    a broker message is untrusted input, checked by whoever handles it.  Only
    what fits in `MAX_PACKET_BYTES` is read at all, and a retained message is
    dropped: a command is taken when it is sent, not at every (re)connect.
    """

    def __init__(
        self,
        settings: MqttSection,
        client_id: str,
        on_connected: Callable[[], None],
        on_delivered: Callable[[int], None],
        password: str | None = None,
    ) -> None:
        self._settings = settings
        self._on_connected = on_connected
        self._on_delivered = on_delivered
        self._connected = False
        self._stopping = False
        self._last_error: str | None = None
        self._refusal: ReasonCode | None = None
        self._v5 = settings.protocol == "5"
        client = (
            BoundedClient(
                MAX_PACKET_BYTES,
                CallbackAPIVersion.VERSION2,
                client_id,
                protocol=MQTTProtocolVersion.MQTTv5,
            )
            if self._v5
            else BoundedClient(
                MAX_PACKET_BYTES,
                CallbackAPIVersion.VERSION2,
                client_id,
                clean_session=not settings.persistent_session,
                protocol=MQTTProtocolVersion.MQTTv311,
            )
        )
        secure_link(client, settings, password)
        # The forwarder never hands over more than max_inflight: paho queues nothing beyond.
        client.max_inflight_messages_set(settings.max_inflight)
        client.max_queued_messages_set(settings.max_inflight)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_connect_fail = self._handle_connect_fail
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        self._client = client
        self._commands: dict[str, Callable[[Incoming], None]] = {}
        self._quiet_retained: set[str] = set()

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def last_error(self) -> str | None:
        return self._last_error

    @property
    def refusal(self) -> ReasonCode | None:
        """The broker's reason for refusing the last connection attempt (CONNACK), or None."""
        return self._refusal

    def set_will(self, will: Message) -> None:
        """The message the broker publishes if this connection dies; used from the next connect."""
        self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)

    def subscribe(self, topic: str, handler: Callable[[bytes], None]) -> None:
        """Call `handler` (from paho's thread) with each message on `topic`, from the next
        connect on (subscriptions are made again on every connect)."""
        self._commands[topic] = lambda message: handler(message.payload)

    def subscribe_messages(
        self,
        topic_filter: str,
        handler: Callable[[Incoming], None],
        quiet_retained: bool = False,
    ) -> None:
        """As `subscribe`, for a topic filter (`+` allowed), with each message's topic and
        MQTT 5 user properties.  A retained message is dropped either way; with
        `quiet_retained` without a warning (a status topic, where retained is normal)."""
        self._commands[topic_filter] = handler
        if quiet_retained:
            self._quiet_retained.add(topic_filter)

    def start(self, host: str, port: int) -> None:
        """Connect in the background; paho retries until the broker answers."""
        log.info("connecting to broker %s:%d", host, port)
        for warning in link_warnings(self._settings):
            log.warning("%s", warning)
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.MaximumPacketSize = MAX_PACKET_BYTES  # the broker sends nothing larger
            if self._settings.persistent_session:
                properties.SessionExpiryInterval = self._settings.session_expiry_s
            self._client.connect_async(
                host,
                port,
                keepalive=self._settings.keepalive,
                clean_start=not self._settings.persistent_session,
                properties=properties,
            )
        else:
            self._client.connect_async(host, port, keepalive=self._settings.keepalive)
        self._client.loop_start()

    def publish(self, message: Message) -> int | None:
        """Hand a message to paho; its message id, or None if paho did not take it.

        paho keeps a QoS 1 message it could not write yet and sends it after
        the reconnect; a QoS 0 message it could not write is gone, so the
        caller keeps it for later.
        """
        info = self._client.publish(
            message.topic, message.payload, qos=message.qos, retain=message.retain
        )
        if info.rc == mqtt.MQTT_ERR_SUCCESS or (
            info.rc == mqtt.MQTT_ERR_NO_CONN and message.qos > 0
        ):
            return info.mid
        return None

    def stop(self) -> None:
        """Disconnect cleanly (the broker does not publish the will)."""
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
            self._refusal = reason_code
            self._last_error = f"broker refused the connection: {reason_code}"
            log.error("%s", self._last_error)
            return
        self._last_error = None
        self._refusal = None
        self._connected = True
        if self._settings.persistent_session:
            session = "resumed" if flags.session_present else "new"
            log.info("connected to broker (persistent session %s)", session)
        else:
            log.info("connected to broker")
        for topic in self._commands:
            client.subscribe(topic, qos=1)
        self._on_connected()

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        if self._connected and not self._stopping:
            log.warning("disconnected from broker (%s); reconnecting", reason_code)
        self._connected = False

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
        if reason_code.is_failure:
            # MQTT 5 only: the broker refused it (ACL, quota); sending it again would not help.
            log.error("broker refused message %d: %s", mid, reason_code)
        self._on_delivered(mid)

    def _handle_message(
        self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        topic_filter = (
            message.topic
            if message.topic in self._commands
            else next((f for f in self._commands if mqtt.topic_matches_sub(f, message.topic)), None)
        )
        if topic_filter is None:
            return
        handler = self._commands[topic_filter]
        if message.retain and topic_filter in self._quiet_retained:
            return
        if message.retain:  # set only on a retained message sent because we (re)subscribed
            log.warning(
                "ignored a retained message on %s: a command is taken only when it is sent"
                " (clear it: mosquitto_pub -r -n -t TOPIC)",
                message.topic,
            )
            return
        properties = getattr(message, "properties", None)
        user_properties = getattr(properties, "UserProperty", None) or []
        handler(
            Incoming(
                message.topic,
                bytes(message.payload),
                tuple((str(key), str(value)) for key, value in user_properties),
            )
        )
