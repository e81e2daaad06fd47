"""The state directory's lock as other commands read it: who runs here, if anyone."""

from __future__ import annotations

import os
from pathlib import Path

from fieldagent.state import LOCK_NAME, StateDirLock, running_agent


def test_no_agent_where_none_ever_ran_and_nothing_is_created(tmp_path: Path) -> None:
    assert running_agent(tmp_path / "state") is None
    assert not (tmp_path / "state").exists()


def test_the_agent_holding_the_lock_is_seen_with_its_pid(tmp_path: Path) -> None:
    lock = StateDirLock(tmp_path)
    lock.acquire()
    try:
        assert running_agent(tmp_path) == str(os.getpid())
    finally:
        lock.release()
    assert (tmp_path / LOCK_NAME).exists()  # left behind by the agent that stopped
    assert running_agent(tmp_path) is None


def test_looking_does_not_keep_an_agent_from_starting(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("4242\n", encoding="utf-8")  # left by an agent gone
    assert running_agent(tmp_path) is None
    lock = StateDirLock(tmp_path)
    lock.acquire()  # raises StateDirBusy if the look had kept the lock
    lock.release()
