"""Modbus RTU over a serial line (RS-485, or RS-232 point to point): read-only, with pymodbus.

A driver says where each value lives (`Metric.register`: table, 0-based
address, type, word order) and its `oid` names it ("holding:1024"); `read`
returns raw values by that oid.  pymodbus builds every request (PDU + RTU
CRC) and decodes every reply PDU; this module plans the requests, writes
them through the line's worker thread and finds the reply among what comes
back.  Only the four read functions exist here (1 coils, 2 discrete inputs,
3 holding registers, 4 input registers): the agent never writes to a device.

Grouping rule (`plan`)
----------------------
Per table, metrics are sorted by address and merged into one request while
the next value starts at most `GAP_REGISTERS` (4) registers, or `GAP_BITS`
(32) coils / discrete inputs, after the end of the group, and the whole span
stays within the protocol's maximum (125 registers or 2000 bits per request).
Overlapping values (a 32-bit value and its low word) share their registers.
Reading four unused registers costs 8 bytes (8 ms at 9600 baud), a separate
request at least 13 bytes of framing, the slave's turnaround and the line's
`gap_ms`, so reading through a small gap is the cheaper.  A device with a
real hole there answers ILLEGAL DATA ADDRESS (or ILLEGAL DATA VALUE) for the
whole request; that group's metrics are then read one by one, so one
unsupported register never blanks its neighbours.

What each outcome of a request becomes
--------------------------------------
=====================================================  ===========================================
reply                                                  raw value of the request's metrics
=====================================================  ===========================================
a valid frame (right unit, function, byte count, CRC)  the decoded values
nothing, to the poll's first request                   `ModbusNoReply` (a TransportError): the
                                                       poll is `bad`, costing one timeout only
nothing, to a later request                            `Malformed` -> invalid ("no reply")
bytes but no valid frame (CRC error, truncated,        `Malformed` -> invalid, with the reason
noise, a frame for another request)
exception 01 ILLEGAL FUNCTION                          None -> missing (no such table here)
exception 02 ILLEGAL DATA ADDRESS                      None -> missing (after one-by-one reads)
exception 03 ILLEGAL DATA VALUE                        `Malformed` -> invalid (after one-by-one)
exception 04 SERVER DEVICE FAILURE, 05 ACKNOWLEDGE,    `Malformed` -> invalid
07 NEGATIVE ACKNOWLEDGE, 08 MEMORY PARITY ERROR,
any unknown code
exception 06 SERVER DEVICE BUSY                        `Malformed` -> invalid: the device is alive
                                                       and its other requests may be answered, so
                                                       the poll is not `bad`; the next poll asks
                                                       again
exception 0A GATEWAY PATH UNAVAILABLE,                 as no reply: the device behind the gateway
0B GATEWAY TARGET DEVICE FAILED TO RESPOND             did not answer
=====================================================  ===========================================

Every exception and every unreadable reply is logged on "fieldagent.modbus",
the exception by its name.  A reply is never retried within a poll (the
next poll is the retry), so a dead slave costs its own timeout once and the
other slaves on the bus wait no longer than that.

Timing: a request's reply must begin within the device's `timeout` (plus the
wire time of the expected reply); it ends at the first silence of
`quiet_s` (3.5 characters, at least 50 ms: USB adapters deliver bytes in
bursts).  Before each request the input buffer is flushed, so a late reply
to an earlier request cannot be taken for this one; the reply must also
come from the addressed unit, for the sent function, with the byte count
the request implies.  The line's `gap_ms` (20 ms by default) is the silence
between requests and must exceed 3.5 characters (it does from 2400 baud up).
"""

from __future__ import annotations

import logging
import select
import struct
import termios
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import serial
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
)

from fieldagent.config import ModbusDevice
from fieldagent.driver import (
    Driver,
    Malformed,
    Metric,
    RawValue,
    Register,
    RegisterKind,
    RegisterType,
    WordOrder,
)
from fieldagent.transports import TransportError
from fieldagent.transports.serialport import SerialLine

log = logging.getLogger("fieldagent.modbus")

MAX_REGISTERS = 125
MAX_BITS = 2000
GAP_REGISTERS = 4
GAP_BITS = 32
MIN_QUIET_S = 0.05
"""Shortest silence that ends a reply (RTU says 3.5 characters; USB adapters need more)."""

MAX_ADU = 256
"""Largest RTU frame: address, PDU of at most 253 bytes, CRC."""

