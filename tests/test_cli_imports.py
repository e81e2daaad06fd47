"""What each command imports, in a fresh interpreter: `--help` answers from the parser
alone, and validating a station file never loads a transport or the MQTT client.

The modules are asserted by name, not by time (timing is bench/startup.py's): a module
import moved back to the top of cli.py, a driver or config module importing pysnmp,
fails here on every machine, fast or slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldagent.config import SnmpCredentials, SnmpVersion
from fieldagent.sim.snmp_agent import SnmpSimulator
from tests.agentproc import ROOT
from tests.simrunner import V3_SHA256, SimRunner, device_fields
from tests.stationfile import write_station
from tests.support.demo import demo_copy

TRANSPORTS = ("pysnmp", "pyasn1", "pysmi", "paho", "pymodbus", "serial", "aiohttp")
"""Loaded by the poller, the trap receiver, the publisher and the web page's server: never
to read a file."""

NOT_TO_PARSE = (
    *TRANSPORTS,
    "pydantic",
    "drivers",
    "asyncio",
    "sqlite3",
    "fieldagent.config",
    "fieldagent.checklist",
    "fieldagent.profiles",
    "fieldagent.driver",
)
"""What a command's handler may need, and parsing its arguments must not."""

_PROBE = """
import json, sys
from fieldagent.cli import main
out, argv = sys.argv[1], sys.argv[2:]
try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
with open(out, "w", encoding="utf-8") as file:
    json.dump({"code": code, "modules": sorted(sys.modules)}, file)
"""


def imported_by(tmp_path: Path, *args: str) -> tuple[object, set[str], str]:
    """Run `fieldagent ARGS` in a new interpreter: its exit code, every module it had
    imported when it finished, and what it printed."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    assert out.is_file(), done.stderr
    found = json.loads(out.read_text(encoding="utf-8"))
    return found["code"], set(found["modules"]), done.stdout + done.stderr


def among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The packages of `packages` that `modules` holds, itself or any module inside it."""
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["run", "--help"],
        ["check-config", "--help"],
        ["checklist", "run", "--help"],
        ["profile", "new", "--help"],
        ["identify", "--help"],
        ["doctor", "--help"],
        ["monitor", "--help"],
        ["readiness", "--help"],
        ["web", "--help"],
        ["web", "passwd", "--help"],
    ],
)
def test_help_imports_only_the_parser(tmp_path: Path, args: list[str]) -> None:
    code, modules, printed = imported_by(tmp_path, *args)
    assert code == 0, printed
    assert "fieldagent" in printed
    assert among(modules, NOT_TO_PARSE) == []


def test_a_bad_option_is_refused_by_the_parser_alone(tmp_path: Path) -> None:
    code, modules, printed = imported_by(tmp_path, "poll", "ups-main", "--no-such-option")
    assert code == 2
    assert "unrecognized arguments: --no-such-option" in printed
    assert among(modules, NOT_TO_PARSE) == []


def test_web_passwd_loads_no_web_library(tmp_path: Path) -> None:
    """The password file is made on any machine: no aiohttp, no MQTT client for it."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), "web", "passwd", str(tmp_path / "users"), "ops"],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    found = json.loads(out.read_text(encoding="utf-8"))
    assert found["code"] == 0, done.stderr
    assert among(set(found["modules"]), TRANSPORTS) == []
    assert (tmp_path / "users").stat().st_mode & 0o777 == 0o600


def test_check_config_validates_without_transports_or_mqtt(tmp_path: Path) -> None:
    # The demo station has a device of every protocol: SNMP, ASCII and Modbus serial, local.
    station = demo_copy(tmp_path / "config")
    code, modules, printed = imported_by(tmp_path, "check-config", "-c", str(station))
    assert code == 0, printed
    assert f"{station}: ok (station demo-hamtan" in printed
    # It did read the file with the models and every driver...
    assert among(modules, ("pydantic", "drivers", "fieldagent.config")) == [
        "drivers",
        "fieldagent.config",
        "pydantic",
    ]
    assert "drivers.generator_modbus" in modules and "drivers.fm_transmitter_ascii" in modules
    # ...and nothing that talks to a device or a broker.
    assert among(modules, TRANSPORTS) == []
    assert among(modules, ("fieldagent.transports", "fieldagent.publisher", "asyncio")) == []


def test_check_config_refusing_a_file_imports_no_transport_either(tmp_path: Path) -> None:
    station = tmp_path / "station.toml"
    station.write_text('[station]\nid = "x"\n', encoding="utf-8")
    station.chmod(0o600)
    code, modules, printed = imported_by(tmp_path, "check-config", str(station))
    assert code == 1
    assert str(station) in printed
    assert among(modules, TRANSPORTS) == []


def _station_of(tmp_path: Path, sim: SnmpSimulator) -> Path:
    return write_station(tmp_path, [device_fields("ups1", sim)], mqtt={"url": "mqtt://127.0.0.1:1"})


def test_polling_a_v2c_device_never_imports_pysnmp(tmp_path: Path, sims: SimRunner) -> None:
    # v1 / v2c go through the project's own BER codec: pysnmp (~34 MiB of RSS) and pyasn1
    # stay out of an agent whose devices are all community-based.
    sim = sims.serve("ups_rfc1628", "127.0.0.2", SnmpCredentials(version=SnmpVersion.V2C))
    sim.device.set("ups.battery.charge_pct", 64)
    code, modules, printed = imported_by(
        tmp_path, "poll", "-c", str(_station_of(tmp_path, sim)), "ups1"
    )
    assert code == 0, printed
    assert "ups.battery.charge_pct" in printed and " 64 " in printed  # it did read the device
    assert "fieldagent.transports.snmpudp" in modules
    assert among(modules, ("pysnmp", "pyasn1", "pysmi")) == []


def test_polling_a_v3_device_imports_pysnmp_then(tmp_path: Path, sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2", V3_SHA256)
    code, modules, printed = imported_by(
        tmp_path, "poll", "-c", str(_station_of(tmp_path, sim)), "ups1"
    )
    assert code == 0, printed
    assert "fieldagent.transports.pysnmpexchange" in modules
    assert among(modules, ("pysnmp", "pyasn1")) == ["pyasn1", "pysnmp"]


def test_the_daemon_imports_pysnmp_only_with_traps_on() -> None:
    # `fieldagent run` builds its trap receiver (pysnmp's engine, for v3 traps) only when
    # [traps] enabled; its poll path reads v1 / v2c without it.
    probe = "import json, sys, fieldagent.agent; json.dump(sorted(sys.modules), sys.stdout)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    modules = set(json.loads(done.stdout))
    assert "fieldagent.transports.snmp" in modules
    assert among(modules, ("pysnmp", "pyasn1", "fieldagent.traps")) == []
