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
from types import MappingProxyType
from typing import NamedTuple

from fieldagent.config import Config, DeviceSection
from fieldagent.driver import Driver
from fieldagent.model import Value
from fieldagent.sim.device import Clock, SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator

SIMULATED_PROTOCOLS = frozenset({"snmp"})


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
    ) -> None:
        self.config = config
        self.skipped: list[Skipped] = []
        self._devices: dict[str, SimulatedDevice] = {}
        self._simulators: dict[str, SnmpSimulator] = {}
        for section in config.device:
            self._add(section, get_driver, time_scale, clock, noise)
        for device_id, scenario in (scenarios or {}).items():
            device_of(self, device_id).play(scenario)

    @property
    def devices(self) -> Mapping[str, SimulatedDevice]:
        """The simulated devices by device id, in station-file order."""
        return MappingProxyType(self._devices)

    @property
    def simulators(self) -> Mapping[str, SnmpSimulator]:
        """The SNMP agents by device id (for their bound address)."""
        return MappingProxyType(self._simulators)

    async def start(self) -> None:
        """Start every agent; if one cannot bind, stop the others and raise its OSError."""
        try:
            for simulator in self._simulators.values():
                await simulator.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every agent; safe to call twice or after a failed start."""
        for simulator in self._simulators.values():
            simulator.stop()

    def _add(
        self,
        section: DeviceSection,
        get_driver: Callable[[str], Driver],
        time_scale: float,
        clock: Clock,
        noise: bool,
    ) -> None:
        try:
            driver = get_driver(section.driver)
        except KeyError as exc:
            self.skipped.append(Skipped(section.id, str(exc.args[0])))
            return
        reason = _not_simulated(section, driver)
        if reason is not None:
            self.skipped.append(Skipped(section.id, reason))
            return
        device = SimulatedDevice(
            driver, name=section.id, clock=clock, time_scale=time_scale, noise=noise
        )
        self._devices[section.id] = device
        self._simulators[section.id] = SnmpSimulator(
            device, section.address, section.port, section.snmp_credentials
        )


def _not_simulated(section: DeviceSection, driver: Driver) -> str | None:
    if driver.protocol == "local":
        return "read from this machine itself: nothing to simulate"
    if driver.protocol not in SIMULATED_PROTOCOLS:
        return f"protocol {driver.protocol!r} is not simulated"
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


def device_of(station: SimulatedStation, device_id: str) -> SimulatedDevice:
    """The simulated device `device_id`; KeyError names the simulated ones."""
    device = station.devices.get(device_id)
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
