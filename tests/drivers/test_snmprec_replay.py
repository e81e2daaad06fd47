"""Drivers against agents nobody here wrote: .snmprec recordings replayed by snmpsim.

Three recordings, each served by a real `snmpsim-command-responder` process on its
own loopback address and a free port (snmpsim answers the community named after
the file, without `.snmprec`):

- one made here by walking the UPS simulator with net-snmp's snmpwalk, so the
  replay must read exactly what the simulator serves;
- one written by hand (tests/data/ups_tenths_charge.snmprec) for a card with
  the quirks of real UPS cards, charge in tenths of a percent among them, read
  through the station file's `[device.scaling]` override as the agent and
  `fieldagent poll` do;
- one written by hand (tests/data/cmts_unconfigured_channels.snmprec) for a
  CMTS that lists logical upstream channels nobody configured (SNR 0, IF-MIB
  ifAdminStatus down): listed, healthy, no alarm.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from drivers import REGISTRY, get_driver
from drivers import docsis_cmts as cmts
from drivers.docsis_cmts import DRIVER as CMTS
from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent import cli
from fieldagent.config import DeviceSection, load_config, parse_device
from fieldagent.driver import RawValue, split_row_key
from fieldagent.health import evaluate
from fieldagent.identify import identify
from fieldagent.localbroker import LocalBroker
from fieldagent.model import HealthState, PollResult, Quality, Value
from fieldagent.sim.device import parse_oid
from fieldagent.transports.snmp import SnmpClient, SnmpTarget
from tests.agentproc import fieldagent
from tests.alarms import Station, station_config, with_limits
from tests.mqtt_probe import MqttProbe, retained_snapshot
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station
from tests.support.snmpsim import DATA, Replay, ReplayFn, needs_snmpsim, poll_each

HAND_WRITTEN = DATA / "ups_tenths_charge.snmprec"
UNCONFIGURED_CHANNELS = DATA / "cmts_unconfigured_channels.snmprec"

WALK_TIMEOUT_S = 30.0


def walk(device: DeviceSection, root: str) -> dict[str, RawValue]:
    async def run() -> dict[str, RawValue]:
        client = SnmpClient()
        try:
            return await client.walk(SnmpTarget.from_device(device), root)
        finally:
            client.close()

    return asyncio.run(run())


def by_key(result: PollResult) -> dict[str, tuple[Value, Quality]]:
    return {r.key: (r.value, r.quality) for r in result.readings}


# -- a recording of the simulator, made with net-snmp's snmpwalk -------------------------

_SNMPREC_TAGS = {
    "INTEGER": "2",
    "STRING": "4",
    "Hex-STRING": "4x",
    "OID": "6",
    "IpAddress": "64",
    "Counter32": "65",
    "Gauge32": "66",
    "Timeticks": "67",
    "Counter64": "70",
}
"""net-snmp's type names -> snmprec type tags (the BER tag: class + number)."""

_END_OF_MIB = "No more variables left in this MIB View"


def record(host: str, port: int, community: str) -> str:
    """Walk an agent with snmpwalk and write what it served as .snmprec text.

    Numeric OIDs, numeric enums and timeticks, and every string in hex (-Ox),
    so any byte, a newline or a NUL, survives the round trip.
    """
    options = ["-On", "-Oe", "-Ot", "-Ox", "-t", "1", "-r", "1"]
    walked = subprocess.run(
        ["snmpwalk", "-v2c", "-c", community, *options, f"{host}:{port}", "1.3.6.1"],
        capture_output=True,
        text=True,
        timeout=WALK_TIMEOUT_S,
        check=True,
    )
    return snmprec_from_walk(walked.stdout)


def snmprec_from_walk(output: str) -> str:
    """snmpwalk -On -Ox output -> .snmprec lines, in OID order (snmpsim needs it)."""
    records: list[list[str]] = []
    for line in output.splitlines():
        if line.startswith("."):
            oid, _, typed = line.partition(" = ")
            records.append([oid[1:], typed])
        elif records and line.strip():  # a long Hex-STRING goes on over several lines
            records[-1][1] += " " + line.strip()
    lines = [_snmprec_line(oid, typed) for oid, typed in records if _END_OF_MIB not in typed]
    return "".join(sorted(lines, key=lambda line: parse_oid(line.split("|")[0])))


