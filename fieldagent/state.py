"""The state directory's SQLite file, state.db: how every part of the agent opens it.

One file holds the outbox with the station's sequence counter
(`fieldagent.outbox`) and the active alarms (`fieldagent.alarms.store`), each
part with its own connection.  WAL mode lets `fieldagent outbox` and
`fieldagent maintenance` read and write while the daemon runs; the busy
timeout makes the rare concurrent writer wait instead of failing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path

DB_NAME = "state.db"
LOCK_NAME = "agent.lock"
BUSY_TIMEOUT_MS = 5000


class StateStoreError(Exception):
    """The state directory or database cannot be used."""


def open_state_db(state_dir: Path) -> sqlite3.Connection:
    """Connect to state.db in autocommit mode (transactions are explicit), WAL, NORMAL sync."""
    state_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(state_dir / DB_NAME, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def storage_problem(state_dir: Path, error: BaseException) -> str:
    """A write failure in words a technician can act on: which file, and why.

    SQLite says "unable to open database file" or "disk I/O error" for several
    causes; the filesystem's own flags tell a read-only or full disk apart.
    """
    where = state_dir / DB_NAME
    existing = next((p for p in (state_dir, *state_dir.parents) if p.exists()), None)
    cause = ""
    if existing is not None and existing.is_dir():
        stats = os.statvfs(existing)
        if stats.f_flag & os.ST_RDONLY:
            cause = " (the filesystem is read-only)"
        elif stats.f_bavail == 0:
            cause = " (the disk is full)"
    return f"cannot write {where}: {error}{cause}"


class StateDirBusy(Exception):
    """Another agent runs on this state directory."""


class StateDirLock:
    """One agent per state directory: two would number messages over each other.

    An advisory lock (flock) on `agent.lock`, held for the life of the process
    and released by the kernel when it dies, so a crash leaves no stale lock.
    On a read-only state directory an existing lock file is still locked;
    without one there is nothing to lock, and the agent runs unguarded.
    """

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            try:
                fd = os.open(self._path, os.O_RDONLY)
            except OSError:
                return  # nothing to lock on a disk that cannot be written; the outbox says so
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            raise StateDirBusy(
                f"{self._path.parent}: another fieldagent (pid {holder}) is running on this"
                " state directory; stop it first (systemctl stop fieldagent)"
            ) from None
        with contextlib.suppress(OSError):  # the pid is a courtesy for the message above
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def running_agent(state_dir: Path) -> str | None:
    """The pid of the agent running on `state_dir` ("unknown" if it did not say), or None.

    For commands that leave work to the daemon (`fieldagent maintenance`): they
    must not claim it will be done within a second when nothing runs. A shared
    lock taken and dropped at once tells: it fails only while an agent holds the
    lock. It never creates the lock file.
    """
    try:
        fd = os.open(state_dir / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None  # no agent has ever run here
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """The pid the lock's holder wrote into the lock file."""
    return os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
