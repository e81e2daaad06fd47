"""A walk replayed as recorded: the same readings as the device walked, every SMI type kept.

Walks are made the way a technician makes them: net-snmp's `snmpwalk -On` against a
running driver simulator, and an .snmprec recording written from what a pysnmp client
received (each value's own BER tag).  The replay is then served over real UDP and
polled by the agent's Poller; `fieldagent simulate --replay` runs as a real process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    get_cmd,
    walk_cmd,
)
from pysnmp.proto import rfc1902

from drivers import get_driver
from fieldagent.config import parse_config
from fieldagent.localbroker import free_port
from fieldagent.model import Reading
from fieldagent.profiles.walk import WalkError
from fieldagent.sim.replay import ReplayDevice
from fieldagent.sim.station import SimulatedStation
from tests.agentproc import ROOT, fieldagent
from tests.simrunner import V3_SHA256 as V3
from tests.simrunner import SimRunner, credential_fields, poll_once, poll_readings
from tests.stationfile import write_station

HOST = "127.0.0.81"
REPLAY_HOST = "127.0.0.82"
WALK_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

needs_snmpwalk = pytest.mark.skipif(
    shutil.which("snmpwalk") is None, reason="net-snmp's snmpwalk is not installed"
)

DRIVERS = ["ups_rfc1628", "ird_satellite", "docsis_cmts", "rs_xx8000_dvbt", "scte_hms_optical"]
"""Scalars only, tables, counters and IF-MIB, a decoder's rows, mixed: one of each shape."""


def snmpwalk(host: str, port: int, community: str = "public") -> str:
    """`snmpwalk -v2c -On` of the whole tree, as a technician captures a device."""
    done = subprocess.run(
        ["snmpwalk", "-v2c", "-c", community, "-On", "-t", "2", "-r", "1", f"{host}:{port}", "."],
        capture_output=True,
        text=True,
        timeout=WALK_TIMEOUT_S,
        check=True,
    )
    # net-snmp's last line says it went past the end of the tree: not an object.
    return "".join(
        line for line in done.stdout.splitlines(keepends=True) if "No more variables" not in line
    )


def comparable(readings: dict[str, Reading]) -> dict[str, tuple[object, ...]]:
    """What a poll read, without the time it read it at."""
    return {k: (r.value, r.unit, r.quality, r.detail, r.in_use) for k, r in readings.items()}


@needs_snmpwalk
@pytest.mark.parametrize("driver_name", DRIVERS)
def test_a_snmpwalk_of_a_simulator_replays_to_the_same_readings(
    sims: SimRunner, tmp_path: Path, driver_name: str
) -> None:
    driver = get_driver(driver_name)
    sim = sims.serve(driver_name, HOST)
    walk = tmp_path / f"{driver_name}.walk"
    walk.write_text(snmpwalk(HOST, sim.port))
    replay = sims.serve_device(ReplayDevice.from_file(walk), REPLAY_HOST)

    expected = poll_readings(sim, driver)
    assert expected  # the simulator was read
    assert comparable(poll_readings(replay, driver)) == comparable(expected)
    # Walked again, the replay serves the very same text: OIDs, types and values.
    assert snmpwalk(REPLAY_HOST, replay.port) == walk.read_text()


RECORDING = """\
1.3.6.1.2.1.1.1.0|4|Recorded device
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.7
1.3.6.1.2.1.1.3.0|67|4294967295
1.3.6.1.2.1.2.2.1.5.1|66|4294967295
1.3.6.1.2.1.2.2.1.8.1|2|-2147483648
1.3.6.1.2.1.2.2.1.10.1|65|4000000000
1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1
1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615
1.3.6.1.4.1.99999.1.1.0|5|
1.3.6.1.4.1.99999.1.2.0|68x|9f780441200000
1.3.6.1.4.1.99999.1.3.0|4x|00ff10
"""

EXPECTED_TYPES = {
    "1.3.6.1.2.1.1.1.0": ("OctetString", b"Recorded device"),
    "1.3.6.1.2.1.1.2.0": ("ObjectIdentifier", "1.3.6.1.4.1.99999.7"),
    "1.3.6.1.2.1.1.3.0": ("TimeTicks", 4294967295),
    "1.3.6.1.2.1.2.2.1.5.1": ("Gauge32", 4294967295),
    "1.3.6.1.2.1.2.2.1.8.1": ("Integer", -2147483648),
    "1.3.6.1.2.1.2.2.1.10.1": ("Counter32", 4000000000),
    "1.3.6.1.2.1.4.20.1.1.10.0.0.1": ("IpAddress", b"\x0a\x00\x00\x01"),
    "1.3.6.1.2.1.31.1.1.1.6.1": ("Counter64", 18446744073709551615),
    "1.3.6.1.4.1.99999.1.1.0": ("Null", b""),
    "1.3.6.1.4.1.99999.1.2.0": ("Opaque", bytes.fromhex("9f780441200000")),
    "1.3.6.1.4.1.99999.1.3.0": ("OctetString", b"\x00\xff\x10"),
}
"""What a pysnmp client receives from the replay of RECORDING: type name and value."""