def _snmprec_line(oid: str, typed: str) -> str:
    if typed == "NULL":
        return f"{oid}|5|\n"
    if typed == '""':
        return f"{oid}|4|\n"
    type_name, _, value = typed.partition(": ")
    tag = _SNMPREC_TAGS[type_name]  # KeyError: a type this recorder does not know yet
    if tag == "4x":
        value = "".join(value.split()).lower()
    elif tag == "6":
        value = value.lstrip(".")
    return f"{oid}|{tag}|{value}\n"


def test_a_walk_becomes_ordered_snmprec_with_hex_strings_and_types_kept() -> None:
    output = (
        ".1.3.6.1.2.1.33.1.2.1.0 = INTEGER: 2\n"
        ".1.3.6.1.2.1.1.1.0 = Hex-STRING: 55 50 53 0A 63 61 72 64 20 28 73 69 6D 75 6C 61 \n"
        "74 65 64 29 \n"
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.2.1.33\n"
        ".1.3.6.1.2.1.1.3.0 = Timeticks: 4711\n"
        ".1.3.6.1.2.1.33.1.2.2.0 = NULL\n"
        ".1.3.6.1.2.1.33.1.3.1.0 = Counter32: 7\n"
        ".1.3.6.1.2.1.33.1.3.3.1.3.1 = Gauge32: 226\n"
        ".1.3.6.1.2.1.33.1.3.3.1.3.1 = No more variables left in this MIB View (It is past"
        " the end of the MIB tree)\n"
    )
    assert snmprec_from_walk(output) == (
        "1.3.6.1.2.1.1.1.0|4x|5550530a63617264202873696d756c6174656429\n"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.2.1.33\n"
        "1.3.6.1.2.1.1.3.0|67|4711\n"
        "1.3.6.1.2.1.33.1.2.1.0|2|2\n"
        "1.3.6.1.2.1.33.1.2.2.0|5|\n"
        "1.3.6.1.2.1.33.1.3.1.0|65|7\n"
        "1.3.6.1.2.1.33.1.3.3.1.3.1|66|226\n"
    )


@needs_snmpsim
@pytest.mark.skipif(shutil.which("snmpwalk") is None, reason="net-snmp's snmpwalk is missing")
@pytest.mark.parametrize("name", ["ups_rfc1628", "ird_pbi_dch", "rs_xx8000_dvbt"])
def test_a_recording_of_the_simulator_replays_to_the_same_readings(
    sims: SimRunner, replay: ReplayFn, tmp_path: Path, name: str
) -> None:
    """The UPS, and the drivers built on vendor MIBs whose values are text or computed."""
    driver = get_driver(name)
    simulator = sims.serve(name, "127.0.0.71")
    data = tmp_path / "data"
    data.mkdir()
    recording = data / f"{name}_walk.snmprec"
    recording.write_text(record(simulator.host, simulator.port, simulator.access.community))
    replayed = replay(data, "127.0.0.72")
    served = parse_device(device_fields("sim", simulator))
    replaying = replayed.device(f"{name}_walk", driver=name)

    from_simulator, from_replay = poll_each([(served, driver), (replaying, driver)])

    assert from_replay.error is None
    assert by_key(from_replay) == by_key(from_simulator)
    initial = driver.simulator.initial  # a computed reading (a VSWR) may have no value there
    assert {k: v for k, (v, _) in by_key(from_replay).items() if k in initial} == dict(initial)
    assert {q for _, q in by_key(from_replay).values()} == {Quality.OK}
    # Every object, not only those the driver asks for: GETBULK against snmpsim too.
    assert walk(replaying, "1.3.6.1") == walk(served, "1.3.6.1")
    assert len(recording.read_text().splitlines()) == len(walk(served, "1.3.6.1"))


# -- a hand-written recording of a quirky card -------------------------------------------

STATION = """\
[station]
id = "dong-ha"
name = "Đài truyền thanh Đông Hà"

[agent]
state_dir = "state"

[[device]]
id = "ups-odd"
driver = "ups_rfc1628"
host = "{host}"
port = {port}
snmp_version = "{version}"
community = "ups_tenths_charge"
timeout = 1.0
request_retries = 1

[device.scaling]
"ups.battery.charge_pct" = 0.1
"""

EXPECTED = {
    "ups.ident.manufacturer": ("SANTAK", Quality.OK),  # served without its .0
    "ups.ident.model": ("Castle 3K", Quality.OK),
    "ups.battery.status": ("normal", Quality.OK),
    "ups.battery.on_battery_s": (None, Quality.MISSING),  # a NULL value
    "ups.battery.runtime_min": (None, Quality.MISSING),  # -1
    "ups.battery.charge_pct": (100.0, Quality.OK),  # 1000 tenths, scaled by the station file
    "ups.battery.voltage_v": (81.6, Quality.OK),
    "ups.battery.temperature_c": (None, Quality.MISSING),  # 0: the card has no sensor
    "ups.input.voltage_v": (229, Quality.OK),  # Gauge32 instead of INTEGER
    "ups.input.frequency_hz": (50.0, Quality.OK),
    "ups.output.source": ("normal", Quality.OK),
    "ups.output.load_pct": (42, Quality.OK),
}


