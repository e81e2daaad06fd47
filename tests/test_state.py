"""The sequence counter: monotonic, durable across restarts, in a real SQLite file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fieldagent.state import StateStore, StateStoreError


def test_sequence_numbers_are_consecutive_and_survive_a_restart(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    assert list(store.reserve_seq(3)) == [1, 2, 3]
    assert list(store.reserve_seq()) == [4]
    store.close()
    reopened = StateStore(tmp_path)
    assert list(reopened.reserve_seq(2)) == [5, 6]
    reopened.close()


def test_unusable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        target = blocker / "state"  # a path below a regular file can never be created
    else:
        tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
        target = tmp_path / "state"
    with pytest.raises(StateStoreError, match="cannot open the state database"):
        StateStore(target)


def test_reserving_nothing_is_refused(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    with pytest.raises(ValueError):
        store.reserve_seq(0)
    store.close()
