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


def test_the_unit_does_not_restart_the_agent_on_an_unusable_config(tmp_path: Path) -> None:
    """A broken station file must not become a restart loop: the unit's
    RestartPreventExitStatus must be the code the agent exits with on it."""
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    prevent = {
        int(code)
        for line in lines
        if line.startswith("RestartPreventExitStatus=")
        for code in line.split("=", 1)[1].split()
    }
    broken = tmp_path / "station.toml"
    broken.write_text("[station]\nid = 'bad id!'\n", encoding="utf-8")
    done = fieldagent("run", "-c", str(broken))
    assert done.returncode in prevent, (done.returncode, prevent)
