"""Every SNMP driver against a recording of its simulator replayed by snmpsim.

For each driver in the registry (a new driver module or profile is covered
without editing this file) two recordings are made (tests/support/recording.py):
its simulator as it starts (scenario `normal`, no noise), and playing its first
fault whose expectation is warning or critical (tests/data/README.md).  One
snmpsim process serves them all; each is polled by the agent's Poller with the
driver and compared with a poll of the simulator it was made from: the same
readings (key, value, quality, in use) and the same health.

The simulators run on a clock that does not move, so what they serve does not
change between recording and polling; each side is polled twice, so counters
are compared as rates (zero on both).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyasn1.type import univ
from pysnmp.proto import rfc1902

from drivers import REGISTRY
from fieldagent.config import DeviceSection, parse_device
from fieldagent.driver import Driver, RawValue, Scenario
from fieldagent.model import HealthState, PollResult, Quality, Value
from fieldagent.poller import Poller
from fieldagent.sim.device import NORMAL, SimulatedDevice, parse_oid
from fieldagent.sim.snmp_agent import SnmpSimulator, served_objects
from fieldagent.transports.snmp import SnmpClient, SnmpTarget
from tests.conformance import health_of
from tests.simrunner import SimRunner, device_fields, played
from tests.support.recording import MADE_FROM_SIMULATOR, record, snmprec_value
from tests.support.snmpsim import DATA, Replay, needs_snmpsim, serving

SIMULATOR_HOST = "127.0.0.81"
REPLAY_HOST = "127.0.0.82"

SNMP_DRIVERS = sorted(name for name, driver in REGISTRY.items() if driver.protocol == "snmp")
FAULTS = (HealthState.WARNING, HealthState.CRITICAL)


def fault_of(driver: Driver) -> Scenario | None:
    """The fault a driver's second recording plays: its first scenario expected to leave the
    device warning or critical at once; else the first that does so after a while (played
    that far on the simulator's clock, so the recording holds the state it leads to)."""
    faults = [s for s in SimulatedDevice(driver).scenarios.values() if s.expect.health in FAULTS]
    at_once = [s for s in faults if s.expect.after_s == 0]
    return (at_once or faults or [None])[0]


FAULTY = [name for name in SNMP_DRIVERS if fault_of(REGISTRY[name]) is not None]

Row = tuple[Value, Quality, bool]


@dataclass(frozen=True)
class Recorded:
    """A simulator, still serving, and the recording made of it (served by snmpsim)."""

    driver: Driver
    scenario: Scenario
    simulator: SnmpSimulator
    recording: Path
    replay: Replay

    def served(self, version: str = "2c") -> DeviceSection:
        fields = device_fields("sim", self.simulator, timeout=1.0, request_retries=1)
        return parse_device({**fields, "snmp_version": version})

    def replayed(self, version: str = "2c") -> DeviceSection:
        return self.replay.device(self.recording.stem, self.driver.name, snmp_version=version)

    def poll_both(self, version: str = "2c") -> tuple[PollResult, PollResult]:
        """(simulator, replay): each polled twice by one Poller, the second poll returned.

        SNMPv1 walks by GETNEXT, v2c by GETBULK: snmpsim answers both.
        """

        async def run() -> tuple[PollResult, PollResult]:
            client = SnmpClient()
            poller = Poller(client)
            try:
                results = []
                for device in (self.served(version), self.replayed(version)):
                    await poller.poll(device, self.driver)
                    results.append(await poller.poll(device, self.driver))
                return results[0], results[1]
            finally:
                client.close()

        return asyncio.run(run())

    def walk_both(self) -> tuple[dict[str, RawValue], dict[str, RawValue]]:
        """(simulator, replay): every object from 1.3.6.1, as the agent's client reads it."""

        async def run() -> tuple[dict[str, RawValue], dict[str, RawValue]]:
            client = SnmpClient()
            try:
                walked = [
                    await client.walk(SnmpTarget.from_device(device), "1.3.6.1")
                    for device in (self.served(), self.replayed())
                ]
                return walked[0], walked[1]
            finally:
                client.close()

        return asyncio.run(run())


def plays(driver: Driver) -> dict[str, Scenario]:
    """What a driver's recordings play, by kind: `normal`, and `fault` if it has one."""
    fault = fault_of(driver)
    normal = SimulatedDevice(driver).scenarios[NORMAL]
    return {"normal": normal} if fault is None else {"normal": normal, "fault": fault}


Recordings = dict[tuple[str, str], Recorded]
"""(kind, driver name) -> its recording, replayed."""


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recordings]:
    """Every SNMP driver's simulator served and recorded, the recordings replayed by one
    snmpsim (one file each, `DRIVER_KIND.snmprec`: community = file name)."""
    data = tmp_path_factory.mktemp("recordings")
    runner = SimRunner()
    try:
        made: dict[tuple[str, str], tuple[Scenario, SnmpSimulator, Path]] = {}
        for name in SNMP_DRIVERS:
            for kind, scenario in plays(REGISTRY[name]).items():
                device, _ = played(REGISTRY[name], scenario.name, scenario.expect.after_s)
                simulator = runner.serve_device(device, SIMULATOR_HOST)
                recording = data / f"{name}_{kind}.snmprec"
                recording.write_text(record(simulator))
                made[kind, name] = (scenario, simulator, recording)
        with serving(data, REPLAY_HOST, tmp_path_factory.mktemp("snmpsim") / "work") as replay:
            yield {
                (kind, name): Recorded(REGISTRY[name], scenario, simulator, recording, replay)
                for (kind, name), (scenario, simulator, recording) in made.items()
            }
    finally:
        runner.close()


def rows(result: PollResult) -> dict[str, Row]:
    return {r.key: (r.value, r.quality, r.in_use) for r in result.readings}


