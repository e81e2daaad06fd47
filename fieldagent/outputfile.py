"""Files a user names on the command line (`checklist run --output PATH`).

Such a file is created new, never written through a symbolic link, and an
existing file is replaced only when asked (`--force`).  A link left in a
shared folder would otherwise have the command (often run as root) overwrite
whatever the link points at, and a slip in a path would silently replace
another record.  `refusal` is asked before a long run, so a technician learns
of a bad path before the inspection, not after it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


class OutputFileError(Exception):
    """A file that was not written; the message names it and says why."""


def refusal(path: Path, replace: bool) -> str | None:
    """Why `path` will not be written, in words (naming it); None when it can be."""
    if not path.parent.is_dir():
        return f"{path}: no folder {path.parent}"
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if stat.S_ISLNK(found.st_mode):
        return f"{path} is a symbolic link; nothing is written through a link: name a file"
    if not stat.S_ISREG(found.st_mode):
        return f"{path} exists and is not a regular file"
    if not replace:
        return f"{path} already exists: give --force to replace it, or another path"
    return None


def write_output(path: Path, data: bytes, replace: bool) -> None:
    """Write `data` as `path` without following a link; OutputFileError if it cannot.

    A new file is created exclusively (O_EXCL also refuses a link, dangling
    or not).  A replacement is written beside it and renamed over it, which
    replaces a link put there meanwhile instead of following it.
    """
    problem = refusal(path, replace)
    if problem is not None:
        raise OutputFileError(problem)
    target = path.with_name(f".{path.name}.{os.getpid()}.new") if replace else path
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    except FileExistsError:
        raise OutputFileError(
            f"{target} appeared meanwhile; give --force to replace it, or another path"
        ) from None
    except OSError as exc:
        raise OutputFileError(f"{target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(target, path)
    except OSError as exc:
        if replace:
            with contextlib.suppress(OSError):
                target.unlink()
        raise OutputFileError(f"{path}: {exc.strerror or exc}") from None
