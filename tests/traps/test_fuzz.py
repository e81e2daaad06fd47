"""Fuzzing the trap port: random bytes, truncated and garbled real traps.

The receiver runs in a background event loop; hypothesis sends each example
from a configured device's address (so screening does not stop it at the
door) over real UDP, and waits until the receiver has counted it.  Real traps
are captured from the simulators and from net-snmp (v1, v2c, inform, v3
authPriv) before the run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import REGISTRY
from drivers import ups_rfc1628 as ups
from fieldagent.config import SnmpCredentials, SnmpVersion
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.traps import TrapEvent, TrapReceiver, TrapsSection, read_header
from tests.traps import LISTEN, V3, V3_SNMPTRAP_ARGS, WAIT_S, device

T = TypeVar("T")
V2_HOST, V3_HOST = "127.0.0.40", "127.0.0.41"
COMMUNITY = "fuzz"
MINUTES = "1.3.6.1.2.1.33.1.2.3.0"
OUTCOMES = ("received", "unknown_sender", "auth_failed", "malformed", "rate_limited", "discovery")
FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class LoopThread:
    """An event loop in a thread: the receiver keeps running between examples."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class Errors(logging.Handler):
    """Collects ERROR records of the receiver: a bug caught by its last-resort handler."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Fuzz:
    receiver: TrapReceiver
    thread: LoopThread
    senders: dict[str, socket.socket]
    real: list[tuple[str, bytes]]
    """(source host, datagram) of real traps."""
    events: list[TrapEvent] = field(default_factory=list)
    errors: Errors = field(default_factory=Errors)

    def counters(self) -> dict[str, int]:
        return self.receiver.counters.as_dict()

    def send(self, host: str, datagram: bytes) -> dict[str, int]:
        """Send one datagram from host; the counters that moved once it is counted."""
        before = self.counters()
        self.senders[host].sendto(datagram, (LISTEN, self.receiver.port))
        deadline = time.monotonic() + WAIT_S
        while self.receiver.counters.datagrams == before["datagrams"]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver did not count a datagram: {datagram!r:.80}")
            time.sleep(0.0005)
        now = self.counters()
        return {key: now[key] - before[key] for key in now if now[key] != before[key]}

    def still_receives(self) -> None:
        """A valid trap (a real v2c one, then a real v3 one) is still received and mapped."""
        v2c = next(d for h, d in self.real if h == V2_HOST and read_header(d).version == 1)
        v3 = next(d for h, d in self.real if h == V3_HOST)
        for host, datagram in ((V2_HOST, v2c), (V3_HOST, v3)):
            count = len(self.events)
            assert self.send(host, datagram) == {"datagrams": 1, "received": 1}
            assert self.events[count].rule is not None
        assert self.errors.records == []


def _netsnmp(*args: str) -> None:
    with tempfile.TemporaryDirectory(prefix="netsnmp-") as state:
        env = {**os.environ, "SNMP_PERSISTENT_DIR": state, "SNMPCONFPATH": state, "MIBS": ""}
        subprocess.run(args, env=env, capture_output=True, timeout=10, check=False)


def _capture(thread: LoopThread) -> list[tuple[str, bytes]]:
    """Real traps as their senders encode them, sent to a socket that only records."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as capture:
        capture.bind((LISTEN, 0))
        capture.settimeout(WAIT_S)
        target = (LISTEN, capture.getsockname()[1])
        where = f"{LISTEN}:{target[1]}"
        real: list[tuple[str, bytes]] = []

        async def from_simulator(host: str, creds: SnmpCredentials) -> None:
            sim = SnmpSimulator(SimulatedDevice(REGISTRY["ups_rfc1628"]), host, 0, creds)
            await sim.start()
            try:
                await sim.send_trap(target, ups.TRAP_ON_BATTERY, {MINUTES: 12, "1.3.6.1.9.9": "x"})
            finally:
                sim.stop()

        def simulated(host: str, creds: SnmpCredentials) -> Callable[[], None]:
            return lambda: thread.call(from_simulator(host, creds))

        def netsnmp(*args: str) -> Callable[[], None]:
            return lambda: _netsnmp(*args)

        v2c, v1 = SnmpCredentials(community=COMMUNITY), SnmpCredentials(SnmpVersion.V1, COMMUNITY)
        on_battery = (ups.TRAP_ON_BATTERY, MINUTES, "i", "4", "1.3.6.1.9.9.1", "s", "garble me")
        v3 = (*V3_SNMPTRAP_ARGS, "-e", "0x8000000001020304")
        plays = [
            (V2_HOST, simulated(V2_HOST, v2c)),
            (V2_HOST, simulated(V2_HOST, v1)),
            (V3_HOST, simulated(V3_HOST, V3)),
            (V2_HOST, netsnmp("snmptrap", "-v2c", "-c", COMMUNITY, where, "", *on_battery)),
            (V2_HOST, netsnmp("snmpinform", "-v2c", "-c", COMMUNITY, "-t", "0.2", "-r", "0",
                              where, "", *on_battery)),
            (V2_HOST, netsnmp("snmptrap", "-v1", "-c", COMMUNITY, where, "1.3.6.1.2.1.33.2",
                              V2_HOST, "6", "1", "", MINUTES, "i", "3")),
            (V3_HOST, netsnmp("snmptrap", *v3, where, "", *on_battery)),
        ]  # fmt: skip
        for host, play in plays:
            play()
            real.append((host, capture.recv(65535)))
        return real


