"""Time per poll of a 10-register Modbus RTU read over a pty, next to its wire time at 9600 baud.

Serves one simulated slave with ten holding registers behind a pseudo-terminal
and polls it R times with the agent's Modbus transport (plan, pymodbus
framing, reply hunting, decode by the driver), one poll after another, with
no inter-request gap.  Prints the measured time per poll next to the time
the same bytes need on a real 9600 baud 8N1 line: request 8 bytes, response
5 + 2 x 10 bytes, 10 bits per byte, plus the two 3.5-character silences
that delimit RTU frames.

A pty has no baud rate: bytes cross it at once.  So the measured time is
the agent's own overhead plus the simulator's (both in this process), never
the line's; on a real line the wire time comes on top of the agent's share.

    python bench/modbus_poll.py [--polls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from fieldagent.config import ModbusDevice
from fieldagent.driver import AlarmClass, Driver, Maturity, Metric, Register, RegisterKind, SimModel
from fieldagent.model import utc_now
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.serial_sim import SerialBusSimulator
from fieldagent.transports import modbus
from fieldagent.transports.serialport import SerialLines, SerialSettings

REGISTERS = 10
BAUD = 9600
REQUEST_BYTES = 8
RESPONSE_BYTES = 5 + 2 * REGISTERS
SILENCE_CHARS = 3.5

DRIVER = Driver(
    name="bench_modbus",
    title="Ten holding registers",
    kind="bench",
    protocol="modbus",
    metrics=tuple(
        Metric(
            f"bench.r{i}",
            "",
            Register(RegisterKind.HOLDING, i),
            f"Register {i}",
            alarm_class=AlarmClass.OTHER,
        )
        for i in range(REGISTERS)
    ),
    simulator=SimModel(initial={f"bench.r{i}": 1000 + i for i in range(REGISTERS)}, scenarios={}),
    maturity=Maturity.MODEL,
)


def wire_time_s(settings: SerialSettings) -> float:
    """Request and response on the wire, with the RTU silence before each frame."""
    characters = REQUEST_BYTES + RESPONSE_BYTES + 2 * SILENCE_CHARS
    return characters * settings.byte_time()


async def measure(path: Path, polls: int) -> tuple[list[float], float]:
    """Seconds of each poll (read + decode), and the CPU seconds of them all."""
    section = ModbusDevice(
        id="bench", driver=DRIVER.name, serial_port=path, baud=BAUD, gap_ms=0, timeout=1.0
    )
    lines = SerialLines()
    line = lines.line_for(section)
    try:
        for _ in range(5):  # warm-up: open the port, start the line's worker
            await modbus.read(line, section, DRIVER)
        times = []
        cpu = time.process_time()
        for _ in range(polls):
            started = time.perf_counter()
            readings = DRIVER.decode(await modbus.read(line, section, DRIVER), utc_now())
            times.append(time.perf_counter() - started)
            assert len(readings) == REGISTERS and readings[0].value == 1000
        return times, time.process_time() - cpu
    finally:
        lines.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "modbus-bench"
        bus = SerialBusSimulator(path, "modbus", {1: SimulatedDevice(DRIVER)})
        asyncio.run(bus.start())
        try:
            times, cpu_s = asyncio.run(measure(path, args.polls))
        finally:
            bus.stop()
    wire = wire_time_s(SerialSettings(path, baud=BAUD))
    median = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"{args.polls} polls of {REGISTERS} holding registers (one request each), unit 1, pty")
    print(f"{'':34}{'ms per poll':>12}")
    print(f"{'measured over the pty (median)':34}{median * 1000:12.2f}")
    print(f"{'measured over the pty (p95)':34}{p95 * 1000:12.2f}")
    print(f"{'CPU, agent + simulator (mean)':34}{cpu_s / args.polls * 1000:12.2f}")
    print(f"{'wire time at 9600 baud 8N1':34}{wire * 1000:12.2f}")
    print(f"measured / wire time: {median / wire:.3f}")
    print(
        "note: a pty has no baud rate; the wire time is computed "
        f"({REQUEST_BYTES} + {RESPONSE_BYTES} bytes x 10 bits + 2 x 3.5 characters), "
        "the measured time is the agent's overhead plus the simulator's; "
        "on a real line the wire time comes on top of the agent's share."
    )


if __name__ == "__main__":
    main()
