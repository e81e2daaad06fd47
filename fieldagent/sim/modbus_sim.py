"""The device side of Modbus RTU: every simulated slave on one RS-485 bus, read-only.

The responder gets the raw bytes the agent wrote to the pty and answers as
the addressed slave would, serving the same declaration the agent reads:
each device's values (`driver.encode(device.live_values())`) laid into its
tables at each `Metric.register` (type, word order).  pymodbus decodes the
requests and encodes the replies (PDUs, RTU CRC).

How the simulated slaves behave:

* Frames end on silence, as RTU frames do: bytes are collected until they
  form a frame with a good CRC; bytes followed by `FRAME_SILENCE_S` of
  silence without becoming one are dropped (and counted in `discarded`).
* Only the addressed slave answers; a frame for another unit address gets
  no reply (it is another slave's, or nobody's), as on a real bus.
* Every read function (1-4) is served; any other function, writes included,
  answers exception ILLEGAL FUNCTION: the simulator is read-only too.
* A slave implements its declared registers in blocks: declared addresses
  less than `BLOCK_HOLE` apart belong to one block, and an undeclared
  address inside a block reads 0xFFFF (a register, the common "not
  implemented" value) or 0 (a bit), as real controllers serve whole pages.
  An address outside every block, or a declared one whose value is absent
  (None), answers ILLEGAL DATA ADDRESS.  A count beyond the protocol's
  maximum answers ILLEGAL DATA VALUE.
* Line faults: a silent device does not answer; SLOW_REPLY answers after
  `SLOW_REPLY_S` (3 s: beyond the agent's default 2 s timeout, so the agent
  sees no reply, and the late frame then meets a flushed buffer or a
  request for another unit); GARBAGE puts 1-8 seeded random bytes before
  and after the reply frame (an intact frame the agent must find in noise);
  CRC_ERROR sends the frame with its CRC inverted.  UNPLUG is played by the
  bus (the pty disappears).

`requests` records every frame heard (unit, function, address, count), so
tests can count requests and check that no two were interleaved.
"""

from __future__ import annotations

import itertools
import logging
import random
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    ReadDiscreteInputsResponse,
)
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
)

from fieldagent.driver import LineFault, Metric, RawValue, RegisterKind, RegisterType, WordOrder
from fieldagent.model import Value
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.pty import Reply

log = logging.getLogger("fieldagent.sim.modbus")

FRAME_SILENCE_S = 0.05
"""Silence after which collected bytes that never became a frame are dropped."""
SLOW_REPLY_S = 3.0
BLOCK_HOLE = 16
UNIMPLEMENTED = 0xFFFF
MAX_ADU = 256

_TABLES: dict[int, tuple[RegisterKind, type[ModbusPDU]]] = {
    ReadCoilsRequest.function_code: (RegisterKind.COIL, ReadCoilsResponse),
    ReadDiscreteInputsRequest.function_code: (RegisterKind.DISCRETE, ReadDiscreteInputsResponse),
    ReadHoldingRegistersRequest.function_code: (
        RegisterKind.HOLDING,
        ReadHoldingRegistersResponse,
    ),
    ReadInputRegistersRequest.function_code: (RegisterKind.INPUT, ReadInputRegistersResponse),
}
"""Read function -> the table it reads and the response that carries it."""

_BIT_TABLES = frozenset({RegisterKind.COIL, RegisterKind.DISCRETE})
_DATATYPES = {
    RegisterType.U16: ModbusClientMixin.DATATYPE.UINT16,
    RegisterType.S16: ModbusClientMixin.DATATYPE.INT16,
    RegisterType.U32: ModbusClientMixin.DATATYPE.UINT32,
    RegisterType.S32: ModbusClientMixin.DATATYPE.INT32,
    RegisterType.FLOAT32: ModbusClientMixin.DATATYPE.FLOAT32,
}

Table = dict[int, int | None]
"""Address -> register word (or bit 0/1); None: declared, but absent now."""


@dataclass(frozen=True)
class HeardRequest:
    """A frame the slaves heard; address and count only for the read functions."""

    unit: int
    function: int
    address: int | None = None
    count: int | None = None