REQUESTS: dict[RegisterKind, type[ModbusPDU]] = {
    RegisterKind.COIL: ReadCoilsRequest,
    RegisterKind.DISCRETE: ReadDiscreteInputsRequest,
    RegisterKind.HOLDING: ReadHoldingRegistersRequest,
    RegisterKind.INPUT: ReadInputRegistersRequest,
}
"""The only requests this module can build: the four Modbus read functions."""

READ_FUNCTIONS = frozenset(request.function_code for request in REQUESTS.values())

_BIT_TABLES = frozenset({RegisterKind.COIL, RegisterKind.DISCRETE})
_TABLE_NAMES = {
    RegisterKind.COIL: "coils",
    RegisterKind.DISCRETE: "discrete inputs",
    RegisterKind.HOLDING: "holding registers",
    RegisterKind.INPUT: "input registers",
}

EXCEPTION_NAMES: dict[int, str] = {
    ExcCodes.ILLEGAL_FUNCTION: "ILLEGAL FUNCTION",
    ExcCodes.ILLEGAL_ADDRESS: "ILLEGAL DATA ADDRESS",
    ExcCodes.ILLEGAL_VALUE: "ILLEGAL DATA VALUE",
    ExcCodes.DEVICE_FAILURE: "SERVER DEVICE FAILURE",
    ExcCodes.ACKNOWLEDGE: "ACKNOWLEDGE",
    ExcCodes.DEVICE_BUSY: "SERVER DEVICE BUSY",
    ExcCodes.NEGATIVE_ACKNOWLEDGE: "NEGATIVE ACKNOWLEDGE",
    ExcCodes.MEMORY_PARITY_ERROR: "MEMORY PARITY ERROR",
    ExcCodes.GATEWAY_PATH_UNAVIABLE: "GATEWAY PATH UNAVAILABLE",
    ExcCodes.GATEWAY_NO_RESPONSE: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}
"""Exception codes by their names in the Modbus application protocol specification."""

_MISSING = frozenset({ExcCodes.ILLEGAL_FUNCTION, ExcCodes.ILLEGAL_ADDRESS})
"""The device has no such table or register: the value is missing, not wrong."""
_SPLIT = frozenset({ExcCodes.ILLEGAL_ADDRESS, ExcCodes.ILLEGAL_VALUE})
"""Refusals of a merged request that reading its values one by one may avoid."""
_NO_ANSWER = frozenset({ExcCodes.GATEWAY_PATH_UNAVIABLE, ExcCodes.GATEWAY_NO_RESPONSE})

_DATATYPES = {
    RegisterType.U16: ModbusClientMixin.DATATYPE.UINT16,
    RegisterType.S16: ModbusClientMixin.DATATYPE.INT16,
    RegisterType.U32: ModbusClientMixin.DATATYPE.UINT32,
    RegisterType.S32: ModbusClientMixin.DATATYPE.INT32,
    RegisterType.FLOAT32: ModbusClientMixin.DATATYPE.FLOAT32,
}
_WORD_ORDERS: dict[WordOrder, Literal["big", "little"]] = {
    WordOrder.BIG: "big",
    WordOrder.LITTLE: "little",
}

_FRAMER = FramerRTU(DecodePDU(is_server=False))
"""Builds request ADUs and decodes reply PDUs (stateless, shared by every line)."""


class ModbusError(TransportError):
    """A Modbus device could not be read at all this poll."""


class ModbusNoReply(ModbusError):
    """The device (or, behind a gateway, its target) did not answer the poll's first request."""


