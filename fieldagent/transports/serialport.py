"""Serial lines (RS-232 / RS-485) with pyserial: one worker thread per physical port.

Every device on a port (several Modbus slaves on one RS-485 bus, say) goes
through the same `SerialLine`, whose single worker thread runs one request at
a time, so requests are never interleaved on the wire and the blocking I/O
never touches the asyncio loop.  The port is opened lazily and exclusively;
any I/O error closes it, so an unplugged USB adapter costs nothing but
`SerialLineError`s until its device node comes back, and then the next
request opens it again.  The agent only reads: transports send requests,
drivers declare no write.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import serial
import serial.rs485

from fieldagent.config import SerialDevice
from fieldagent.procholders import holders, named
from fieldagent.transports import TransportError

T = TypeVar("T")

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class SerialLineError(TransportError):
    """The port cannot be used now (absent, held by another program, I/O error)."""


@dataclass(frozen=True)
class SerialSettings:
    """How a port is opened; every device sharing a port must agree on it."""

    path: Path
    baud: int = 9600
    data_bits: int = 8
    parity: str = "N"
    stop_bits: int = 1
    rs485: bool = False

    @classmethod
    def from_device(cls, device: SerialDevice) -> SerialSettings:
        return cls(
            path=device.serial_port,
            baud=device.baud,
            data_bits=device.data_bits,
            parity=str(device.parity),
            stop_bits=device.stop_bits,
            rs485=device.rs485,
        )

    def byte_time(self) -> float:
        """Seconds one character takes on the wire (start + data + parity + stop bits)."""
        bits = 1 + self.data_bits + (0 if self.parity == "N" else 1) + self.stop_bits
        return bits / self.baud


class SerialLine:
    """One physical port: opened on demand, requests serialised in its own thread."""

    def __init__(self, settings: SerialSettings, gap_s: float = 0.0) -> None:
        self.settings = settings
        self._gap_s = gap_s
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"serial {settings.path.name}"
        )
        self._port: serial.Serial | None = None
        self._last_end = 0.0

    @property
    def path(self) -> Path:
        return self.settings.path

    async def run(self, request: Callable[[serial.Serial], T]) -> T:
        """Run `request(port)` in the line's worker, after the inter-request gap."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, request)

    @property
    def gap_s(self) -> float:
        return self._gap_s

    def close(self, wait: bool = True) -> None:
        """Close the port and stop the worker thread; `wait`: for a request in progress
        (without it the worker closes the port once that request is over)."""
        self._executor.submit(self._close_port)
        self._executor.shutdown(wait=wait)

    def _call(self, request: Callable[[serial.Serial], T]) -> T:
        port = self._open()
        wait = self._last_end + self._gap_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return request(port)
        except (serial.SerialException, OSError, termios.error) as exc:
            # The adapter was unplugged or the line failed: drop the descriptor now,
            # reopen on a later request once the device node is back.
            self._close_port()
            raise SerialLineError(f"{self.path}: {_reason(exc)}") from None
        finally:
            self._last_end = time.monotonic()

    def _open(self) -> serial.Serial:
        if self._port is not None:
            return self._port
        path = str(self.path)
        if not os.path.exists(path):
            raise SerialLineError(f"{path}: no such device (adapter unplugged, or wrong path?)")
        holders = port_holders(self.path)
        if holders:
            raise SerialLineError(f"{path}: in use by {holders}; close it first")
        s = self.settings
        try:
            port = serial.Serial(
                path,
                baudrate=s.baud,
                bytesize=s.data_bits,
                parity=_PARITY[s.parity],
                stopbits=s.stop_bits,
                timeout=0,
                exclusive=True,
            )
        except (serial.SerialException, OSError) as exc:
            raise SerialLineError(f"{path}: cannot open: {_open_reason(exc, self.path)}") from None
        if s.rs485:
            port.rs485_mode = serial.rs485.RS485Settings()
        self._port = port
        return port

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            # The adapter may be gone already; the descriptor is released either way.
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "readiness to read but returned no data" in text or "Input/output error" in text:
        return "device disconnected (no data, I/O error)"
    return text


def _open_reason(exc: BaseException, path: Path) -> str:
    text = str(exc)
    if "lock" in text.lower():
        holders = port_holders(path, include_self=True)
        return f"another program holds it exclusively ({holders or 'holder unknown'})"
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return "permission denied: add the agent's user to the 'dialout' group"
    return text


def port_holders(path: Path, include_self: bool = False) -> str:
    """Which processes have the port open ("pid 812 (minicom)"), from /proc; '' if none.

    Not every program locks a port (minicom does not flock it), so a second
    reader is found by looking at every process's open descriptors.
    """
    try:
        target = os.path.realpath(path)
    except OSError:
        return ""
    return named(holders({target}, include_self=include_self))


class SerialLines:
    """The agent's serial lines, one per port path, shared by the devices on it."""

    def __init__(self) -> None:
        self._lines: dict[Path, SerialLine] = {}
        self._lock = threading.Lock()

    def line_for(self, device: SerialDevice) -> SerialLine:
        settings = SerialSettings.from_device(device)
        with self._lock:
            line = self._lines.get(settings.path)
            if line is None:
                line = SerialLine(settings, device.gap_ms / 1000)
                self._lines[settings.path] = line
            elif line.settings != settings:
                raise SerialLineError(
                    f"{device.id}: {settings.path} is shared with other devices "
                    "configured with other serial settings (baud, parity, ...): make them agree"
                )
            return line

    def keep_only(self, devices: Iterable[SerialDevice]) -> None:
        """A reloaded station file: close each line no device uses any more, or whose
        settings (baud, parity, gap, ...) changed; the next poll opens it as now set.

        Does not wait for a request in progress: the event loop calls this.
        """
        wanted = {
            device.serial_port: (SerialSettings.from_device(device), device.gap_ms / 1000)
            for device in devices
        }
        with self._lock:
            stale = [
                path
                for path, line in self._lines.items()
                if wanted.get(path) != (line.settings, line.gap_s)
            ]
            lines = [self._lines.pop(path) for path in stale]
        for line in lines:
            line.close(wait=False)

    def close(self) -> None:
        with self._lock:
            lines, self._lines = list(self._lines.values()), {}
        for line in lines:
            line.close()
