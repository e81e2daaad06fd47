"""The shipped systemd unit passes `systemd-analyze verify` with the real executable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agentproc import ROOT, fieldagent

UNIT = ROOT / "systemd" / "fieldagent.service"
INSTALLED = "/opt/fieldagent/.venv/bin/fieldagent"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_verifies(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("fieldagent")
    assert executable.exists(), "the console script is installed next to the interpreter"
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED in text
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(INSTALLED, str(executable)), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def _settings(name: str) -> list[str]:
    """The values of one [Service] setting, as systemd reads them (one per line)."""
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    return [line.split("=", 1)[1] for line in lines if line.startswith(f"{name}=")]


def test_only_the_main_process_can_fail_the_start() -> None:
    """RestartPreventExitStatus= reads the main process's exit status only: a failing
    ExecStartPre= (or ExecStartPost=) restarts the unit every RestartSec, forever.
    Helpers prefixed with '-' cannot fail the unit."""
    helpers = [
        (name, command)
        for name in ("ExecStartPre", "ExecStartPost", "ExecCondition")
        for command in _settings(name)
        if not command.startswith("-")
    ]
    assert helpers == []


def test_the_unit_does_not_restart_the_agent_on_an_unusable_config(tmp_path: Path) -> None:
    """The unit's own ExecStart on a broken station file: it exits with a code the unit's
    RestartPreventExitStatus lists, and its last line (the journal's) says why."""
    prevent = {
        int(code) for value in _settings("RestartPreventExitStatus") for code in value.split()
    }
    assert _settings("Restart") == ["on-failure"]
    broken = tmp_path / "station.toml"
    broken.write_text("[station]\nid = 'bad id!'\n", encoding="utf-8")
    [exec_start] = _settings("ExecStart")
    executable, *args = exec_start.split()
    assert executable == INSTALLED
    args = [str(broken) if arg == "/etc/fieldagent/station.toml" else arg for arg in args]
    done = fieldagent(*args)
    assert done.returncode in prevent, (done.returncode, prevent)
    last = done.stderr.splitlines()[-1]
    assert "not started" in last and "systemd does not restart it" in last, done.stderr


def test_the_agent_tells_systemd_when_it_is_ready_and_alive() -> None:
    """The agent sends READY=1 and earns each WATCHDOG=1 (fieldagent/liveness.py); the
    watchdog leaves room for the default poll rhythm (10 s interval, a ping every 30 s)."""
    assert _settings("Type") == ["notify"]
    assert _settings("NotifyAccess") == ["main"]
    [watchdog] = _settings("WatchdogSec")
    assert watchdog.endswith("s") and 30 <= int(watchdog.removesuffix("s")) <= 300, watchdog
