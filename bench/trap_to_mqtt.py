"""Trap-to-MQTT latency, the whole path: a simulated UPS sends a trap, the agent (a real
process) raises or clears the alarm, the broker delivers the event to a subscriber.

Traps alternate between upsTrapOnBattery (the agent publishes `raised`) and
upsTrapAlarmEntryRemoved for on-battery (`cleared`), one at a time: each is
sent after the previous event arrived, so the figures are latency, not
throughput.  Side by side, the same measurement with the MQTT leg removed
(`bench/trap_latency.py`, trap to the receiver's callback) tells how much
the agent's alarm path and the broker add.

    python bench/trap_to_mqtt.py [--traps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from drivers import REGISTRY
from drivers.ups_rfc1628 import ALARM_DESCR, ALARM_ON_BATTERY, TRAP_ALARM_REMOVED, TRAP_ON_BATTERY
from fieldagent.driver import OidValue
from fieldagent.localbroker import LocalBroker, free_port
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator

HOST = "127.0.0.64"
STATION = "bench"


class Arrivals:
    """The alarm events the subscriber saw, with their arrival times."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self._cond = threading.Condition()

    def on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        event = json.loads(msg.payload).get("event", "")
        with self._cond:
            self.events.append((time.perf_counter(), event))
            self._cond.notify_all()

    def wait(self, count: int, timeout: float = 10.0) -> float:
        """The arrival time of the `count`-th event."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.events) >= count, timeout):
                raise TimeoutError(f"event {count} did not arrive in {timeout} s")
            return self.events[count - 1][0]


def station_file(folder: Path, broker: LocalBroker, sim_port: int, trap_port: int) -> Path:
    path = folder / "station.toml"
    path.write_text(
        f'[station]\nid = "{STATION}"\nname = "Bench"\n\n'
        f'[agent]\nstate_dir = "{folder / "state"}"\n\n'
        f'[mqtt]\nurl = "{broker.url}"\n\n'
        f'[traps]\nenabled = true\nlisten = "127.0.0.1"\nport = {trap_port}\n'
        "rate_limit = 100000\n\n"
        f'[[device]]\nid = "ups1"\ndriver = "ups_rfc1628"\nhost = "{HOST}"\n'
        f"port = {sim_port}\ninterval = 60\n",
        encoding="utf-8",
    )
    return path


async def run(count: int, folder: Path) -> list[float]:
    broker = LocalBroker(folder / "broker")
    broker.start()
    sim = SnmpSimulator(SimulatedDevice(REGISTRY["ups_rfc1628"]), HOST, 0)
    await sim.start()
    trap_port = free_port(udp=True)
    config = station_file(folder, broker, sim.port, trap_port)
    arrivals = Arrivals()
    subscriber = mqtt.Client(CallbackAPIVersion.VERSION2)
    subscriber.on_message = arrivals.on_message
    subscriber.connect(broker.host, broker.port)
    subscriber.subscribe(f"bctv/v1/{STATION}/alarm", qos=1)
    subscriber.loop_start()
    agent = subprocess.Popen(
        [sys.executable, "-m", "fieldagent", "run", "-c", str(config)],
        stderr=subprocess.DEVNULL,
    )
    latencies: list[float] = []
    try:
        await asyncio.sleep(2.0)  # the agent connects, binds the trap port, polls once
        for n in range(count):
            raising = n % 2 == 0
            start = time.perf_counter()
            if raising:
                await sim.send_trap(("127.0.0.1", trap_port), TRAP_ON_BATTERY)
            else:
                removed = {f"{ALARM_DESCR}.1": OidValue(ALARM_ON_BATTERY)}
                await sim.send_trap(("127.0.0.1", trap_port), TRAP_ALARM_REMOVED, removed)
            arrived = await asyncio.to_thread(arrivals.wait, n + 1)
            latencies.append(arrived - start)
    finally:
        agent.terminate()
        agent.wait(10)
        subscriber.loop_stop()
        subscriber.disconnect()
        sim.stop()
        broker.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traps", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fieldagent-bench-") as tmp:
        latencies = asyncio.run(run(args.traps, Path(tmp)))
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"{args.traps} traps, one at a time: simulator -> agent process -> mosquitto -> subscriber"
    )
    print(f"{'path':<28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(
        f"{'v2c trap -> MQTT alarm':<28} {q[49] * 1000:>8.2f} {q[98] * 1000:>8.2f} "
        f"{max(latencies) * 1000:>8.2f}"
    )


if __name__ == "__main__":
    main()
