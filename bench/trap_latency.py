"""Trap latency: a simulated device's send_trap to the receiver's on_trap callback, p50 / p99.

Serves simulated UPSes on 127.0.0.x (SNMP v2c, and v3 authPriv with SHA-256 /
AES-128), starts a TrapReceiver on 127.0.0.1 and sends N traps from each, one
at a time: every trap is delivered before the next leaves, so the figures are
latency, not throughput.  A trap's time runs from just before `send_trap` to
the moment its delivery leg reports it.  v2c informs are measured twice: to
the callback (which fires before the acknowledgement leaves) and to the
acknowledgement's arrival back at the simulator (`send_trap` returning).
The simulators run in the same process and event loop, so the figures
include their cost.

The C peer: net-snmp's `snmptrapd` (Debian's package `snmptrapd`), started
on a free port with its own config and `-f -Lo`, gets the same v2c traps from
the same simulator, one at a time; a trap counts as delivered when
snmptrapd's log line for it (`-F`, one line with the varbinds) is read from
its stdout by this process's event loop, so the row includes that pipe and
snmptrapd's own formatting and logging.  Without snmptrapd the row is left
out and the command to install it is printed.

Delivery legs.  Only "callback" exists today: the receiver's on_trap fires.
The MQTT leg (trap -> agent publishes the event -> broker -> a subscriber)
plugs in as another `Leg`: its `on_trap` hands the event to the agent's
publishing path, its subscriber resolves `expect(seq)` on arrival (each trap
carries its sequence number in the SEQ varbind); add it to `LEGS`.

    python bench/trap_latency.py [--traps 500] [--leg callback] [--no-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drivers import REGISTRY
from drivers.ups_rfc1628 import TRAP_ON_BATTERY
from fieldagent.config import (
    AuthProtocol,
    PrivProtocol,
    SnmpCredentials,
    SnmpVersion,
    TrapsSection,
    parse_device,
)
from fieldagent.localbroker import free_port
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.traps import TrapEvent, TrapReceiver

LISTEN = "127.0.0.1"
SEQ = "1.3.6.1.4.1.99999.1.1.0"
"""A private varbind carrying each trap's sequence number."""
MINUTES = "1.3.6.1.2.1.33.1.2.3.0"
WARM_UP = 5
"""Traps sent before measuring: v3 engine-id learning and first-use caches."""
V3 = SnmpCredentials(
    SnmpVersion.V3,
    user="bench",
    auth_protocol=AuthProtocol.SHA256,
    auth_key="authkey123",
    priv_protocol=PrivProtocol.AES128,
    priv_key="privkey123",
)


class Leg:
    """Where a trap counts as delivered.  This one: the receiver's on_trap callback."""

    name = "callback"

    def __init__(self) -> None:
        self._waiting: dict[int, asyncio.Future[float]] = {}

    def expect(self, seq: int) -> asyncio.Future[float]:
        """A future that gets the perf_counter() time at which trap `seq` arrives."""
        arrival: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = arrival
        return arrival

    def on_trap(self, event: TrapEvent) -> None:
        """Given to the TrapReceiver as its on_trap."""
        self.arrived(event.varbinds.get(SEQ))

    def arrived(self, seq: object) -> None:
        now = time.perf_counter()
        arrival = self._waiting.pop(seq, None) if isinstance(seq, int) else None
        if arrival is not None and not arrival.done():
            arrival.set_result(now)

    async def __aenter__(self) -> Leg:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


LEGS: dict[str, Callable[[], Leg]] = {"callback": Leg}


class SnmptrapdLeg(Leg):
    """Delivered when snmptrapd's log line for the trap is read from its stdout."""

    name = "snmptrapd log line"


SNMPTRAPD_SEQ = re.compile(rb"\.1\.3\.6\.1\.4\.1\.99999\.1\.1\.0 = INTEGER: (-?\d+)")
"""The SEQ varbind in snmptrapd's `%v` (numeric OIDs, `-On`)."""


