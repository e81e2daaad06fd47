"""mosquitto password files for the tests' brokers, made with mosquitto_passwd as
docs/broker.md says."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path


def password_file(path: Path, accounts: Mapping[str, str]) -> Path:
    """`path` (created, mode 0600) holding each user name's password hash; returned."""
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    for user, password in accounts.items():
        subprocess.run(
            [tool, "-b", str(path), user, password], check=True, capture_output=True, timeout=30
        )
    return path
