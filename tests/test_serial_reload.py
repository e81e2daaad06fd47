"""A reload that changes a serial device's line settings, or removes the last device on a
port: SerialLines.keep_only closes the old line; over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers import REGISTRY
from fieldagent.config import SerialDevice, parse_device
from fieldagent.poller import Poller
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.serial_sim import SerialBusSimulator
from fieldagent.transports.serialport import SerialLineError, SerialLines
from fieldagent.transports.snmp import SnmpClient

FM = REGISTRY["fm_transmitter_ascii"]


def section(link: Path, baud: int = 9600) -> SerialDevice:
    fields = {"id": "tx", "driver": FM.name, "serial_port": str(link), "timeout": 0.5}
    device = parse_device({**fields, "baud": baud, "gap_ms": 0})
    assert isinstance(device, SerialDevice)
    return device


@pytest.fixture
def link(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ttyTx"
    bus = SerialBusSimulator(path, "ascii", {1: SimulatedDevice(FM)})
    asyncio.run(bus.start())
    try:
        yield path
    finally:
        bus.stop()


def poll_error(lines: SerialLines, device: SerialDevice) -> str | None:
    client = SnmpClient()
    try:
        return asyncio.run(Poller(client, None, lines).poll(device, FM)).error
    finally:
        client.close()


def test_new_line_settings_take_effect_after_keep_only(link: Path) -> None:
    lines = SerialLines()
    try:
        assert poll_error(lines, section(link)) is None
        faster = section(link, baud=19200)
        with pytest.raises(SerialLineError, match="other serial settings"):
            lines.line_for(faster)  # the old line still holds the port with 9600 baud
        lines.keep_only([faster])
        assert lines.line_for(faster).settings.baud == 19200
        assert poll_error(lines, faster) is None
    finally:
        lines.close()


def test_a_port_no_device_uses_any_more_is_let_go(link: Path) -> None:
    lines, other = SerialLines(), SerialLines()
    try:
        assert poll_error(lines, section(link)) is None
        lines.keep_only([section(link)])  # unchanged: the line stays open
        assert poll_error(other, section(link)) is not None  # opened exclusively
        lines.keep_only([])
        for _ in range(50):  # the worker closes the port once its request is over
            if poll_error(other, section(link)) is None:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the port was not let go")
    finally:
        lines.close()
        other.close()
