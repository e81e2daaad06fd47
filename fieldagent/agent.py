"""The daemon: poll every device on its own interval, judge health, publish.

Data flows one way: poller -> health tracker -> payloads -> publisher.  The
agent owns the sequence numbers and the latest retained messages, so it can
re-send its retained state whenever the broker connection comes back.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from drivers import get_driver
from fieldagent import __version__
from fieldagent.config import Config, DeviceSection
from fieldagent.driver import Driver
from fieldagent.health import DeviceHealth, HealthTracker
from fieldagent.model import PollResult, utc_now
from fieldagent.payloads import (
    AgentInfo,
    DeviceInfo,
    HealthPayload,
    MetricValue,
    ProblemItem,
    StatusPayload,
    TelemetryPayload,
)
from fieldagent.poller import Poller
from fieldagent.publisher import Message, MqttPublisher
from fieldagent.scheduler import run_every
from fieldagent.state import StateStore
from fieldagent.topics import Topics
from fieldagent.transports.local import LocalReader
from fieldagent.transports.serialport import SerialLines
from fieldagent.transports.snmp import SnmpClient

log = logging.getLogger("fieldagent.agent")

EXIT_OK = 0
EXIT_UNREACHABLE = 1
EXIT_BROKER = 69  # sysexits EX_UNAVAILABLE: the broker did not acknowledge in time


@dataclass
class _Device:
    config: DeviceSection
    driver: Driver
    health: HealthTracker

    @classmethod
    def of(cls, config: DeviceSection, once: bool) -> _Device:
        """A device with its driver (per-device scaling applied) and health tracker.

        A --once run has no later poll to wait for: one failure is unreachable.
        """
        driver = get_driver(config.driver).with_scaling(config.scaling)
        return cls(config, driver, HealthTracker(driver, 1 if once else config.retries))


class Agent:
    """One station's agent: its devices, its broker connection, its state."""

    def __init__(self, config: Config, broker_url: str | None = None, once: bool = False) -> None:
        self._config = config
        self._mqtt = (
            config.mqtt
            if broker_url is None
            else config.mqtt.model_copy(update={"url": broker_url})
        )
        self._topics = Topics(self._mqtt.topic_root, config.station.id)
        self._started = utc_now()
        self._store = StateStore(config.agent.state_dir)
        self._snmp = SnmpClient()
        self._serial = SerialLines()
        self._poller = Poller(
            self._snmp, LocalReader(state_dir=config.agent.state_dir), self._serial
        )
        self._devices = [_Device.of(d, once) for d in config.device]
        self._retained_health: dict[str, Message] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publisher = MqttPublisher(
            self._mqtt,
            client_id=self._mqtt.client_id or f"fieldagent-{config.station.id}",
            will=self._status_message("offline"),
            on_connected=self._on_connected,
            password=self._mqtt.resolved_password(),
        )

    async def run_forever(self, stop: asyncio.Event) -> int:
        """Poll and publish until `stop` is set; then say offline and disconnect."""
        self._loop = asyncio.get_running_loop()
        self._publisher.start(self._mqtt.host, self._mqtt.port)
        tasks = [
            asyncio.create_task(
                run_every(d.config.interval, partial(self._poll_and_publish, d), name=d.config.id),
                name=d.config.id,
            )
            for d in self._devices
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._shutdown()
        return EXIT_OK

    async def run_once(self, ack_timeout: float) -> int:
        """Poll every device once, publish, wait for the broker's acknowledgements."""
        self._loop = asyncio.get_running_loop()
        self._publisher.start(self._mqtt.host, self._mqtt.port)
        try:
            results = await asyncio.gather(*(self._poll_and_publish(d) for d in self._devices))
            acked = await asyncio.to_thread(self._publisher.wait_acked, ack_timeout)
            if not acked:
                reason = self._publisher.last_error or "no acknowledgement"
                log.error(
                    "broker %s:%d did not acknowledge within %g s (%s)",
                    self._mqtt.host,
                    self._mqtt.port,
                    ack_timeout,
                    reason,
                )
                return EXIT_BROKER
        finally:
            self._shutdown()
        unreachable = [r.device_id for r in results if not r.answered]
        if unreachable:
            log.error("unreachable: %s", ", ".join(unreachable))
            return EXIT_UNREACHABLE
        return EXIT_OK

    def _shutdown(self) -> None:
        self._publisher.stop(last=self._status_message("offline"))
        self._snmp.close()
        self._serial.close()
        self._store.close()

    async def _poll_and_publish(self, device: _Device) -> PollResult:
        result = await self._poller.poll(device.config, device.driver)
        if result.error:
            log.warning("%s: %s", device.config.id, result.error)
        previous = device.health.current
        health = device.health.update(result)
        publish_health = health is not None and not health.same_as(previous)
        seqs = iter(self._store.reserve_seq(2 if publish_health else 1))
        self._publisher.publish(self._telemetry_message(device, result, next(seqs)))
        if health is not None and publish_health:
            if health.state is not (previous.state if previous else None):
                log.info("%s: health %s", device.config.id, health.state)
            message = self._health_message(device, health, result.ts, next(seqs))
            self._retained_health[device.config.id] = message
            self._publisher.publish(message)
        return result

    def _on_connected(self) -> None:
        """Called from paho's thread: re-send retained state from the event loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._republish_retained)

    def _republish_retained(self) -> None:
        self._publisher.publish(self._status_message("online"))
        for message in list(self._retained_health.values()):
            self._publisher.publish(message)

    def _status_message(self, state: str) -> Message:
        (seq,) = self._store.reserve_seq(1)
        payload = StatusPayload(
            station=self._config.station.id,
            seq=seq,
            ts=utc_now(),
            state="online" if state == "online" else "offline",
            name=self._config.station.name,
            timezone=self._config.station.timezone,
            agent=AgentInfo(
                version=__version__, hostname=socket.gethostname(), started=self._started
            ),
            devices=[
                DeviceInfo(
                    id=d.config.id,
                    name=d.config.display_name,
                    driver=d.driver.name,
                    kind=d.driver.kind,
                    host=d.config.address,
                )
                for d in self._devices
            ],
        )
        return Message(self._topics.status, payload.model_dump_json().encode(), 1, True)

    def _telemetry_message(self, device: _Device, result: PollResult, seq: int) -> Message:
        payload = TelemetryPayload(
            station=self._config.station.id,
            seq=seq,
            ts=result.ts,
            device=device.config.id,
            driver=device.driver.name,
            kind=device.driver.kind,
            poll_ms=round(result.duration_s * 1000),
            error=result.error,
            metrics={
                r.key: MetricValue(
                    value=r.value, unit=r.unit, quality=r.quality, detail=r.detail or None
                )
                for r in result.readings
            },
        )
        topic = self._topics.telemetry(device.config.id)
        return Message(topic, payload.model_dump_json().encode(), self._mqtt.telemetry_qos, False)

    def _health_message(
        self, device: _Device, health: DeviceHealth, ts: datetime, seq: int
    ) -> Message:
        payload = HealthPayload(
            station=self._config.station.id,
            seq=seq,
            ts=ts,
            device=device.config.id,
            state=health.state,
            reason=health.reason,
            problems=[
                ProblemItem(
                    metric=p.metric,
                    title=p.title,
                    value=p.value,
                    unit=p.unit,
                    state=p.state,
                    limit=p.limit,
                )
                for p in health.problems
            ],
        )
        return Message(
            self._topics.health(device.config.id), payload.model_dump_json().encode(), 1, True
        )