async def _get(port: int, oids: list[str]) -> dict[str, Any]:
    """GET over UDP with pysnmp, the values as the pysnmp types received."""
    snmp_engine = SnmpEngine()
    try:
        error, status, _, var_binds = await get_cmd(
            snmp_engine,
            CommunityData("public"),
            await UdpTransportTarget.create((REPLAY_HOST, port), timeout=2, retries=1),
            ContextData(),
            *(ObjectType(ObjectIdentity(oid)) for oid in oids),
            lookupMib=False,
        )
    finally:
        snmp_engine.close_dispatcher()
    assert not error and not status, (error, status)
    return {str(name): value for name, value in var_binds}


def _value(value: Any) -> object:
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.OctetString | univ.Null):  # IpAddress and Opaque too
        return bytes(value.asOctets()) if isinstance(value, univ.OctetString) else b""
    return int(value)


def test_a_recording_is_served_with_every_type_it_recorded(sims: SimRunner, tmp_path: Path) -> None:
    recording = tmp_path / "device.snmprec"
    recording.write_text(RECORDING)
    replay = sims.serve_device(ReplayDevice.from_file(recording), REPLAY_HOST)

    received = asyncio.run(_get(replay.port, list(EXPECTED_TYPES)))

    assert {
        oid: (type(value).__name__, _value(value)) for oid, value in received.items()
    } == EXPECTED_TYPES


@needs_snmpwalk
def test_net_snmp_reads_the_recorded_types(sims: SimRunner, tmp_path: Path) -> None:
    recording = tmp_path / "device.snmprec"
    recording.write_text(RECORDING)
    replay = sims.serve_device(ReplayDevice.from_file(recording), REPLAY_HOST)
    lines = snmpwalk(REPLAY_HOST, replay.port).splitlines()
    assert lines == [
        '.1.3.6.1.2.1.1.1.0 = STRING: "Recorded device"',
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.99999.7",
        ".1.3.6.1.2.1.1.3.0 = Timeticks: (4294967295) 497 days, 2:27:52.95",
        ".1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 4294967295",
        ".1.3.6.1.2.1.2.2.1.8.1 = INTEGER: -2147483648",
        ".1.3.6.1.2.1.2.2.1.10.1 = Counter32: 4000000000",
        ".1.3.6.1.2.1.4.20.1.1.10.0.0.1 = IpAddress: 10.0.0.1",
        ".1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 18446744073709551615",
        ".1.3.6.1.4.1.99999.1.1.0 = NULL",
        ".1.3.6.1.4.1.99999.1.2.0 = Opaque: Float: 10.000000",
        ".1.3.6.1.4.1.99999.1.3.0 = Hex-STRING: 00 FF 10 ",
    ]


_SNMPREC_TAGS = {
    "Integer": 2,
    "OctetString": 4,
    "ObjectIdentifier": 6,
    "IpAddress": 64,
    "Counter32": 65,
    "Gauge32": 66,
    "TimeTicks": 67,
    "Opaque": 68,
    "Counter64": 70,
}
"""snmprec's tag (the BER type) of each type a pysnmp client receives, by type name."""


