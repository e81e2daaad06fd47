"""Poll cost of the agent's SNMP path, side by side with bare pysnmp, in one run.

Serves N simulated UPSes on 127.0.0.x, then polls every one of them R rounds
(all devices concurrently within a round) twice: with bare pysnmp `get_cmd`
(the floor: request, response, no decoding) and with fieldagent's Poller
(the same GET plus decoding, scaling, quirk fixup and PollResult).  Prints
polls/s, varbinds/s and CPU ms per 1,000 varbinds for both, and their ratio.
The simulators run in the same process, so absolute figures include their
cost; the ratio is the number to quote.

    python bench/poll_throughput.py [--devices 20] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    get_cmd,
)

from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent.config import SnmpDevice
from fieldagent.poller import Poller
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.transports.snmp import SnmpClient

OIDS = [metric.source_key for metric in UPS.metrics]


@dataclass(frozen=True)
class Row:
    label: str
    polls_s: float
    varbinds_s: float
    cpu_ms_per_1000_varbinds: float


async def measure(
    label: str, rounds: int, devices: int, poll_all: Callable[[], Awaitable[None]]
) -> Row:
    await poll_all()  # warm-up: engine discovery, caches
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        await poll_all()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    polls = rounds * devices
    varbinds = polls * len(OIDS)
    return Row(label, polls / wall, varbinds / wall, cpu * 1000 / (varbinds / 1000))


async def main(device_count: int, rounds: int) -> None:
    simulators = [
        SnmpSimulator(SimulatedDevice(UPS), f"127.0.0.{10 + i}", 0) for i in range(device_count)
    ]
    for simulator in simulators:
        await simulator.start()
    try:
        engine = SnmpEngine()
        targets = [
            await UdpTransportTarget.create((s.host, s.port), timeout=2, retries=0)
            for s in simulators
        ]

        async def bare() -> None:
            await asyncio.gather(
                *(
                    get_cmd(
                        engine,
                        CommunityData("public"),
                        target,
                        ContextData(),
                        *(ObjectType(ObjectIdentity(oid)) for oid in OIDS),
                        lookupMib=False,
                    )
                    for target in targets
                )
            )

        client = SnmpClient()
        poller = Poller(client)
        sections = [
            SnmpDevice(id=f"ups{i}", driver="ups_rfc1628", host=s.host, port=s.port)
            for i, s in enumerate(simulators)
        ]

        async def agent() -> None:
            results = await asyncio.gather(*(poller.poll(d, UPS) for d in sections))
            assert all(r.answered for r in results)

        rows = [
            await measure("bare pysnmp get_cmd", rounds, device_count, bare),
            await measure("fieldagent Poller", rounds, device_count, agent),
        ]
        client.close()
        engine.close_dispatcher()
    finally:
        for simulator in simulators:
            simulator.stop()
    print(f"{device_count} simulated UPSes x {rounds} rounds, {len(OIDS)} varbinds per poll")
    print(f"{'path':<22} {'polls/s':>9} {'varbinds/s':>11} {'CPU ms/1000 vb':>15}")
    for row in rows:
        print(
            f"{row.label:<22} {row.polls_s:>9.0f} {row.varbinds_s:>11.0f} "
            f"{row.cpu_ms_per_1000_varbinds:>15.1f}"
        )
    ratio = rows[1].cpu_ms_per_1000_varbinds / rows[0].cpu_ms_per_1000_varbinds
    print(f"CPU per varbind, fieldagent / bare pysnmp: {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.devices, args.rounds))
