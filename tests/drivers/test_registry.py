"""The driver registry: Python modules and profiles in one place, a station's own
profiles beside its station file, and one broken module or profile never breaking the
others."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers import REGISTRY, STATION_PROFILES, discover_modules, station_registry
from fieldagent.profiles.load import load_profile
from fieldagent.sim.device import SimulatedDevice
from tests.agentproc import fieldagent
from tests.simrunner import SimRunner
from tests.stationfile import write_station

SHIPPED_OFFAIR = Path(REGISTRY.origins["offair_inovonics640"])


def station_profile(folder: Path, name: str, text: str | None = None) -> Path:
    """A station's own profile in profiles.d: the shipped off-air one under another name."""
    directory = folder / STATION_PROFILES
    directory.mkdir(exist_ok=True)
    body = text or SHIPPED_OFFAIR.read_text(encoding="utf-8").replace(
        'name = "offair_inovonics640"', f'name = "{name}"'
    )
    path = directory / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def package_with_a_broken_module(tmp_path: Path) -> Iterator[str]:
    """A driver package of two modules: one that loads, one that raises on import."""
    package = tmp_path / "stationdrivers"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "good.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import replace
            from drivers import REGISTRY
            DRIVER = replace(REGISTRY["ups_rfc1628"], name="good_ups")
            """
        ),
        encoding="utf-8",
    )
    (package / "broken.py").write_text("raise RuntimeError('left half-written')\n", "utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield str(package)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("stationdrivers")]:
            del sys.modules[name]


def test_a_module_that_fails_to_load_leaves_the_others_loaded(
    package_with_a_broken_module: str,
) -> None:
    registry = discover_modules("stationdrivers", [package_with_a_broken_module])
    assert list(registry) == ["good_ups"]
    (problem,) = registry.problems
    assert problem.lines == (
        "stationdrivers/broken.py: cannot be loaded: RuntimeError: left half-written",
    )


def test_the_shipped_registry_loads_every_module_and_profile() -> None:
    assert REGISTRY.problems == ()
    kinds = {origin.rsplit(".", 1)[1] for origin in REGISTRY.origins.values()}
    assert kinds == {"py", "toml"}


def test_a_stations_profiles_join_the_shipped_drivers_and_a_broken_one_is_left_out(
    tmp_path: Path,
) -> None:
    station = write_station(tmp_path, [])
    station_profile(tmp_path, "offair_site_b")
    station_profile(tmp_path, "broken_tx", "[profile]\nname = 'broken_tx'\n")
    station_profile(tmp_path, "ups_rfc1628")  # a shipped driver's name
    registry = station_registry(station)
    assert set(registry) == set(REGISTRY) | {"offair_site_b"}
    lines = [line for problem in registry.problems for line in problem.lines]
    folder = tmp_path / STATION_PROFILES
    assert f"{folder / 'broken_tx.toml'}: profile.title: required key is missing" in lines
    assert f"{folder / 'broken_tx.toml'}: metric: required key is missing" in lines
    assert any(
        line.startswith(f"{folder / 'ups_rfc1628.toml'}: profile.name: a driver called")
        and line.endswith("give the profile another name")
        for line in lines
    )
    assert station_registry(tmp_path / "elsewhere" / "station.toml") is REGISTRY


def test_a_device_on_a_broken_profile_is_refused_with_the_profiles_own_problems(
    tmp_path: Path,
) -> None:
    station = write_station(
        tmp_path, [{"id": "fm", "driver": "broken_tx", "host": "127.0.0.2", "community": "x"}]
    )
    station_profile(tmp_path, "broken_tx", "[profile]\nname = 'broken_tx'\n")
    done = fieldagent("check-config", "-c", str(station))
    assert done.returncode == 1
    assert "device 'fm'.driver: unknown driver 'broken_tx'" in done.stderr
    assert "broken_tx.toml: profile.title: required key is missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_station_profile_polls_its_device(tmp_path: Path, sims: SimRunner) -> None:
    """The whole path a technician takes: a profile in profiles.d, a device naming it,
    `fieldagent poll` reading it over UDP."""
    profile = station_profile(tmp_path, "offair_site_b")
    device = SimulatedDevice(load_profile(profile))
    sim = sims.serve_device(device, "127.0.0.2")
    device.set("offair.rssi_dbuv", 47)
    station = write_station(
        tmp_path,
        [{"id": "offair-b", "driver": "offair_site_b", "host": "127.0.0.2", "port": sim.port}],
    )
    done = fieldagent("poll", "-c", str(station), "offair-b", "--json")
    assert done.returncode == 0, done.stderr
    readings = json.loads(done.stdout)
    assert readings["offair.rssi_dbuv"] == {"value": 47, "unit": "dBuV", "quality": "ok"}
    listed = fieldagent("drivers", "-c", str(station))
    assert "offair_site_b" in listed.stdout


def test_profile_check_says_ok_or_every_problem(tmp_path: Path) -> None:
    good = station_profile(tmp_path, "offair_site_b")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        good.read_text(encoding="utf-8").replace('unit = "dBuV"', 'unti = "dBuV"'), "utf-8"
    )
    done = fieldagent("profile", "check", str(good), "-c", str(tmp_path / "station.toml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"{good}: ok (driver offair_site_b, offair over snmp, 12 metrics, 8 trap rules,"
        " 3 scenarios)"
    )
    failed = fieldagent("profile", "check", str(bad))
    assert failed.returncode == 1
    assert failed.stderr.strip() == (
        f"{bad}: metric[1] (offair.rssi_dbuv).unti: unknown key (did you mean 'unit'?)"
    )
    taken = fieldagent("profile", "check", str(SHIPPED_OFFAIR))
    assert taken.returncode == 0  # the shipped file is the driver of that name itself
    clash = tmp_path / "clash.toml"
    clash.write_text(SHIPPED_OFFAIR.read_text(encoding="utf-8"), "utf-8")
    refused = fieldagent("profile", "check", str(clash))
    assert refused.returncode == 1
    assert "a driver called 'offair_inovonics640' already exists" in refused.stderr
