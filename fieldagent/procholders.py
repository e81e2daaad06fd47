"""Which processes hold a file or a socket open, read from /proc.

For messages that name who is in the way: another program reading a serial port
(not every one locks it: minicom does not), another receiver bound to the trap
port.  /proc shows this user's processes only, unless run as root.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

PROC = Path("/proc")


def holders(
    targets: Collection[str], include_self: bool = False, proc: Path = PROC
) -> dict[str, str]:
    """pid → command of every process with a descriptor pointing at one of `targets`,
    written as /proc shows them (a file's real path, `socket:[INODE]`)."""
    found: dict[str, str] = {}
    if not targets:
        return found
    me = str(os.getpid())
    for entry in proc.iterdir():
        if not entry.name.isdigit() or (entry.name == me and not include_self):
            continue
        if not _links(entry / "fd").isdisjoint(targets):
            found[entry.name] = _command(entry)
    return found


def named(found: dict[str, str]) -> str:
    """"pid 812 (minicom), pid 901 (snmptrapd)"; '' for none."""
    return ", ".join(f"pid {pid} ({command})" for pid, command in found.items())


def _links(fd_dir: Path) -> set[str]:
    """What a process's descriptors point at; a descriptor closed meanwhile (the one that
    lists the folder, say) is left out, a process that ended or is not ours gives none."""
    found: set[str] = set()
    try:
        descriptors = list(fd_dir.iterdir())
    except OSError:
        return found
    for fd in descriptors:
        try:
            found.add(os.readlink(fd))
        except OSError:
            continue
    return found


def _command(proc_entry: Path) -> str:
    try:
        return (proc_entry / "comm").read_text(encoding="utf-8").strip()
    except OSError:
        return "?"
