"""doctor on serial ports: real pseudo-terminals behind a link, judged for another account.

The tests run as root, whom the kernel lets open any node: the checks judge the
node's owner, group and mode against the service account ("nobody" here), so
they can fail for it while root would open the port.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldagent.doctor.serial import UNIT_GROUPS
from tests.agentproc import ROOT
from tests.doctor.doctorrun import doctor, station


@pytest.fixture
def pty_link(tmp_path: Path) -> Iterator[Path]:
    """A pseudo-terminal's node behind a stable link, as /dev/serial/by-id/ gives them."""
    master, slave = os.openpty()
    link = tmp_path / "ttyUSB-test"
    link.symlink_to(os.ttyname(slave))
    yield link
    os.close(slave)
    os.close(master)


def _serial_station(tmp_path: Path, port: Path) -> Path:
    device = {"id": "changeover", "driver": "changeover_ascii", "serial_port": port}
    path = station(tmp_path, devices=[device])
    path.chmod(0o644)  # the account under test may read it: only the port is judged
    (tmp_path / "state").chmod(0o777)
    return path


def _serial_row(path: Path) -> dict[str, Any]:
    return doctor(path, devices=False, user="nobody").row("serial")


def test_a_port_open_to_the_account_passes(tmp_path: Path, pty_link: Path) -> None:
    os.chmod(pty_link, 0o666)
    row = _serial_row(_serial_station(tmp_path, pty_link))
    assert (row["status"], row["code"]) == ("pass", "serial_ok")


def test_a_missing_port_fails(tmp_path: Path) -> None:
    row = _serial_row(_serial_station(tmp_path, tmp_path / "ttyUSB9"))
    assert (row["status"], row["code"]) == ("fail", "serial_missing")
    assert "/dev/serial/by-id/" in row["fix"]["en"]


def test_a_regular_file_is_not_a_port(tmp_path: Path) -> None:
    file = tmp_path / "not-a-tty"
    file.write_text("", encoding="utf-8")
    row = _serial_row(_serial_station(tmp_path, file))
    assert (row["status"], row["code"]) == ("fail", "serial_not_char")


def test_a_port_of_a_group_the_account_is_not_in_names_the_group_to_join(
    tmp_path: Path, pty_link: Path
) -> None:
    os.chown(pty_link, 0, 5)  # group tty: granted to no service
    os.chmod(pty_link, 0o660)
    row = _serial_row(_serial_station(tmp_path, pty_link))
    assert (row["status"], row["code"]) == ("fail", "serial_group")
    assert "sudo usermod -aG tty nobody" in row["fix"]["en"]


def test_a_dialout_port_is_open_to_the_service_but_not_to_a_command_by_hand(
    tmp_path: Path, pty_link: Path
) -> None:
    os.chown(pty_link, 0, 20)  # dialout, which the shipped unit grants
    os.chmod(pty_link, 0o660)
    row = _serial_row(_serial_station(tmp_path, pty_link))
    assert (row["status"], row["code"]) == ("warn", "serial_group_unit")
    assert "sudo usermod -aG dialout nobody" in row["fix"]["en"]


def test_a_port_nobody_may_open_fails_with_its_mode(tmp_path: Path, pty_link: Path) -> None:
    os.chmod(pty_link, 0o000)
    row = _serial_row(_serial_station(tmp_path, pty_link))
    assert (row["status"], row["code"]) == ("fail", "serial_no_access")
    assert "mode 0000" in row["result"]["en"] and "chmod 660" in row["fix"]["en"]


def test_the_groups_counted_as_granted_are_the_shipped_units() -> None:
    unit = (ROOT / "systemd" / "fieldagent.service").read_text(encoding="utf-8")
    granted = re.search(r"^SupplementaryGroups=(.*)$", unit, re.MULTILINE)
    assert granted is not None
    assert set(granted.group(1).split()) == UNIT_GROUPS
