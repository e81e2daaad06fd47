"""A whole simulated station from its station file, and a text protocol to steer it.

Only devices on loopback addresses are simulated: the simulator must never
answer in the name of a real device on the station LAN, and a station file can
be tried as-is with its real devices simply left out (and listed as skipped).
The control protocol is plain text lines, so `fieldagent simulate` can be
steered from a terminal or a test script through stdin.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from fieldagent.config import (
    Config,
    ConfigError,
    DeviceSection,
    LocalDevice,
    ModbusDevice,
    SerialDevice,
    SnmpDevice,
    suggest,
)
from fieldagent.driver import Driver
from fieldagent.model import Value
from fieldagent.sim.device import Clock, SimulatedDevice
from fieldagent.sim.replay import ReplayDevice
from fieldagent.sim.serial_sim import SerialBusSimulator
from fieldagent.sim.snmp_agent import SnmpSimulator


class Skipped(NamedTuple):
    """A device of the station file that is not simulated, and why."""

    device_id: str
    reason: str


class SimulatedStation:
    """One SimulatedDevice and SNMP agent per simulatable device of a station file.

    `scenarios` maps device ids to the scenario each starts in; an unknown
    device or scenario is a KeyError here rather than a surprise later.
    `noise` makes values wander slightly, as live equipment does (the
    `simulate` command and the demo turn it on; exact-value tests leave it off).
    `replays` maps device ids to the walk each serves instead of its driver's model,
    at its own address and with its own credentials; a device that cannot be
    replayed (`replay_problem`) is a ValueError.
    """

    def __init__(
        self,
        config: Config,
        get_driver: Callable[[str], Driver],
        *,
        scenarios: Mapping[str, str] | None = None,
        time_scale: float = 1.0,
        clock: Clock = time.monotonic,
        noise: bool = False,
        replays: Mapping[str, ReplayDevice] | None = None,
    ) -> None:
        self.config = config
        self.skipped: list[Skipped] = []
        self._devices: dict[str, SimulatedDevice] = {}
        self._replays = dict(replays or {})
        for device_id in self._replays:
            problem = replay_problem(config, device_id)
            if problem is not None:
                raise ValueError(problem)
        self._simulators: dict[str, SnmpSimulator] = {}
        self._buses: dict[Path, SerialBusSimulator] = {}
        serial: dict[Path, list[tuple[SerialDevice, SimulatedDevice]]] = {}
        for section in config.device:
            if section.id in self._replays:
                assert isinstance(section, SnmpDevice)  # replay_problem says so
                self._simulators[section.id] = SnmpSimulator(
                    self._replays[section.id],
                    section.address,
                    section.port,
                    section.snmp_credentials,
                )
                continue
            added = self._add(section, get_driver, time_scale, clock, noise)
            if added is not None and isinstance(section, SerialDevice):
                serial.setdefault(section.serial_port, []).append((section, added))
        for path, members in serial.items():
            self._buses[path] = _bus(path, members)
        for device_id, scenario in (scenarios or {}).items():
            device_of(self, device_id).play(scenario)

    @property
    def devices(self) -> Mapping[str, SimulatedDevice]:
        """The simulated devices by device id, in station-file order."""
        return MappingProxyType(self._devices)

    @property
    def replays(self) -> Mapping[str, ReplayDevice]:
        """The devices served from a walk, by device id."""
        return MappingProxyType(self._replays)

    @property
    def simulators(self) -> Mapping[str, SnmpSimulator]:
        """The SNMP agents by device id (for their bound address)."""
        return MappingProxyType(self._simulators)

    @property
    def buses(self) -> Mapping[Path, SerialBusSimulator]:
        """The simulated serial lines by port path (one pty each, all units on it)."""
        return MappingProxyType(self._buses)

    async def start(self) -> None:
        """Start every agent and bus; if one cannot start, stop the others and raise."""
        try:
            for simulator in self._simulators.values():
                await simulator.start()
            for bus in self._buses.values():
                await bus.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every agent and bus; safe to call twice or after a failed start."""
        for simulator in self._simulators.values():
            simulator.stop()
        for bus in self._buses.values():
            bus.stop()

    def _add(
        self,
        section: DeviceSection,
        get_driver: Callable[[str], Driver],
        time_scale: float,
        clock: Clock,
        noise: bool,
    ) -> SimulatedDevice | None:
        try:
            driver = get_driver(section.driver)
        except KeyError as exc:
            self.skipped.append(Skipped(section.id, str(exc.args[0])))
            return None
        reason = _not_simulated(section)
        if reason is not None:
            self.skipped.append(Skipped(section.id, reason))
            return None
        device = SimulatedDevice(
            driver, name=section.id, clock=clock, time_scale=time_scale, noise=noise
        )
        self._devices[section.id] = device
        if isinstance(section, SnmpDevice):
            self._simulators[section.id] = SnmpSimulator(
                device, section.address, section.port, section.snmp_credentials
            )
        return device


def _bus(path: Path, members: list[tuple[SerialDevice, SimulatedDevice]]) -> SerialBusSimulator:
    """The line's simulator.  The station file has made its devices agree (one protocol,
    one setting, each Modbus unit once, one ASCII device): see config._serial_line_conflict."""
    units = {
        section.unit if isinstance(section, ModbusDevice) else 1: device  # ASCII: one per line
        for section, device in members
    }
    return SerialBusSimulator(path, members[0][1].driver.protocol, units)


