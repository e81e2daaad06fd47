"""`fieldagent simulate`: serve a config's loopback devices until Ctrl-C.

Commands typed on standard input (`set`, `scenario`, `show`, `help`) change the
simulated devices while they run, so a maintainer can play a fault by hand.
"""

from __future__ import annotations

import asyncio
import sys
import threading

from drivers import get_driver
from fieldagent.config import Config
from fieldagent.lifecycle import run_until_stopped
from fieldagent.sim.station import SimulatedStation, apply_command, served_at


def run_simulator(config: Config, scenarios: dict[str, str], time_scale: float) -> int:
    return asyncio.run(_simulate(config, scenarios, time_scale))


async def _simulate(config: Config, scenarios: dict[str, str], time_scale: float) -> int:
    station = SimulatedStation(
        config, get_driver, scenarios=scenarios, time_scale=time_scale, noise=True
    )
    await station.start()
    try:
        for device_id, device in station.devices.items():
            section = config.find_device(device_id)
            where = served_at(section, device.driver)
            print(f"simulating {device_id} ({device.driver.name}) at {where} [{device.scenario}]")
        for device_id, reason in station.skipped:
            print(f"not simulated: {device_id}: {reason}")
        if not station.devices:
            print("nothing to simulate: no device of this config is on a loopback address")
            return 1
        print("type 'help' for commands; Ctrl-C stops", flush=True)
        _read_commands(station, asyncio.get_running_loop())
        return await run_until_stopped(_wait)
    finally:
        station.stop()


async def _wait(stop: asyncio.Event) -> int:
    await stop.wait()
    return 0


def _read_commands(station: SimulatedStation, loop: asyncio.AbstractEventLoop) -> None:
    """Read stdin in a daemon thread (it must not keep the process alive at exit)."""

    def handle(line: str) -> None:
        print(apply_command(station, line), flush=True)

    def reader() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(handle, line)

    threading.Thread(target=reader, name="sim-stdin", daemon=True).start()
