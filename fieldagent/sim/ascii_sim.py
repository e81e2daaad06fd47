"""The device side of the ASCII dialect (see fieldagent.transports.ascii): a simulated
RS-232 remote-control port answering `<COMMAND>?` with `<COMMAND>=<VALUE>`.

It serves the driver's own declaration: the raw values are
`driver.encode(device.live_values())` keyed by command (the metric's oid), written as the
dialect writes them: integers as digits (fixed point is the metric's
divisor), enum values as their label in capitals (``REMOTE``), booleans as
1 / 0.  An unknown command gets ``ERR 02 UNKNOWN COMMAND``, a known one with
no value ``ERR 03 NOT AVAILABLE``, a request without ``?`` ``ERR 01 SYNTAX ERROR``.

Line faults, as the device's scenario says:
- silent (`no_reply`): no answer at all.
- SLOW_REPLY: the answer comes `SLOW_REPLY_S` (3 s) late.  The simulator does
  not know the agent's timeout; 3 s is beyond any sensible one for a reply
  of a few bytes (the agent's default is 2 s).
- GARBAGE: line noise before and inside replies, from a seeded
  `random.Random` (the same run gives the same bytes).  Noise bytes are
  control and high-bit bytes, as framing errors and wrong baud rates give;
  they are never printable, because the dialect has no checksum and a
  printable digit inside a value could not be told from the value.
- UNPLUG: played by the bus (the pty disappears), nothing to do here.

ASCII is point-to-point: a responder serves exactly one device.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from fieldagent.driver import LineFault, Metric, RawValue, ValueType
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.pty import Reply, Responder

SLOW_REPLY_S = 3.0
"""How late a SLOW_REPLY device answers: beyond the agent's timeout."""

GARBAGE_SEED = 20240601
NOISE = bytes(b for b in range(256) if not 0x20 <= b < 0x7F)
"""What line noise looks like: control and high-bit bytes, never printable text."""

GARBLED_FRACTION = 0.5
"""The share of replies noise hits while GARBAGE plays (the others arrive clean)."""

MAX_REQUEST = 256
"""Longer than any request: bytes without a CR beyond this are dropped."""

UNKNOWN_COMMAND = b"ERR 02 UNKNOWN COMMAND\r\n"
NOT_AVAILABLE = b"ERR 03 NOT AVAILABLE\r\n"
SYNTAX_ERROR = b"ERR 01 SYNTAX ERROR\r\n"


def make_responder(devices: Mapping[int, SimulatedDevice]) -> Responder:
    """The responder for the one device of an ASCII port (ValueError for more or none)."""
    if len(devices) != 1:
        units = ", ".join(str(unit) for unit in sorted(devices)) or "none"
        raise ValueError(
            f"an ASCII serial port is point-to-point: it serves exactly one device, "
            f"got {len(devices)} (units: {units})"
        )
    (device,) = devices.values()
    return AsciiResponder(device)


class AsciiResponder:
    """Answers requests as they complete (CR or LF ends one), one reply per request."""

    def __init__(self, device: SimulatedDevice, seed: int = GARBAGE_SEED) -> None:
        self.device = device
        self._pending = bytearray()
        self._random = random.Random(seed)
        self._metrics = {m.source_key.upper(): m for m in device.driver.metrics if not m.is_column}

    def feed(self, data: bytes) -> list[Reply]:
        self._pending += data
        replies: list[Reply] = []
        while True:
            ends = [i for i in (self._pending.find(b"\r"), self._pending.find(b"\n")) if i >= 0]
            if not ends:
                break
            end = min(ends)
            request, self._pending = bytes(self._pending[:end]), self._pending[end + 1 :]
            if request:
                replies.extend(self._answer(request))
        if len(self._pending) > MAX_REQUEST:
            self._pending.clear()
        return replies

    def _answer(self, request: bytes) -> list[Reply]:
        if self.device.silent:
            return []
        reply = self.reply_to(request)
        fault = self.device.line_fault
        if fault is LineFault.SLOW_REPLY:
            return [(SLOW_REPLY_S, reply)]
        if fault is LineFault.GARBAGE and self._random.random() < GARBLED_FRACTION:
            return [(0.0, self._garbled(reply))]
        return [(0.0, reply)]

    def reply_to(self, request: bytes) -> bytes:
        """The clean reply to one request (without its CR), terminator included."""
        text = request.decode("ascii", errors="replace").strip()
        if not text.endswith("?"):
            return SYNTAX_ERROR
        command = text[:-1].strip().upper()
        metric = self._metrics.get(command)
        if metric is None:
            return UNKNOWN_COMMAND
        raw = self.device.driver.encode(self.device.live_values()).get(metric.source_key)
        if raw is None:
            return NOT_AVAILABLE
        return f"{metric.source_key}={format_value(metric, raw)}\r\n".encode(
            "ascii", errors="replace"
        )

    def _garbled(self, reply: bytes) -> bytes:
        """Noise before the reply, and sometimes a burst inside it."""
        before = self._noise()
        if self._random.random() < 0.5:
            return before + reply
        cut = self._random.randrange(1, len(reply))
        return before + reply[:cut] + self._noise() + reply[cut:]

    def _noise(self) -> bytes:
        return bytes(self._random.choice(NOISE) for _ in range(self._random.randint(1, 8)))


def format_value(metric: Metric, raw: RawValue) -> str:
    """A raw value as the device writes it: digits, an enum's word, 1 / 0 for a flag."""
    if metric.type is ValueType.ENUM and isinstance(raw, int):
        return metric.enum.get(raw, str(raw)).upper()
    if metric.type is ValueType.BOOL:
        return "1" if raw == 1 else "0"
    if isinstance(raw, bytes):
        return raw.decode("ascii", errors="replace")
    return str(raw)
