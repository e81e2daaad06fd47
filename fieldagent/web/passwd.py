"""`fieldagent web passwd FILE USER`: add a user to the page's password file, or change one.

The password is asked twice at a terminal, or read as the first line of stdin
(a script, a secret manager piping it in); never taken on the command line,
where `ps` and the shell history would show it.  Kept apart from the server's
modules so that it loads no web library.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TextIO

from fieldagent.web.passwords import set_password


def run_passwd(path: Path, user: str, stdin: TextIO, stderr: TextIO) -> int:
    """`fieldagent web passwd FILE USER`: the password from a prompt, or stdin's first line."""
    if stdin.isatty():
        first = getpass.getpass(f"password for {user}: ")
        if getpass.getpass("again: ") != first:
            print("error: the two passwords differ; nothing changed", file=stderr)
            return 1
    else:
        first = stdin.readline().rstrip("\r\n")
    try:
        new = set_password(path, user, first)
    except ValueError as exc:
        print(f"error: {path}: {exc}", file=stderr)
        return 1
    except OSError as exc:
        print(f"error: {path}: {exc.strerror}", file=stderr)
        return 1
    print(f"{path}: {'added' if new else 'changed the password of'} {user}", file=stderr)
    return 0
