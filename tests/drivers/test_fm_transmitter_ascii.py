"""The RS-232 ASCII FM transmitter driver: wire formats, states, how faults develop.

The serial conformance suite checks each scenario's end state over a pty;
these tests cover the fixed-point and word formats of the modelled command
set, every state a reading puts the transmitter in, the VSWR alarm against
the transmitter's own limit, and the VSWR quirk on the real path.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import _transmitter as tx
from drivers import fm_transmitter_ascii as fm
from fieldagent.config import parse_device
from fieldagent.driver import Malformed, RawValue
from fieldagent.health import evaluate
from fieldagent.model import HealthState, Quality, Reading, Value
from fieldagent.sim.ascii_sim import AsciiResponder
from fieldagent.sim.device import SimulatedDevice
from fieldagent.transports import ascii
from tests.drivers.test_ascii_protocol import served_over_pty
from tests.simrunner import by_key, health_of, played

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = fm.DRIVER


def through_the_dialect(device: SimulatedDevice) -> dict[str, Reading]:
    """Ask the simulated port every command, parse each reply, decode: the agent's path
    without the pty."""
    responder = AsciiResponder(device)
    objects: dict[str, RawValue] = {}
    for command in ascii.commands_of(DRIVER):
        ((_, reply),) = responder.feed(f"{command.name}?\r".encode())
        objects[command.name] = ascii.parse_reply(command.name, reply.rstrip(b"\n"), command.text)
    return by_key(DRIVER.decode(objects, TS))


def health_with(key: str, value: Value) -> HealthState:
    device = SimulatedDevice(DRIVER)
    device.set(key, value)
    return health_of(DRIVER, through_the_dialect(device).values(), TS)


def at(scenario: str, elapsed_s: float) -> dict[str, Value]:
    device, _ = played(DRIVER, scenario, elapsed_s)
    return device.snapshot()


@pytest.mark.parametrize(
    ("key", "value", "state"),
    [
        (tx.FORWARD, 800, HealthState.OK),
        (tx.FORWARD, 799, HealthState.WARNING),
        (tx.FORWARD, 499, HealthState.CRITICAL),
        (tx.REFLECTED, 50.0, HealthState.OK),
        (tx.REFLECTED, 50.1, HealthState.WARNING),
        (tx.REFLECTED, 100.1, HealthState.CRITICAL),
        (tx.VSWR, 1.51, HealthState.WARNING),
        (tx.VSWR, 2.01, HealthState.CRITICAL),
        (tx.ON_AIR, False, HealthState.CRITICAL),
        (fm.HIGH_SWR, True, HealthState.CRITICAL),
        (fm.INTERLOCK, "open", HealthState.CRITICAL),
        (fm.FAULT, True, HealthState.CRITICAL),
        (fm.WARNING, True, HealthState.WARNING),
        (fm.CONTROL_MODE, "local", HealthState.WARNING),
        (fm.STANDBY, True, HealthState.OK),
        (fm.VSWR_LIMIT, 1.5, HealthState.OK),
    ],
)
def test_each_reading_puts_the_transmitter_in_its_state(
    key: str, value: Value, state: HealthState
) -> None:
    assert health_with(key, value) is state


def test_the_wire_formats_of_the_command_set() -> None:
    responder = AsciiResponder(SimulatedDevice(DRIVER))
    replies = {
        command: responder.feed(f"{command}?\r".encode())[0][1]
        for command in ("TX.PFWD", "TX.PREF", "TX.VSWR", "TX.VSWR.MAX", "TX.INTERLOCK", "TX.MODE")
    }
    assert replies == {
        "TX.PFWD": b"TX.PFWD=1000\r\n",
        "TX.PREF": b"TX.PREF=32\r\n",  # tenths of a watt
        "TX.VSWR": b"TX.VSWR=112\r\n",  # hundredths
        "TX.VSWR.MAX": b"TX.VSWR.MAX=20\r\n",  # tenths
        "TX.INTERLOCK": b"TX.INTERLOCK=CLOSE\r\n",
        "TX.MODE": b"TX.MODE=REMOTE\r\n",
    }
    readings = through_the_dialect(SimulatedDevice(DRIVER))
    assert readings[tx.REFLECTED].value == 3.2
    assert readings[tx.VSWR].value == 1.12
    assert readings[fm.VSWR_LIMIT].value == 2.0


@pytest.mark.parametrize(
    ("command", "sent", "key", "value"),
    [
        ("TX.VSWR.MAX", b"TX.VSWR.MAX=020", fm.VSWR_LIMIT, 2.0),
        ("TX.PREF", b"TX.PREF=20", tx.REFLECTED, 2.0),
        ("TX.INTERLOCK", b"TX.INTERLOCK=open", fm.INTERLOCK, "open"),
        ("TX.INTERLOCK", b"TX.INTERLOCK=Close", fm.INTERLOCK, "close"),
        ("TX.MODE", b"TX.MODE=LOCAL", fm.CONTROL_MODE, "local"),
        ("TX.RFPRESENT", b"TX.RFPRESENT=0", tx.ON_AIR, False),
    ],
)
def test_what_a_real_transmitter_may_send_decodes(
    command: str, sent: bytes, key: str, value: Value
) -> None:
    (reading,) = [
        r for r in DRIVER.decode({command: ascii.parse_reply(command, sent)}, TS) if r.key == key
    ]
    assert (reading.quality, reading.value) == (Quality.OK, value)


@pytest.mark.parametrize(
    ("command", "sent", "key"),
    [
        ("TX.INTERLOCK", b"TX.INTERLOCK=AJAR", fm.INTERLOCK),
        ("TX.MODE", b"TX.MODE=7", fm.CONTROL_MODE),
        ("TX.RFPRESENT", b"TX.RFPRESENT=ON", tx.ON_AIR),
        ("TX.VSWR.MAX", b"TX.VSWR.MAX=999", fm.VSWR_LIMIT),
        ("TX.PFWD", b"TX.PFWD=2000000", tx.FORWARD),
    ],
)
def test_what_no_sane_transmitter_sends_is_invalid(command: str, sent: bytes, key: str) -> None:
    raw = ascii.parse_reply(command, sent)
    assert not isinstance(raw, Malformed)  # well framed: the driver's table refuses it
    (reading,) = [r for r in DRIVER.decode({command: raw}, TS) if r.key == key]
    assert reading.quality is Quality.INVALID


def test_the_vswr_alarm_trips_at_the_transmitters_own_limit() -> None:
    """VSWR ramps 1.12 -> 2.3 over 60 s; the alarm and summary fault follow the 2.0 limit."""
    start, early, late, end = (at("high_vswr", s) for s in (0, 30, 50, 90))
    assert start[tx.VSWR] == 1.12 and start[fm.HIGH_SWR] is False
    assert early[tx.VSWR] == pytest.approx(1.71, abs=0.01) and early[fm.HIGH_SWR] is False
    assert late[tx.VSWR] > 2.0 and late[fm.HIGH_SWR] is True and late[fm.FAULT] is True
    assert end[tx.VSWR] == fm.HIGH_VSWR
    assert end[tx.REFLECTED] == pytest.approx(tx.reflected_w(fm.NOMINAL_W, fm.HIGH_VSWR))
    assert end[fm.INTERLOCK] == "close" and end[tx.ON_AIR] is True


def test_an_open_interlock_mutes_rf_and_vswr_is_shown_missing_not_as_a_fault(
    tmp_path: Path,
) -> None:
    with served_over_pty(DRIVER, tmp_path / "ttyFM") as served:
        served.device.play("interlock_open")
        result = served.poll()
    readings = {r.key: r for r in result.readings}
    assert readings[fm.INTERLOCK].value == "open"
    assert readings[tx.FORWARD].value == 0 and readings[tx.ON_AIR].value is False
    assert readings[tx.VSWR].quality is Quality.MISSING
    assert "no forward power" in readings[tx.VSWR].detail
    problems = {p.metric for p in evaluate(DRIVER, result).problems}
    assert {fm.INTERLOCK, tx.ON_AIR, fm.FAULT} <= problems
    assert tx.VSWR not in problems


def test_commands_are_plain_dialect_commands() -> None:
    commands = [c.name for c in ascii.commands_of(DRIVER)]
    assert len(commands) == len(set(commands)) == len(DRIVER.metrics)
    assert all(c.isascii() and c.replace(".", "").replace("_", "").isalnum() for c in commands)


def test_the_sample_config_is_a_valid_serial_device() -> None:
    table = tomllib.loads(DRIVER.sample_config)["device"][0]
    device = parse_device(table)
    assert device.driver == DRIVER.name
    assert device.serial_port is not None and str(device.serial_port).startswith(
        "/dev/serial/by-id/"
    )
