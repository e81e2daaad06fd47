"""The demo station served by `fieldagent simulate`, and `fieldagent checklist run` on it.

Every device of config/demo-station.toml is simulated by a real `simulate` process
(SNMP over UDP, serial lines on pseudo-terminals) playing the scenarios a test
chooses; the checklist command then runs as a process against it, exactly as a
technician would run it.  Each SNMP device keeps its demo address (127.0.0.x) but
gets a free port instead of 16161, so a demo or simulator already running on this
machine (an engineer's, another checkout's test run) cannot answer in its place.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from drivers import REGISTRY
from fieldagent.checklist.history import CounterHistory, Sample
from fieldagent.config import SerialDevice, SnmpDevice, load_config
from fieldagent.model import utc_now
from tests.agentproc import ROOT, fieldagent
from tests.support.demo import DEMO, free_demo_ports, on_ports

START_TIMEOUT_S = 15.0
START_ATTEMPTS = 3
READY_LINE = "type 'help' for commands"
"""The simulator prints it once every device is served (after its `simulating ...` lines)."""

SEEDED_HISTORY = {
    "changeover": ("changeover.switch_count", 2.0),
    "generator": ("gen.run_hours", 1234.3),
}
"""Counter values a month ago, as an agent running since then would have stored them.

The simulators start at 3 switch-overs and 1234.5 run hours: one switch and 12
minutes of running within the 30-day window, enough for both readiness items.
"""

_SERIAL = re.compile(r'^serial_port = "\.\./state/demo/tty/([^"]+)"$', re.MULTILINE)
_STATE_DIR = re.compile(r'^state_dir = "[^"]*"$', re.MULTILINE)


class _PortTaken(AssertionError):
    """The simulator could not bind a port free_port had found free a moment before."""


class SimulatedDemo:
    """`fieldagent simulate` serving the demo station's devices, started and stopped here."""

    def __init__(self, folder: Path, scenarios: Mapping[str, str], time_scale: float) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.scenarios = dict(scenarios)
        self._text = DEMO.read_text(encoding="utf-8")
        self._tty = folder / "tty"
        self._log = folder / "simulate.log"
        for attempt in range(1, START_ATTEMPTS + 1):
            self._ports = free_demo_ports(self._text)
            self._start(time_scale)
            try:
                self.started = self._wait_until_serving()
                return
            except _PortTaken:
                if attempt == START_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise

    def _start(self, time_scale: float) -> None:
        config = self.station_file(self.folder / "simulator")
        args = [f"--scenario={device}={name}" for device, name in self.scenarios.items()]
        self._lines: queue.Queue[str | None] = queue.Queue()
        with self._log.open("w", encoding="utf-8") as log:  # a pipe could fill up and block
            self._process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "fieldagent", "simulate", "-c", str(config)),
                    *(*args, "--time-scale", f"{time_scale:g}"),
                ],
                stdin=subprocess.PIPE,  # its command reader then waits, as on a terminal
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        threading.Thread(
            target=_read_lines, args=(self._process, self._lines), name="simulate", daemon=True
        ).start()

    def station_file(self, state_dir: Path) -> Path:
        """A copy of the demo station file reaching this simulator, with its own state dir.

        Tests that must not see each other's history or archive each get one.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        text = _STATE_DIR.sub(lambda _: f"state_dir = {json.dumps(str(state_dir))}", self._text)
        text = _SERIAL.sub(lambda m: f"serial_port = {json.dumps(str(self._tty / m[1]))}", text)
        text = on_ports(text, self._ports)
        path = state_dir / "station.toml"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)  # the demo's v3 keys: the agent refuses to start from an open file
        config = load_config(path, known_drivers=REGISTRY)
        assert config.agent.state_dir == state_dir, "the demo station's state_dir moved?"
        for device in config.device:
            if isinstance(device, SerialDevice):
                assert device.serial_port.parent == self._tty, device
            elif isinstance(device, SnmpDevice):
                assert device.port == self._ports[device.host], device
        return path

    def stop(self) -> None:
        """Stop the simulator like Ctrl-C would; kill it if it does not go."""
        if self._process.poll() is None:
            self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        if self._process.stdin is not None:
            self._process.stdin.close()

    def _wait_until_serving(self) -> list[str]:
        """The `simulating ...` lines, once the simulator says every device is served."""
        deadline = time.monotonic() + START_TIMEOUT_S
        lines: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"simulate did not serve within {START_TIMEOUT_S:g} s: {lines}"
                ) from None
            if line is None:
                self._process.wait(timeout=5)
                errors = self._log.read_text(encoding="utf-8")
                if "Address already in use" in errors:
                    raise _PortTaken(errors)  # by someone else since free_port looked
                raise AssertionError(
                    f"simulate exited with {self._process.returncode}: {lines}\n{errors}"
                )
            if line.startswith(READY_LINE):
                return lines
            lines.append(line)


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    """Each line `process` prints, then None at its end."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def polled(station: Path, device: str) -> dict[str, dict[str, Any]]:
    """`fieldagent poll DEVICE --json`: the readings by key ({value, unit, quality})."""
    done = fieldagent("poll", "-c", str(station), device, "--json", timeout=30)
    assert done.returncode == 0, f"poll {device}: {done.returncode}\n{done.stderr}"
    readings: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return readings


