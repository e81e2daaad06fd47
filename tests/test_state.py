"""state.db and the state directory as every part opens them: damage is found, refused and moved
aside, never deleted; the lock says who runs here, if anyone."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldagent.outbox import Kind
from fieldagent.state import (
    DB_NAME,
    LOCK_NAME,
    StateDbDamaged,
    StateDirLock,
    open_state_db,
    running_agent,
    set_aside_damaged,
    state_db_damage,
)
from tests.faults import DAMAGES, damage_state_db
from tests.outbox import draft, open_outbox

NOW = datetime(2026, 12, 1, 22, 30, 5, tzinfo=UTC)


def filled(state_dir: Path) -> None:
    """A state.db of some pages, closed cleanly (its write-ahead log folded in)."""
    outbox = open_outbox(state_dir)
    for n in range(60):
        outbox.put(draft(Kind.TELEMETRY, body=f"{n:04d}" + "ab" * 600 + str(n * 7919)))
    outbox.close()


@pytest.mark.parametrize("kind", DAMAGES)
def test_each_kind_of_damage_is_refused_in_words_and_moved_aside_whole(
    tmp_path: Path, kind: str
) -> None:
    filled(tmp_path)
    damage_state_db(tmp_path, kind)
    damaged = (tmp_path / DB_NAME).read_bytes()
    assert state_db_damage(tmp_path) is not None
    with pytest.raises(StateDbDamaged, match=rf"{DB_NAME} is damaged \(.+\); `fieldagent run`"):
        open_state_db(tmp_path)

    done = set_aside_damaged(tmp_path, NOW)
    assert done is not None and "state.db.damaged-20261201T223005Z" in done
    assert not (tmp_path / DB_NAME).exists()
    assert (tmp_path / "state.db.damaged-20261201T223005Z").read_bytes() == damaged
    open_state_db(tmp_path).close()  # a new one
    assert state_db_damage(tmp_path) is None


def test_a_second_damage_the_same_second_gets_a_name_of_its_own(tmp_path: Path) -> None:
    for expected in ("state.db.damaged-20261201T223005Z", "state.db.damaged-20261201T223005Z-2"):
        (tmp_path / DB_NAME).write_bytes(b"")
        done = set_aside_damaged(tmp_path, NOW)
        assert done is not None and done.endswith(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "state.db.damaged-20261201T223005Z",
        "state.db.damaged-20261201T223005Z-2",
    ]


def test_the_write_ahead_log_goes_aside_with_its_database(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"not a database, but long enough for a header" * 4)
    (tmp_path / f"{DB_NAME}-wal").write_bytes(b"pages of the damaged database")
    assert set_aside_damaged(tmp_path, NOW) is not None
    assert (tmp_path / "state.db.damaged-20261201T223005Z-wal").is_file()
    assert not (tmp_path / f"{DB_NAME}-wal").exists()  # a new database must not replay it


def test_a_healthy_database_in_use_is_not_taken_for_damaged(tmp_path: Path) -> None:
    assert state_db_damage(tmp_path) is None  # none yet: it is made
    writer = open_state_db(tmp_path)
    writer.execute("CREATE TABLE t (x BLOB)")
    writer.executemany("INSERT INTO t VALUES (?)", [(bytes(3000),)] * 50)  # pages in the log
    assert state_db_damage(tmp_path) is None
    assert set_aside_damaged(tmp_path, NOW) is None
    writer.close()
    filled(tmp_path)
    assert state_db_damage(tmp_path) is None
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM t").fetchone() == (50,)


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


def test_a_second_opener_in_the_agent_does_not_blind_its_first_to_other_processes(
    tmp_path: Path,
) -> None:
    """Opening state.db again (a check of its header) must not drop the first connection's
    locks: `fieldagent maintenance` would then delete the write-ahead log under it."""
    first = open_state_db(tmp_path)
    first.execute("CREATE TABLE request (device TEXT)")
    second = open_state_db(tmp_path)  # as the agent opens its outbox, alarms, desk, history
    writer = (
        "import sys; from pathlib import Path; from fieldagent.state import open_state_db;"
        " db = open_state_db(Path(sys.argv[1]));"
        " db.execute(\"INSERT INTO request VALUES ('ups1')\"); db.close()"
    )
    subprocess.run([sys.executable, "-c", writer, str(tmp_path)], check=True, timeout=30)
    assert first.execute("SELECT device FROM request").fetchall() == [("ups1",)]
    assert second.execute("SELECT device FROM request").fetchall() == [("ups1",)]
    assert (tmp_path / f"{DB_NAME}-wal").exists()  # still the agent's
    first.close()
    second.close()
