"""The province's connection to the broker: subscribe to the contract's topics, hand on each
message, and tell when the retained burst has settled.

paho-mqtt 2 (callback API v2) runs in its own thread; each message is handed
to `on_message(topic, payload, retained)` from that thread, so a caller keeps
its own state on its own side: the monitor puts messages on a queue, an asyncio
program passes them on with `loop.call_soon_threadsafe`.  The link (user,
password file, TLS, backoff) is set up as the agent's (`publisher.secure_link`),
and packets over `MAX_PAYLOAD_BYTES` are never read into memory
(`mqttclient.BoundedClient`).

Which topics (`filters`): every numbered message of a station, because gaps can
only be judged on the whole stream (a `prev` names the previous message of any
kind): status, alarm, checklist/report, cmd/+/reply, and per device
health, meta and telemetry.  Telemetry is most of the traffic (docs/mqtt-topics.md:
about 16 MB a day per station in contract v2); `telemetry=False` leaves it and meta out,
and gaps cannot be judged then.  `station` narrows them to one station (a name, not a
pattern: MQTT has none).

Shared subscriptions (MQTT 5, `share="GROUP"`): a broker sends retained
messages on no shared subscription, so the retained topics (status, health,
meta, checklist/report) stay plain subscriptions of every member, and only
the live streams (telemetry, alarm, replies) are shared, each message going to
one member of the group.  A member then sees part of each station's stream:
it judges no gaps (`shared` tells the view's user so).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fieldagent.config import MqttSection
from fieldagent.mqttclient import BoundedClient
from fieldagent.province.view import MAX_PAYLOAD_BYTES
from fieldagent.publisher import secure_link

log = logging.getLogger("fieldagent.province")

RETAINED_TOPICS = ("status", "+/health", "+/meta", "checklist/report")
"""Per station: what the broker keeps and hands to a new subscriber."""
LIVE_TOPICS = ("alarm", "+/telemetry", "cmd/+/reply")
"""Per station: events, never retained (share these)."""


def topic_filters(
    root: str, station: str | None = None, share: str | None = None, telemetry: bool = True
) -> list[str]:
    """The subscription filters for every station (or one), live ones shared in `share`;
    without `telemetry`, no telemetry and meta (the bulk of the traffic; no gaps judged)."""
    base = f"{root}/{station or '+'}"
    left_out = () if telemetry else ("+/telemetry", "+/meta")
    retained = [f"{base}/{tail}" for tail in RETAINED_TOPICS if tail not in left_out]
    live = [f"{base}/{tail}" for tail in LIVE_TOPICS if tail not in left_out]
    if share:
        live = [f"$share/{share}/{topic}" for topic in live]
    return retained + live


@dataclass
class _Settle:
    """When the last retained message came, and whether the subscriptions were acknowledged."""

    subscribed: bool = False
    last_retained: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ProvinceSubscriber:
    """A subscription to the province's stations; `start`, then `wait_settled` or just listen."""

    def __init__(
        self,
        settings: MqttSection,  # the link: URL, credentials, TLS, protocol, topic root
        on_message: Callable[[str, bytes, bool], None],
        client_id: str = "",
        station: str | None = None,
        share: str | None = None,
        password: str | None = None,
        filters: list[str] | None = None,
        telemetry: bool = True,
    ) -> None:
        if share and settings.protocol != "5":
            raise ValueError("a shared subscription needs MQTT 5 (protocol = 5)")
        self.filters = filters or topic_filters(settings.topic_root, station, share, telemetry)
        self.shared = bool(share)
        self._settings = settings
        self._on_message = on_message
        self._settle = _Settle()
        self._last_error: str | None = None
        self._stopping = False
        self._v5 = settings.protocol == "5"
        self._client = BoundedClient(
            MAX_PAYLOAD_BYTES,
            CallbackAPIVersion.VERSION2,
            client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
        )
        secure_link(self._client, settings, password)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_subscribe = self._subscribed
        self._client.on_message = self._message
        self._client.on_connect_fail = self._connect_failed

    @property
    def last_error(self) -> str | None:
        """Why the broker could not be reached or refused us, the last time; None when fine."""
        return self._last_error

    def start(self) -> None:
        properties = None
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.MaximumPacketSize = MAX_PAYLOAD_BYTES
        self._client.connect_async(
            self._settings.host,
            self._settings.port,
            keepalive=self._settings.keepalive,
            properties=properties,
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    def wait_settled(self, quiet_s: float = 1.0, timeout_s: float = 30.0) -> bool:
        """Block until subscribed and no retained message came for `quiet_s`; False on timeout.

        The broker sends a new subscriber every retained message at once, so a
        pause in them means the picture is complete from retained messages.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._settle.lock:
                subscribed, last = self._settle.subscribed, self._settle.last_retained
            now = time.monotonic()
            if subscribed and now - last >= quiet_s:
                return True
            time.sleep(min(0.05, max(0.0, deadline - now)))
        return False

    def _connected(
        self,
        client: Client,
        userdata: object,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        if reason_code.is_failure:
            self._last_error = f"broker refused the connection: {reason_code}"
            log.error("%s", self._last_error)
            return
        self._last_error = None
        client.subscribe([(topic, 1) for topic in self.filters])

    def _subscribed(
        self,
        client: Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: object,
    ) -> None:
        refused = [
            topic
            for topic, code in zip(self.filters, reason_codes, strict=False)
            if code.is_failure
        ]
        if refused:
            self._last_error = f"broker refused the subscription to {', '.join(refused)}"
            log.error("%s", self._last_error)
        with self._settle.lock:
            self._settle.subscribed = True
            self._settle.last_retained = time.monotonic()

    def _disconnected(
        self,
        client: Client,
        userdata: object,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        if not self._stopping:
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _connect_failed(self, client: Client, userdata: object) -> None:
        exc = sys.exc_info()[1]
        self._last_error = f"cannot connect to {self._settings.url}: {exc or 'no answer'}"

    def _message(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        if message.retain:
            with self._settle.lock:
                self._settle.last_retained = time.monotonic()
        self._on_message(message.topic, bytes(message.payload), bool(message.retain))