Readings = dict[str, dict[str, Any]]


def wait_for(
    station: Path,
    device: str,
    shows: Callable[[Readings], bool],
    what: str,
    timeout: float = 20.0,
) -> Readings:
    """Poll `device` until its readings show `what` (a developing fault); fail on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        readings = polled(station, device)
        if shows(readings):
            return readings
        if time.monotonic() > deadline:
            raise AssertionError(f"{device} did not show {what} within {timeout:g} s: {readings}")
        time.sleep(0.2)


def seed_history(state_dir: Path, days_ago: float = 31) -> None:
    """Store the counters' values of a month ago (SEEDED_HISTORY) in the state dir."""
    history = CounterHistory(state_dir)
    try:
        ts = utc_now() - timedelta(days=days_ago)
        for device, (key, value) in SEEDED_HISTORY.items():
            history.record(device, [(key, Sample(ts, value))])
    finally:
        history.close()


@dataclass(frozen=True)
class ChecklistRun:
    """One `fieldagent checklist run --format json`: exit code, report and archived file."""

    returncode: int
    report: dict[str, Any]
    stdout: str
    stderr: str
    archived: Path

    def item(self, item_id: str) -> dict[str, Any]:
        return next(i for i in self.report["items"] if i["id"] == item_id)

    def statuses(self) -> dict[str, str]:
        return {item["id"]: item["status"] for item in self.report["items"]}

    def check(self, item_id: str, device: str | None, row: str | None = None) -> dict[str, Any]:
        """The item's check of `device` (and `row`); fails the test if there is none."""
        checks = [
            c for c in self.item(item_id)["checks"] if c["device"] == device and c["row"] == row
        ]
        assert len(checks) == 1, f"{item_id}: no single check of {device} {row}: {checks}"
        return checks[0]


_ARCHIVED = re.compile(r"\((/[^()\n]+\.json)\)\s*$")


def run_checklist(station: Path, *args: str, timeout: float = 60.0) -> ChecklistRun:
    """`fieldagent checklist run -c STATION --format json ARGS...` on a non-terminal stdin."""
    done = fieldagent(
        "checklist", "run", "-c", str(station), "--format", "json", *args, timeout=timeout
    )
    assert done.returncode in (0, 1, 2), f"exit {done.returncode}\n{done.stderr}"
    found = _ARCHIVED.search(done.stderr)
    assert found, f"no archived report named on stderr:\n{done.stderr}"
    return ChecklistRun(
        done.returncode, json.loads(done.stdout), done.stdout, done.stderr, Path(found[1])
    )
