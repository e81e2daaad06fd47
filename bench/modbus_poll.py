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

The C peer: `mbpoll` (libmodbus; Debian's package `mbpoll`) reads the same
ten registers of the same simulated slave over the same pty, after the
agent has closed it.  Two figures: a process per poll (`mbpoll -1`, as a
script would run it: wall time and CPU from wait4, process start included),
and R reads in one process (the slave's address given R times, `-a 1,1,...`),
whose time less one process's, per read, is libmodbus's own cost per poll.
Without mbpoll its rows are left out and the command to install it printed.

    python bench/modbus_poll.py [--polls 200] [--no-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
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


MBPOLL_VALUE = b"[0]: \t1000"
"""mbpoll's line for the first register of a good read."""
MBPOLL_MAX_READS = 100
"""Reads per mbpoll process in the amortised figure (one address-list argument)."""


def run_mbpoll(binary: str, path: Path, reads: int) -> tuple[float, float, int]:
    """One mbpoll process reading the ten registers `reads` times: (wall s, CPU s, good reads)."""
    argv = [binary, "-m", "rtu", "-a", ",".join(["1"] * reads), "-0", "-r", "0"]
    argv += [
        "-c",
        str(REGISTERS),
        "-t",
        "4",
        "-b",
        str(BAUD),
        "-P",
        "none",
        "-1",
        "-o",
        "1",
        str(path),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, out.count(MBPOLL_VALUE)


def measure_mbpoll(path: Path, polls: int) -> dict[str, float] | None:
    """mbpoll's figures over the same pty, ms per poll; None without mbpoll."""
    binary = shutil.which("mbpoll")
    if binary is None:
        print("mbpoll rows left out: no mbpoll (`apt-get install --no-install-recommends mbpoll`)")
        return None
    singles = [run_mbpoll(binary, path, 1) for _ in range(polls)]
    if any(good != 1 for _, _, good in singles):
        raise SystemExit(f"mbpoll could not read the simulated slave on {path}")
    reads = min(polls, MBPOLL_MAX_READS)
    batches = [run_mbpoll(binary, path, reads) for _ in range(5)]
    if any(good != reads for _, _, good in batches):
        raise SystemExit(f"mbpoll read fewer than {reads} answers in one process on {path}")
    single = statistics.median(wall for wall, _, _ in singles)
    batch = statistics.median(wall for wall, _, _ in batches)
    return {
        "process": single * 1000,
        "process_cpu": statistics.mean(cpu for _, cpu, _ in singles) * 1000,
        "read": (batch - single) / (reads - 1) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--no-peer", action="store_true", help="leave out mbpoll")
    args = parser.parse_args()
    peer: dict[str, float] | None = None
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "modbus-bench"
        bus = SerialBusSimulator(path, "modbus", {1: SimulatedDevice(DRIVER)})
        asyncio.run(bus.start())
        try:
            times, cpu_s = asyncio.run(measure(path, args.polls))
            if not args.no_peer:
                peer = measure_mbpoll(path, args.polls)
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
    if peer is not None:
        print(f"{'mbpoll, a process per poll':34}{peer['process']:12.2f}")
        print(f"{'mbpoll, CPU of that process':34}{peer['process_cpu']:12.2f}")
        print(f"{'mbpoll, per read in one process':34}{peer['read']:12.2f}")
    print(f"measured / wire time: {median / wire:.3f}")
    print(
        "note: a pty has no baud rate; the wire time is computed "
        f"({REQUEST_BYTES} + {RESPONSE_BYTES} bytes x 10 bits + 2 x 3.5 characters), "
        "the measured time is the agent's overhead plus the simulator's; "
        "on a real line the wire time comes on top of the agent's share."
    )


if __name__ == "__main__":
    main()
