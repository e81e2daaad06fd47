"""The Modbus RTU transport against the Modbus simulator, through real pseudo-terminals.

A probe driver (every register type, both word orders, all four tables)
stands in for a device; `ModbusBus` wraps the simulator's responder to count
the frames it hears and, where a test needs it, to answer what a real
device might (an exception, noise).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersResponse,
    WriteSingleRegisterRequest,
)

from fieldagent.config import ModbusDevice
from fieldagent.driver import (
    AlarmClass,
    Driver,
    Malformed,
    Maturity,
    Metric,
    RawValue,
    Register,
    RegisterKind,
    RegisterType,
    SimModel,
    ValueType,
    WordOrder,
)
from fieldagent.model import Quality, Reading, Value
from fieldagent.sim import modbus_sim
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.modbus_sim import HeardRequest, ModbusResponder, tables
from fieldagent.sim.pty import Reply
from fieldagent.sim.serial_sim import SerialBusSimulator
from fieldagent.transports import TransportError, modbus
from fieldagent.transports.modbus import ModbusNoReply, find_reply, plan
from fieldagent.transports.serialport import SerialLineError, SerialLines

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOLDING, INPUT, COIL, DISCRETE = (
    RegisterKind.HOLDING,
    RegisterKind.INPUT,
    RegisterKind.COIL,
    RegisterKind.DISCRETE,
)


def at(
    kind: RegisterKind,
    address: int,
    type_: RegisterType = RegisterType.U16,
    order: WordOrder = WordOrder.BIG,
) -> Register:
    return Register(kind, address, type_, order)


def metric(key: str, register: Register, **options: Any) -> Metric:
    alarm_class = AlarmClass.STATE if options.get("type") is ValueType.BOOL else AlarmClass.OTHER
    return Metric(key, "", register, key, alarm_class=alarm_class, **options)


def probe_driver(name: str, metrics: Mapping[str, tuple[Register, Value]], **kw: Any) -> Driver:
    """A throwaway Modbus driver: key -> (register, simulated value)."""
    declared = tuple(
        metric(
            key,
            register,
            type=ValueType.BOOL if isinstance(value, bool) else ValueType.NUMBER,
            **kw.get(key, {}),
        )
        for key, (register, value) in metrics.items()
    )
    initial = {key: value for key, (_, value) in metrics.items()}
    simulator = SimModel(initial, {})
    return Driver(name, name, "probe", "modbus", declared, simulator, maturity=Maturity.MODEL)


PROBE = probe_driver(
    "modbus_probe",
    {
        "p.u16": (at(HOLDING, 0), 54321),
        "p.s16": (at(HOLDING, 1, RegisterType.S16), -1234),
        "p.u32_big": (at(HOLDING, 2, RegisterType.U32), 123456789),
        "p.u32_little": (at(HOLDING, 4, RegisterType.U32, WordOrder.LITTLE), 123456789),
        "p.s32_little": (at(HOLDING, 6, RegisterType.S32, WordOrder.LITTLE), -2_000_000),
        "p.float_big": (at(HOLDING, 8, RegisterType.FLOAT32), 49.98),
        "p.float_little": (at(HOLDING, 10, RegisterType.FLOAT32, WordOrder.LITTLE), -12.5),
        "p.far": (at(HOLDING, 40), 7),
        "p.scaled": (at(INPUT, 0), 230.4),
        "p.coil_on": (at(COIL, 0, RegisterType.BIT), True),
        "p.coil_off": (at(COIL, 1, RegisterType.BIT), False),
        "p.discrete": (at(DISCRETE, 3, RegisterType.BIT), True),
    },
    **{"p.scaled": {"scale": 0.1}},
)


def exception_frame(unit: int, function: int, code: int) -> bytes:
    return FramerRTU(DecodePDU(is_server=True)).buildFrame(
        ExceptionResponse(function, code, device_id=unit)
    )


Answer = Callable[[HeardRequest], bytes | None]
"""Overrides the simulated slave: bytes to send instead (b"": silence), or None."""


class Overriding:
    """The simulator's responder, with some requests answered by the test instead."""

    def __init__(self, inner: ModbusResponder) -> None:
        self.inner = inner
        self.answer: Answer = lambda heard: None

    def feed(self, data: bytes) -> list[Reply]:
        before = len(self.inner.requests)
        replies = self.inner.feed(data)
        if len(self.inner.requests) == before:
            return replies
        override = self.answer(self.inner.requests[-1])
        if override is None:
            return replies
        return [(0.0, override)] if override else []


