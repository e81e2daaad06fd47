"""The simulated serial cable's link: it replaces only a link at the station file's port path,
never a file that happens to be there. Real pseudo-terminals, real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fieldagent.sim.pty import PtyPort, Reply


class Silent:
    """A device side that never answers: these tests are about the link, not the protocol."""

    def feed(self, data: bytes) -> list[Reply]:
        return []


def test_a_file_at_the_port_path_is_neither_replaced_nor_removed(tmp_path: Path) -> None:
    path = tmp_path / "ttyUSB-ups"
    path.write_text("someone's notes\n", encoding="utf-8")
    port = PtyPort(path, Silent())

    with pytest.raises(FileExistsError, match=f"{path} exists and is not a symbolic link"):
        port.start()
    port.stop()

    assert path.read_text(encoding="utf-8") == "someone's notes\n"


def test_a_link_left_by_an_earlier_run_is_replaced_and_removed_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "ttyUSB-ups"
    path.symlink_to(tmp_path / "pts-of-a-crashed-run")
    port = PtyPort(path, Silent())

    port.start()
    try:
        assert path.is_symlink()
        assert os.readlink(path).startswith("/dev/pts/")
    finally:
        port.stop()

    assert not os.path.lexists(path)
