"""A paho client that never reads an oversize packet into memory.

paho reads each incoming packet whole before it looks at it: a 200 MB message
on a topic the agent subscribes to became a 200 MB buffer and then copies of
it (the agent went from 80 MB to 538 MB), and a retained one did so at every
start.  MQTT 5 lets a client state its limit in CONNECT (Maximum Packet Size),
and a broker that honours it never sends more (the publisher states it); MQTT
3.1.1 has no such field, and a broker may ignore it.  So this client also
checks each packet's length, which the fixed header gives before the body is
read: the body of a PUBLISH over the limit is read in small chunks and thrown
away, the connection stays up, and memory does not grow with what the broker
sends.  A QoS 1 PUBLISH thrown away is acknowledged, so a persistent session
does not bring it back at every reconnect.  Any other oversize packet is a
broker out of its mind: the connection is dropped.

paho offers no hook between the header and the body, so this overrides two of
its private methods (`_sock_recv`, `_packet_read`); tests/test_mqttclient.py
runs it against a real broker with the paho version installed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

log = logging.getLogger("fieldagent.mqtt")

MAX_PACKET_BYTES = 64 * 1024
"""The largest packet the agent takes: a command is at most 1 KiB, the rest is headroom for
its topic and properties; everything else the broker sends it is a few bytes."""

_CHUNK = 64 * 1024
_PUBLISH = 0x30
_HEAD = 2 + 65535 + 2
"""Enough of a PUBLISH body for its topic (length-prefixed) and its message id."""


class _Oversize(Exception):
    """Raised where paho is about to read the body of a packet over the limit."""


@dataclass
class _Skip:
    """The body of an oversize PUBLISH, being read and thrown away."""

    sock: object
    length: int
    left: int
    qos: int
    head: bytearray = field(default_factory=bytearray)


class BoundedClient(mqtt.Client):
    """`paho.mqtt.client.Client` that throws away each PUBLISH over `max_packet_bytes`."""

    def __init__(self, max_packet_bytes: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_packet_bytes = max_packet_bytes
        self._skip: _Skip | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        packet = self._in_packet
        if packet["have_remaining"] and packet["remaining_length"] > self._max_packet_bytes:
            raise _Oversize
        return super()._sock_recv(bufsize)

    def _packet_read(self) -> MQTTErrorCode:
        if self._skip is not None and self._skip.sock is not self._sock:
            self._skip = None  # a new connection: what was left of the old one is gone
        if self._skip is not None:
            return self._skip_on(self._skip)
        try:
            return super()._packet_read()
        except _Oversize:
            pass
        command, length = self._in_packet["command"], self._in_packet["remaining_length"]
        self._in_packet = {
            "command": 0,
            "have_remaining": 0,
            "remaining_count": [],
            "remaining_mult": 1,
            "remaining_length": 0,
            "packet": bytearray(b""),
            "to_process": 0,
            "pos": 0,
        }
        if command & 0xF0 != _PUBLISH:
            log.error(
                "the broker sent a packet of type %d and %d bytes (at most %d): disconnecting",
                command >> 4,
                length,
                self._max_packet_bytes,
            )
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._skip = _Skip(self._sock, length, length, (command & 0x06) >> 1)
        return self._skip_on(self._skip)

    def _skip_on(self, skip: _Skip) -> MQTTErrorCode:
        """Read on through the body, keeping only its head; then log it and acknowledge it."""
        for _ in range(100):  # as paho: other work gets its turn during a long body
            if skip.left == 0:
                break
            try:
                data = super()._sock_recv(min(skip.left, _CHUNK))
            except BlockingIOError:
                return MQTTErrorCode.MQTT_ERR_AGAIN
            except OSError as exc:
                log.warning("broker connection lost: %s", exc)
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
            if not data:
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
            skip.left -= len(data)
            skip.head += data[: max(0, _HEAD - len(skip.head))]
            with self._msgtime_mutex:  # bytes are coming: the keepalive must not drop the link
                self._last_bytes_received = mqtt.time_func()
        if skip.left:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        self._skip = None
        topic, mid = _topic_and_mid(skip)
        log.warning(
            "ignored a message of %d bytes on %s: at most %d bytes are taken",
            skip.length,
            topic,
            self._max_packet_bytes,
        )
        if skip.qos == 1 and mid is not None:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


def _topic_and_mid(skip: _Skip) -> tuple[str, int | None]:
    """The topic (for the log) and message id (to acknowledge) at the start of the body."""
    head = bytes(skip.head)
    topic_end = 2 + int.from_bytes(head[:2], "big")
    topic = head[2:topic_end].decode("utf-8", errors="replace")[:200] or "?"
    mid_bytes = head[topic_end : topic_end + 2]
    mid = int.from_bytes(mid_bytes, "big") if skip.qos and len(mid_bytes) == 2 else None
    return topic, mid
