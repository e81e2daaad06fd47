"""The wire client against net-snmp's own agent (`snmpd`, C): a real device's encoder,
with its long-form lengths, its SMIv1 errors and its end of view.  Skipped where snmpd is
not installed (Debian: `apt-get install snmpd`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldagent.config import SnmpCredentials, SnmpVersion
from fieldagent.driver import Counter, OidValue, TimeTicks
from fieldagent.localbroker import free_port
from fieldagent.transports.pysnmpexchange import PysnmpExchange
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget
from fieldagent.transports.snmpudp import WireExchange

SNMPD = shutil.which("snmpd") or ("/usr/sbin/snmpd" if os.path.exists("/usr/sbin/snmpd") else None)
pytestmark = pytest.mark.skipif(SNMPD is None, reason="net-snmp's snmpd is not installed")

SYSTEM = "1.3.6.1.2.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder: Path = tmp_path_factory.mktemp("snmpd")
    conf = folder / "snmpd.conf"
    conf.write_text("rocommunity public 127.0.0.1\n", encoding="utf-8")
    port = free_port(udp=True)
    assert SNMPD is not None
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(folder / "state"))
    argv = [SNMPD, "-f", "-Lo", "-C", "-c", str(conf), f"udp:127.0.0.1:{port}"]
    with (folder / "snmpd.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, (folder / "snmpd.log").read_text(errors="replace")
            try:
                read(port, SnmpVersion.V2C, lambda c, t: c.get(t, [SYSTEM + ".1.0"]))
                break
            except SnmpError:
                assert time.monotonic() < deadline, "snmpd did not answer within 10 s"
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


def read(port: int, version: SnmpVersion, what: Any, back_end: Any = None) -> Any:
    target = SnmpTarget("127.0.0.1", port, SnmpCredentials(version=version), 0.5, 1)

    async def main() -> Any:
        client = SnmpClient(community_exchange=back_end or WireExchange())
        try:
            return await what(client, target)
        finally:
            client.close()

    return asyncio.run(main())


@pytest.mark.parametrize("version", [SnmpVersion.V1, SnmpVersion.V2C], ids=["v1", "v2c"])
def test_the_system_group_and_the_interfaces_read_as_pysnmp_reads_them(
    snmpd: int, version: SnmpVersion
) -> None:
    async def walk(client: SnmpClient, target: SnmpTarget) -> Any:
        return await client.walk_many(target, [SYSTEM, IF_DESCR, IF_IN_OCTETS])

    ours = read(snmpd, version, walk)
    theirs = read(snmpd, version, walk, PysnmpExchange())
    assert list(ours) == list(theirs)
    for oid, value in ours.items():
        assert type(value) is type(theirs[oid]), oid
        if not isinstance(value, TimeTicks | Counter):  # those move between the two reads
            assert value == theirs[oid], oid
    assert isinstance(ours[SYSTEM + ".2.0"], OidValue)
    assert ours[SYSTEM + ".2.0"].startswith("1.3.6.1.4.1.8072.")  # net-snmp's enterprise
    assert any(value == b"lo" for oid, value in ours.items() if oid.startswith(IF_DESCR + "."))
    in_octets = [v for oid, v in ours.items() if oid.startswith(IF_IN_OCTETS + ".")]
    assert in_octets and all(isinstance(v, Counter) and v.bits == 32 for v in in_octets)


@pytest.mark.parametrize("version", [SnmpVersion.V1, SnmpVersion.V2C], ids=["v1", "v2c"])
def test_an_absent_object_is_none_and_the_rest_is_read(snmpd: int, version: SnmpVersion) -> None:
    async def get(client: SnmpClient, target: SnmpTarget) -> Any:
        return await client.get(target, [SYSTEM + ".5.0", "1.3.6.1.4.1.99999.1.0", SYSTEM + ".1.0"])

    got = read(snmpd, version, get)  # v1: noSuchName, the OID dropped, the rest asked again
    assert got["1.3.6.1.4.1.99999.1.0"] is None
    assert isinstance(got[SYSTEM + ".5.0"], bytes) and isinstance(got[SYSTEM + ".1.0"], bytes)


def test_the_end_of_the_agents_view_ends_a_walk(snmpd: int) -> None:
    async def beyond(client: SnmpClient, target: SnmpTarget) -> Any:
        return await client.walk(target, "1.3.6.1.99"), await client.first_under(
            target, ["1.3.6.1.99", SYSTEM]
        )

    walked, under = read(snmpd, SnmpVersion.V2C, beyond)
    assert walked == {}
    assert under == {"1.3.6.1.99": False, SYSTEM: True}