def _not_simulated(section: DeviceSection) -> str | None:
    if isinstance(section, LocalDevice):
        return "read from this machine itself: nothing to simulate"
    if isinstance(section, SerialDevice):
        if section.serial_port.is_relative_to("/dev"):
            return f"{section.serial_port} is a real port (under /dev): never simulated"
        return None
    if not _is_loopback(section.host):
        return f"host {section.host} is not a loopback address (127.0.0.0/8 or ::1)"
    return None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: could resolve anywhere, so never simulated
        return False


def station_for_command(
    config: Config,
    get_driver: Callable[[str], Driver],
    scenarios: Mapping[str, str],
    time_scale: float,
    replays: Mapping[str, ReplayDevice] | None = None,
) -> SimulatedStation:
    """The station `simulate` and the demo serve, with noise.

    A `--scenario` naming no simulated device or scenario, a `--replay` of a device
    that cannot be replayed, are the user's to fix: a ConfigError (one line, exit 78),
    not a traceback.
    """
    problems = [
        f"--replay {device_id}: {problem}"
        for device_id in replays or {}
        if (problem := replay_problem(config, device_id)) is not None
    ]
    if problems:
        raise ConfigError(problems)
    try:
        return SimulatedStation(
            config,
            get_driver,
            scenarios=scenarios,
            time_scale=time_scale,
            noise=True,
            replays=replays,
        )
    except KeyError as exc:
        raise ConfigError([f"--scenario: {exc.args[0]}"]) from None


def replay_problem(config: Config, device_id: str) -> str | None:
    """Why device `device_id` of the station file cannot be served from a walk, or None.

    Only an SNMP device on a loopback address can: a walk holds SNMP objects, and
    a replay must never answer in the name of a real device on the station LAN.
    """
    section = next((d for d in config.device if d.id == device_id), None)
    if section is None:
        known = suggest(device_id, (d.id for d in config.device))
        return f"the station file has no device {device_id!r}{known}"
    if not isinstance(section, SnmpDevice):
        return f"device {device_id!r} is read over {section.protocol}: a walk replays SNMP only"
    if not _is_loopback(section.host):
        return (
            f"device {device_id!r} is at {section.host}, not a loopback address"
            " (127.0.0.0/8 or ::1): a replay never answers for a real device"
        )
    return None


def device_of(station: SimulatedStation, device_id: str) -> SimulatedDevice:
    """The simulated device `device_id`; KeyError names the simulated ones."""
    device = station.devices.get(device_id)
    if device is None and device_id in station.replays:
        raise KeyError(f"{device_id} replays a walk: its objects stay as recorded")
    if device is None:
        known = ", ".join(station.devices) or "none"
        raise KeyError(f"no simulated device {device_id!r} (simulated: {known})")
    return device


HELP = """\
commands:
  set DEVICE KEY VALUE   set a value in engineering units (a number, or text such as 'low')
  scenario DEVICE NAME   play a scenario ('normal' restores the initial values)
  show [DEVICE]          list the devices, or one device's values and scenarios
  help                   this text"""


def apply_command(station: SimulatedStation, line: str) -> str:
    """Carry out one control line and return the reply; bad input gets an error reply."""
    words = line.split()
    if not words:
        return ""
    command = _COMMANDS.get(words[0].lower())
    if command is None:
        return f"error: unknown command {words[0]!r}; type help"
    try:
        return command(station, line)
    except (KeyError, ValueError) as exc:
        return f"error: {exc.args[0] if exc.args else exc}"


def _set(station: SimulatedStation, line: str) -> str:
    words = line.split(maxsplit=3)
    if len(words) != 4:
        raise ValueError("usage: set DEVICE KEY VALUE")
    _, device_id, key, text = words
    value = parse_value(text)
    device_of(station, device_id).set(key, value)
    return f"{device_id}: {key} = {value!r}"


def _scenario(station: SimulatedStation, line: str) -> str:
    words = line.split()
    if len(words) != 3:
        raise ValueError("usage: scenario DEVICE NAME")
    _, device_id, name = words
    device = device_of(station, device_id)
    device.play(name)
    return f"{device_id}: playing {name}: {device.scenarios[name].description}"


def _show(station: SimulatedStation, line: str) -> str:
    words = line.split()
    if len(words) == 1:
        return _station_summary(station)
    if len(words) != 2:
        raise ValueError("usage: show [DEVICE]")
    return _device_details(station, words[1])


def _help(station: SimulatedStation, line: str) -> str:
    return HELP


_COMMANDS: dict[str, Callable[[SimulatedStation, str], str]] = {
    "set": _set,
    "scenario": _scenario,
    "show": _show,
    "help": _help,
}


def parse_value(text: str) -> Value:
    """A control-line value: an int, else a float, else the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _station_summary(station: SimulatedStation) -> str:
    lines = [
        f"{device_id} ({device.driver.name}) at {station.simulators[device_id].address},"
        f" scenario {device.scenario}"
        for device_id, device in station.devices.items()
    ]
    lines += [
        f"{device_id} replays {device.name} at {station.simulators[device_id].address}"
        for device_id, device in station.replays.items()
    ]
    lines += [
        f"{skipped.device_id}: not simulated: {skipped.reason}" for skipped in station.skipped
    ]
    return "\n".join(lines) or "no devices"


def _device_details(station: SimulatedStation, device_id: str) -> str:
    device = device_of(station, device_id)
    values = device.snapshot()
    lines = [f"{device_id} ({device.driver.name}), scenario {device.scenario}"]
    for metric in device.driver.metrics:
        unit = f" {metric.unit}" if metric.unit else ""
        lines.append(f"  {metric.key} = {values[metric.key]!r}{unit}")
    lines.append("scenarios: " + ", ".join(sorted(device.scenarios)))
    return "\n".join(lines)
