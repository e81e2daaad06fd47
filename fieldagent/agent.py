"""The daemon: poll every device on its own interval, judge alarms, publish.

Data flows one way: poller -> alarm engine -> messages -> outbox -> forwarder
-> publisher.  Every message is committed to the outbox before it is
published, so an outage of the link, the broker, the agent or the power loses
nothing that matters.  The agent owns the latest retained messages, so it can
re-send its retained state whenever the broker connection comes back; the
alarm store keeps the active alarms across restarts.  A `--once` run takes a
snapshot instead: it judges the readings as they are (no delays) and
publishes no alarm events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from drivers import REGISTRY
from fieldagent.alarms import Alarm, AlarmEngine, AlarmEvent
from fieldagent.alarms.keeper import AlarmKeeper
from fieldagent.alarms.snapshot import snapshot_alarms
from fieldagent.checklist.desk import ChecklistDesk, Take
from fieldagent.checklist.report import Report
from fieldagent.checklist.runner import StationChecklist
from fieldagent.checklist.service import AgentParts, ChecklistService
from fieldagent.config import Config, ConfigError, DeviceSection, SerialDevice
from fieldagent.devicelog import device_log
from fieldagent.driver import Driver, TrapAction, row_key
from fieldagent.homeassistant.announcer import Announcer
from fieldagent.homeassistant.discovery import DeviceDiscovery, device_discovery
from fieldagent.liveness import Liveness, device_limits
from fieldagent.model import HealthState, PollResult, utc_now
from fieldagent.outbox import Draft, Forwarder, Outbox
from fieldagent.outbox.station_alarms import OutboxAlarms
from fieldagent.outgoing import MessageBuilder, json_value
from fieldagent.payloads import OutboxInfo
from fieldagent.poller import Poller
from fieldagent.publisher import Incoming, Message, MqttPublisher
from fieldagent.reload import ConfigDiff, diff_configs, effective
from fieldagent.remote.dispatcher import RemoteCommands, RemoteParts, StationFigures
from fieldagent.report_by_exception import DeviceReporter, deadbands_of
from fieldagent.retainedclear import RetainedClears
from fieldagent.scheduler import run_every
from fieldagent.sdnotify import Notifier
from fieldagent.state import StateDirLock, StateStoreError, set_aside_damaged, storage_problem
from fieldagent.topics import Topics
from fieldagent.transports.local import LocalReader
from fieldagent.transports.serialport import SerialLines
from fieldagent.transports.snmp import SnmpClient
from fieldagent.watchdog import supervise

if TYPE_CHECKING:  # the receiver (and pysnmp with it) is imported only when traps are on
    from fieldagent.traps import TrapEvent, TrapReceiver

log = logging.getLogger("fieldagent.agent")

EXIT_OK = 0
EXIT_UNREACHABLE = 1
EXIT_BROKER = 69  # sysexits EX_UNAVAILABLE: the broker did not acknowledge in time

TICK_S = 1.0
"""How often time-based alarm rules (stale, maintenance expiry) are looked at."""

GOODBYE_S = 5.0
"""How long a `--once` run's caller waits by default; a daemon's stop uses
`[agent] stop_flush_s` (the outbox's rows left unsent stay in state.db)."""


@dataclass
class _Device:
    config: DeviceSection
    driver: Driver
    lock: asyncio.Lock
    confirming: bool = False
    """A trap's confirming poll is waiting for its turn: later traps need no other."""

    @classmethod
    def of(cls, config: DeviceSection, driver: Driver | None = None) -> _Device:
        """A device with its driver (per-device scaling applied), a shipped one by default."""
        if driver is None:
            driver = REGISTRY.get_driver(config.driver).with_scaling(config.scaling)
        return cls(config, driver, asyncio.Lock())


class Agent:
    """One station's agent: its devices, its alarms, its broker connection, its state."""

    def __init__(
        self,
        config: Config,
        broker_url: str | None = None,
        once: bool = False,
        checklist: StationChecklist | None = None,
        drivers: Mapping[str, Driver] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        """`drivers`: per device id, scaling applied (a station's own profiles among them);
        by default the checklist's, else the shipped driver each device names.
        `notifier`: systemd's, when the service manager asked for one (none by default)."""
        self._config = config
        self._notifier = notifier if notifier is not None else Notifier(None)
        self._liveness = Liveness()
        self._once = once
        self._lock = StateDirLock(config.agent.state_dir)
        self._lock.acquire()  # before the outbox numbers anything
        replaced = self._set_aside_damaged_state()
        self._mqtt = (
            config.mqtt
            if broker_url is None
            else config.mqtt.model_copy(update={"url": broker_url})
        )
        self._outbox = Outbox.of_station(config)
        self._forwarder = Forwarder(self._outbox, self._mqtt.max_inflight)
        self._topics = Topics(self._mqtt.topic_root, config.station.id)
        self._build = MessageBuilder(config, self._topics, self._mqtt.telemetry_qos)
        self._snmp = SnmpClient()
        self._serial = SerialLines()
        self._poller = Poller(
            self._snmp, LocalReader(state_dir=config.agent.state_dir), self._serial
        )
        # The station's drivers (its own profiles included) come with its checklist.
        if drivers is None:
            drivers = checklist.drivers if checklist is not None else {}
        self._devices = {d.id: _Device.of(d, drivers.get(d.id)) for d in config.device}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._running = False
        """Device loops run and a stop has not begun: the window in which a reload applies."""
        self._clears = RetainedClears()
        self._trap_start: asyncio.Task[None] | None = None
        """The trap receiver's start after a reload (held: a task nobody holds may vanish)."""
        self._reporters = self._device_reporters() if config.telemetry.format == "compact" else {}
        self._retained_meta: dict[str, Draft] = {}
        self._alarm_keeper = AlarmKeeper(config.agent.state_dir)
        restored, maintenance = self._alarm_keeper.restore()
        self._engine = AlarmEngine(
            config.station.id,
            config,
            {device_id: d.driver for device_id, d in self._devices.items()},
            utc_now,
            restored=restored,
            maintenance=maintenance,
        )
        self._traps: TrapReceiver | None = None
        if config.traps.enabled and not once:
            from fieldagent.traps import TrapReceiver

            self._traps = TrapReceiver(
                config.traps,
                config.device,
                {d.config.driver: d.driver for d in self._devices.values()},  # by driver name
                self._on_trap,
                self._on_flood,
            )
        self._background: set[asyncio.Task[PollResult]] = set()  # confirming polls
        self._snapshot: dict[str, HealthState] = {}
        self._retained_health: dict[str, Draft] = {}
        self._outbox_alarms = OutboxAlarms(self._outbox, replaced)
        self._health_signature: dict[str, object] = {}
        self._health_state: dict[str, HealthState] = {}
        self._worst: HealthState | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publisher = MqttPublisher(
            self._mqtt,
            client_id=self._mqtt.client_id or f"fieldagent-{config.station.id}",
            on_connected=self._on_connected,
            on_delivered=self._forwarder.on_delivered,
            password=self._mqtt.resolved_password(),
        )
        self._checklist = self._checklist_service(checklist) if not once else None
        self._remote = self._remote_commands() if not once else None
        if self._remote is not None:  # cmd/+: cmd/checklist and the remote commands
            self._publisher.subscribe_messages(self._topics.commands, self._on_command)
        # Home Assistant discovery: also when off, to remove what an earlier run announced.
        self._announcer = Announcer(config.agent.state_dir, time.monotonic) if not once else None
        if self._announcer is not None and self._mqtt.homeassistant_discovery:
            self._publisher.subscribe_messages(
                self._mqtt.homeassistant_status_topic, self._on_ha_status, quiet_retained=True
            )
        self._prepare_will()

    def _device_reporters(self) -> dict[str, DeviceReporter]:
        """Compact telemetry's state per device; their snapshots spread over the interval."""
        interval = self._config.telemetry.snapshot_interval_s
        count = len(self._devices)
        return {
            device_id: self._reporter(d, interval * (index + 1) / count)
            for index, (device_id, d) in enumerate(self._devices.items())
        }

    def _reporter(self, device: _Device, first_snapshot_after_s: float) -> DeviceReporter:
        interval = self._config.telemetry.snapshot_interval_s
        deadbands = deadbands_of(device.driver, device.config.deadband)
        return DeviceReporter(deadbands, interval, first_snapshot_after_s, time.monotonic)

    def _build_meta(self) -> None:
        """Compact telemetry's key, retained: each device's units, titles and deadbands.

        Built once at start and put on every connection (the first included), as the
        health is: put before the first connection it would wait in the outbox and go
        out marked as replayed, which it is not.
        """
        if not self._reporters:
            return
        interval = self._config.telemetry.snapshot_interval_s
        for device_id, device in self._devices.items():
            self._retained_meta[device_id] = self._build.meta(
                device.config, device.driver, interval
            )

    def _checklist_service(self, checklist: StationChecklist | None) -> ChecklistService | None:
        """The daemon's checklist; without it (a state.db that cannot be written at start)
        the agent still monitors, and says why the checklist is off."""
        if checklist is None:
            return None
        parts = AgentParts(
            poll=self._poll_for_checklist,
            alarms=self._engine.all_active,
            outbox_waiting=self._outbox.waiting_since,
            send=self._send,
            publish_report=self._publish_report,
            build=self._build,
        )
        try:
            return ChecklistService(checklist, parts)
        except (sqlite3.Error, StateStoreError) as exc:
            problem = storage_problem(self._config.agent.state_dir, exc)
            log.error("checklist off until the agent restarts: %s", problem)
            return None

    def _remote_commands(self) -> RemoteCommands:
        """cmd/NAME for central staff (fieldagent/remote/); cmd/checklist is handed on."""
        parts = RemoteParts(
            devices=lambda: self._devices.keys(),
            figures=lambda: StationFigures(
                self._station_worst(), len(self._devices), self._outbox.backlog_count()
            ),
            poll=lambda device_id: self._poll_and_publish(self._devices[device_id]),
            health=self._engine.device_state,
            request_maintenance=lambda device_id, until: self._alarm_keeper.request_maintenance(
                device_id, until, utc_now()
            ),
            send=self._send,
            build=self._build,
            forward={"checklist": self._checklist.command} if self._checklist else {},
        )
        return RemoteCommands(self._config.remote, self._topics, parts)

    def _set_aside_damaged_state(self) -> str | None:
        """A damaged state.db is moved aside before anything opens it; what was done."""
        try:
            replaced = set_aside_damaged(self._config.agent.state_dir, utc_now())
        except OSError as exc:
            log.error("state.db is damaged and cannot be moved aside: %s", exc)
            return None
        if replaced is not None:
            log.error("%s; a new one is made", replaced)
        return replaced

    async def run_forever(self, stop: asyncio.Event) -> int:
        """Poll and publish until `stop` is set; then say offline and disconnect."""
        self._loop = asyncio.get_running_loop()
        forwarder = asyncio.create_task(self._forwarder.run(self._publisher), name="forwarder")
        self._build_meta()
        if self._announcer is not None:
            self._announcer.set_devices(self._discovery())
        self._publisher.start(self._mqtt.host, self._mqtt.port)
        self._publish_events(self._engine.tick())  # what restoring the alarms changed
        await self._start_traps()
        for device_id in self._devices:
            self._start_loop(device_id)
        self._running = True
        tasks = [asyncio.create_task(run_every(TICK_S, self._tick, name="alarms"))]
        for device_id, limit in device_limits(self._config.device).items():
            self._liveness.watch(device_id, limit)
        self._notifier.ready(self.summary())
        tasks.append(
            asyncio.create_task(
                supervise(self._notifier, self._alive_problems, self.summary), name="watchdog"
            )
        )
        try:
            await stop.wait()
        finally:
            # The whole stop fits in stop_flush_s (plus closing): systemd's TimeoutStopSec
            # must never find the agent still flushing to a slow or absent broker.
            deadline = time.monotonic() + self._config.agent.stop_flush_s
            self._running = False
            self._notifier.stopping()
            tasks += self._loops.values()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._checklist is not None:
                await self._checklist.stop()
            if self._remote is not None:
                await self._remote.stop()
            self._send(self._status(online=False))
            if not await self._forwarder.drain(max(0.0, deadline - time.monotonic())):
                log.warning(
                    "stopping with %d messages in the outbox (kept in state.db for the next"
                    " start; agent.stop_flush_s = %g s)",
                    self._outbox.backlog_count(),
                    self._config.agent.stop_flush_s,
                )
            await _cancel(forwarder)
            self._shutdown()
        return EXIT_OK

    def _start_loop(self, device_id: str) -> None:
        device = self._devices[device_id]
        self._loops[device_id] = asyncio.create_task(
            run_every(
                device.config.interval, partial(self._scheduled_poll, device), name=device_id
            ),
            name=device_id,
        )

    def reload(self, load: Callable[[], StationChecklist]) -> bool:
        """SIGHUP: read the station file again (`load`) and apply it; False if refused.

        An unusable file changes nothing: each problem is logged, the agent runs on.
        What changes is in fieldagent/reload.py; devices not touched keep their loops
        and their alarm state (active alarms, delays in progress, maintenance).
        """
        if not self._running:
            log.warning("reload ignored: the agent is starting or stopping")
            return False
        self._notifier.reloading()
        try:
            station = load()
        except (ConfigError, OSError) as exc:
            problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
            for problem in problems:
                log.error("reload refused: %s", problem)
            log.error("reload refused: the agent runs on with the station file it had")
            self._notifier.ready(self.summary())
            return False
        old = {i: d.driver for i, d in self._devices.items()}
        change = diff_configs(self._config, station.config, old, station.drivers)
        for key in change.restart_keys:
            log.warning("reload: %s changed: it applies at the next restart", key)
        try:
            self._apply(station, change)
        except Exception:  # a bug here must not take the signal handler, or the agent, down
            log.exception("reload failed part way: restart the agent to apply the file")
        else:
            log.info("reloaded: %s", change.summary())
        self._notifier.ready(self.summary())
        return True

    def _apply(self, station: StationChecklist, change: ConfigDiff) -> None:
        """Swap in the reloaded config: loops, reporters, alarms, liveness, traps, checklist."""
        config = effective(self._config, station.config)
        self._config = config
        self._build = MessageBuilder(config, self._topics, self._mqtt.telemetry_qos)
        for device_id in change.removed + change.changed:
            loop = self._loops.pop(device_id, None)
            if loop is not None:
                loop.cancel()
            self._devices.pop(device_id)
            self._poller.forget(device_id)
            self._reporters.pop(device_id, None)
        for device_id in change.removed:
            self._retained_meta.pop(device_id, None)
            self._retained_health.pop(device_id, None)
            self._health_signature.pop(device_id, None)
            self._health_state.pop(device_id, None)
        sections = {d.id: d for d in config.device}
        for device_id in change.added + change.changed:
            device = _Device.of(sections[device_id], station.drivers[device_id])
            self._devices[device_id] = device
            if config.telemetry.format == "compact":
                interval = config.telemetry.snapshot_interval_s
                self._reporters[device_id] = self._reporter(device, interval)
                meta = self._build.meta(device.config, device.driver, interval)
                self._retained_meta[device_id] = meta
                self._send(meta)
        self._devices = {i: self._devices[i] for i in sections}  # the file's order
        for device_id in change.unchanged + change.limits:
            self._devices[device_id].config = sections[device_id]
        drivers = {i: d.driver for i, d in self._devices.items()}
        self._publish_events(self._engine.reconfigure(config, drivers, change.rejudged))
        self._clears.keep(t for i in change.added for t in self._device_topics(i))
        self._clears.add(t for i in change.removed for t in self._device_topics(i))
        self._serial.keep_only(d for d in config.device if isinstance(d, SerialDevice))
        for device_id in change.added + change.changed:
            self._start_loop(device_id)
        self._liveness.watch_only(device_limits(config.device), change.added + change.changed)
        if self._checklist is not None:
            self._checklist.replace(dataclasses.replace(station, config=config))
        if change.added or change.removed or change.changed:
            self._restart_traps()
        if self._announcer is not None:
            self._announcer.set_devices(self._discovery())
            self._announce()
        self._publish_status_if_changed(force=True)

    def _discovery(self) -> dict[str, DeviceDiscovery]:
        """Home Assistant's config per device; none when `homeassistant_discovery` is off."""
        if not self._mqtt.homeassistant_discovery:
            return {}
        return {
            device_id: device_discovery(
                self._mqtt.homeassistant_prefix,
                self._topics,
                self._config.telemetry.format,
                device.config,
                device.driver,
            )
            for device_id, device in self._devices.items()
        }

    def _announce(self) -> None:
        """Hand paho the discovery configs (and removals) that wait; the rest next tick.

        Outside the outbox (fieldagent/homeassistant/announcer.py says why): paho
        refuses a message while the forwarder's window fills its queue, and the
        refused ones wait for the next try."""
        if self._announcer is None or not self._publisher.connected:
            return
        for message in self._announcer.due():
            if self._publisher.publish(message) is None:
                return
            self._announcer.published(message.topic)

    def _on_ha_status(self, message: Incoming) -> None:
        """Called from paho's thread: Home Assistant's status, judged on the event loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ha_status, message.payload)

    def _ha_status(self, payload: bytes) -> None:
        if self._announcer is not None and self._announcer.home_assistant_status(payload):
            log.info("Home Assistant is online: discovery sent again")
            self._announce()

    def _device_topics(self, device_id: str) -> list[str]:
        """The retained topics a device owns (emptied on the broker when it is removed)."""
        return [self._topics.health(device_id), self._topics.meta(device_id)]

    def _restart_traps(self) -> None:
        """The trap receiver matches senders by device: a new device set, a new receiver."""
        if self._traps is None:
            return
        from fieldagent.traps import TrapReceiver

        self._traps.stop()
        self._traps = TrapReceiver(
            self._config.traps,
            self._config.device,
            {d.config.driver: d.driver for d in self._devices.values()},
            self._on_trap,
            self._on_flood,
        )
        self._trap_start = asyncio.get_running_loop().create_task(self._start_traps())

    async def run_once(self, ack_timeout: float) -> int:
        """Poll every device once, publish, wait for the broker's acknowledgements."""
        self._loop = asyncio.get_running_loop()
        forwarder = asyncio.create_task(self._forwarder.run(self._publisher), name="forwarder")
        self._build_meta()
        self._publisher.start(self._mqtt.host, self._mqtt.port)
        try:
            results = await asyncio.gather(
                *(self._poll_and_publish(d) for d in self._devices.values())
            )
            self._publish_handed_over()
            self._send(self._status(online=False))  # a snapshot run ends by saying so
            acked = await self._forwarder.drain(ack_timeout)
            if not acked:
                reason = self._publisher.last_error or "no acknowledgement"
                log.error(
                    "broker %s:%d did not acknowledge within %g s (%s); %d messages stay"
                    " in the outbox for the next run",
                    self._mqtt.host,
                    self._mqtt.port,
                    ack_timeout,
                    reason,
                    self._outbox.backlog_count(),
                )
                return EXIT_BROKER
        finally:
            await _cancel(forwarder)
            self._shutdown()
        unreachable = [r.device_id for r in results if not r.answered]
        if unreachable:
            log.error("unreachable: %s", ", ".join(unreachable))
            return EXIT_UNREACHABLE
        return EXIT_OK

    def confirm(self, device_id: str) -> None:
        """Poll a device out of turn (a trap arrived), unless such a poll is already waiting.

        One waiting confirming poll per device confirms every trap that came
        before it starts: against a slow device a burst of traps must not queue
        a poll each (the queue would grow without bound, and the scheduled polls
        would wait behind it).  A trap that arrives once it has started gets a
        poll of its own, as that one may have read the device before the change.
        """
        device = self._devices.get(device_id)
        if device is None or device.confirming:
            return
        device.confirming = True
        task = asyncio.get_running_loop().create_task(self._poll_and_publish(device, True))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _start_traps(self) -> None:
        if self._traps is None:
            return
        try:
            await self._traps.start()
        except OSError as exc:
            # Polling still works without traps: say why, loudly, and go on.
            log.error("trap receiver not started: %s", exc)
            self._traps = None
        else:
            log.info("receiving SNMP traps on %s", self._traps.address)

    def _on_trap(self, event: TrapEvent) -> None:
        """A trap from a known device: its alarm now, and a poll to confirm it."""
        alarm = event.alarm_key
        if event.rule is None or alarm is None:
            self._send(
                self._build.trap(
                    event.device_id, event.source, event.trap_oid, event.varbinds, event.received_at
                )
            )
        else:
            raising = event.rule.action is TrapAction.RAISE
            # A flag the driver also reads: the trap sets that reading's own condition.
            condition = "state" if event.rule.cleared_by == event.rule.alarm else "trap"
            self._publish_events(
                self._engine.external(
                    event.device_id,
                    alarm,
                    condition,
                    event.rule.severity if raising else None,
                    json_value(event.value),
                    event.rule.message_vi,
                    event.rule.message_en,
                )
            )
        self.confirm(event.device_id)

    def _on_flood(self, source: str | None, flooding: bool) -> None:
        """A flood from one sender, or (source None) of the trap port from every address."""
        if source is None:
            rule = "traps.flood"
            vi = "Cổng nhận trap bị tràn gói tin từ nhiều địa chỉ"
            en = "Trap port flooded from many addresses"
        else:
            rule = row_key("traps.flood", "source", source)
            vi = f"Quá nhiều trap từ {source}: đang giới hạn"
            en = f"Trap flood from {source}: rate-limited"
        severity = HealthState.WARNING if flooding else None
        self._publish_events(self._engine.station_alarm(rule, "flood", severity, source, vi, en))

    def _shutdown(self) -> None:
        if self._traps is not None:
            self._traps.stop()
        self._publisher.stop()
        self._snmp.close()
        self._serial.close()
        self._alarm_keeper.close()
        self._outbox.close()
        self._lock.release()

    async def _scheduled_poll(self, device: _Device) -> PollResult:
        """A device loop's round; its end, even a failed one, is progress for the watchdog."""
        try:
            return await self._poll_and_publish(device)
        finally:
            self._liveness.polled(device.config.id)

    def _alive_problems(self) -> list[str]:
        """The liveness rules that fail now (fieldagent/liveness.py); empty when alive."""
        self._liveness.outbox(
            self._publisher.connected, self._outbox.backlog_count(), self._forwarder.acked
        )
        return self._liveness.problems()

    def summary(self) -> str:
        """One line for systemd's STATUS=: devices by health, the outbox's backlog."""
        states = [self._engine.device_state(device_id) for device_id in self._devices]
        counts = ", ".join(
            f"{sum(1 for s in states if s is state)} {state}"
            for state in HealthState
            if state is HealthState.OK or state in states
        )
        noun = "device" if len(states) == 1 else "devices"
        return f"{len(states)} {noun}: {counts}; outbox {self._outbox.backlog_count()} waiting"

    async def _poll_and_publish(self, device: _Device, confirming: bool = False) -> PollResult:
        device_id = device.config.id
        async with device.lock:
            if confirming:
                device.confirming = False  # from here on a trap needs a poll of its own
            result = await self._poller.poll(device.config, device.driver)
        if not self._once and self._devices.get(device_id) is not device:
            return result  # a reload removed or replaced the device meanwhile: not judged
        if result.error:
            device_log(device_id).warning("%s", result.error)
        if self._checklist is not None:
            self._checklist.observed(result)
        self._publish_telemetry(device, result)
        if self._once:
            self._snapshot[device_id] = self._publish_snapshot_health(device, result)
        else:
            self._publish_events(self._engine.observe(device_id, result))
            self._publish_health(device_id, result.ts)
        self._publish_status_if_changed()
        return result

    async def _tick(self) -> None:
        events = self._engine.tick()
        requests = self._alarm_keeper.take_requests()
        for device_id, until in requests:
            if device_id in self._devices:
                device_log(device_id).info("maintenance %s", f"until {until}" if until else "off")
                events += self._engine.set_maintenance(device_id, until)
        if requests:
            self._alarm_keeper.record_maintenance(self._engine.maintenance_overrides)
        self._publish_events(events + self._outbox_alarms.events(self._engine))
        if self._alarm_keeper.behind:
            self._alarm_keeper.catch_up(
                self._engine.all_active(), self._engine.maintenance_overrides
            )
        if self._checklist is not None:
            self._checklist.tick()
        for topic in self._clears.due(self._publisher.connected, self._outbox.backlog_count()):
            self._publisher.publish(Message(topic, b"", 1, True))
        self._announce()

    async def _poll_for_checklist(self, section: DeviceSection, driver: Driver) -> PollResult:
        """A checklist's fresh poll is a poll like any other: published and judged."""
        device = self._devices.get(section.id)
        if device is None:  # removed by a reload while the run went on: read, not judged
            return await self._poller.poll(section, driver)
        return await self._poll_and_publish(device)

    def _on_command(self, message: Incoming) -> None:
        """Called from paho's thread: the command is handled on the event loop."""
        if self._loop is not None and not self._loop.is_closed() and self._remote is not None:
            self._loop.call_soon_threadsafe(self._remote.handle, message)

    def _publish_telemetry(self, device: _Device, result: PollResult) -> None:
        """v1: every reading; v2 (compact): what changed, or nothing (no number used)."""
        reporter = self._reporters.get(device.config.id)
        if reporter is None:
            self._send(self._build.telemetry(device.config, device.driver, result))
            return
        report = reporter.report(result)
        if report is not None:
            self._send(self._build.compact_telemetry(device.config, result, report))

    def _publish_events(self, events: list[AlarmEvent]) -> None:
        """Store first (a restart must not raise them again), then publish, then refresh state."""
        if not events:
            return
        self._alarm_keeper.record(events)
        for event in events:
            alarm = event.alarm
            speaker = log if alarm.device is None else device_log(alarm.device)
            speaker.info("alarm %s %s: %s", event.transition, alarm.alarm_id, alarm.message_en)
            self._send(self._build.alarm(event))
        for device_id in {e.alarm.device for e in events if e.alarm.device is not None}:
            if device_id in self._devices:
                self._publish_health(device_id, events[-1].ts)
        self._publish_status_if_changed(force=any(e.alarm.device is None for e in events))

    def _publish_health(self, device_id: str, ts: datetime) -> None:
        state = self._engine.device_state(device_id)
        alarms = self._engine.active(device_id)
        reason = next((a.message_en for a in alarms if a.condition == "unreachable"), None)
        self._retain_health(device_id, state, reason, alarms, ts)

    def _publish_snapshot_health(self, device: _Device, result: PollResult) -> HealthState:
        device_id = device.config.id
        if not result.answered:
            self._retain_health(device_id, HealthState.UNREACHABLE, result.error, [], result.ts)
            return HealthState.UNREACHABLE
        alarms = snapshot_alarms(self._config.station.id, device_id, device.driver, result)
        state = HealthState.worst([a.severity for a in alarms])
        self._retain_health(device_id, state, None, alarms, result.ts)
        return state

    def _retain_health(
        self,
        device_id: str,
        state: HealthState,
        reason: str | None,
        alarms: Sequence[Alarm],
        ts: datetime,
    ) -> None:
        """Publish the retained health when it changed (state, alarms, their values)."""
        signature = (state, reason, [(a.alarm_id, a.severity, a.value) for a in alarms])
        if self._health_signature.get(device_id) == signature:
            return
        if self._health_state.get(device_id) is not state:
            device_log(device_id).info("health %s", state)
        self._health_signature[device_id] = signature
        self._health_state[device_id] = state
        draft = self._build.health(device_id, state, reason, alarms, ts)
        self._retained_health[device_id] = draft
        self._send(draft)

    def _station_worst(self) -> HealthState:
        if self._once:
            return HealthState.worst(list(self._snapshot.values()))
        return self._engine.station_state()

    def _publish_status_if_changed(self, force: bool = False) -> None:
        worst = self._station_worst()
        if force or worst is not self._worst:
            self._worst = worst
            self._send(self._status(online=True))

    def _send(self, draft: Draft) -> None:
        """Into the outbox (committed before it is published), and wake the forwarder."""
        self._outbox.put(draft)
        self._forwarder.wake()

    def _publish_report(self, report: Report, take: Take) -> bool:
        """A report left by `checklist run`: into the outbox as it leaves the desk."""
        stored = self._outbox.put_taken(self._build.checklist_report(report), take)
        self._forwarder.wake()
        return stored

    def _publish_handed_over(self) -> None:
        """`--once` runs no checklist service, but sends the reports that wait for one."""
        try:
            desk = ChecklistDesk(self._config.agent.state_dir)
            try:
                desk.publish_outgoing(self._publish_report)
            finally:
                desk.close()
        except (sqlite3.Error, StateStoreError) as exc:
            problem = storage_problem(self._config.agent.state_dir, exc)
            log.error("checklist reports not sent: %s", problem)

    def _prepare_will(self) -> None:
        """The offline status the broker publishes if this connection dies.

        Each connection gets a will with a number of its own (outside the
        `prev` chain, as it may never be published), so a subscriber does not
        take a second outage's will for a duplicate of the first.
        """
        seq = self._outbox.reserve_unchained()
        draft = self._status(online=False)
        self._publisher.set_will(Message(draft.topic, draft.render(seq), draft.qos, draft.retain))

    def _status(self, online: bool) -> Draft:
        return self._build.status(
            online,
            self._station_worst(),
            [(d.config, d.driver) for d in self._devices.values()],
            [] if self._once else self._engine.active(None),
            OutboxInfo(
                waiting=self._outbox.backlog_count(),
                thinned=self._outbox.thinned,
                superseded=self._outbox.superseded,
            ),
        )

    def _on_connected(self) -> None:
        """Called from paho's thread: the rest happens on the event loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._connected)

    def _connected(self) -> None:
        """Mark the backlog as replayed, arm the next will, re-send the retained state.

        Retained values are put again (new numbers; an unsent older value is
        superseded) because a broker restarted without persistence lost them.
        """
        self._forwarder.connected()
        self._clears.rearm()
        self._prepare_will()
        self._send(self._status(online=True))
        for draft in list(self._retained_meta.values()):
            self._send(draft)
        for draft in list(self._retained_health.values()):
            self._send(draft)
        if self._announcer is not None:
            self._announcer.rearm()
            self._announce()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
