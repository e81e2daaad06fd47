"""Files a user gives a command (a station file, a profile, a walk, a MIB): read as text.

Every such file is untrusted input: it is read only up to a size no real file of its
kind reaches (a device's walk, not a disk image by mistake), and whatever is wrong with
it is one line naming the file.  `outputfile.py` is the other direction.
"""

from __future__ import annotations

from pathlib import Path


class InputFileError(ValueError):
    """A file that cannot be read as text; the message names it and says why."""


def read_text(path: Path, max_bytes: int, *, strict: bool = False) -> str:
    """The file's text, at most `max_bytes`.

    `strict` files are ones a person edits (TOML): bytes that are not UTF-8 are an
    error naming their line, and a byte-order mark (Windows Notepad writes one) is
    dropped.  Otherwise (captures, vendor files) such bytes read as U+FFFD.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputFileError(
                f"{path}: {size} bytes: larger than such a file can be ({max_bytes} bytes)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from None
    if not strict:
        return raw.decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputFileError(
            f"{path}: not UTF-8 text (line {line}, byte {exc.start}): save it as UTF-8"
        ) from None
