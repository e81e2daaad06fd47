"""`fieldagent simulate`: serve a config's loopback devices, or one walk, until Ctrl-C.

Commands typed on standard input (`set`, `scenario`, `show`, `help`) change the
simulated devices while they run, so a maintainer can play a fault by hand.
A device given a walk (`--replay DEVICE=FILE`) serves the walk instead, and
`--replay FILE` alone serves one walk at a loopback address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from fieldagent.config import Config, ConfigError, SnmpCredentials
from fieldagent.driver import Driver
from fieldagent.lifecycle import run_until_stopped
from fieldagent.profiles.walk import WalkError
from fieldagent.sim.replay import ReplayDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.sim.station import SimulatedStation, apply_command, station_for_command


def run_simulator(
    config: Config,
    scenarios: dict[str, str],
    time_scale: float,
    get_driver: Callable[[str], Driver],
    replays: Mapping[str, ReplayDevice] | None = None,
) -> int:
    return asyncio.run(_simulate(config, scenarios, time_scale, get_driver, replays or {}))


def run_replay(device: ReplayDevice, host: str, port: int, community: str) -> int:
    """Serve one walk at host:port (v2c, and v1, with `community`) until Ctrl-C."""
    return asyncio.run(_replay(device, host, port, community))


async def _replay(device: ReplayDevice, host: str, port: int, community: str) -> int:
    simulator = SnmpSimulator(device, host, port, SnmpCredentials(community=community))
    await simulator.start()
    try:

        async def serve(stop: asyncio.Event) -> int:
            # Said once Ctrl-C is handled: whoever reads it may stop the replay at once.
            count = len(device.objects())
            print(
                f"replaying {device.name} ({count} objects) at {simulator.address}, SNMP v2c and v1"
            )
            print("Ctrl-C stops", flush=True)
            await stop.wait()
            return 0

        return await run_until_stopped(serve)
    finally:
        simulator.stop()


async def _simulate(
    config: Config,
    scenarios: dict[str, str],
    time_scale: float,
    get_driver: Callable[[str], Driver],
    replays: Mapping[str, ReplayDevice],
) -> int:
    station = station_for_command(config, get_driver, scenarios, time_scale, replays)
    await station.start()
    try:
        for device_id, device in station.devices.items():
            section = config.find_device(device_id)
            where = section.location
            print(f"simulating {device_id} ({device.driver.name}) at {where} [{device.scenario}]")
        for device_id, replay in station.replays.items():
            where = station.simulators[device_id].address
            print(f"replaying {device_id} from {replay.name} at {where}")
        for device_id, reason in station.skipped:
            print(f"not simulated: {device_id}: {reason}")
        if not station.devices and not station.replays:
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


DEFAULT_LISTEN = "127.0.0.1:16161"
"""Where `simulate --replay FILE` answers: loopback, above the ports that need root."""


def listen_address(text: str) -> tuple[str, int]:
    """`--listen HOST:PORT` ([::1]:PORT for IPv6) -> (host, port); ConfigError if it is not a
    loopback address and a port: a replay must never answer in a real device's name."""
    host, sep, port_text = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    problem = None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback, problem = False, "expected HOST:PORT with an IP address (127.0.0.1:16161)"
    if problem is None and not loopback:
        problem = (
            "not a loopback address (127.0.0.0/8 or ::1): a replay never answers for a real device"
        )
    if problem is None and not (sep and port_text.isdigit() and 0 < int(port_text) < 65536):
        problem = "the port must be a number from 1 to 65535"
    if problem is not None:
        raise ConfigError([f"--listen {text}: {problem}"])
    return host, int(port_text)


def load_replay(path: Path, option: str) -> ReplayDevice:
    """The walk in `path` as a device; a file that cannot be read is a ConfigError whose one
    line names the option, the file and the line at fault."""
    try:
        return ReplayDevice.from_file(path)
    except WalkError as exc:
        raise ConfigError([f"{option}: {exc}"]) from None
