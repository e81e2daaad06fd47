"""The ASCII dialect: the reply parser, resynchronisation after bad replies, the
simulator's side, and the exclusive use of a port, over real pseudo-terminals.

Scripted devices here answer each request exactly as a test says (late, cut
short, for another command, wrapped in noise), so every way a serial line goes
wrong is played deterministically; a hypothesis fuzz test then throws random
garbled replies at the reader and checks that none is ever read as another
metric's value.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import REGISTRY
from fieldagent.config import DeviceSection, parse_device
from fieldagent.driver import AlarmClass, Driver, Malformed, Maturity, Metric, RawValue, SimModel
from fieldagent.model import PollResult, Quality
from fieldagent.poller import Poller
from fieldagent.sim import ascii_sim
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.pty import PtyPort, Reply
from fieldagent.sim.serial_sim import SerialBusSimulator
from fieldagent.transports import ascii
from fieldagent.transports.serialport import SerialLineError, SerialLines
from fieldagent.transports.snmp import SnmpClient

TIMEOUT_S = 0.3
COMMANDS = ("P.ONE", "P.TWO", "P.THREE")
TRUE = {"P.ONE": 101, "P.TWO": 202, "P.THREE": 303}
"""What a clean probe device answers: a distinct value per command."""

PROBE = Driver(
    name="ascii_probe",
    title="Three numbers over ASCII (test device)",
    kind="test",
    protocol="ascii",
    metrics=tuple(
        Metric(f"probe.{c[2:].lower()}", "", c, c, valid=(0, 1e9), alarm_class=AlarmClass.OTHER)
        for c in COMMANDS
    ),
    simulator=SimModel(initial={}, scenarios={}),
    maturity=Maturity.MODEL,
)


def clean(command: str) -> bytes:
    return f"{command}={TRUE[command]}\r\n".encode()


Answer = Callable[[str, int], list[Reply]]
"""(command, how many times it was asked before) -> timed replies."""


@dataclass
class Script:
    """A device that answers each request as the test says; it records what it was sent."""

    answer: Answer = lambda command, nth: [(0.0, clean(command))]
    requests: list[str] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Reply]:
        self.received += data
        replies: list[Reply] = []
        while b"\r" in self.received:
            request, _, rest = bytes(self.received).partition(b"\r")
            self.received = bytearray(rest)
            command = request.decode("ascii", errors="replace").removesuffix("?")
            replies.extend(self.answer(command, self.requests.count(command)))
            self.requests.append(command)
        return replies


@dataclass
class Wire:
    """The agent's side of a scripted pty: read the probe device with the real reader."""

    script: Script
    section: DeviceSection
    lines: SerialLines

    def read(self, driver: Driver = PROBE) -> tuple[dict[str, RawValue], float]:
        started = time.monotonic()
        line = self.lines.line_for(self.section)
        values = asyncio.run(ascii.read(line, self.section, driver))
        return values, time.monotonic() - started


def section_for(link: Path, driver: Driver = PROBE, **extra: object) -> DeviceSection:
    fields = {"id": "dut", "driver": driver.name, "serial_port": str(link), "timeout": TIMEOUT_S}
    return parse_device({**fields, "gap_ms": 0, **extra})


@contextmanager
def scripted(link: Path, **extra: object) -> Iterator[Wire]:
    script = Script()
    port = PtyPort(link, script)
    port.start()
    lines = SerialLines()
    try:
        yield Wire(script, section_for(link, **extra), lines)
    finally:
        lines.close()
        port.stop()


@pytest.fixture
def wire(tmp_path: Path) -> Iterator[Wire]:
    with scripted(tmp_path / "ttyProbe") as scripted_wire:
        yield scripted_wire


@contextmanager
def served_over_pty(driver: Driver, link: Path, **extra: object) -> Iterator[ServedDevice]:
    """A driver's simulated device on a pty, and a poll through the real agent path."""
    device = SimulatedDevice(driver)
    bus = SerialBusSimulator(link, "ascii", {1: device})
    asyncio.run(bus.start())
    lines, client = SerialLines(), SnmpClient()
    try:
        section = section_for(link, driver, **extra)
        yield ServedDevice(device, driver, section, lines, Poller(client, None, lines))
    finally:
        lines.close()
        bus.stop()
        client.close()