@dataclass
class ModbusBus:
    """A simulated RS-485 bus on a pty, and the agent's serial lines that reach it."""

    sim: SerialBusSimulator
    responder: Overriding
    lines: SerialLines = field(default_factory=SerialLines)

    @property
    def heard(self) -> list[HeardRequest]:
        return self.inner.requests

    @property
    def inner(self) -> ModbusResponder:
        return self.responder.inner

    def section(self, driver: Driver, unit: int = 1, timeout: float = 0.5) -> ModbusDevice:
        return ModbusDevice(
            id=f"{driver.name}-{unit}",
            driver=driver.name,
            serial_port=self.sim.path,
            unit=unit,
            timeout=timeout,
            gap_ms=2,
        )

    def read(self, driver: Driver, unit: int = 1, timeout: float = 0.5) -> dict[str, RawValue]:
        section = self.section(driver, unit, timeout)
        return asyncio.run(modbus.read(self.lines.line_for(section), section, driver))

    def readings(self, driver: Driver, unit: int = 1, timeout: float = 0.5) -> dict[str, Reading]:
        return {r.key: r for r in driver.decode(self.read(driver, unit, timeout), TS)}


class BusRunner:
    """Starts SerialBusSimulators whose Modbus responder the test can see and override."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self._directory = directory
        self._buses: list[ModbusBus] = []
        self._responders: list[Overriding] = []
        original = modbus_sim.make_responder

        def making(devices: Mapping[int, SimulatedDevice]) -> Overriding:
            self._responders.append(Overriding(original(devices)))
            return self._responders[-1]

        monkeypatch.setattr(modbus_sim, "make_responder", making)

    def start(self, devices: Mapping[int, SimulatedDevice]) -> ModbusBus:
        sim = SerialBusSimulator(self._directory / f"bus{len(self._buses)}", "modbus", devices)
        asyncio.run(sim.start())
        self._buses.append(ModbusBus(sim, self._responders[-1]))
        return self._buses[-1]

    def close(self) -> None:
        for bus in self._buses:
            bus.lines.close()
            bus.sim.stop()


BusFactory = Callable[[Mapping[int, SimulatedDevice]], ModbusBus]


@pytest.fixture
def modbus_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BusFactory]:
    runner = BusRunner(tmp_path, monkeypatch)
    yield runner.start
    runner.close()


def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


EXPECTED = {
    "p.u16": 54321,
    "p.s16": -1234,
    "p.u32_big": 123456789,
    "p.u32_little": 123456789,
    "p.s32_little": -2_000_000,
    "p.float_big": 49.98,
    "p.float_little": -12.5,
    "p.far": 7,
    "p.scaled": 230.4,
    "p.coil_on": True,
    "p.coil_off": False,
    "p.discrete": True,
}


def test_every_type_table_and_word_order_reads_exactly(modbus_bus: BusFactory) -> None:
    bus = modbus_bus({1: SimulatedDevice(PROBE)})
    readings = bus.readings(PROBE)
    assert {k: r.value for k, r in readings.items()} == EXPECTED
    assert all(r.quality is Quality.OK for r in readings.values())


def test_word_order_puts_the_words_of_a_32_bit_value_the_declared_way_round() -> None:
    holding = tables(SimulatedDevice(PROBE))[HOLDING]
    high, low = 123456789 >> 16, 123456789 & 0xFFFF
    assert (holding[2], holding[3]) == (high, low)  # big: most significant word first
    assert (holding[4], holding[5]) == (low, high)  # little: least significant word first


def test_registers_are_grouped_into_fewer_requests_than_metrics(modbus_bus: BusFactory) -> None:
    bus = modbus_bus({1: SimulatedDevice(PROBE)})
    bus.read(PROBE)
    heard = [(h.function, h.address, h.count) for h in bus.heard]
    assert heard == [(3, 0, 12), (3, 40, 1), (4, 0, 1), (1, 0, 2), (2, 3, 1)]
    assert len(heard) < len(PROBE.metrics)
    assert bus.inner.discarded == 0


def _spans(registers: list[Register]) -> list[tuple[int, int]]:
    metrics = [metric(f"m{i}", r) for i, r in enumerate(registers)]
    return [(r.address, r.count) for r in plan(metrics)]


def test_grouping_reads_through_small_gaps_and_respects_the_protocol_maximum() -> None:
    u32 = RegisterType.U32
    # A gap of up to 4 unused registers is read through; 5 starts a new request.
    assert _spans([at(HOLDING, 0), at(HOLDING, 5)]) == [(0, 6)]
    assert _spans([at(HOLDING, 0), at(HOLDING, 6)]) == [(0, 1), (6, 1)]
    # Overlapping values share registers; a 32-bit value spans two.
    assert _spans([at(HOLDING, 10, u32), at(HOLDING, 11), at(HOLDING, 12, u32)]) == [(10, 4)]
    # 125 registers per request at most, and a 32-bit value is never cut in two.
    assert _spans([at(HOLDING, a) for a in range(125)]) == [(0, 125)]
    assert _spans([at(HOLDING, a) for a in range(126)]) == [(0, 125), (125, 1)]
    last_cut = [at(HOLDING, a) for a in range(124)] + [at(HOLDING, 124, u32)]
    assert _spans(last_cut) == [(0, 124), (124, 2)]
    assert _spans([at(HOLDING, a) for a in range(0, 300, 3)]) == [(0, 124), (126, 124), (252, 46)]
    # Bits: gaps of up to 32 read through, 2000 per request at most.
    assert _spans([at(COIL, 0), at(COIL, 33)]) == [(0, 34)]
    assert _spans([at(COIL, 0), at(COIL, 34)]) == [(0, 1), (34, 1)]
    every_25th = [at(DISCRETE, a) for a in range(0, 2001, 25)]
    assert _spans(every_25th[:-1]) == [(0, 1976)]
    assert _spans([*every_25th, at(DISCRETE, 1999)]) == [(0, 2000), (2000, 1)]
    # Tables never mix.
    assert len(plan([metric("a", at(HOLDING, 0)), metric("b", at(INPUT, 1))])) == 2


HOLED = probe_driver(
    "modbus_holed",
    {
        "h.first": (at(HOLDING, 100), 1),
        "h.absent": (at(HOLDING, 101), None),
        "h.third": (at(HOLDING, 102), 3),
    },
)


def test_a_register_the_device_lacks_is_missing_and_its_neighbours_still_read(
    modbus_bus: BusFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bus = modbus_bus({1: SimulatedDevice(HOLED)})
    with caplog.at_level(logging.WARNING, logger="fieldagent.modbus"):
        readings = bus.readings(HOLED)
    assert readings["h.first"].value == 1
    assert readings["h.third"].value == 3
    assert readings["h.absent"].quality is Quality.MISSING
    assert [(h.address, h.count) for h in bus.heard] == [(100, 3), (100, 1), (101, 1), (102, 1)]
    assert "02 ILLEGAL DATA ADDRESS" in caplog.text
    assert "one by one" in caplog.text


TWO_GROUPS = probe_driver(
    "modbus_two_groups",
    {"g.a": (at(HOLDING, 0), 11), "g.b": (at(HOLDING, 1), 22), "g.input": (at(INPUT, 5), 33)},
)


@pytest.mark.parametrize(
    ("code", "name", "quality"),
    [
        (ExcCodes.ILLEGAL_FUNCTION, "ILLEGAL FUNCTION", Quality.MISSING),
        (ExcCodes.ILLEGAL_ADDRESS, "ILLEGAL DATA ADDRESS", Quality.MISSING),
        (ExcCodes.ILLEGAL_VALUE, "ILLEGAL DATA VALUE", Quality.INVALID),
        (ExcCodes.DEVICE_FAILURE, "SERVER DEVICE FAILURE", Quality.INVALID),
        (ExcCodes.ACKNOWLEDGE, "ACKNOWLEDGE", Quality.INVALID),
        (ExcCodes.DEVICE_BUSY, "SERVER DEVICE BUSY", Quality.INVALID),
        (ExcCodes.NEGATIVE_ACKNOWLEDGE, "NEGATIVE ACKNOWLEDGE", Quality.INVALID),
        (ExcCodes.MEMORY_PARITY_ERROR, "MEMORY PARITY ERROR", Quality.INVALID),
        (ExcCodes.GATEWAY_PATH_UNAVIABLE, "GATEWAY PATH UNAVAILABLE", Quality.INVALID),
        (ExcCodes.GATEWAY_NO_RESPONSE, "GATEWAY TARGET DEVICE FAILED", Quality.INVALID),
        (0x42, "of unknown meaning", Quality.INVALID),
    ],
)
def test_each_modbus_exception_is_named_and_maps_to_a_quality_for_its_request_only(
    modbus_bus: BusFactory,
    caplog: pytest.LogCaptureFixture,
    code: int,
    name: str,
    quality: Quality,
) -> None:
    bus = modbus_bus({1: SimulatedDevice(TWO_GROUPS)})
    bus.responder.answer = lambda h: exception_frame(1, 4, code) if h.function == 4 else None
    with caplog.at_level(logging.WARNING, logger="fieldagent.modbus"):
        readings = bus.readings(TWO_GROUPS)
    assert readings["g.input"].quality is quality
    assert (readings["g.a"].value, readings["g.b"].value) == (11, 22)
    assert f"exception {code:02X} {name}" in caplog.text
    if quality is Quality.INVALID:
        assert f"{code:02X}" in readings["g.input"].detail


@pytest.mark.parametrize("code", [ExcCodes.ILLEGAL_ADDRESS, ExcCodes.ILLEGAL_VALUE])
def test_a_refused_merged_request_is_read_value_by_value(modbus_bus: BusFactory, code: int) -> None:
    bus = modbus_bus({1: SimulatedDevice(TWO_GROUPS)})
    bus.responder.answer = lambda h: exception_frame(1, 3, code) if h.count == 2 else None
    readings = bus.readings(TWO_GROUPS)
    assert {k: r.value for k, r in readings.items()} == {"g.a": 11, "g.b": 22, "g.input": 33}
    assert [(h.function, h.address, h.count) for h in bus.heard] == [
        (3, 0, 2),
        (3, 0, 1),
        (3, 1, 1),
        (4, 5, 1),
    ]


def test_a_gateway_whose_target_is_silent_on_the_first_request_fails_the_poll(
    modbus_bus: BusFactory,
) -> None:
    bus = modbus_bus({1: SimulatedDevice(TWO_GROUPS)})
    bus.responder.answer = lambda h: exception_frame(1, h.function, ExcCodes.GATEWAY_NO_RESPONSE)
    with pytest.raises(ModbusNoReply, match="GATEWAY TARGET DEVICE FAILED TO RESPOND"):
        bus.read(TWO_GROUPS)


def test_a_crc_error_makes_that_requests_metrics_invalid(
    modbus_bus: BusFactory, caplog: pytest.LogCaptureFixture
) -> None:
    device = SimulatedDevice(TWO_GROUPS)
    bus = modbus_bus({1: device})
    device.play("crc_error")
    with caplog.at_level(logging.WARNING, logger="fieldagent.modbus"):
        readings = bus.readings(TWO_GROUPS)
    assert all(r.quality is Quality.INVALID for r in readings.values())
    assert all("CRC error" in r.detail for r in readings.values())
    assert "CRC error" in caplog.text


def test_one_bad_frame_spoils_only_its_own_request(modbus_bus: BusFactory) -> None:
    bus = modbus_bus({1: SimulatedDevice(TWO_GROUPS)})
    bus.responder.answer = lambda h: b"\x01\x04\x02\x00" if h.function == 4 else None
    readings = bus.readings(TWO_GROUPS)
    assert (readings["g.a"].value, readings["g.b"].value) == (11, 22)
    assert readings["g.input"].quality is Quality.INVALID
    assert "truncated" in readings["g.input"].detail


def test_noise_around_a_reply_is_skipped(modbus_bus: BusFactory) -> None:
    device = SimulatedDevice(PROBE)
    bus = modbus_bus({1: device})
    device.play("garbage")
    assert {k: r.value for k, r in bus.readings(PROBE).items()} == EXPECTED


def test_a_silent_device_costs_one_timeout_and_one_request(modbus_bus: BusFactory) -> None:
    device = SimulatedDevice(PROBE)
    bus = modbus_bus({1: device})
    device.play("no_reply")
    started = time.monotonic()
    with pytest.raises(ModbusNoReply, match=r"no reply within 0\.3 s"):
        bus.read(PROBE, timeout=0.3)
    assert time.monotonic() - started >= 0.3  # an upper bound would measure the machine's load
    assert len(bus.heard) == 1


def test_a_slow_reply_is_no_reply_and_does_not_spoil_the_next_poll(
    modbus_bus: BusFactory,
) -> None:
    device = SimulatedDevice(TWO_GROUPS)
    bus = modbus_bus({1: device})
    device.play("slow_reply")
    with pytest.raises(ModbusNoReply):
        bus.read(TWO_GROUPS, timeout=0.2)
    device.play("normal")
    assert {k: r.value for k, r in bus.readings(TWO_GROUPS).items()} == {
        "g.a": 11,
        "g.b": 22,
        "g.input": 33,
    }


def test_only_the_addressed_slave_answers(modbus_bus: BusFactory) -> None:
    bus = modbus_bus({1: SimulatedDevice(TWO_GROUPS)})
    with pytest.raises(ModbusNoReply):
        bus.read(TWO_GROUPS, unit=9, timeout=0.2)
    assert bus.heard == [HeardRequest(9, 3, 0, 2)]


def test_the_agent_only_ever_sends_read_functions(modbus_bus: BusFactory) -> None:
    assert frozenset({1, 2, 3, 4}) == modbus.READ_FUNCTIONS
    device = SimulatedDevice(PROBE)
    bus = modbus_bus({1: device, 2: SimulatedDevice(HOLED)})
    for scenario in device.scenarios:
        device.play(scenario)
        for driver, unit in ((PROBE, 1), (HOLED, 2)):
            with contextlib.suppress(TransportError):
                bus.read(driver, unit, timeout=0.2)
        device.play("normal")
        wait_until(bus.sim.path.exists)
    assert len(bus.heard) > 10
    assert {h.function for h in bus.heard} <= {1, 2, 3, 4}


def _raw_request(unit: int, function: int, address: int, count: int) -> bytes:
    body = bytes([unit, function]) + address.to_bytes(2, "big") + count.to_bytes(2, "big")
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


@pytest.mark.parametrize(
    ("request_frame", "function", "code"),
    [
        (
            FramerRTU(DecodePDU(is_server=False)).buildFrame(
                WriteSingleRegisterRequest(address=0, registers=[99], dev_id=1)
            ),
            6,
            ExcCodes.ILLEGAL_FUNCTION,
        ),
        (_raw_request(1, 3, 0, 200), 3, ExcCodes.ILLEGAL_VALUE),
        (_raw_request(1, 3, 500, 2), 3, ExcCodes.ILLEGAL_ADDRESS),
        (_raw_request(1, 1, 0, 8), 1, ExcCodes.ILLEGAL_ADDRESS),
    ],
    ids=["write", "count-beyond-125", "outside-every-block", "table-without-values"],
)
def test_the_simulator_answers_like_a_read_only_slave(
    modbus_bus: BusFactory, request_frame: bytes, function: int, code: int
) -> None:
    bus = modbus_bus({1: SimulatedDevice(TWO_GROUPS)})
    with serial.Serial(str(bus.sim.path), timeout=1) as port:
        port.write(request_frame)
        reply = port.read(5)
    assert reply == exception_frame(1, function, code)
    assert bus.read(TWO_GROUPS)["holding:0"] == 11  # and nothing was written


def test_find_reply_takes_only_a_frame_for_its_own_request() -> None:
    (request,) = plan([metric("a", at(HOLDING, 0))])
    framer = FramerRTU(DecodePDU(is_server=True))
    ours = _register_reply(framer, 1, [7])
    other_unit = _register_reply(framer, 2, [8])
    other_count = _register_reply(framer, 1, [8, 9])
    found = find_reply(b"\x00\xff" + other_unit + other_count + ours + b"\x13", 1, request)
    assert not isinstance(found, Malformed)
    assert list(found.registers) == [7]
    assert isinstance(find_reply(other_unit + other_count, 1, request), Malformed)


def _register_reply(framer: FramerRTU, unit: int, words: list[int]) -> bytes:
    return framer.buildFrame(ReadHoldingRegistersResponse(registers=words, dev_id=unit))


SMALL = probe_driver("modbus_small", {"s.value": (at(HOLDING, 7), 42)})


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_unplug_and_replug_100_times_leaks_no_thread_or_descriptor(
    modbus_bus: BusFactory,
) -> None:
    device = SimulatedDevice(SMALL)
    bus = modbus_bus({1: device})
    assert bus.read(SMALL) == {"holding:7": 42}  # the line's worker and port now exist
    threads, fds = threading.active_count(), _open_fds()
    for _ in range(100):
        device.play("unplug")
        wait_until(lambda: not bus.sim.path.exists())
        with pytest.raises(SerialLineError):
            bus.read(SMALL)
        device.play("normal")
        wait_until(bus.sim.path.exists)
        assert bus.read(SMALL) == {"holding:7": 42}
    assert threading.active_count() == threads
    assert _open_fds() == fds


FUZZ = probe_driver(
    "modbus_fuzz",
    {
        "f.u16": (at(HOLDING, 0), 1),
        "f.s16": (at(HOLDING, 1, RegisterType.S16), 2),
        "f.u32": (at(HOLDING, 2, RegisterType.U32, WordOrder.LITTLE), 3),
    },
)
FUZZ_OIDS = {"holding:0", "holding:1", "holding:2"}


@dataclass(frozen=True)
class FuzzReply:
    data: bytes
    registers: tuple[int, ...] | None
    """The values a correct reader must take from `data`; None: no values at all."""


SHAPES = ("noise", "good", "good", "other_unit", "other_function", "other_count", "exception")


@st.composite
def fuzz_replies(draw: st.DrawFn) -> FuzzReply:
    """Noise, and frames right or wrong in each field, maybe corrupted, with noise around."""
    shape = draw(st.sampled_from(SHAPES))
    if shape == "noise":
        return FuzzReply(draw(st.binary(min_size=1, max_size=40)), None)
    unit = draw(st.sampled_from([0, 2, 17])) if shape == "other_unit" else 1
    function = draw(st.sampled_from([1, 4, 0x84])) if shape == "other_function" else 3
    count = draw(st.sampled_from([0, 1, 3, 5, 6])) if shape == "other_count" else 4
    words = draw(st.lists(st.integers(0, 0xFFFF), min_size=count, max_size=count))
    if shape == "exception":
        function, payload = 0x83, bytes([draw(st.integers(0, 255))])
    else:
        payload = bytes([2 * count]) + b"".join(w.to_bytes(2, "big") for w in words)
    body = bytes([unit, function]) + payload
    frame = bytearray(body + FramerRTU.compute_CRC(body).to_bytes(2, "big"))
    corrupt = draw(st.booleans())
    if corrupt:
        index = draw(st.integers(0, len(frame) - 1))
        frame[index] ^= draw(st.integers(1, 255))
    noise = st.binary(max_size=12)
    data = draw(noise) + bytes(frame) + draw(noise)
    return FuzzReply(data, tuple(words) if shape == "good" and not corrupt else None)


def _expected(words: tuple[int, ...]) -> dict[str, RawValue]:
    """What the probe's three metrics hold, computed independently of the transport."""
    signed = words[1] - 0x10000 if words[1] & 0x8000 else words[1]
    return {"holding:0": words[0], "holding:1": signed, "holding:2": words[3] << 16 | words[2]}


def test_random_replies_never_escape_as_errors_nor_land_in_the_wrong_metric(
    modbus_bus: BusFactory,
) -> None:
    bus = modbus_bus({})
    script: list[bytes] = [b""]
    bus.responder.answer = lambda heard: script[0]

    @settings(
        derandomize=True,
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(reply=fuzz_replies())
    def check(reply: FuzzReply) -> None:
        script[0] = reply.data
        try:
            objects = bus.read(FUZZ, timeout=0.2)
        except ModbusNoReply:
            assert reply.registers is None
            return
        assert set(objects) == FUZZ_OIDS
        if reply.registers is not None:
            assert objects == _expected(reply.registers)
        else:
            assert all(raw is None or isinstance(raw, Malformed) for raw in objects.values())

    check()