@dataclass(frozen=True)
class ReadRequest:
    """One read request: a span of one table and the metrics whose values lie in it."""

    kind: RegisterKind
    address: int
    count: int
    items: tuple[tuple[Metric, Register], ...]

    @property
    def function(self) -> int:
        return REQUESTS[self.kind].function_code

    @property
    def reply_byte_count(self) -> int:
        """The byte count a correct reply carries: the request implies it."""
        return (self.count + 7) // 8 if self.kind in _BIT_TABLES else 2 * self.count

    def frame(self, unit: int) -> bytes:
        """The request as sent on the wire (address, PDU, CRC), built by pymodbus."""
        pdu = REQUESTS[self.kind](dev_id=unit, address=self.address, count=self.count)
        return _FRAMER.buildFrame(pdu)

    def singles(self) -> list[ReadRequest]:
        """This request split into one request per metric."""
        return [_request(self.kind, [item]) for item in self.items]

    def fill(self, raw: RawValue) -> dict[str, RawValue]:
        """The same raw value (missing, malformed) for every metric of the request."""
        return {metric.source_key: raw for metric, _ in self.items}

    def decode(self, reply: ModbusPDU) -> dict[str, RawValue]:
        """Each metric's raw value from a reply already checked to match this request."""
        if self.kind in _BIT_TABLES:
            bits = reply.bits
            return {m.source_key: int(bits[r.address - self.address]) for m, r in self.items}
        words = reply.registers
        return {
            m.source_key: _value(
                words[r.address - self.address : r.address - self.address + r.count], r
            )
            for m, r in self.items
        }

    def __str__(self) -> str:
        last = self.address + self.count - 1
        span = f"{self.address}" if last == self.address else f"{self.address}..{last}"
        return f"read {_TABLE_NAMES[self.kind]} {span}"


def plan(metrics: Iterable[Metric]) -> list[ReadRequest]:
    """The fewest read requests that cover every metric's register (the grouping rule)."""
    by_table: dict[RegisterKind, list[tuple[Metric, Register]]] = {}
    for metric in metrics:
        if metric.register is not None:
            by_table.setdefault(metric.register.kind, []).append((metric, metric.register))
    requests: list[ReadRequest] = []
    for kind in RegisterKind:
        bits = kind in _BIT_TABLES
        gap, limit = (GAP_BITS, MAX_BITS) if bits else (GAP_REGISTERS, MAX_REGISTERS)
        group: list[tuple[Metric, Register]] = []
        start = end = 0
        for item in sorted(by_table.get(kind, []), key=lambda i: (i[1].address, i[1].count)):
            first, last = _span(item[1])
            if group and first <= end + 1 + gap and max(end, last) - start < limit:
                group.append(item)
                end = max(end, last)
                continue
            if group:
                requests.append(_request(kind, group))
            group, start, end = [item], first, last
        if group:
            requests.append(_request(kind, group))
    return requests


def _span(register: Register) -> tuple[int, int]:
    """First and last address a value occupies (a coil or discrete input is one bit)."""
    width = 1 if register.kind in _BIT_TABLES else register.count
    return register.address, register.address + width - 1


def _request(kind: RegisterKind, items: Sequence[tuple[Metric, Register]]) -> ReadRequest:
    first = min(_span(r)[0] for _, r in items)
    last = max(_span(r)[1] for _, r in items)
    return ReadRequest(kind, first, last - first + 1, tuple(items))


def _value(words: Sequence[int], register: Register) -> RawValue:
    """One value from its registers, in its declared type and word order."""
    if register.type is RegisterType.BIT:
        return Malformed("a bit value is read from coils or discrete inputs, not registers")
    value = ModbusClientMixin.convert_from_registers(
        list(words), _DATATYPES[register.type], word_order=_WORD_ORDERS[register.word_order]
    )
    if isinstance(value, float):
        return _shortest_float32(value)
    if isinstance(value, int):
        return value
    return Malformed(f"cannot decode registers {list(words)} as {register.type}")