@dataclass
class ServedDevice:
    device: SimulatedDevice
    driver: Driver
    section: DeviceSection
    lines: SerialLines
    poller: Poller

    def poll(self) -> PollResult:
        return asyncio.run(self.poller.poll(self.section, self.driver))


# --- the parser, on byte strings --------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "line", "expected"),
    [
        ("TX.PFWD", b"TX.PFWD=2000", 2000),
        ("TX.PFWD", b"TX.PFWD=2000\r", 2000),
        ("TX.VSWR.MAX", b"TX.VSWR.MAX=020", 20),
        ("TX.PFWD", b"TX.PFWD=-5", -5),
        ("TX.PFWD", b"TX.PFWD= 2000 ", 2000),
        ("TX.VSWR", b"TX.VSWR=1.12", 1.12),
        ("TX.VSWR", b"TX.VSWR=.5", 0.5),
        ("TX.MODE", b"TX.MODE=REMOTE", "REMOTE"),
        ("ACU.SWLAST", b"ACU.SWLAST=TX A FAULT", "TX A FAULT"),
        ("TX.PFWD", b"tx.pfwd=7", 7),
        ("TX.PFWD", b"TX.PFWD=12abc", "12abc"),
        ("TX.PFWD", b"TX.PFWD=1e5", "1e5"),
        ("TX.PFWD", b"TX.PFWD=A=B", "A=B"),
        ("TX.PFWD", b"ERR 02 UNKNOWN COMMAND", None),
        ("TX.PFWD", b"ERR 03 NOT AVAILABLE", None),
    ],
)
def test_a_reply_line_gives_its_value_typed(command: str, line: bytes, expected: RawValue) -> None:
    raw = ascii.parse_reply(command, line)
    assert raw == expected
    assert type(raw) is type(expected)


def test_free_text_is_kept_as_sent() -> None:
    assert ascii.parse_reply("X.SERIAL", b"X.SERIAL=007", text=True) == "007"
    assert ascii.parse_reply("X.SERIAL", b"X.SERIAL=007") == 7
    assert isinstance(ascii.parse_reply("X.SERIAL", b"X.SERIAL= ", text=True), Malformed)


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (b"", "empty reply"),
        (b"\r", "empty reply"),
        (b"TX.PFWD=", "empty value"),
        (b"TX.PREF=20", "reply for TX.PREF, not TX.PFWD"),
        (b"TX.PFWD2000", "not a reply to TX.PFWD?"),
        (b"\x93\xfeTX.PFWD=2000", "garbage bytes in reply"),
        (b"TX.PFWD=20\x0000", "garbage bytes in reply"),
        (b"TX.PFWD=2000\r\r", "garbage bytes in reply"),
        (b"ERR 01 SYNTAX ERROR", "device error: ERR 01 SYNTAX ERROR"),
        (b"ERR 7", "not a reply"),
    ],
)
def test_a_bad_reply_line_is_malformed_and_says_why(line: bytes, detail: str) -> None:
    raw = ascii.parse_reply("TX.PFWD", line)
    assert isinstance(raw, Malformed)
    assert detail in raw.detail


@settings(max_examples=500, derandomize=True)
@given(st.binary(max_size=ascii.MAX_REPLY))
def test_the_parser_never_raises_and_only_accepts_its_own_command(line: bytes) -> None:
    raw = ascii.parse_reply("TX.PFWD", line)
    if raw is not None and not isinstance(raw, Malformed):
        assert line.upper().startswith(b"TX.PFWD=")


# --- the reader, over a pty, against scripted devices ---------------------------------


def test_each_metric_is_one_request_and_clean_replies_read_as_values(wire: Wire) -> None:
    values, _ = wire.read()
    assert values == TRUE
    assert wire.script.requests == list(COMMANDS)


def test_a_reply_for_another_command_is_malformed_for_that_metric_only(wire: Wire) -> None:
    wire.script.answer = lambda command, nth: [
        (0.0, clean("P.TWO") if command == "P.ONE" else clean(command))
    ]
    values, _ = wire.read()
    assert isinstance(values["P.ONE"], Malformed)
    assert "reply for P.TWO, not P.ONE" in values["P.ONE"].detail
    assert values["P.TWO"] == TRUE["P.TWO"] and values["P.THREE"] == TRUE["P.THREE"]


