"""When discovery messages go out, and which devices' configs must be removed.

Discovery configs are not numbered messages and do not go through the outbox: they
live under Home Assistant's prefix, outside `{root}/{station}/`, so a `seq` there
would be a number no central subscriber ever sees (a false gap after it), and a
removal is an empty payload, which has no JSON to number.  They are idempotent
descriptions instead: published retained on every connection, again when Home
Assistant says it came `online`, and retried every tick until paho takes them.

The config topics that may be on the broker are remembered in
``homeassistant.json`` in the state directory, written *before* a config is
published, so a device that leaves the station file (on a reload, or while the agent
was stopped) has its config emptied even after a restart, and a station that turns
discovery off has every config it announced removed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from fieldagent.homeassistant.discovery import DeviceDiscovery
from fieldagent.publisher import Message

log = logging.getLogger("fieldagent.homeassistant")

STATE_FILE = "homeassistant.json"
MAX_STATE_BYTES = 1024 * 1024
ONLINE = b"online"
"""The only payload on Home Assistant's status topic that counts."""
REPUBLISH_MIN_S = 10.0
"""Home Assistant's `online` republishes at most this often (a flood costs one burst)."""


class Announcer:
    """The station's discovery configs, what waits to be published, what was announced."""

    def __init__(self, state_dir: Path, clock: Callable[[], float]) -> None:
        self._path = state_dir / STATE_FILE
        self._clock = clock
        self._announced = self._load()
        self._configs: dict[str, bytes] = {}
        """Config topic -> payload, for the devices of the station file."""
        self._waiting: dict[str, bytes] = {}
        """Topic -> payload still to hand to the broker (b"": remove the device)."""
        self._last_online: float | None = None

    @property
    def announced(self) -> frozenset[str]:
        """Config topics that may hold a config on the broker (as the state file says)."""
        return frozenset(self._announced)

    def set_devices(self, configs: Mapping[str, DeviceDiscovery]) -> None:
        """The station's devices now (at start, after a reload): new and changed configs
        are published, those of devices no longer there are removed."""
        current = {d.topic: d.payload for d in configs.values()}
        for topic, payload in current.items():
            if self._configs.get(topic) != payload:
                self._waiting[topic] = payload
        for topic in self._announced - current.keys():
            self._waiting[topic] = b""
        self._configs = current
        if not current.keys() <= self._announced:
            self._announced |= current.keys()
            self._save()

    def rearm(self) -> None:
        """A new connection: every config goes out again (a broker may have lost them)."""
        self._waiting.update(self._configs)

    def home_assistant_status(self, payload: bytes) -> bool:
        """Home Assistant's status topic said `payload`: True if the configs go out again.

        Untrusted: only the exact bytes ``online`` count, and at most once per
        `REPUBLISH_MIN_S`."""
        if payload != ONLINE or not self._configs:
            return False
        now = self._clock()
        if self._last_online is not None and now - self._last_online < REPUBLISH_MIN_S:
            return False
        self._last_online = now
        self.rearm()
        return True

    def due(self) -> list[Message]:
        """What to publish now: removals first, then configs, each by topic."""
        order = sorted(self._waiting, key=lambda t: (self._waiting[t] != b"", t))
        return [Message(topic, self._waiting[topic], 1, True) for topic in order]

    def published(self, topic: str) -> None:
        """paho took the message for `topic`: it no longer waits; a removal is forgotten."""
        payload = self._waiting.pop(topic, None)
        if payload == b"" and topic not in self._configs and topic in self._announced:
            self._announced.discard(topic)
            self._save()

    def _load(self) -> set[str]:
        try:
            with self._path.open("rb") as file:
                data = file.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return set()
        except OSError as exc:
            log.warning("%s: cannot be read (%s): no earlier discovery to remove", self._path, exc)
            return set()
        try:
            if len(data) > MAX_STATE_BYTES:
                raise ValueError(f"larger than {MAX_STATE_BYTES} bytes")
            topics = json.loads(data)["announced"]
            if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
                raise ValueError("announced is not a list of topics")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: not readable (%s): no earlier discovery to remove", self._path, exc)
            return set()
        return set(topics)

    def _save(self) -> None:
        """Write the announced topics (temporary file, fsync, rename); a failure is logged."""
        temporary = self._path.with_name(STATE_FILE + ".tmp")
        body = json.dumps({"announced": sorted(self._announced)}, indent=1).encode()
        try:
            with temporary.open("wb") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self._path)
        except OSError as exc:
            log.warning(
                "%s: cannot be written (%s): a device removed later may stay in Home Assistant",
                self._path,
                exc,
            )
