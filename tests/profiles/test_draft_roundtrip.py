"""The round trip a technician makes: walk a device, draft a profile, poll the device with it.

Shipped SNMP drivers' simulators stand in for the new device (real UDP on
127.0.0.1, free ports).  Each is walked twice, by net-snmp's `snmpwalk -On`
(when installed) and by the agent's own SnmpClient written out as a .snmprec
recording; the draft is loaded with `load_profile`, as the agent loads it, and
its Driver polls the simulator through the agent's Poller: every drafted metric
must read `ok` and equal what the simulator serves.  The drafted profile's own
simulator must serve the walked values back.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fieldagent.config import SnmpDevice, parse_device
from fieldagent.driver import Driver
from fieldagent.model import Quality, Reading
from fieldagent.poller import Poller
from fieldagent.profiles.draft import draft_profile
from fieldagent.profiles.load import load_profile
from fieldagent.profiles.mibs import compile_mibs
from fieldagent.profiles.walk import parse_walk, read_walk
from fieldagent.sim.device import SimulatedDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.transports.snmp import SnmpClient, SnmpTarget
from tests.profiles.test_draft import DEMO_MIB, DEMO_WALK, TX
from tests.simrunner import SimRunner, device_fields, poll_readings, served_objects

SHIPPED = ["offair_inovonics640", "scte_hms_optical"]
"""An enterprise device of scalars, and one of tables."""

_OID = re.compile(r"[0-2](\.\d+){4,}")


def net_snmp_walk(sim: SnmpSimulator, path: Path) -> Path:
    """`snmpwalk -On` of the whole tree, as the technician runs it."""
    done = subprocess.run(
        ["snmpwalk", "-v2c", "-c", sim.access.community or "public", "-On", "-t", "2",
         "-r", "1", f"{sim.host}:{sim.port}", ".1.3.6.1"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    path.write_text(done.stdout)
    return path


def agent_walk_as_snmprec(sim: SnmpSimulator, path: Path) -> Path:
    """The agent's own walk of the whole tree, written as an snmprec recording."""
    section = parse_device(device_fields("walker", sim))
    assert isinstance(section, SnmpDevice)
    target = SnmpTarget.from_device(section)

    async def walk() -> dict[str, object]:
        client = SnmpClient()
        try:
            return dict(await client.walk(target, "1.3.6.1"))
        finally:
            client.close()

    lines = []
    for oid, raw in asyncio.run(walk()).items():
        if isinstance(raw, bytes):
            lines.append(f"{oid}|4x|{raw.hex()}")
        elif isinstance(raw, int):
            lines.append(f"{oid}|2|{raw}")
        elif isinstance(raw, str) and _OID.fullmatch(raw):
            lines.append(f"{oid}|6|{raw}")
    path.write_text("\n".join(lines) + "\n")
    return path


def polled_twice(sim: SnmpSimulator, driver: Driver) -> dict[str, Reading]:
    """The second of two polls by one Poller: counters have a rate by then."""
    section = parse_device(device_fields("dut", sim))

    async def twice() -> dict[str, Reading]:
        client = SnmpClient()
        try:
            poller = Poller(client)
            await poller.poll(section, driver)
            await asyncio.sleep(0.05)
            result = await poller.poll(section, driver)
        finally:
            client.close()
        assert result.error is None, result.error
        return {r.key: r for r in result.readings}

    return asyncio.run(twice())


def assert_reads_what_is_served(sim: SnmpSimulator, drafted: Driver) -> None:
    readings = poll_readings(sim, drafted)
    initial = dict(drafted.simulator.initial)
    assert set(readings) == set(initial)
    served = served_objects(sim.device)
    for key, reading in readings.items():
        assert reading.quality is Quality.OK, (key, reading.detail)
        assert reading.value == initial[key], key
        assert drafted.metric(key).encode(reading.value) == served[drafted.oid_of(key)], key


@pytest.mark.parametrize("walker", ["snmpwalk", "snmprec"])
@pytest.mark.parametrize("driver_name", SHIPPED)
def test_a_draft_of_a_walk_polls_the_device_it_was_walked_from(
    sims: SimRunner, tmp_path: Path, driver_name: str, walker: str
) -> None:
    sim = sims.serve(driver_name, "127.0.0.1")
    if walker == "snmpwalk":
        if shutil.which("snmpwalk") is None:
            pytest.skip("net-snmp's snmpwalk is not installed")
        walk = net_snmp_walk(sim, tmp_path / "device.walk")
    else:
        walk = agent_walk_as_snmprec(sim, tmp_path / "device.snmprec")
    profile = tmp_path / "drafted.toml"
    profile.write_text(draft_profile(read_walk(walk), None, "drafted", "dut", str(walk)))
    drafted = load_profile(profile)
    assert len(drafted.metrics) >= 6
    assert_reads_what_is_served(sim, drafted)
    # The draft's own simulator serves the walk back.
    own = sims.serve_device(SimulatedDevice(drafted), "127.0.0.2")
    assert {k: r.value for k, r in poll_readings(own, drafted).items()} == dict(
        drafted.simulator.initial
    )


def test_a_draft_with_its_mib_loads_and_reads_names_enums_units_and_divisors(
    sims: SimRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    mib_file = os.path.relpath(DEMO_MIB, folder)
    text = draft_profile(
        parse_walk(DEMO_WALK, "tx.walk"),
        compile_mibs([DEMO_MIB]),
        "demo_tx",
        "tx",
        "tx.walk",
        [mib_file],
    )
    (folder / "demo_tx.toml").write_text(text)
    drafted = load_profile(folder / "demo_tx.toml")
    assert drafted.metric("tx.tx_mer").divisor == 10
    assert drafted.metric("tx.tx_pa_state[tx_pa=1]").enum[2] == "warning"
    own = sims.serve_device(SimulatedDevice(drafted), "127.0.0.1")
    assert served_objects(own.device)[f"{TX}.1.3.0"] == 352  # the walked raw value
    readings = polled_twice(own, drafted)
    assert all(r.quality is Quality.OK for r in readings.values()), readings
    values = {k: r.value for k, r in readings.items()}
    assert values == {**drafted.simulator.initial, "tx.tx_resets": 0.0}  # a counter: its rate
    assert (values["tx.tx_mer"], readings["tx.tx_mer"].unit) == (35.2, "dB")
    assert values["tx.tx_oper_state"] == "onAir"
    assert readings["tx.tx_pa_temperature[tx_pa=2]"].unit == "°C"
