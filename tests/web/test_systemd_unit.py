"""The web page's example unit: `systemd-analyze verify` clean with the real executable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agentproc import ROOT

UNIT = ROOT / "systemd" / "fieldagent-web.service"
INSTALLED = "/opt/fieldagent/current/bin/fieldagent"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_web_unit_verifies(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("fieldagent")
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED in text and "--passwords" in text
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(INSTALLED, str(executable)), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
