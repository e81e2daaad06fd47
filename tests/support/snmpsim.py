"""snmpsim's command responder, started on a free port to replay .snmprec recordings.

One `serving` context runs one `snmpsim-command-responder` process for a data
folder: every recording in it is answered under its own community, the file's
name without `.snmprec`.  The `replay` fixture (tests/drivers/conftest.py)
starts one per test; a module that polls many recordings starts one for all.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from fieldagent.config import DeviceSection, SnmpCredentials, parse_device
from fieldagent.driver import Driver
from fieldagent.localbroker import free_port
from fieldagent.model import PollResult
from fieldagent.poller import Poller
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget

DATA = Path(__file__).resolve().parent.parent / "data"
"""The recordings kept with the tests (tests/data/README.md lists them)."""

START_TIMEOUT_S = 30.0
"""How long snmpsim may take to answer its first request (it indexes the files first)."""

STOP_TIMEOUT_S = 5.0

needs_snmpsim = pytest.mark.skipif(
    importlib.util.find_spec("snmpsim") is None or importlib.util.find_spec("pysmi") is None,
    reason="snmpsim and pysmi are not installed (the `test` extras install them:"
    " scripts/setup.sh, or pip install -e '.[test]')",
)


@dataclass(frozen=True)
class Replay:
    """A running snmpsim responder."""

    host: str
    port: int
    log: Path

    def device(self, community: str, driver: str, **extra: object) -> DeviceSection:
        """A [[device]] of `driver` that reads the recording called `community`."""
        fields: dict[str, object] = {
            "id": community.replace("_", "-"),
            "driver": driver,
            "host": self.host,
            "port": self.port,
            "community": community,
            "timeout": 1.0,
            "request_retries": 1,
        }
        return parse_device({**fields, **extra})


ReplayFn = Callable[[Path, str], Replay]
"""Starts snmpsim for a data folder on a loopback address (the `replay` fixture)."""


@contextmanager
def serving(data_dir: Path, host: str, work_dir: Path) -> Iterator[Replay]:
    """snmpsim replaying every .snmprec in `data_dir` at host:free-port, until the block ends.

    Returns once it answers (at most START_TIMEOUT_S); fails the test with its log if
    it exits or stays silent.  `work_dir` (created) keeps its index cache and log.
    """
    port = free_port(host, udp=True)
    work_dir.mkdir(parents=True)
    log = work_dir / "snmpsim.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from snmpsim.commands.responder import main; sys.exit(main())",
                f"--data-dir={data_dir}",
                f"--cache-dir={work_dir / 'cache'}",
                f"--agent-udpv4-endpoint={host}:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            # As root snmpsim refuses to start unless told it may.
            env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"},
        )
    try:
        replay = Replay(host, port, log)
        community = next(data_dir.glob("*.snmprec")).stem
        asyncio.run(_until_answering(replay, community, process))
        yield replay
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


async def _until_answering(
    replay: Replay, community: str, process: subprocess.Popen[bytes]
) -> None:
    credentials = SnmpCredentials(community=community)
    target = SnmpTarget(replay.host, replay.port, credentials, timeout=0.5, retries=0)
    client = SnmpClient()
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                await client.get(target, ["1.3.6.1.2.1.1.1.0"])
                return
            except SnmpError:
                log = replay.log.read_text(errors="replace")[-2000:]
                if process.poll() is not None:
                    pytest.fail(f"snmpsim exited with {process.returncode}:\n{log}")
                if time.monotonic() > deadline:
                    pytest.fail(f"snmpsim did not answer within {START_TIMEOUT_S:g} s:\n{log}")
                await asyncio.sleep(0.2)
    finally:
        client.close()


def poll_each(devices: list[tuple[DeviceSection, Driver]]) -> list[PollResult]:
    """One poll of each device, in order, with one Poller."""

    async def run() -> list[PollResult]:
        client = SnmpClient()
        try:
            poller = Poller(client)
            return [await poller.poll(device, driver) for device, driver in devices]
        finally:
            client.close()

    return asyncio.run(run())