def test_a_late_reply_is_never_read_as_a_later_metric(tmp_path: Path) -> None:
    """P.ONE answers after the timeout in one poll; its reply lands in the next poll,
    while P.TWO waits for its own answer: P.TWO reads malformed, never P.ONE's value."""

    def answer(command: str, nth: int) -> list[Reply]:
        if command == "P.ONE" and nth == 0:
            return [(TIMEOUT_S + 0.1, clean(command))]
        if command == "P.TWO" and nth == 0:
            return [(0.25, clean(command))]
        return [(0.0, clean(command))]

    with scripted(tmp_path / "ttyLate") as wire:
        wire.script.answer = answer
        with pytest.raises(ascii.AsciiNoReply):
            wire.read()
        # The poll raised at once: P.ONE's answer is still on its way.
        assert wire.script.requests == ["P.ONE"]
        values, _ = wire.read()
        assert values["P.ONE"] == TRUE["P.ONE"]
        assert isinstance(values["P.TWO"], Malformed)
        assert "reply for P.ONE, not P.TWO" in values["P.TWO"].detail
        assert values["P.THREE"] == TRUE["P.THREE"]
        time.sleep(0.3)  # P.TWO's own answer, late too, lands between polls: flushed
        values, _ = wire.read()
        assert values == TRUE


def test_the_rest_of_a_truncated_reply_never_becomes_a_value(wire: Wire) -> None:
    """P.ONE's reply stops mid-line; its rest arrives while P.TWO waits for its answer."""
    rest_after_s = ascii.MIN_INTER_BYTE_S + 0.08

    def answer(command: str, nth: int) -> list[Reply]:
        if nth:
            return [(0.0, clean(command))]
        if command == "P.ONE":
            return [(0.0, b"P.ONE=1"), (rest_after_s, b"01\r\n")]
        if command == "P.TWO":
            return [(0.2, clean(command))]
        return [(0.0, clean(command))]

    wire.script.answer = answer
    values, _ = wire.read()
    assert isinstance(values["P.ONE"], Malformed)
    assert "truncated reply" in values["P.ONE"].detail
    assert isinstance(values["P.TWO"], Malformed)
    assert "not a reply to P.TWO?: b'01'" in values["P.TWO"].detail
    assert values["P.THREE"] == TRUE["P.THREE"]
    time.sleep(0.3)
    assert wire.read()[0] == TRUE


@pytest.mark.parametrize(
    ("reply", "p_one"),
    [
        (b"\x93\xfe" + clean("P.ONE"), "garbage bytes"),
        (b"P.ONE=1\xd701\r\n", "garbage bytes"),
        (b"P.O\nNE=101\r\n", "not a reply to P.ONE?"),
        (clean("P.ONE") + b"\xff\x00P.TWO=999\r\n", TRUE["P.ONE"]),
        (b"X" * 5000, "longer than 128 bytes"),
        (b"ERR 01 SYNTAX ERROR\r\n", "device error"),
        (b"ERR 02 UNKNOWN COMMAND\r\n", None),
    ],
    ids=["noise-before", "noise-inside", "split", "trailer", "too-long", "error", "unknown"],
)
def test_after_a_bad_reply_the_line_is_resynchronised(
    wire: Wire, reply: bytes, p_one: str | int | None
) -> None:
    wire.script.answer = lambda command, nth: [
        (0.0, reply if command == "P.ONE" else clean(command))
    ]
    values, _ = wire.read()
    if isinstance(p_one, str):
        assert isinstance(values["P.ONE"], Malformed)
        assert p_one in values["P.ONE"].detail
    else:
        assert values["P.ONE"] == p_one
    assert values["P.TWO"] == TRUE["P.TWO"] and values["P.THREE"] == TRUE["P.THREE"]


def test_a_reply_in_several_pieces_is_put_together(wire: Wire) -> None:
    wire.script.answer = lambda command, nth: [
        (0.0, clean(command)[:3]),
        (0.02, clean(command)[3:6]),
        (0.04, clean(command)[6:]),
    ]
    assert wire.read()[0] == TRUE


