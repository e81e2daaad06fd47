"""`fieldagent demo`: a whole simulated station on one machine, in one command.

Simulated devices on loopback addresses, a private mosquitto, the real agent
and a live view of what it publishes: what a newcomer needs to see the product
work before touching a real station.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.agent import Agent
from fieldagent.checklist.runner import StationChecklist
from fieldagent.config import Config
from fieldagent.driver import Driver
from fieldagent.lifecycle import run_until_stopped
from fieldagent.localbroker import BrokerError, LocalBroker
from fieldagent.sim.station import SimulatedStation, station_for_command
from fieldagent.watch import render

EXIT_NO_BROKER = 69


@dataclass(frozen=True)
class DemoOptions:
    duration: float | None = None
    fault_after: float | None = 20.0
    scenarios: dict[str, str] = field(default_factory=dict)
    time_scale: float = 1.0


def default_demo_config() -> Path:
    """config/demo-station.toml of this source tree."""
    return Path(__file__).resolve().parent.parent / "config" / "demo-station.toml"


def run_demo(
    station: StationChecklist, get_driver: Callable[[str], Driver], options: DemoOptions
) -> int:
    with tempfile.TemporaryDirectory(prefix="fieldagent-demo-") as tmp:
        return asyncio.run(_demo(station, get_driver, options, Path(tmp)))


async def _demo(
    checklist: StationChecklist,
    get_driver: Callable[[str], Driver],
    options: DemoOptions,
    workdir: Path,
) -> int:
    config = checklist.config
    agent_config = config.model_copy(
        update={"agent": config.agent.model_copy(update={"state_dir": workdir / "state"})}
    )
    # Before the broker starts: a bad --scenario must not leave a mosquitto behind.
    station = station_for_command(agent_config, get_driver, options.scenarios, options.time_scale)
    try:
        broker = LocalBroker(workdir / "broker")
        broker.start()
    except BrokerError as exc:
        print(f"fieldagent demo: {exc}", file=sys.stderr)
        return EXIT_NO_BROKER
    view = LiveView(
        broker, f"{config.mqtt.topic_root}/{config.station.id}/#", ZoneInfo(config.station.timezone)
    )
    # The live view is the demo's output; the agent's own log would interleave with it.
    logging.getLogger("fieldagent").setLevel(logging.WARNING)
    try:
        await station.start()
        _banner(config, station, broker)
        view.start()
        if options.fault_after is not None:
            _schedule_fault(station, view, options.fault_after)
        agent = Agent(agent_config, broker_url=broker.url, drivers=checklist.drivers)
        loop = asyncio.get_running_loop()

        async def show(stop: asyncio.Event) -> int:
            # `fieldagent demo | head`: once the reader is gone, the demo has no one to show.
            view.when_reader_gone(lambda: loop.call_soon_threadsafe(stop.set))
            return await agent.run_forever(stop)

        code = await run_until_stopped(show, options.duration)
        if view.reader_gone:
            raise BrokenPipeError("the reader of the live view went away")
        return code
    finally:
        view.stop()
        station.stop()
        broker.stop()


def _banner(config: Config, station: SimulatedStation, broker: LocalBroker) -> None:
    print(f"fieldagent demo: station {config.station.id} — {config.station.name}")
    for device_id, simulated in station.devices.items():
        device = config.find_device(device_id)
        where = device.location
        print(f"  simulated {device_id:<12} {simulated.driver.name:<14} at {where}")
    for device_id, reason in station.skipped:
        print(f"  not simulated {device_id}: {reason}")
    topics = f"{config.mqtt.topic_root}/{config.station.id}/#"
    print(f"  broker {broker.url} (private mosquitto); topics {topics}")
    print(f"  times in station time ({config.station.timezone})")
    print("  Ctrl-C to stop.\n", flush=True)


def _schedule_fault(station: SimulatedStation, view: LiveView, after: float) -> None:
    ups = next((d for d in station.devices.items() if d[1].driver.kind == "ups"), None)
    if ups is None:
        return
    device_id, device = ups

    def cut_mains() -> None:
        device.play("mains_fail")
        view.show(f"\n*** demo: mains power cut at {device_id} (scenario mains_fail) ***\n")

    asyncio.get_running_loop().call_later(after, cut_mains)


class LiveView:
    """Subscribes to the station's topics and prints each message on one line.

    Prints come from paho's thread and the event loop alike, hence the lock; a
    closed stdout is reported once, to whoever asked, instead of killing paho's thread.
    """

    def __init__(self, broker: LocalBroker, topic_filter: str, zone: tzinfo) -> None:
        self._broker = broker
        self._filter = topic_filter
        self._zone = zone
        self._lock = threading.Lock()
        self._on_reader_gone: Callable[[], object] | None = None
        self.reader_gone = False
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fieldagent-demo-view")
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(self._filter, qos=1)
        self._client.on_message = self._print

    def start(self) -> None:
        self._client.connect(self._broker.host, self._broker.port)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def when_reader_gone(self, callback: Callable[[], object]) -> None:
        self._on_reader_gone = callback

    def show(self, text: str) -> None:
        with self._lock:
            if self.reader_gone:
                return
            try:
                print(text, flush=True)
            except BrokenPipeError:
                self.reader_gone = True
                if self._on_reader_gone is not None:
                    self._on_reader_gone()

    def _print(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.show(render(message.topic, bytes(message.payload), bool(message.retain), self._zone))