async def _record(host: str, port: int) -> str:
    """An .snmprec of everything the agent serves, each value under its received type's tag."""
    snmp_engine = SnmpEngine()
    lines = []
    try:
        async for error, status, _, var_binds in walk_cmd(
            snmp_engine,
            CommunityData("public"),
            await UdpTransportTarget.create((host, port), timeout=2, retries=1),
            ContextData(),
            ObjectType(ObjectIdentity("1.3.6")),
            lookupMib=False,
            lexicographicMode=False,
        ):
            assert not error and not status, (error, status)
            for name, value in var_binds:
                tag = _SNMPREC_TAGS[type(value).__name__]
                if isinstance(value, rfc1902.OctetString) and not isinstance(
                    value, rfc1902.IpAddress
                ):
                    lines.append(f"{name}|{tag}x|{bytes(value.asOctets()).hex()}")
                else:
                    lines.append(f"{name}|{tag}|{value.prettyPrint()}")
    finally:
        snmp_engine.close_dispatcher()
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("driver_name", DRIVERS)
def test_a_snmprec_recording_of_a_simulator_replays_to_the_same_readings(
    sims: SimRunner, tmp_path: Path, driver_name: str
) -> None:
    driver = get_driver(driver_name)
    sim = sims.serve(driver_name, HOST)
    recording = tmp_path / f"{driver_name}.snmprec"
    recording.write_text(asyncio.run(_record(HOST, sim.port)))
    replay = sims.serve_device(ReplayDevice.from_file(recording), REPLAY_HOST)

    expected = poll_readings(sim, driver)
    assert expected
    assert comparable(poll_readings(replay, driver)) == comparable(expected)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "1.3.6.1.2.1.1.3.0|2|2147483648\n",
            ": 1.3.6.1.2.1.1.3.0: raw value 2147483648 is outside",
        ),
        ("1.3.6.1.2.1.1.3.0|66|4294967296\n", ": 1.3.6.1.2.1.1.3.0: 4294967296 does not fit an"),
        ("1.3.6.1.2.1.1.3.0|64x|0a000001ff\n", ": 1.3.6.1.2.1.1.3.0: an IpAddress has 4 octets"),
        ("1.3.6.1.2.1.1.3.0|65|-1\n", ": 1.3.6.1.2.1.1.3.0: -1 does not fit a 32-bit counter"),
    ],
)
def test_a_value_its_type_cannot_carry_is_refused_naming_file_and_oid(
    tmp_path: Path, text: str, says: str
) -> None:
    recording = tmp_path / "bad.snmprec"
    recording.write_text(text)
    with pytest.raises(WalkError) as raised:
        ReplayDevice.from_file(recording)
    assert str(raised.value).startswith(f"{recording}{says}"), raised.value


def _replay_process(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fieldagent", "simulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_simulate_replay_serves_the_walk_until_stopped(tmp_path: Path, sig: signal.Signals) -> None:
    recording = tmp_path / "device.snmprec"
    recording.write_text(RECORDING)
    port = free_port(REPLAY_HOST, udp=True)
    process = _replay_process(
        "--replay", str(recording), "--listen", f"{REPLAY_HOST}:{port}", "--community", "c1"
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner == (
            f"replaying device.snmprec (11 objects) at {REPLAY_HOST}:{port}, SNMP v2c and v1\n"
        )
        assert "c1" not in banner  # a community is a secret
        done = fieldagent("identify", REPLAY_HOST, "--port", str(port), "--community", "c1")
        assert f"{REPLAY_HOST}:{port}\n  sysObjectID  1.3.6.1.4.1.99999.7\n" in done.stdout
        assert "sysDescr     Recorded device" in done.stdout
    finally:
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert stderr == ""


def test_simulate_replay_answers_on_the_default_address(tmp_path: Path) -> None:
    recording = tmp_path / "device.snmprec"
    recording.write_text(RECORDING)
    process = _replay_process("--replay", str(recording))
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
    if process.returncode == 71 and "already uses it" in stderr:  # pragma: no cover
        pytest.skip("127.0.0.1:16161 is in use on this machine")
    assert banner.startswith("replaying device.snmprec (11 objects) at 127.0.0.1:16161,")
    assert process.returncode == 0, stderr


def ups(device_id: str, host: str, port: int) -> dict[str, object]:
    return {"id": device_id, "driver": "ups_rfc1628", "host": host, "port": port}


def test_station_mode_serves_a_device_from_its_walk(sims: SimRunner, tmp_path: Path) -> None:
    recording = tmp_path / "ups.snmprec"
    recording.write_text(asyncio.run(_record(HOST, sims.serve("ups_rfc1628", HOST).port)))
    ups_port, other_port = free_port(REPLAY_HOST, udp=True), free_port("127.0.0.83", udp=True)
    path = write_station(
        tmp_path, [ups("ups1", REPLAY_HOST, ups_port), ups("ups2", "127.0.0.83", other_port)]
    )
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldagent",
            "simulate",
            "-c",
            str(path),
            "--replay",
            f"ups1={recording}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert sim.stdout is not None and sim.stdin is not None
        banner = [sim.stdout.readline() for _ in range(3)]
        assert banner[0].startswith(f"simulating ups2 (ups_rfc1628) at 127.0.0.83:{other_port}")
        assert banner[1] == f"replaying ups1 from ups.snmprec at {REPLAY_HOST}:{ups_port}\n"
        sim.stdin.write("set ups1 ups.battery.charge_pct 33\n")
        sim.stdin.write("set ups2 ups.battery.charge_pct 33\n")
        sim.stdin.flush()
        assert sim.stdout.readline() == (
            "error: ups1 replays a walk: its objects stay as recorded\n"
        )
        assert "ups.battery.charge_pct = 33" in sim.stdout.readline()
        replayed = fieldagent("poll", "-c", str(path), "ups1", "--json")
        simulated = fieldagent("poll", "-c", str(path), "ups2", "--json")
    finally:
        sim.terminate()
        sim.communicate(timeout=STOP_TIMEOUT_S)
    assert sim.returncode == 0
    assert replayed.returncode == 0, replayed.stderr
    charge = __import__("json").loads(replayed.stdout)["ups.battery.charge_pct"]
    assert charge["value"] == 100 and charge["quality"] == "ok"
    assert __import__("json").loads(simulated.stdout)["ups.battery.charge_pct"]["value"] == 33


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--replay", "{missing}"], "--replay: {missing}: cannot read: No such file or directory"),
        (["--replay", "{garbled}"], "--replay: {garbled}: line 2: cannot read the value 'NOPE'"),
        (
            ["--replay", "{walk}", "--listen", "192.0.2.1:161"],
            "--listen 192.0.2.1:161: not a loopback address (127.0.0.0/8 or ::1)",
        ),
        (["--replay", "{walk}", "--listen", "127.0.0.1"], "--listen 127.0.0.1: expected HOST:PORT"),
        (
            ["-c", "{station}", "--replay", "ups9={walk}"],
            "--replay ups9: the station file has no device 'ups9' (did you mean 'ups1'?)",
        ),
        (
            ["-c", "{station}", "--replay", "real={walk}"],
            "--replay real: device 'real' is at 192.0.2.10, not a loopback address",
        ),
        (["-c", "{station}", "--replay", "{walk}"], "--replay '{walk}': with -c, expected DEVICE"),
        (
            ["-c", "{station}", "--replay", "ups1={walk}", "--listen", "127.0.0.1:1"],
            "--listen and --community apply to --replay FILE alone",
        ),
    ],
)
def test_bad_replay_input_is_one_line_and_exit_78(
    tmp_path: Path, args: list[str], says: str
) -> None:
    names = {
        "missing": tmp_path / "missing.walk",
        "garbled": tmp_path / "garbled.walk",
        "walk": tmp_path / "device.snmprec",
        "station": write_station(
            tmp_path, [ups("ups1", "127.0.0.4", 16100), ups("real", "192.0.2.10", 161)]
        ),
    }
    names["garbled"].write_text('.1.3.6.1.2.1.1.1.0 = STRING: "ok"\n.1.3.6.1.2.1.1.2.0 = NOPE\n')
    names["walk"].write_text(RECORDING)
    done = fieldagent("simulate", *(arg.format(**names) for arg in args))
    assert done.returncode == 78, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(says.format(**names)), line