@needs_snmpsim
@pytest.mark.parametrize("version", ["2c", "1"])
@pytest.mark.parametrize("name", SNMP_DRIVERS)
def test_the_recording_of_the_simulator_polls_as_the_simulator_does(
    recordings: Recordings, name: str, version: str
) -> None:
    recorded = recordings["normal", name]

    from_simulator, from_replay = recorded.poll_both(version)

    assert (from_simulator.error, from_replay.error) == (None, None)
    assert rows(from_replay) == rows(from_simulator)
    assert {q for _, q, _ in rows(from_replay).values()} == {Quality.OK}
    assert health_of(recorded.driver, from_replay) is health_of(recorded.driver, from_simulator)
    assert health_of(recorded.driver, from_replay) is HealthState.OK


@needs_snmpsim
@pytest.mark.parametrize("name", SNMP_DRIVERS)
def test_the_recording_holds_every_object_the_simulator_serves(
    recordings: Recordings, name: str
) -> None:
    """Not only the objects the driver asks for: sysObjectID, unused columns, by GETBULK."""
    recorded = recordings["normal", name]

    from_simulator, from_replay = recorded.walk_both()

    assert from_replay == from_simulator
    lines = recorded.recording.read_text().splitlines()
    assert lines[0] == MADE_FROM_SIMULATOR + name
    assert len([line for line in lines if not line.startswith("#")]) == len(from_simulator)


@needs_snmpsim
@pytest.mark.parametrize("name", FAULTY)
def test_the_recording_of_a_fault_gives_the_health_the_fault_declares(
    recordings: Recordings, name: str
) -> None:
    recorded = recordings["fault", name]
    expect = recorded.scenario.expect

    from_simulator, from_replay = recorded.poll_both()

    assert from_replay.error is None
    assert rows(from_replay) == rows(from_simulator)
    assert health_of(recorded.driver, from_replay) is expect.health, recorded.scenario.name
    values = {key: value for key, (value, _, _) in rows(from_replay).items()}
    for key, expected in expect.values.items():
        assert key in values, f"{recorded.scenario.name}: no reading {key}"
        if isinstance(expected, float):
            assert values[key] == pytest.approx(expected, rel=0.02), key
        else:
            assert values[key] == expected, key


# -- the .snmprec form of each SMI type, read back by snmpsim's own parser ------------------


@needs_snmpsim
@pytest.mark.parametrize(
    ("value", "line"),
    [
        (rfc1902.Integer32(-5), "2|-5"),
        (rfc1902.OctetString(b"VTV1 HD"), "4|VTV1 HD"),
        (rfc1902.OctetString(b"a|b#c\\d"), "4|a|b#c\\d"),
        (rfc1902.OctetString(b""), "4|"),
        (rfc1902.OctetString("Đài Đông Hà".encode()), "4x|" + "Đài Đông Hà".encode().hex()),
        (rfc1902.OctetString(b"UPS\r\ncard"), "4x|5550530d0a63617264"),
        (rfc1902.OctetString(b" padded "), "4x|2070616464656420"),
        (rfc1902.OctetString(b"\x00\xff"), "4x|00ff"),
        (univ.Null(""), "5|"),
        (rfc1902.ObjectName("1.3.6.1.4.1.99999.1"), "6|1.3.6.1.4.1.99999.1"),
        (rfc1902.IpAddress("10.0.0.1"), "64x|0a000001"),
        (rfc1902.Counter32(4294967295), "65|4294967295"),
        (rfc1902.Gauge32(226), "66|226"),
        (rfc1902.TimeTicks(4711), "67|4711"),
        (rfc1902.Counter64(2**64 - 1), f"70|{2**64 - 1}"),
    ],
    ids=lambda x: x if isinstance(x, str) else type(x).__name__,
)
def test_each_smi_type_is_written_as_snmpsim_reads_it_back(value: object, line: str) -> None:
    from snmpsim.record.snmprec import SnmprecRecord

    tag, text = snmprec_value(value)
    assert f"{tag}|{text}" == line

    oid, read = SnmprecRecord().evaluate(f"1.3.6.1.2.1.1.1.0|{line}\n".encode("iso-8859-1"))
    assert str(oid) == "1.3.6.1.2.1.1.1.0"
    assert read.tagSet == value.tagSet  # type: ignore[attr-defined]
    assert read == value


def test_a_type_without_an_snmprec_form_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"no \.snmprec form for a Real value"):
        snmprec_value(univ.Real(1.5))


def test_a_recording_names_driver_and_scenario_and_keeps_oid_order(sims: SimRunner) -> None:
    device, _ = played(REGISTRY["ups_rfc1628"], "battery_low")
    simulator = sims.serve_device(device, SIMULATOR_HOST)

    lines = record(simulator).splitlines()

    assert lines[:2] == [MADE_FROM_SIMULATOR + "ups_rfc1628", "# scenario: battery_low"]
    oids = [parse_oid(line.split("|")[0]) for line in lines[2:]]
    assert oids == sorted(oids) == [oid for oid, _ in served_objects(device)]


# -- the recordings kept in tests/data -------------------------------------------------------

KEPT = sorted(DATA.glob("*.snmprec"))
KINDS = ("# HAND-WRITTEN from the published ", MADE_FROM_SIMULATOR)


@pytest.mark.parametrize("recording", KEPT, ids=lambda p: p.stem)
def test_a_kept_recording_says_how_it_was_made_and_is_listed(recording: Path) -> None:
    first = recording.read_text().splitlines()[0]
    assert first.startswith(KINDS), f"{recording.name}: first line {first!r}"
    assert f"`{recording.name}`" in (DATA / "README.md").read_text()
