"""Walking several subtrees together (`SnmpClient.walk_many`) against a real simulator.

A table's columns walked side by side must give exactly what walking each column alone
gives, on every SNMP version, and in far fewer requests: that is the point of walking them
together (one GETBULK carries every column).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import pytest

from drivers import get_driver
from fieldagent.config import SnmpCredentials, SnmpDevice, SnmpVersion, parse_device
from fieldagent.driver import RawValue
from fieldagent.sim.device import Oid, SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.transports import snmp
from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget
from tests.simrunner import V3_SHA256, SimRunner, device_fields, poll_readings

T = TypeVar("T")

HOST = "127.0.0.2"
BASE = (1, 3, 6, 1, 4, 1, 99999)
WIDE = "1.3.6.1.4.1.99999.1.1"
"""A 15-column table of 4 rows (the shape bench/peer.py polls: ifTable on a small host)."""
LONG = "1.3.6.1.4.1.99999.2.1"
"""A 3-column table of 60 rows, its second column with every third row left out."""
EMPTY = "1.3.6.1.4.1.99999.3"
"""Nothing under it, but objects after it."""
SCALAR = "1.3.6.1.4.1.99999.4"
"""The prefix of one scalar, 1.3.6.1.4.1.99999.4.0."""
LAST = "1.3.6.1.4.1.99999.9"
"""The last subtree the agent serves: its walk ends at the end of the agent's view."""
BEYOND = "1.3.6.1.4.1.99999.10"
"""After everything served."""


def _objects() -> dict[Oid, RawValue]:
    objects: dict[Oid, RawValue] = {
        (1, 3, 6, 1, 2, 1, 1, 1, 0): b"a table box",
        (1, 3, 6, 1, 2, 1, 1, 2, 0): b"1.3.6.1.4.1.99999",
    }
    for column in range(1, 16):
        for row in range(1, 5):
            objects[(*BASE, 1, 1, column, row)] = column * 1000 + row
    for column in range(1, 4):
        for row in range(1, 61):
            if column == 2 and row % 3 == 0:
                continue
            objects[(*BASE, 2, 1, column, row)] = (
                f"r{row}c{column}".encode() if column == 3 else row
            )
    objects[(*BASE, 4, 0)] = 44
    objects[(*BASE, 5, 0)] = 55
    for row in range(1, 4):
        objects[(*BASE, 9, row)] = 900 + row
    return objects


class TableBox:
    """An agent serving two tables and a few scalars; counts the datagrams it is sent."""

    def __init__(self) -> None:
        self.name = "tables"
        self.datagrams = 0
        self._objects = _objects()

    @property
    def silent(self) -> bool:  # asked once per datagram received
        self.datagrams += 1
        return False

    def objects(self) -> Mapping[Oid, RawValue]:
        return self._objects

    def under(self, root: str) -> dict[str, RawValue]:
        """What a walk of `root` must return, from the served objects themselves."""
        prefix = tuple(int(part) for part in root.split("."))
        return {
            ".".join(map(str, oid)): raw
            for oid, raw in self._objects.items()
            if oid[: len(prefix)] == prefix and len(oid) > len(prefix)
        }


def columns(table: str, count: int) -> list[str]:
    return [f"{table}.{column}" for column in range(1, count + 1)]


def run(make: Callable[[SnmpClient], Awaitable[T]]) -> T:
    async def main() -> T:
        client = SnmpClient()
        try:
            return await make(client)
        finally:
            client.close()

    return asyncio.run(main())


def target_for(sim: SnmpSimulator) -> SnmpTarget:
    device = parse_device(device_fields("tables1", sim, driver="ups_rfc1628"))
    assert isinstance(device, SnmpDevice)
    return SnmpTarget.from_device(device)


def walked_together(target: SnmpTarget, roots: Sequence[str]) -> dict[str, RawValue]:
    return run(lambda client: client.walk_many(target, roots))


def walked_apart(target: SnmpTarget, roots: Sequence[str]) -> dict[str, RawValue]:
    async def each(client: SnmpClient) -> dict[str, RawValue]:
        values: dict[str, RawValue] = {}
        for root in roots:
            values.update(await client.walk(target, root))
        return values

    return run(each)


ACCESS = [
    SnmpCredentials(version=SnmpVersion.V1),
    SnmpCredentials(version=SnmpVersion.V2C),
    V3_SHA256,
]


