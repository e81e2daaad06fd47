"""How long a silent SNMP device takes to give up on, against what the error promises.

A UDP socket on 127.0.0.2 receives and never answers.  For each timeout x tries,
one GET on a fresh client (its first request) and one on a client that has
already sent one, both with bare pysnmp `get_cmd` on a fresh engine (its 0.1 s
timer, its MIB compiler built in the first request) and with fieldagent's
SnmpClient.  Prints the time to the timeout error against timeout x tries, and
the CPU an idle client's timer costs (a request sent, then 5 s of waiting for
nothing).  The figures depend on the machine's load: quote them side by side.

    python bench/snmp_timeout.py [--timeouts 0.3 1.0] [--retries 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    get_cmd,
)

from fieldagent.config import SnmpCredentials
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget

Get = Callable[[], Awaitable[None]]
Close = Callable[[], None]
Path = Callable[[int, float, int], Awaitable[tuple[Get, Close]]]
"""Opens a client for (port, timeout, retries): its GET and its close."""

OID = "1.3.6.1.2.1.1.1.0"
IDLE_S = 5.0


async def bare(port: int, timeout: float, retries: int) -> tuple[Get, Close]:
    """One engine, as pysnmp makes it; each call is a GET that times out."""
    engine = SnmpEngine()

    async def get() -> None:
        target = await UdpTransportTarget.create(
            ("127.0.0.2", port), timeout=timeout, retries=retries
        )
        indication, *_ = await get_cmd(
            engine,
            CommunityData("public"),
            target,
            ContextData(),
            ObjectType(ObjectIdentity(OID)),
            lookupMib=False,
        )
        assert indication, "the silent socket answered"

    return get, engine.close_dispatcher


async def agent(port: int, timeout: float, retries: int) -> tuple[Get, Close]:
    """One fieldagent SnmpClient; each call is a GET that times out."""
    client = SnmpClient()
    target = SnmpTarget("127.0.0.2", port, SnmpCredentials(), timeout, retries)

    async def get() -> None:
        with contextlib.suppress(SnmpError):
            await client.get(target, [OID])

    return get, client.close


async def timed(call: Get) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def idle_cpu_ms_per_s(make: Path) -> float:
    """CPU of a client whose transport is open and nothing to do (its timer ticking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.2", 0))
        get, close = await make(silent.getsockname()[1], 0.05, 0)
        await get()
        cpu = time.process_time()
        await asyncio.sleep(IDLE_S)
        cpu = time.process_time() - cpu
        close()
        return cpu * 1000 / IDLE_S


async def main(timeouts: list[float], retries: int) -> None:
    paths: dict[str, Path] = {"bare pysnmp get_cmd": bare, "fieldagent SnmpClient": agent}
    print(f"silent device, {retries + 1} tries; seconds to the timeout error")
    print(f"{'path':<22} {'promised':>9} {'first':>7} {'second':>7}")
    for timeout in timeouts:
        promised = timeout * (retries + 1)
        for label, make in paths.items():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
                silent.bind(("127.0.0.2", 0))
                get, close = await make(silent.getsockname()[1], timeout, retries)
                first, second = await timed(get), await timed(get)
                close()
            print(f"{label:<22} {promised:>9.2f} {first:>7.2f} {second:>7.2f}")
    for label, make in paths.items():
        print(f"{label:<22} idle timer: {await idle_cpu_ms_per_s(make):.2f} ms CPU per s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeouts", type=float, nargs="+", default=[0.3, 1.0])
    parser.add_argument("--retries", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.timeouts, args.retries))