def test_a_replayed_station_device_answers_with_its_v3_credentials_only(
    sims: SimRunner, tmp_path: Path
) -> None:
    recording = tmp_path / "ups.snmprec"
    recording.write_text(asyncio.run(_record(HOST, sims.serve("ups_rfc1628", HOST).port)))
    port = free_port(REPLAY_HOST, udp=True)
    config = parse_config(
        {
            "station": {"id": "test", "name": "Test station"},
            "device": [
                {**ups("ups1", REPLAY_HOST, port), "snmp_version": "3", **credential_fields(V3)}
            ],
        },
        "test.toml",
    )
    station = SimulatedStation(
        config, get_driver, replays={"ups1": ReplayDevice.from_file(recording)}
    )
    assert dict(station.devices) == {} and list(station.replays) == ["ups1"]
    replay = station.simulators["ups1"]
    sims.call(replay.start())
    sims.adopt(replay)

    readings = poll_readings(replay, get_driver("ups_rfc1628"))
    assert readings["ups.battery.charge_pct"].value == 100
    wrong_key = dataclasses.replace(V3, auth_key="not-the-key")
    stranger = poll_once(replay, get_driver("ups_rfc1628"), **credential_fields(wrong_key))
    assert stranger.error is not None and "authentication failed" in stranger.error


def test_a_serial_device_cannot_be_replayed(tmp_path: Path) -> None:
    config = parse_config(
        {
            "station": {"id": "test", "name": "Test station"},
            "device": [{"id": "co", "driver": "changeover_ascii", "serial_port": "tty/co"}],
        },
        "test.toml",
    )
    recording = tmp_path / "device.snmprec"
    recording.write_text(RECORDING)
    with pytest.raises(
        ValueError, match="device 'co' is read over ascii: a walk replays SNMP only"
    ):
        SimulatedStation(config, get_driver, replays={"co": ReplayDevice.from_file(recording)})