async def measure_snmptrapd(sim: SnmpSimulator, count: int) -> list[Row]:
    """The same v2c traps, one at a time, to net-snmp's snmptrapd (the C peer)."""
    binary = shutil.which("snmptrapd") or shutil.which("snmptrapd", path="/usr/sbin")
    if binary is None:
        print(
            "snmptrapd row left out: no snmptrapd "
            "(`apt-get install --no-install-recommends snmptrapd`)"
        )
        return []
    port = free_port(LISTEN, udp=True)
    with tempfile.TemporaryDirectory(prefix="trapd-") as folder:
        conf = Path(folder) / "snmptrapd.conf"
        conf.write_text("authCommunity log public\n", encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(
            binary,
            *("-f", "-n", "-On", "-m", "", "-C", "-c", str(conf)),
            *("-Lo", "-F", "TRAP %v\n", f"udp:{LISTEN}:{port}"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(os.environ, SNMP_PERSISTENT_DIR=folder),
        )
        assert proc.stdout is not None
        stdout = proc.stdout
        leg = SnmptrapdLeg()
        ready = asyncio.get_running_loop().create_future()

        async def read() -> None:
            async for line in stdout:
                if b"NET-SNMP version" in line and not ready.done():
                    ready.set_result(None)
                found = SNMPTRAPD_SEQ.search(line) if line.startswith(b"TRAP ") else None
                if found:
                    leg.arrived(int(found.group(1)))

        reader = asyncio.create_task(read())
        try:
            await asyncio.wait_for(ready, 10)
            return await measure("v2c trap", sim, (LISTEN, port), leg, count, inform=False)
        finally:
            proc.terminate()
            await proc.wait()
            reader.cancel()


@dataclass(frozen=True)
class Row:
    label: str
    latencies_s: list[float]

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[q - 1] * 1000


async def measure(
    label: str, sim: SnmpSimulator, target: tuple[str, int], leg: Leg, count: int, inform: bool
) -> list[Row]:
    """`count` traps one at a time; a row to the leg (and one to the ack for informs)."""
    to_leg: list[float] = []
    to_ack: list[float] = []
    for seq in range(-WARM_UP, count):
        arrival = leg.expect(seq)
        start = time.perf_counter()
        await sim.send_trap(target, TRAP_ON_BATTERY, {MINUTES: 10, SEQ: seq}, inform=inform)
        acknowledged = time.perf_counter()
        delivered = await asyncio.wait_for(arrival, 5)
        if seq >= 0:
            to_leg.append(delivered - start)
            to_ack.append(acknowledged - start)
    rows = [Row(f"{label} -> {leg.name}", to_leg)]
    if inform:
        rows.append(Row(f"{label} -> acknowledged", to_ack))
    return rows


async def main(count: int, leg_name: str, peer: bool) -> None:
    senders = {
        "v2c trap": ("127.0.0.61", SnmpCredentials(), False),
        "v3 authPriv trap": ("127.0.0.62", V3, False),
        "v2c inform": ("127.0.0.63", SnmpCredentials(), True),
    }
    devices = [
        parse_device(
            {
                "id": f"ups{n}",
                "driver": "ups_rfc1628",
                "host": host,
                "snmp_version": str(creds.version),
                **(
                    {
                        "user": creds.user,
                        "auth_protocol": str(creds.auth_protocol),
                        "auth_key": creds.auth_key,
                        "priv_protocol": str(creds.priv_protocol),
                        "priv_key": creds.priv_key,
                    }
                    if creds.version is SnmpVersion.V3
                    else {"community": creds.community}
                ),
            }
        )
        for n, (host, creds, _) in enumerate(senders.values())
    ]
    settings = TrapsSection(enabled=True, listen=LISTEN, port=0, rate_limit=100_000)
    rows: list[Row] = []
    async with LEGS[leg_name]() as leg:
        receiver = TrapReceiver(settings, devices, REGISTRY, leg.on_trap, lambda s, f: None)
        await receiver.start()
        simulators = [
            SnmpSimulator(SimulatedDevice(REGISTRY["ups_rfc1628"]), host, 0, creds)
            for host, creds, _ in senders.values()
        ]
        try:
            for simulator in simulators:
                await simulator.start()
            target = (LISTEN, receiver.port)
            for simulator, (label, (_, _, inform)) in zip(simulators, senders.items(), strict=True):
                rows += await measure(label, simulator, target, leg, count, inform)
            if peer:
                rows += await measure_snmptrapd(simulators[0], count)
        finally:
            for simulator in simulators:
                simulator.stop()
            receiver.stop()
        counters = receiver.counters
    print(
        f"{count} traps per row, one at a time; receiver and simulators in one process "
        "(snmptrapd: its own process)"
    )
    print(f"{'path':<36} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for row in rows:
        print(
            f"{row.label:<36} {row.quantile(50):>8.2f} {row.quantile(99):>8.2f} "
            f"{max(row.latencies_s) * 1000:>8.2f}"
        )
    print(f"receiver counters: {counters.as_dict()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traps", type=int, default=500)
    parser.add_argument("--leg", choices=sorted(LEGS), default="callback")
    parser.add_argument("--no-peer", action="store_true", help="leave out snmptrapd")
    args = parser.parse_args()
    asyncio.run(main(args.traps, args.leg, not args.no_peer))
