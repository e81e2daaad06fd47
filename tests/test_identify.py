"""`identify` ranks every driver and profile on what a device serves, over real UDP.

Each shipped family's simulator must put its own driver first; a box serving two
families' objects ranks them by the strength of the evidence; a device serving
nothing any driver knows lists no candidate; the measuring is bounded in requests
and in time, even when the device falls silent half way.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from drivers import REGISTRY, get_driver
from fieldagent.config import SnmpCredentials
from fieldagent.driver import Driver, Identity, RawValue
from fieldagent.identify import Identification, identify
from fieldagent.sim.device import Oid, SimulatedDevice
from fieldagent.sim.replay import ReplayDevice
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.transports.snmp import SnmpClient, SnmpTarget
from tests.agentproc import fieldagent
from tests.simrunner import SimRunner

HOST = "127.0.0.91"
IDENTIFY_BOUND_S = 10.0


def identified(
    sim: SnmpSimulator,
    drivers: Iterable[Driver] = REGISTRY.values(),
    timeout: float = 1.0,
    retries: int = 1,
) -> Identification:
    target = SnmpTarget(sim.host, sim.port, SnmpCredentials(), timeout, retries)

    async def run() -> Identification:
        client = SnmpClient()
        try:
            return await asyncio.wait_for(identify(client, target, drivers), IDENTIFY_BOUND_S)
        finally:
            client.close()

    return asyncio.run(run())


def ranked(found: Identification) -> list[str]:
    return [c.driver.name for c in found.candidates]


@pytest.mark.parametrize(
    "driver_name",
    [
        "ups_rfc1628",
        "ird_satellite",
        "ird_pbi_dch",
        "dvbt2_transmitter",
        "fm_transmitter_nautel",
        "rs_xx8000_dvbt",
        "offair_inovonics640",
        "docsis_cmts",
        "scte_hms_optical",
        "entity_sensors",
    ],
)
def test_each_simulator_ranks_its_own_driver_first(sims: SimRunner, driver_name: str) -> None:
    found = identified(sims.serve(driver_name, HOST))
    assert ranked(found)[0] == driver_name
    best = found.candidates[0]
    assert best.identified and best.share > 0.8, best.evidence  # HMS: not every object
    assert found.tried == sum(1 for d in REGISTRY.values() if d.protocol == "snmp")
    assert found.incomplete is None


class Box:
    """Several simulated devices' objects on one agent (a card serving two MIBs), some
    OIDs left out; counts the datagrams it is sent and falls silent after `answer` of them."""

    def __init__(
        self, *devices: SimulatedDevice, without: Iterable[str] = (), answer: int | None = None
    ) -> None:
        self.name = "box"
        self._devices = devices
        self._without = tuple(tuple(int(p) for p in oid.split(".")) for oid in without)
        self._answer = answer
        self.datagrams = 0

    @property
    def silent(self) -> bool:  # asked once per datagram received
        self.datagrams += 1
        return self._answer is not None and self.datagrams > self._answer

    def objects(self) -> Mapping[Oid, RawValue]:
        merged: dict[Oid, RawValue] = {}
        for device in self._devices:
            merged.update(device.objects())
        return {oid: raw for oid, raw in merged.items() if oid not in self._without}


def test_a_box_serving_two_families_ranks_the_one_it_names_first(sims: SimRunner) -> None:
    ups, tx = get_driver("ups_rfc1628"), get_driver("dvbt2_transmitter")
    # The transmitter's sysObjectID wins (served last): it is the product, the UPS MIB an extra.
    box = Box(SimulatedDevice(ups), SimulatedDevice(tx))
    found = identified(sims.serve_device(box, HOST))
    assert ranked(found) == ["dvbt2_transmitter", "ups_rfc1628"]
    first, second = found.candidates
    assert first.object_id_prefix == "1.3.6.1.4.1.32473.2" and first.score == 1.0
    assert second.object_id_prefix is None and second.probe == "1.3.6.1.2.1.33.1"
    assert second.evidence == ("serves 1.3.6.1.2.1.33.1", "12 of 12 scalars answer")


def test_a_fuller_match_ranks_above_a_partial_one(sims: SimRunner) -> None:
    ups, ird = get_driver("ups_rfc1628"), get_driver("ird_pbi_dch")
    dropped = list(ups.scalar_oids())[:6]
    box = Box(SimulatedDevice(ird), SimulatedDevice(ups), without=dropped)
    found = identified(sims.serve_device(box, HOST))
    assert ranked(found) == ["ird_pbi_dch", "ups_rfc1628"]
    assert found.candidates[1].scalars == (6, 12)
    assert found.candidates[0].score > found.candidates[1].score


def test_a_profile_without_identity_is_ranked_on_the_objects_it_shares(sims: SimRunner) -> None:
    ups = get_driver("ups_rfc1628")
    profile = replace(ups, name="ups_from_walk", identity=Identity())
    found = identified(sims.serve("ups_rfc1628", HOST), [profile, *REGISTRY.values()])
    assert ranked(found) == ["ups_rfc1628", "ups_from_walk"]
    assert found.candidates[1].evidence == ("12 of 12 scalars answer",)
    assert not found.candidates[1].identified and found.suggestions == (found.candidates[0],)


def _unknown_device(tmp_path: Path) -> ReplayDevice:
    walk = tmp_path / "unknown.snmprec"
    walk.write_text(
        "1.3.6.1.2.1.1.1.0|4|Something nobody here knows\n"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1\n"
        "1.3.6.1.2.1.1.3.0|67|1234\n"
        "1.3.6.1.2.1.1.5.0|4|box\n"
        "1.3.6.1.4.1.99999.1.1.0|2|7\n"
    )
    return ReplayDevice.from_file(walk)


def test_a_device_nothing_knows_lists_no_candidate(sims: SimRunner, tmp_path: Path) -> None:
    sim = sims.serve_device(_unknown_device(tmp_path), HOST)
    found = identified(sim)
    assert found.candidates == () and found.sys_object_id == "1.3.6.1.4.1.99999.1"
    assert found.tried > 0

    done = fieldagent("identify", HOST, "--port", str(sim.port))
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1] == (
        f"no driver matches this device ({found.tried} SNMP drivers and profiles tried)"
    )
    as_json = fieldagent("identify", HOST, "--port", str(sim.port), "--json")
    assert as_json.returncode == 1
    printed = json.loads(as_json.stdout)
    assert printed["candidates"] == [] and printed["tried"] == found.tried
    assert printed["sys_descr"] == "Something nobody here knows"


def test_identify_asks_a_few_requests_whatever_the_number_of_drivers(sims: SimRunner) -> None:
    box = Box(SimulatedDevice(get_driver("ups_rfc1628")))
    identified(sims.serve_device(box, HOST))
    snmp_drivers = sum(1 for d in REGISTRY.values() if d.protocol == "snmp")
    # system group, probes, scalars in batches of 24, one GETNEXT per 24 columns
    assert box.datagrams <= 8 < snmp_drivers


def test_a_device_falling_silent_ends_the_measuring_at_once(sims: SimRunner) -> None:
    box = Box(SimulatedDevice(get_driver("ups_rfc1628")), answer=2)  # system group and probes
    started = time.monotonic()
    found = identified(sims.serve_device(box, HOST), timeout=0.3, retries=0)
    assert time.monotonic() - started < 2.0  # one request timed out, not one per batch
    assert found.incomplete is not None and found.incomplete.startswith("no reply from")
    assert ranked(found) == ["ups_rfc1628"]  # its subtree was seen before the silence
    assert found.candidates[0].scalars == (0, 12)


def test_the_ranked_table_and_json(sims: SimRunner) -> None:
    sim = sims.serve("offair_inovonics640", HOST)
    done = fieldagent("identify", HOST, "--port", str(sim.port))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[3].startswith("candidates, best first (1 with evidence; ")
    assert lines[4].split() == ["driver", "kind", "maturity", "score", "objects", "evidence"]
    assert lines[5].split()[:5] == ["offair_inovonics640", "offair", "stable", "1.00", "12/12"]
    assert lines[5].endswith(
        "sysObjectID is under 1.3.6.1.4.1.42111.640; serves 1.3.6.1.4.1.42111.640.3;"
        " 12 of 12 scalars answer"
    )
    printed = json.loads(fieldagent("identify", HOST, "--port", str(sim.port), "--json").stdout)
    [candidate] = printed["candidates"]
    assert candidate["driver"] == "offair_inovonics640" and candidate["score"] == 1.0
    assert candidate["scalars"] == {"answered": 12, "asked": 12}