@pytest.fixture
def quirky_card(replay: ReplayFn, tmp_path: Path) -> Replay:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(HAND_WRITTEN, data)
    return replay(data, "127.0.0.73")


def station_file(tmp_path: Path, card: Replay, version: str = "2c") -> Path:
    path = tmp_path / "station.toml"
    path.write_text(STATION.format(host=card.host, port=card.port, version=version))
    return path


@pytest.mark.parametrize("recording", sorted(DATA.glob("*.snmprec")), ids=lambda p: p.stem)
def test_the_hand_written_recordings_are_in_oid_order(recording: Path) -> None:
    """snmpsim answers GETNEXT by searching the file: records out of order would be skipped."""
    oids = [
        parse_oid(line.split("|")[0])
        for line in recording.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert oids == sorted(oids)
    assert len(oids) == len(set(oids))


@needs_snmpsim
@pytest.mark.parametrize("version", ["1", "2c"])
def test_a_quirky_card_is_read_with_the_station_files_scaling(
    quirky_card: Replay, tmp_path: Path, version: str
) -> None:
    config = load_config(station_file(tmp_path, quirky_card, version), known_drivers=REGISTRY)
    device = config.find_device("ups-odd")
    driver = get_driver(device.driver).with_scaling(device.scaling)

    (result,) = poll_each([(device, driver)])

    assert result.error is None
    assert by_key(result) == EXPECTED
    assert evaluate(driver, result).state is HealthState.OK


@needs_snmpsim
def test_without_the_scaling_the_tenths_are_invalid_not_a_false_value(
    quirky_card: Replay,
) -> None:
    (result,) = poll_each([(quirky_card.device("ups_tenths_charge", UPS.name), UPS)])

    readings = {r.key: r for r in result.readings}
    charge = readings.pop("ups.battery.charge_pct")
    assert (charge.value, charge.quality) == (None, Quality.INVALID)
    assert "1000 outside the valid range" in charge.detail
    assert {k: (r.value, r.quality) for k, r in readings.items()} == {
        k: v for k, v in EXPECTED.items() if k != "ups.battery.charge_pct"
    }


@needs_snmpsim
def test_fieldagent_poll_applies_the_scaling(
    quirky_card: Replay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["poll", "-c", str(station_file(tmp_path, quirky_card)), "ups-odd", "--json"])

    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["ups.battery.charge_pct"] == {"value": 100.0, "unit": "%", "quality": "ok"}
    assert printed["ups.battery.runtime_min"]["quality"] == "missing"


@needs_snmpsim
def test_identify_reads_the_hex_sysdescr_and_suggests_the_ups_driver(
    quirky_card: Replay,
) -> None:
    async def run() -> tuple[str | None, str | None, list[str]]:
        client = SnmpClient()
        try:
            target = SnmpTarget.from_device(quirky_card.device("ups_tenths_charge", UPS.name))
            found = await identify(client, target, REGISTRY.values())
        finally:
            client.close()
        return found.sys_descr, found.sys_object_id, [s.driver.name for s in found.suggestions]

    descr, object_id, suggested = asyncio.run(run())

    assert descr == "UPS SNMP Agent\r\nFirmware v2.10"
    assert object_id == "1.3.6.1.2.1.33"
    assert UPS.name in suggested


# -- a hand-written recording of a CMTS with unconfigured logical channels ---------------

CMTS_COMMUNITY = UNCONFIGURED_CHANNELS.stem
CONFIGURED, UNCONFIGURED = ("5", "7"), ("6", "8")
"""Logical upstream channels by ifIndex: the first and second of each of the two ports."""


@pytest.fixture
def cmts_recording(replay: ReplayFn, tmp_path: Path) -> Replay:
    data = tmp_path / "cmts-data"
    data.mkdir()
    shutil.copy(UNCONFIGURED_CHANNELS, data)
    return replay(data, "127.0.0.74")


def in_use_by_channel(result: PollResult, key: str) -> dict[str, tuple[Value, bool]]:
    """Channel -> (value, in use) of one column."""
    return {
        parts[2]: (r.value, r.in_use)
        for r in result.readings
        if (parts := split_row_key(r.key)) is not None and parts[0] == key
    }


@needs_snmpsim
def test_unconfigured_channels_are_listed_healthy_and_raise_no_alarm(
    cmts_recording: Replay,
) -> None:
    device = cmts_recording.device(CMTS_COMMUNITY, driver=CMTS.name)

    first, second = poll_each([(device, CMTS), (device, CMTS)])  # two: counters become rates

    assert second.error is None
    assert in_use_by_channel(second, cmts.SNR) == {
        "5": (35.2, True),
        "6": (0, False),
        "7": (31.8, True),
        "8": (0, False),
    }
    # ifTable's Ethernet, downstream and physical upstream rows are no channel.
    assert set(in_use_by_channel(second, cmts.ADMIN_STATUS)) == {*CONFIGURED, *UNCONFIGURED}
    assert {r.quality for r in second.readings} == {Quality.OK}
    assert evaluate(CMTS, second).problems == ()
    immediate = {"delay_s": 0, "clear_delay_s": 0}
    station = Station(
        station_config(
            [
                with_limits(
                    {"id": "cmts1", "driver": CMTS.name, "host": cmts_recording.host},
                    docsis__upstream__snr_db=immediate,
                    docsis__upstream__oper_status=immediate,
                )
            ]
        )
    )
    assert station.engine.observe("cmts1", first) + station.engine.observe("cmts1", second) == []
    # What the declaration does: judged row by row, the unconfigured channels are critical.
    undeclared = replace(CMTS, rows_in_use=())
    (every_row,) = poll_each([(device, undeclared)])
    assert {p.metric for p in evaluate(undeclared, every_row).problems} == {
        f"{key}[channel={channel}]"
        for key in (cmts.SNR, cmts.OPER_STATUS)
        for channel in UNCONFIGURED
    }


@needs_snmpsim
def test_the_agent_publishes_unconfigured_channels_as_not_in_use_and_the_cmts_healthy(
    cmts_recording: Replay, tmp_path: Path, broker: LocalBroker, probe: MqttProbe
) -> None:
    config = write_station(
        tmp_path,
        [
            {
                "id": "cmts1",
                "driver": CMTS.name,
                "host": cmts_recording.host,
                "port": cmts_recording.port,
                "community": CMTS_COMMUNITY,
                "timeout": 1.0,
                "request_retries": 1,
            }
        ],
        mqtt={"url": broker.url},
    )

    done = fieldagent("run", "-c", str(config), "--once")

    assert done.returncode == 0, done.stderr
    root = "bctv/v1/test-station"
    health = retained_snapshot(broker.host, broker.port, [f"{root}/cmts1/health"])
    assert (health[f"{root}/cmts1/health"]["state"], health[f"{root}/cmts1/health"]["alarms"]) == (
        "ok",
        [],
    )
    (telemetry,) = [
        m.json()
        for m in probe.wait_for(lambda ms: any(m.topic.endswith("/telemetry") for m in ms))
        if m.topic.endswith("/telemetry")
    ]
    # Compact telemetry (the default): a --once run sends a snapshot, `off` lists unused rows.
    assert telemetry["full"] is True
    for channel in UNCONFIGURED:
        assert telemetry["val"][f"{cmts.SNR}[channel={channel}]"] == 0
        assert f"{cmts.SNR}[channel={channel}]" in telemetry["off"]
    for channel in CONFIGURED:
        assert f"{cmts.SNR}[channel={channel}]" in telemetry["val"]
        assert f"{cmts.SNR}[channel={channel}]" not in telemetry["off"]


@needs_snmpsim
def test_fieldagent_poll_marks_the_unconfigured_channels(
    cmts_recording: Replay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_station(
        tmp_path,
        [
            {
                "id": "cmts1",
                "driver": CMTS.name,
                "host": cmts_recording.host,
                "port": cmts_recording.port,
                "community": CMTS_COMMUNITY,
            }
        ],
    )

    assert cli.main(["poll", "-c", str(config), "cmts1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[f"{cmts.SNR}[channel=6]"] == {
        "value": 0,
        "unit": "dB",
        "quality": "ok",
        "in_use": False,
    }
    assert "in_use" not in printed[f"{cmts.SNR}[channel=5]"]

    assert cli.main(["poll", "-c", str(config), "cmts1"]) == 0
    table = capsys.readouterr().out
    assert f"{cmts.SNR}[channel=8]" in table and "ok, not in use" in table
    assert "health: ok" in table
