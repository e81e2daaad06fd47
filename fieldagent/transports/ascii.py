"""ASCII command/response over RS-232: one question per metric, one line per answer.

The dialect is a MODEL of the remote-control ports of broadcast equipment
(WorldCast Ecreso FM transmitters, Crown-style exciters, changeover units):
plain text, one device per port (point-to-point), the agent only asks.

Framing (every byte printable ASCII except the terminators):

    request   <COMMAND>?<CR>                   TX.PFWD?\\r
    reply     <COMMAND>=<VALUE><CR><LF>        TX.PFWD=2000\\r\\n
    error     ERR <nn> <TEXT><CR><LF>          ERR 02 UNKNOWN COMMAND\\r\\n

A command is the metric's `oid` (``TX.PFWD``).  The reply echoes the command
(letter case aside), so an answer can never be attributed to the wrong metric: a reply for another
command (a late answer, a device answering out of order) is refused.  A reply
ends at LF; one CR just before it belongs to the terminator.  The device must
not echo the request (terminal echo off).

Values:
    ``2000``, ``-5``, ``020``   integer text -> int (fixed point: the metric's
                                divisor says where the point is, "20" = 2.0 W
                                with divisor 10; leading zeros are allowed)
    ``1.12``                    decimal text -> float
    ``REMOTE``, ``TX A FAULT``  other text -> str (ENUM metrics match their
                                labels case-insensitively)
    TEXT metrics                the value as sent, untyped ("007" stays "007")
    ``1`` / ``0``               booleans (BOOL metrics: 1 true, 0 false)

Error replies: ``ERR 02 UNKNOWN COMMAND`` (the device has no such value) and
``ERR 03 NOT AVAILABLE`` (it has none now) read as missing; any other code
(``ERR 01 SYNTAX ERROR``: the request was garbled on the way) is `Malformed`.
An error reply carries no echo; it is taken only as the first line after a
request sent on a freshly flushed line.

What goes wrong on a serial line, and what this reader does about it:
- No byte at all within `timeout` after a request: the device is not
  answering (cable, baud rate, remote port off): `AsciiNoReply`, a
  `TransportError`, at once, so a silent device costs one timeout, not one
  per metric.
- A reply with bytes outside printable ASCII (line noise, a wrong baud rate),
  without its terminator (truncated: the line stopped for `inter_byte_s`, or
  the timeout passed), longer than `MAX_REPLY` bytes, or for another
  command: `Malformed(detail)` for that metric only.  The line is then
  resynchronised: bytes are read and discarded until the line has been quiet
  for `quiet_s` (bounded by `drain_s`: a device streaming garbage cannot hold
  a poll), and the input buffer is flushed again before the next request, so
  the rest of a bad reply is never read as the next metric's answer.
- Unplugged adapter, I/O error: `SerialLine` turns it into `SerialLineError`.

The dialect has no checksum: noise that happens to be a printable digit
inside a value cannot be told from the value.  That is why every number is
range-checked by its metric; line noise (framing errors, baud mismatch)
mostly gives control and high-bit bytes, which are refused.

Nothing grows without bound: a reply is read into at most MAX_REPLY + one
chunk of bytes; a drain discards what it reads.  `request_retries` is not
used: a malformed reply is reported as such and asked again at the next poll.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import serial

from fieldagent.config import AsciiDevice, SerialDevice
from fieldagent.driver import Driver, Malformed, RawValue, ValueType
from fieldagent.transports import TransportError
from fieldagent.transports.serialport import SerialLine, SerialSettings

MAX_REPLY = 128
"""The longest reply line accepted (bytes, without terminator); longer is garbage."""

READ_CHUNK = 256
POLL_S = 0.002
"""How often a waiting read looks at the port (the port is opened non-blocking)."""

MIN_INTER_BYTE_S = 0.1
"""A reply stopping mid-line this long is truncated (USB adapters batch bytes every ~16 ms)."""

MIN_QUIET_S = 0.03
"""The line counts as drained after this much silence (at least 20 characters' time)."""

MAX_DRAIN_S = 0.5
"""The longest a resync may take, however long a device keeps sending garbage."""

MISSING_CODES = frozenset({"02", "03"})
"""Error codes that mean "no such value" (unknown command, not available)."""

_REPLY = re.compile(r"(?P<command>[A-Za-z0-9_.]+)=(?P<value>.*)")
_ERROR = re.compile(r"ERR (?P<code>\d{2})(?: (?P<text>.*))?")
_INTEGER = re.compile(r"[-+]?\d+")
_DECIMAL = re.compile(r"[-+]?\d*\.\d+|[-+]?\d+\.\d*")
_PRINTABLE = frozenset(range(0x20, 0x7F))


class AsciiNoReply(TransportError):
    """The device sent nothing at all in reply to a request."""


@dataclass(frozen=True)
class Timing:
    """How long to wait for what, derived from the device's timeout and the line speed."""

    reply_s: float
    inter_byte_s: float
    quiet_s: float
    drain_s: float
    gap_s: float
    byte_s: float

    @classmethod
    def for_device(cls, settings: SerialSettings, device: SerialDevice) -> Timing:
        byte_s = settings.byte_time()
        quiet_s = max(MIN_QUIET_S, 20 * byte_s)
        return cls(
            reply_s=device.timeout,
            inter_byte_s=min(device.timeout, max(MIN_INTER_BYTE_S, 50 * byte_s)),
            quiet_s=quiet_s,
            drain_s=max(2 * quiet_s, min(device.timeout, MAX_DRAIN_S)),
            gap_s=device.gap_ms / 1000,
            byte_s=byte_s,
        )


@dataclass(frozen=True)
class Command:
    """One request of a poll: the metric's oid, and whether its value is free text."""

    name: str
    text: bool = False
    """TEXT values are kept as sent: a "007" serial number must not become 7."""


def commands_of(driver: Driver) -> tuple[Command, ...]:
    """The requests of one poll: every scalar metric once, in table order."""
    commands = {
        m.source_key: Command(m.source_key, m.type is ValueType.TEXT) for m in driver.metrics
    }
    return tuple(commands[oid] for oid in driver.scalar_oids())


async def read(line: SerialLine, device: AsciiDevice, driver: Driver) -> dict[str, RawValue]:
    """Ask for every scalar metric in turn; raw values by command (the metric's oid)."""
    timing = Timing.for_device(line.settings, device)
    request = partial(ask_all, commands=commands_of(driver), timing=timing, where=device.id)
    return await line.run(request)


def ask_all(
    port: serial.Serial, *, commands: Sequence[Command], timing: Timing, where: str
) -> dict[str, RawValue]:
    """One poll's conversation, in the line's worker thread (blocking I/O)."""
    values: dict[str, RawValue] = {}
    for n, command in enumerate(commands):
        if n and timing.gap_s:
            time.sleep(timing.gap_s)
        values[command.name] = ask(port, command, timing, where)
    return values


def ask(port: serial.Serial, command: Command, timing: Timing, where: str) -> RawValue:
    """Send one request and read its reply; resynchronise the line after a bad one."""
    request = f"{command.name}?\r".encode("ascii")
    port.reset_input_buffer()  # a late answer to an earlier request must not be read as this one
    port.write(request)
    reply = read_reply(port, timing.reply_s + len(request) * timing.byte_s, timing.inter_byte_s)
    if reply.silent:
        raise AsciiNoReply(
            f"{where}: no reply to {command.name}? within {timing.reply_s:g} s on {port.port}: "
            "check the cable, the baud rate and that the device's remote port is on"
        )
    raw = reply.problem or parse_reply(command.name, reply.line, command.text)
    if isinstance(raw, Malformed) or reply.leftover:
        drain(port, timing)
    return raw


@dataclass(frozen=True)
class Reply:
    """What came back for one request: a line, or why there is none."""

    line: bytes = b""
    problem: Malformed | None = None
    silent: bool = False
    leftover: bool = False
    """Bytes followed the line's terminator: the line needs resynchronising."""


def read_reply(port: serial.Serial, reply_s: float, inter_byte_s: float) -> Reply:
    """Read up to the first LF, within the deadline, into a bounded buffer."""
    buffer = bytearray()
    now = time.monotonic()
    deadline, last_byte = now + reply_s, None
    while True:
        chunk = port.read(READ_CHUNK)
        now = time.monotonic()
        if chunk:
            last_byte = now
            searched = len(buffer)
            buffer += chunk
            end = buffer.find(b"\n", searched)
            if (end if end >= 0 else len(buffer)) > MAX_REPLY:
                too_long = f"reply longer than {MAX_REPLY} bytes: {_show(buffer)}"
                return Reply(problem=Malformed(too_long), leftover=True)
            if end >= 0:
                return Reply(line=bytes(buffer[:end]), leftover=end + 1 < len(buffer))
        elif last_byte is None and now >= deadline:
            return Reply(silent=True)
        elif last_byte is not None and (now - last_byte >= inter_byte_s or now >= deadline):
            return Reply(problem=Malformed(f"truncated reply (no line end): {_show(buffer)}"))
        else:
            time.sleep(POLL_S)


def drain(port: serial.Serial, timing: Timing) -> None:
    """Discard what is left of a bad reply: read until the line is quiet, then flush.

    Bounded in time (`drain_s`) and memory (what is read is thrown away), so a
    device streaming garbage costs at most `drain_s` per request.
    """
    now = time.monotonic()
    deadline, quiet_since = now + timing.drain_s, now
    while now < deadline and now - quiet_since < timing.quiet_s:
        if port.read(READ_CHUNK):
            quiet_since = time.monotonic()
        else:
            time.sleep(POLL_S)
        now = time.monotonic()
    port.reset_input_buffer()


def parse_reply(command: str, line: bytes, text: bool = False) -> RawValue:
    """The raw value in a reply line to `command` (terminator removed); never raises.

    `text`: keep the value as the string sent (for TEXT metrics), not typed.

    Anything but a well-formed echo of `command` or an error reply is
    `Malformed`, with what was received, so the metric reads invalid and says why.
    """
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line:
        return Malformed("empty reply")
    if any(byte not in _PRINTABLE for byte in line):
        return Malformed(f"garbage bytes in reply: {_show(line)}")
    decoded = line.decode("ascii")
    error = _ERROR.fullmatch(decoded)
    if error:
        if error["code"] in MISSING_CODES:
            return None
        return Malformed(f"device error: {decoded}")
    reply = _REPLY.fullmatch(decoded)
    if reply is None:
        return Malformed(f"not a reply to {command}?: {_show(line)}")
    if reply["command"].upper() != command.upper():
        return Malformed(f"reply for {reply['command']}, not {command}: {_show(line)}")
    return parse_value(reply["value"], text)


def parse_value(sent: str, text: bool = False) -> RawValue:
    """Integer text -> int, decimal text -> float, other text -> str; empty is Malformed."""
    value = sent.strip()
    if not value:
        return Malformed("empty value")
    if text:
        return value
    if _INTEGER.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value):
        return float(value)
    return value


def _show(data: bytes | bytearray, limit: int = 40) -> str:
    """A short, printable picture of received bytes for a reading's detail."""
    shown = repr(bytes(data[:limit]))
    return shown + ("..." if len(data) > limit else "")