def _shortest_float32(value: float) -> float:
    """The shortest decimal that is the same float32: 49.98, not 49.97999954223633.

    A float32 carries about 7 significant digits; the rest of its double is
    conversion noise that would show in every published value.
    """
    packed = struct.pack(">f", value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value  # NaN and infinities: the metric's valid range rejects them


async def read(line: SerialLine, device: ModbusDevice, driver: Driver) -> dict[str, RawValue]:
    """Read every register metric of `driver` from `device` (slave `device.unit` on `line`)."""
    reader = _DeviceReader(line, device)
    objects: dict[str, RawValue] = {}
    for index, request in enumerate(plan(driver.metrics)):
        objects.update(await reader.read(request, first=index == 0))
    return objects


class _DeviceReader:
    """Runs one device's requests on its line and turns each outcome into raw values."""

    def __init__(self, line: SerialLine, device: ModbusDevice) -> None:
        self._line = line
        self._device = device
        self._quiet_s = max(3.5 * line.settings.byte_time(), MIN_QUIET_S)

    async def read(self, request: ReadRequest, first: bool) -> dict[str, RawValue]:
        reply = await self._line.run(partial(self._exchange, request))
        if reply is None:
            return self._silence(request, first, f"no reply within {self._device.timeout:g} s")
        if isinstance(reply, Malformed):
            log.warning("%s: %s: %s", self._where, request, reply.detail)
            return request.fill(reply)
        if reply.isError():
            return await self._exception(request, reply.exception_code, first)
        return request.decode(reply)

    @property
    def _where(self) -> str:
        return f"{self._device.id} (unit {self._device.unit} on {self._line.path})"

    def _silence(self, request: ReadRequest, first: bool, why: str) -> dict[str, RawValue]:
        if first:
            raise ModbusNoReply(f"{self._where}: {request}: {why}")
        log.warning("%s: %s: %s", self._where, request, why)
        return request.fill(Malformed(f"{why} ({request})"))

    async def _exception(self, request: ReadRequest, code: int, first: bool) -> dict[str, RawValue]:
        what = f"Modbus exception {code:02X} {EXCEPTION_NAMES.get(code, 'of unknown meaning')}"
        if code in _NO_ANSWER:
            return self._silence(request, first, what)
        if code in _SPLIT and len(request.items) > 1:
            log.warning("%s: %s: %s; reading its values one by one", self._where, request, what)
            objects: dict[str, RawValue] = {}
            for single in request.singles():
                objects.update(await self.read(single, first=False))
            return objects
        log.warning("%s: %s: %s", self._where, request, what)
        return request.fill(None if code in _MISSING else Malformed(f"{what} ({request})"))

    def _exchange(self, request: ReadRequest, port: serial.Serial) -> ModbusPDU | Malformed | None:
        """In the line's worker: send the request, wait for its reply (None: silence)."""
        unit = self._device.unit
        _flush_input(port)
        port.write(request.frame(unit))
        reply_bytes = 5 + request.reply_byte_count
        deadline = (
            time.monotonic() + self._device.timeout + reply_bytes * self._line.settings.byte_time()
        )
        received = bytearray()
        last_byte = 0.0
        while True:
            end = min(deadline, last_byte + self._quiet_s) if received else deadline
            wait = end - time.monotonic()
            if wait <= 0:
                break
            ready, _, _ = select.select([port.fileno()], [], [], wait)
            if not ready:
                continue
            received += port.read(MAX_ADU)  # the port is non-blocking: what has arrived
            last_byte = time.monotonic()
            found = find_reply(bytes(received), unit, request)
            if isinstance(found, ModbusPDU):
                return found
        return find_reply(bytes(received), unit, request) if received else None


def _flush_input(port: serial.Serial) -> None:
    """Drop what is waiting: a late reply to an earlier request is not this one's.

    An unplugged adapter fails the flush with termios.error, which is no
    OSError: it is raised as the serial error the line knows to handle.
    """
    try:
        port.reset_input_buffer()
    except termios.error as exc:
        raise serial.SerialException(f"cannot flush input: {exc}") from None


def find_reply(data: bytes, unit: int, request: ReadRequest) -> ModbusPDU | Malformed:
    """The reply to `request` from `unit` in `data`, or why there is none.

    RTU frames carry no start marker, so every position is tried: noise
    before or after the frame, other slaves' frames and late replies are
    skipped.  A frame counts only if it comes from `unit`, answers the
    request's function (or is its exception), carries the byte count the
    request implies and has a good CRC: values are never taken from a reply
    to another request.
    """
    problem = "no frame from this unit"
    for start in range(len(data) - 1):
        function = data[start + 1]
        if data[start] != unit or function & 0x7F != request.function:
            continue
        candidate = data[start:]
        if not function & 0x80 and len(candidate) > 2 and candidate[2] != request.reply_byte_count:
            problem = f"a reply of {candidate[2]} data bytes to {request}"
            continue
        pdu_class = _FRAMER.decoder.lookupPduClass(candidate)
        size = pdu_class.calculateRtuFrameSize(candidate) if pdu_class else 0
        if not size or len(candidate) < size:
            problem = "truncated reply"
            continue
        frame = candidate[:size]
        if not FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:], "big")):
            problem = "CRC error"
            continue
        pdu = _FRAMER.decoder.decode(frame[1:-2])
        if pdu is None:
            problem = "undecodable reply"
            continue
        return pdu
    shown = data[:24].hex(" ") + (" ..." if len(data) > 24 else "")
    return Malformed(f"{problem}: {len(data)} bytes [{shown}]")