def test_a_silent_device_costs_one_timeout_not_one_per_metric(wire: Wire) -> None:
    wire.script.answer = lambda command, nth: []
    started = time.monotonic()
    with pytest.raises(ascii.AsciiNoReply, match=r"no reply to P\.ONE\? within 0\.3 s"):
        wire.read()
    assert time.monotonic() - started >= TIMEOUT_S  # an upper bound would measure the load
    assert wire.script.requests == ["P.ONE"]  # one command waited for: one timeout


def test_a_device_streaming_garbage_costs_bounded_time_and_memory(wire: Wire) -> None:
    """Endless noise: every metric is malformed, each within one timeout plus one drain."""
    burst = bytes(range(0x80, 0x100)) * 4
    wire.script.answer = lambda command, nth: [(i * 0.005, burst) for i in range(200)]
    values, took = wire.read()
    assert all(isinstance(values[c], Malformed) for c in COMMANDS), values
    timing = ascii.Timing.for_device(wire.lines.line_for(wire.section).settings, wire.section)
    assert took < len(COMMANDS) * (timing.reply_s + timing.drain_s) + 0.5
    assert all(len(v.detail) < 200 for v in values.values() if isinstance(v, Malformed))


# --- fuzz: random garbled replies through a real pty ----------------------------------

NOISE = st.binary(max_size=6).map(lambda b: bytes(x | 0x80 if 0x20 <= x < 0x7F else x for x in b))
"""Line noise: bytes that are never printable (printable ones are mapped to high-bit bytes)."""


@st.composite
def garbled(draw: st.DrawFn, command: str) -> tuple[str, bytes]:
    """A reply to `command`: its own, another command's, an error, or nothing, in noise."""
    body = draw(st.sampled_from(("own", "other", "error", "none")))
    text = {
        "own": clean(command).rstrip(b"\r\n"),
        "other": clean(draw(st.sampled_from([c for c in COMMANDS if c != command]))).rstrip(
            b"\r\n"
        ),
        "error": b"ERR 02 UNKNOWN COMMAND",
        "none": b"",
    }[body]
    cut = draw(st.integers(0, len(text)))
    text = text[:cut] + draw(NOISE) + text[cut:]
    prefix = draw(st.binary(max_size=12))
    terminator = draw(st.sampled_from((b"\r\n", b"\n", b"\r\n", b"")))
    trailer = draw(st.binary(max_size=12))
    reply = prefix + text + terminator + trailer
    return body, reply or b"\x00"


PLANS = st.tuples(*(garbled(c) for c in COMMANDS))


