"""`fieldagent simulate`: serve a config's loopback devices until Ctrl-C.

Commands typed on standard input (`set`, `scenario`, `show`, `help`) change the
simulated devices while they run, so a maintainer can play a fault by hand.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable

from fieldagent.config import Config
from fieldagent.driver import Driver
from fieldagent.lifecycle import run_until_stopped
from fieldagent.sim.station import SimulatedStation, apply_command, station_for_command


def run_simulator(
    config: Config,
    scenarios: dict[str, str],
    time_scale: float,
    get_driver: Callable[[str], Driver],
) -> int:
    return asyncio.run(_simulate(config, scenarios, time_scale, get_driver))


async def _simulate(
    config: Config,
    scenarios: dict[str, str],
    time_scale: float,
    get_driver: Callable[[str], Driver],
) -> int:
    station = station_for_command(config, get_driver, scenarios, time_scale)
    await station.start()
    try:
        for device_id, device in station.devices.items():
            section = config.find_device(device_id)
            where = section.location
            print(f"simulating {device_id} ({device.driver.name}) at {where} [{device.scenario}]")
        for device_id, reason in station.skipped:
            print(f"not simulated: {device_id}: {reason}")
        if not station.devices:
            print("nothing to simulate: no device of this config is on a loopback address")
            return 1
        print("type 'help' for commands; Ctrl-C stops", flush=True)
        reader_gone = asyncio.Event()

        async def serve(stop: asyncio.Event) -> int:
            _read_commands(station, asyncio.get_running_loop(), stop, reader_gone)
            await stop.wait()
            return 0

        code = await run_until_stopped(serve)
        if reader_gone.is_set():
            raise BrokenPipeError("the reader of the output went away")
        return code
    finally:
        station.stop()


def _read_commands(
    station: SimulatedStation,
    loop: asyncio.AbstractEventLoop,
    stop: asyncio.Event,
    reader_gone: asyncio.Event,
) -> None:
    """Read stdin in a daemon thread (it must not keep the process alive at exit).

    A closed stdout stops the simulator like Ctrl-C: nobody sees the answers.
    """

    def handle(line: str) -> None:
        try:
            print(apply_command(station, line), flush=True)
        except BrokenPipeError:
            reader_gone.set()
            stop.set()

    def reader() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(handle, line)

    threading.Thread(target=reader, name="sim-stdin", daemon=True).start()
