"""The state directory's SQLite file, state.db: how every part of the agent opens it.

One file holds the outbox with the station's sequence counter
(`fieldagent.outbox`) and the active alarms (`fieldagent.alarms.store`), each
part with its own connection.  WAL mode lets `fieldagent outbox` and
`fieldagent maintenance` read and write while the daemon runs; the busy
timeout makes the rare concurrent writer wait instead of failing.

A damaged state.db (emptied or cut short by a power cut on an SD card, a
garbage header) is refused by every opener with `StateDbDamaged`; the agent,
which alone may replace it (it holds the state directory's lock), moves it
aside under a timestamped name with `set_aside_damaged` and starts a new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from datetime import datetime
from pathlib import Path

DB_NAME = "state.db"
LOCK_NAME = "agent.lock"
BUSY_TIMEOUT_MS = 5000
_HEADER = b"SQLite format 3\x00"
_COMPANIONS = ("-wal", "-shm")
"""SQLite's files beside state.db: moved aside with it, or a new database would replay them."""


class StateStoreError(Exception):
    """The state directory or database cannot be used."""


class StateDbDamaged(StateStoreError):
    """state.db is not a usable SQLite database."""


_connections: dict[Path, int] = {}
"""This process's open connections per state.db.  While one is open, the file must
not be opened outside SQLite: closing any descriptor of a file drops every POSIX
lock the process holds on it, SQLite's included, and another process (`fieldagent
maintenance`) would then take itself for the last reader, checkpoint and delete
the write-ahead log under the agent's connections, which would never see its
writes again."""


class _StateConnection(sqlite3.Connection):
    """A connection that is counted in `_connections` until it is closed."""

    counted: Path | None = None

    def close(self) -> None:
        if self.counted is not None:
            _connections[self.counted] -= 1
            self.counted = None
        super().close()


def open_state_db(state_dir: Path) -> sqlite3.Connection:
    """Connect to state.db in autocommit mode (transactions are explicit), WAL, NORMAL sync.

    Raises StateDbDamaged for a damaged file rather than numbering on in it.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    check_state_db(state_dir)
    path = (state_dir / DB_NAME).resolve()
    db = sqlite3.connect(path, isolation_level=None, factory=_StateConnection)
    db.counted = path
    _connections[path] = _connections.get(path, 0) + 1
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def check_state_db(state_dir: Path) -> None:
    """Raise StateDbDamaged if state.db is damaged; a missing file is not (it is made)."""
    damage = state_db_damage(state_dir)
    if damage is not None:
        raise _damaged(state_dir, damage)


def state_db_damage(state_dir: Path) -> str | None:
    """What is wrong with state.db, in words, or None: its size, its header, its schema.

    Enough for what an SD card does to a file: a power cut can leave it
    empty, a bad block cuts it short or fills its first page with garbage.
    A write-ahead log beside it may still hold pages the file lacks, so the
    length is judged only without one.  Not a full integrity check, which
    would read the whole outbox at every start.
    """
    path = state_dir / DB_NAME
    if _connections.get(path.resolve()):
        return _schema_damage(path)  # read by SQLite alone: see `_connections`
    try:
        with path.open("rb") as file:
            header = file.read(100)
            size = os.fstat(file.fileno()).st_size
        wal = path.with_name(DB_NAME + "-wal")
        logged = wal.exists() and wal.stat().st_size > 0
    except OSError:
        return None  # missing (it is made), or unreadable: the opener says why, nothing is moved
    if size == 0:
        return None if logged else "the file is empty"
    if len(header) < 100 or not header.startswith(_HEADER):
        return "not an SQLite database (its header is garbage)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if not logged and size < pages * page_size:
        return f"cut short: {size} bytes of {pages * page_size}"
    return _schema_damage(path)


def _schema_damage(path: Path) -> str | None:
    """SQLite's own word on the schema pages, read only; None if it reads them."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
            return str(exc)
    return None


def set_aside_damaged(state_dir: Path, now: datetime) -> str | None:
    """Move a damaged state.db (and its -wal, -shm) aside, never deleted; what was done.

    Only the agent calls this, holding the state directory's lock: no other
    process has the file open.  None if state.db is not damaged.  Raises
    OSError when the files cannot be moved (a read-only disk).
    """
    damage = state_db_damage(state_dir)
    if damage is None:
        return None
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    suffix, n = f".damaged-{stamp}", 1
    while (state_dir / (DB_NAME + suffix)).exists():
        n += 1
        suffix = f".damaged-{stamp}-{n}"
    for name in (DB_NAME, *(DB_NAME + c for c in _COMPANIONS)):
        source = state_dir / name
        if source.exists():
            source.rename(state_dir / (DB_NAME + suffix + name.removeprefix(DB_NAME)))
    directory = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(directory)  # the renames survive a power cut before anything new is written
    finally:
        os.close(directory)
    return f"{state_dir / DB_NAME} was damaged ({damage}): moved aside as {DB_NAME}{suffix}"


def _damaged(state_dir: Path, damage: str) -> StateDbDamaged:
    return StateDbDamaged(
        f"{state_dir / DB_NAME} is damaged ({damage}); `fieldagent run` moves it aside"
        " and starts a new one"
    )


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