@pytest.fixture(scope="module")
def fuzz() -> Iterator[Fuzz]:
    thread = LoopThread()
    devices = [
        device("fz2", V2_HOST, SnmpCredentials(community=COMMUNITY)),
        device("fz3", V3_HOST, V3),
    ]
    settings = TrapsSection(enabled=True, listen=LISTEN, port=0, rate_limit=100_000)
    events: list[TrapEvent] = []
    receiver = TrapReceiver(settings, devices, REGISTRY, events.append, lambda s, f: None)
    senders = {}
    for host in (V2_HOST, V3_HOST):
        senders[host] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        senders[host].bind((host, 0))
    errors = Errors()
    logging.getLogger("fieldagent.traps").addHandler(errors)
    try:
        real = _capture(thread)
        thread.call(receiver.start())
        yield Fuzz(receiver, thread, senders, real, events, errors)
    finally:
        logging.getLogger("fieldagent.traps").removeHandler(errors)
        thread.loop.call_soon_threadsafe(receiver.stop)
        for sock in senders.values():
            sock.close()
        time.sleep(0.05)
        thread.close()


def test_the_real_traps_are_received(fuzz: Fuzz) -> None:
    for host, datagram in fuzz.real:
        count = len(fuzz.events)
        assert fuzz.send(host, datagram) == {"datagrams": 1, "received": 1}
        event = fuzz.events[count]
        assert event.device_id == ("fz3" if host == V3_HOST else "fz2")
        assert event.trap_oid == ups.TRAP_ON_BATTERY


def test_random_bytes_are_malformed(fuzz: Fuzz) -> None:
    before = fuzz.counters()
    sent = 0

    @FUZZ
    @given(st.binary(max_size=1500), st.sampled_from([V2_HOST, V3_HOST]))
    def one(datagram: bytes, host: str) -> None:
        nonlocal sent
        sent += 1
        assert fuzz.send(host, datagram) == {"datagrams": 1, "malformed": 1}

    one()
    moved = {k: v - before[k] for k, v in fuzz.counters().items() if v != before[k]}
    assert moved == {"datagrams": sent, "malformed": sent}
    fuzz.still_receives()


def test_truncated_real_traps_are_malformed(fuzz: Fuzz) -> None:
    before = fuzz.counters()
    sent = 0

    @FUZZ
    @given(st.data())
    def one(data: st.DataObject) -> None:
        nonlocal sent
        host, datagram = data.draw(st.sampled_from(fuzz.real))
        cut = data.draw(st.integers(0, len(datagram) - 1))
        sent += 1
        assert fuzz.send(host, datagram[:cut]) == {"datagrams": 1, "malformed": 1}

    one()
    moved = {k: v - before[k] for k, v in fuzz.counters().items() if v != before[k]}
    assert moved == {"datagrams": sent, "malformed": sent}
    fuzz.still_receives()


@st.composite
def garbled(draw: st.DrawFn, datagram: bytes) -> bytes:
    """A real trap with 1-4 random edits: a byte changed, bytes cut out, inserted or repeated."""
    data = bytearray(datagram)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        # in-place edits keep the outer lengths: those reach pysnmp's decoder
        edit = draw(st.sampled_from(["set", "set", "flip", "flip", "cut", "insert", "repeat"]))
        if edit == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif edit == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "cut":
            del data[at : at + draw(st.integers(1, 8))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def test_garbled_real_traps_are_each_counted_once(fuzz: Fuzz) -> None:
    """A garbled trap can still be a valid one (a changed value) or fail its checks (a
    changed community or digest): whatever it is, it lands in exactly one counter, and
    whatever is received is attributed to the device at its address."""

    @FUZZ
    @given(st.data())
    def one(data: st.DataObject) -> None:
        host, datagram = data.draw(st.sampled_from(fuzz.real))
        mangled = data.draw(garbled(datagram))
        count = len(fuzz.events)
        moved = fuzz.send(host, mangled)
        outcomes = {key: moved[key] for key in OUTCOMES if key in moved}
        assert list(outcomes.values()) == [1], moved
        assert not {"unknown_sender", "rate_limited"} & set(outcomes)
        if "received" in outcomes:
            assert [e.device_id for e in fuzz.events[count:]] == [
                "fz3" if host == V3_HOST else "fz2"
            ]
        assert fuzz.errors.records == []

    one()
    fuzz.still_receives()