class ModbusResponder:
    """RTU slaves for `devices` (by unit address) behind one pty."""

    def __init__(self, devices: Mapping[int, SimulatedDevice], seed: int = 485) -> None:
        self._devices = dict(devices)
        self._random = random.Random(seed)
        self._server = DecodePDU(is_server=True)
        self._framer = FramerRTU(self._server)
        self._buffer = bytearray()
        self._last_data = 0.0
        self.requests: list[HeardRequest] = []
        self.discarded = 0

    def feed(self, data: bytes) -> list[Reply]:
        frame = self._collect(data)
        if frame is None:
            return []
        unit, pdu = frame[0], frame[1:-2]
        request = self._server.decode(pdu) if pdu[0] in _TABLES else None
        heard = HeardRequest(unit, pdu[0])
        if request is not None:
            heard = HeardRequest(unit, pdu[0], request.address, request.count)
        self.requests.append(heard)
        device = self._devices.get(unit)
        if device is None or device.silent:
            return []
        answer = self._answer(device, pdu[0], request)
        answer.dev_id = unit
        return self._play_fault(device.line_fault, self._framer.buildFrame(answer))

    def _collect(self, data: bytes) -> bytes | None:
        """A complete frame (good CRC) once the collected bytes form one."""
        now = time.monotonic()
        if self._buffer and now - self._last_data > FRAME_SILENCE_S:
            self.discarded += len(self._buffer)
            self._buffer.clear()
        self._last_data = now
        self._buffer += data
        buffer = bytes(self._buffer)
        if len(buffer) >= FramerRTU.MIN_SIZE and FramerRTU.check_CRC(
            buffer[:-2], int.from_bytes(buffer[-2:], "big")
        ):
            self._buffer.clear()
            return buffer
        if len(buffer) > MAX_ADU:
            self.discarded += len(buffer)
            self._buffer.clear()
        return None

    def _answer(
        self, device: SimulatedDevice, function: int, request: ModbusPDU | None
    ) -> ModbusPDU:
        if function not in _TABLES:
            return ExceptionResponse(function, ExcCodes.ILLEGAL_FUNCTION)
        if request is None:
            return ExceptionResponse(function, ExcCodes.ILLEGAL_VALUE)
        kind, response = _TABLES[function]
        try:
            table = tables(device)[kind]
        except ValueError:
            log.exception("%s: cannot lay its values into registers", device.name)
            return ExceptionResponse(function, ExcCodes.DEVICE_FAILURE)
        words = [table.get(a) for a in range(request.address, request.address + request.count)]
        if any(word is None for word in words):
            return ExceptionResponse(function, ExcCodes.ILLEGAL_ADDRESS)
        if kind in _BIT_TABLES:
            return response(bits=[bool(word) for word in words])
        return response(registers=[word for word in words if word is not None])

    def _play_fault(self, fault: LineFault | None, frame: bytes) -> list[Reply]:
        if fault is LineFault.SLOW_REPLY:
            return [(SLOW_REPLY_S, frame)]
        if fault is LineFault.GARBAGE:
            return [(0.0, self._noise() + frame + self._noise())]
        if fault is LineFault.CRC_ERROR:
            return [(0.0, frame[:-2] + bytes(b ^ 0xFF for b in frame[-2:]))]
        return [(0.0, frame)]

    def _noise(self) -> bytes:
        return self._random.randbytes(self._random.randint(1, 8))


def make_responder(devices: Mapping[int, SimulatedDevice]) -> ModbusResponder:
    return ModbusResponder(devices)


def tables(device: SimulatedDevice) -> dict[RegisterKind, Table]:
    """The device's four tables now, its values laid out per `Metric.register`."""
    values = device.live_values()
    raws = device.driver.encode(values)
    laid: dict[RegisterKind, Table] = {kind: {} for kind in RegisterKind}
    for metric in device.driver.metrics:
        register = metric.register
        if register is None:
            continue
        raw = raws.get(metric.source_key)
        words = None if raw is None else _words(metric, raw, values.get(metric.key))
        table = laid[register.kind]
        width = 1 if register.kind in _BIT_TABLES else register.count
        for offset in range(width):
            address = register.address + offset
            table[address] = words[offset] if words is not None else table.get(address)
    return {kind: _with_holes(kind, table) for kind, table in laid.items()}


def _words(metric: Metric, raw: RawValue, value: Value) -> list[int]:
    """A value as the device stores it: one bit, or its registers in its word order."""
    register = metric.register
    assert register is not None
    if register.kind in _BIT_TABLES:
        return [1 if raw == 1 else 0]  # BOOL encodes True as 1 (false as 2, SNMP's TruthValue)
    if register.type is RegisterType.BIT:
        raise ValueError(f"{metric.key}: a bit type belongs in coils or discrete inputs")
    number: int | float
    if register.type is RegisterType.FLOAT32 and isinstance(value, int | float):
        # Metric.encode rounds to an integer raw, right for integer registers;
        # a float register carries the fraction.
        number = float(value) * metric.divisor / metric.scale
    elif isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    else:
        raise ValueError(f"{metric.key}: raw value {raw!r} cannot be laid into registers")
    try:
        return ModbusClientMixin.convert_to_registers(
            number,
            _DATATYPES[register.type],
            word_order="little" if register.word_order is WordOrder.LITTLE else "big",
        )
    except struct.error:
        raise ValueError(f"{metric.key}: raw value {raw!r} does not fit {register.type}") from None


def _with_holes(kind: RegisterKind, table: Table) -> Table:
    """The table with the undeclared addresses inside each block filled (see the module doc)."""
    filler = 0 if kind in _BIT_TABLES else UNIMPLEMENTED
    filled = dict(table)
    for low, high in itertools.pairwise(sorted(table)):
        if high - low < BLOCK_HOLE:
            for address in range(low + 1, high):
                filled[address] = filler
    return filled