@pytest.mark.parametrize("access", ACCESS, ids=["v1", "v2c", "v3"])
def test_tables_of_different_lengths_walked_together_give_what_separate_walks_give(
    sims: SimRunner, access: SnmpCredentials
) -> None:
    box = TableBox()
    target = target_for(sims.serve_device(box, HOST, access))
    roots = [*columns(WIDE, 15), *columns(LONG, 3), EMPTY, SCALAR, LAST, BEYOND]
    expected: dict[str, RawValue] = {}
    for root in roots:
        expected.update(box.under(root))
    assert len(expected) == 15 * 4 + 60 + 40 + 60 + 1 + 3

    together = walked_together(target, roots)
    assert together == expected
    apart = walked_apart(target, roots)
    assert apart == expected
    assert list(together) == list(apart)  # each subtree in OID order, roots in given order
    assert "1.3.6.1.4.1.99999.5.0" not in together  # after SCALAR's subtree: never returned


@pytest.mark.parametrize("access", ACCESS[:2], ids=["v1", "v2c"])
def test_a_root_with_no_rows_and_a_scalars_prefix(sims: SimRunner, access: SnmpCredentials) -> None:
    box = TableBox()
    target = target_for(sims.serve_device(box, HOST, access))
    assert walked_together(target, [EMPTY]) == {}
    assert walked_together(target, [BEYOND]) == {}
    assert walked_together(target, [SCALAR]) == {"1.3.6.1.4.1.99999.4.0": 44}
    assert walked_together(target, [EMPTY, SCALAR, BEYOND]) == {"1.3.6.1.4.1.99999.4.0": 44}
    assert walked_together(target, []) == {}


def test_a_15_column_4_row_table_takes_two_requests_on_v2c(sims: SimRunner) -> None:
    box = TableBox()
    target = target_for(sims.serve_device(box, HOST, SnmpCredentials(version=SnmpVersion.V2C)))
    values = walked_together(target, columns(WIDE, 15))
    assert len(values) == 60
    assert box.datagrams <= 2
    box.datagrams = 0
    assert walked_apart(target, columns(WIDE, 15)) == values
    assert box.datagrams == 15  # one column at a time: one request each


def test_a_long_table_is_walked_in_rounds_each_column_from_where_it_stopped(
    sims: SimRunner,
) -> None:
    box = TableBox()
    target = target_for(sims.serve_device(box, HOST, SnmpCredentials(version=SnmpVersion.V2C)))
    values = walked_together(target, columns(LONG, 3))
    assert values == box.under(LONG)
    # 16 rows a round for 3 columns (50 // 3), column 2 shorter: four rounds, and a fifth
    # at most to see the last column leave its subtree.
    assert 4 <= box.datagrams <= 5


def test_a_walk_stops_at_its_cap_with_one_line_naming_the_device(
    sims: SimRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snmp, "MAX_WALK_VARBINDS", 100)
    sim = sims.serve_device(TableBox(), HOST, SnmpCredentials(version=SnmpVersion.V2C))
    with pytest.raises(SnmpError) as raised:
        walked_together(target_for(sim), columns(LONG, 3))
    assert str(raised.value) == (
        f"{sim.address}: walk of 3 subtrees from {LONG}.1 exceeded 100 objects"
    )
    assert len(walked_together(target_for(sim), columns(WIDE, 15))) == 60  # under the cap


class Counted:
    """A driver's simulated device, counting the datagrams it is sent."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device = device
        self.driver = device.driver
        self.name = device.name
        self.datagrams = 0

    @property
    def silent(self) -> bool:  # asked once per datagram received
        self.datagrams += 1
        return False

    def objects(self) -> Mapping[Oid, RawValue]:
        return self.device.objects()


def test_the_poller_walks_a_drivers_columns_together(sims: SimRunner) -> None:
    driver = get_driver("scte_hms_optical")
    assert len(driver.walks()) == 11
    counted = Counted(SimulatedDevice(driver))
    sim = sims.serve_device(counted, HOST, SnmpCredentials(version=SnmpVersion.V2C))
    readings = poll_readings(sim, driver)
    rows = [key for key in readings if "[" in key]  # a table row's reading names its row
    assert len(rows) == 13 and all(readings[key].value is not None for key in rows)
    # One GET of the scalar, then the 11 columns side by side (3 rows or fewer each, 4 asked
    # a round): one GETBULK, not 11 walks.
    assert counted.datagrams == 2
