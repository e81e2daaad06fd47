"""docs/profiles.md's walkthrough, command by command, as a technician runs it.

A device no driver of the station knows (here: a simulated FM off-air receiver, whose
profile the station does not have under that name) is walked with net-snmp, a profile
is drafted from the walk into the station's profiles.d, checked, and the device is
polled with it: first the device itself, then the walk replayed in its place.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fieldagent.localbroker import free_port
from tests.agentproc import ROOT, fieldagent
from tests.simrunner import SimRunner

HOST = "127.0.0.86"
STOP_TIMEOUT_S = 10.0

needs_snmpwalk = pytest.mark.skipif(
    shutil.which("snmpwalk") is None, reason="net-snmp's snmpwalk is not installed"
)


def scratch_station(folder: Path, port: int) -> Path:
    """The scratch station file of the walkthrough: one device on the drafted profile."""
    path = folder / "scratch.toml"
    path.write_text(
        "[station]\n"
        'id = "scratch"\n'
        'name = "Scratch"\n\n'
        "[[device]]\n"
        'id = "fm1"\n'
        'driver = "acme_fm"\n'
        f'host = "{HOST}"\n'
        f"port = {port}\n"
        'community = "public"\n'
        "timeout = 1.0\n",
        encoding="utf-8",
    )
    return path


@needs_snmpwalk
def test_from_a_walk_to_a_polled_device_without_python(tmp_path: Path, sims: SimRunner) -> None:
    device = sims.serve("offair_inovonics640", HOST)
    walked = subprocess.run(
        ["snmpwalk", "-v2c", "-c", "public", "-On", f"{HOST}:{device.port}", ".1.3.6.1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    walk = tmp_path / "acme-fm.walk"
    walk.write_text(walked.stdout, encoding="utf-8")

    profile = tmp_path / "profiles.d" / "acme_fm.toml"
    profile.parent.mkdir()
    drafted = fieldagent(
        "profile", "new", "--from-walk", str(walk), "--name", "acme_fm", "--kind", "offair",
        "-o", str(profile),
    )  # fmt: skip
    assert drafted.returncode == 0, drafted.stderr
    checked = fieldagent("profile", "check", str(profile), "-c", str(tmp_path / "scratch.toml"))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{profile}: ok (driver acme_fm, offair over snmp,")

    station = scratch_station(tmp_path, device.port)
    live = fieldagent("poll", "-c", str(station), "fm1", "--json")
    assert live.returncode == 0, live.stderr
    from_device = json.loads(live.stdout)
    assert from_device and all(r["quality"] == "ok" for r in from_device.values())
    served = {r["value"] for r in from_device.values()}
    assert {97.5, 62, "HAMTAN"} <= served or {9750, 62, "HAMTAN"} <= served

    port = free_port(HOST, udp=True)
    replay = subprocess.Popen(
        [sys.executable, "-m", "fieldagent", "simulate", "--replay", str(walk),
         "--listen", f"{HOST}:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert replay.stdout is not None
        assert replay.stdout.readline().startswith("replaying acme-fm.walk (")
        replayed = fieldagent("poll", "-c", str(scratch_station(tmp_path, port)), "fm1", "--json")
        assert replayed.returncode == 0, replayed.stderr
        assert json.loads(replayed.stdout) == from_device
        ranked = fieldagent("identify", HOST, "--port", str(port), "-c", str(station), "--json")
        candidates = [c["driver"] for c in json.loads(ranked.stdout)["candidates"]]
        assert "acme_fm" in candidates[:2] and "offair_inovonics640" in candidates[:2]
    finally:
        replay.terminate()
        replay.communicate(timeout=STOP_TIMEOUT_S)