def test_fuzz_no_garbled_reply_escapes_or_lands_on_another_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pty has no USB adapter batching bytes: shorter silences (and a fast line, whose
    # character times set the rest) keep 200 examples quick.
    monkeypatch.setattr(ascii, "MIN_QUIET_S", 0.01)
    monkeypatch.setattr(ascii, "MIN_INTER_BYTE_S", 0.03)
    with scripted(tmp_path / "ttyFuzz", timeout=0.15, baud=115200) as wire:

        @settings(
            max_examples=200,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(PLANS)
        def check(plans: tuple[tuple[str, bytes], ...]) -> None:
            replies = dict(zip(COMMANDS, plans, strict=True))
            wire.script.answer = lambda command, nth: [(0.0, replies[command][1])]
            values, _ = wire.read()
            for command, (body, reply) in replies.items():
                raw = values[command]
                if reply == clean(command):
                    assert raw == TRUE[command], (command, reply, raw)
                elif body == "own":
                    assert raw == TRUE[command] or isinstance(raw, Malformed), (command, raw)
                elif body == "error":
                    assert raw is None or isinstance(raw, Malformed), (command, raw)
                else:
                    assert isinstance(raw, Malformed), (command, reply, raw)

        check()


# --- the simulator's side ----------------------------------------------------------------

FM = REGISTRY["fm_transmitter_ascii"]


def test_an_ascii_port_serves_exactly_one_device() -> None:
    device = SimulatedDevice(FM)
    with pytest.raises(ValueError, match=r"point-to-point.*got 2 \(units: 1, 2\)"):
        ascii_sim.make_responder({1: device, 2: SimulatedDevice(FM)})
    with pytest.raises(ValueError, match="got 0"):
        ascii_sim.make_responder({})


def test_the_simulator_answers_in_the_dialect() -> None:
    responder = ascii_sim.AsciiResponder(SimulatedDevice(FM))
    assert responder.feed(b"TX.PFWD?\r") == [(0.0, b"TX.PFWD=1000\r\n")]
    assert responder.feed(b"TX.PR") == []  # a request is answered once it is complete
    assert responder.feed(b"EF?\r\n") == [(0.0, b"TX.PREF=32\r\n")]
    assert responder.feed(b"tx.mode?\r") == [(0.0, b"TX.MODE=REMOTE\r\n")]
    assert responder.feed(b"TX.RFPRESENT?\rTX.SBY?\r") == [
        (0.0, b"TX.RFPRESENT=1\r\n"),
        (0.0, b"TX.SBY=0\r\n"),
    ]
    assert responder.feed(b"TX.NOPE?\r") == [(0.0, ascii_sim.UNKNOWN_COMMAND)]
    assert responder.feed(b"TX.PFWD\r") == [(0.0, ascii_sim.SYNTAX_ERROR)]
    assert responder.feed(b"\xff" * (ascii_sim.MAX_REQUEST + 1)) == []  # dropped, not kept
    assert responder.feed(b"TX.PFWD?\r") == [(0.0, b"TX.PFWD=1000\r\n")]


def test_a_value_the_device_lacks_is_not_available() -> None:
    device = SimulatedDevice(FM)
    device.set("rf.vswr_limit", None)
    responder = ascii_sim.AsciiResponder(device)
    assert responder.feed(b"TX.VSWR.MAX?\r") == [(0.0, ascii_sim.NOT_AVAILABLE)]
    assert ascii.parse_reply("TX.VSWR.MAX", ascii_sim.NOT_AVAILABLE.rstrip(b"\r\n")) is None


def test_line_faults_silent_slow_and_seeded_garbage() -> None:
    device = SimulatedDevice(FM)
    responder = ascii_sim.AsciiResponder(device)
    device.play("no_reply")
    assert responder.feed(b"TX.PFWD?\r") == []
    device.play("slow_reply")
    assert responder.feed(b"TX.PFWD?\r") == [(ascii_sim.SLOW_REPLY_S, b"TX.PFWD=1000\r\n")]
    device.play("garbage")
    again = ascii_sim.AsciiResponder(device)
    first = [responder.feed(b"TX.PFWD?\r")[0][1] for _ in range(40)]
    # A fresh responder plays the same noise: seeded, repeatable.
    assert [again.feed(b"TX.PFWD?\r")[0][1] for _ in range(40)] == first
    clean_reply = b"TX.PFWD=1000\r\n"
    garbled_replies = [r for r in first if r != clean_reply]
    assert 0 < len(garbled_replies) < len(first)
    for reply in garbled_replies:
        # The noise adds no printable byte, so the reader can always tell it from a value.
        assert printable(reply) == printable(clean_reply)
        raw = ascii.parse_reply("TX.PFWD", reply.split(b"\n")[0])
        assert isinstance(raw, Malformed) or raw == 1000


def printable(data: bytes) -> bytes:
    return bytes(b for b in data if 0x20 <= b < 0x7F)


# --- the port is the agent's alone --------------------------------------------------------

HOLDERS = {
    "plain open, like minicom": "f = open(sys.argv[1], 'rb')",
    "an exclusive serial open": "import serial; f = serial.Serial(sys.argv[1], exclusive=True)",
}


@pytest.mark.parametrize("holder", sorted(HOLDERS))
def test_a_port_held_by_another_program_names_the_holder(tmp_path: Path, holder: str) -> None:
    link = tmp_path / "ttyHeld"
    code = f"import sys, time\n{HOLDERS[holder]}\nprint('ready', flush=True)\ntime.sleep(60)"
    with served_over_pty(FM, link) as served:
        other = subprocess.Popen(
            [sys.executable, "-c", code, str(link)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert other.stdout is not None and other.stdout.readline() == "ready\n"
            result = served.poll()
            assert result.error is not None
            assert str(link) in result.error and f"pid {other.pid} (" in result.error
            assert "close it first" in result.error
            assert all(r.quality is Quality.BAD for r in result.readings)
            line = served.lines.line_for(served.section)  # the line the poller uses
            with pytest.raises(SerialLineError, match=f"pid {other.pid}"):
                asyncio.run(line.run(lambda port: port))
        finally:
            other.kill()
            other.wait()
        assert served.poll().error is None  # once it is gone the agent gets the port
