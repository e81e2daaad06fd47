"""Checks of this box: the secrets' files, the state directory and its free space, the clock."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from fieldagent.config import Config
from fieldagent.configbase import ConfigError
from fieldagent.doctor.account import Account, mode_text, owner_name
from fieldagent.doctor.result import Finding, Status, finding
from fieldagent.secrecy import link_warnings, start_problems

DEFAULT_MIN_FREE_MB = 200
"""Below this much free space on the state directory's file system, a warning: the outbox
holds up to `[outbox] max_mb` (720 MB by default) while the broker is out of reach."""


def secrets_findings(path: Path, config: Config, account: Account) -> list[Finding]:
    """What `check-config` and every start refuse (secrecy.py), the password file, what the
    link allows, and whether the service account can read the files it needs."""
    found = [
        finding(
            "secrets", "", Status.FAIL, "secrets_exposed", problem=problem, path=_file_of(problem)
        )
        for problem in start_problems(path, config)
    ]
    if config.mqtt.password_file is not None:
        try:
            config.mqtt.resolved_password()
        except ConfigError as exc:
            found += [
                finding("secrets", "", Status.FAIL, "secret_file", problem=p) for p in exc.problems
            ]
    found += [
        finding("secrets", "", Status.WARN, "link_warning", warning=warning)
        for warning in link_warnings(config.mqtt)
    ]
    found += _unreadable(path, config, account)
    return found or [finding("secrets", "", Status.PASS, "secrets_ok")]


def _file_of(problem: str) -> str:
    """The file a secrecy.py problem names (it starts every line)."""
    return problem.split(": ", 1)[0]


def _unreadable(path: Path, config: Config, account: Account) -> list[Finding]:
    files = {
        "station file": path,
        "mqtt.password_file": config.mqtt.password_file,
        "mqtt.ca_file": config.mqtt.ca_file,
        "mqtt.cert_file": config.mqtt.cert_file,
        "mqtt.key_file": config.mqtt.key_file,
    }
    found = []
    for key, file in files.items():
        if file is None:
            continue
        try:
            st = file.stat()
        except OSError:
            continue  # a missing file is the station file's problem, said by its own check
        if not account.may(st, read=True):
            found.append(
                finding(
                    "secrets",
                    "",
                    Status.FAIL,
                    "file_unreadable",
                    key=key,
                    path=file,
                    user=account.name,
                    owner=owner_name(st.st_uid),
                    mode=mode_text(st),
                )
            )
    return found


def state_findings(state_dir: Path, account: Account) -> list[Finding]:
    """The state directory: there, a directory, writable by the service account (and, when
    doctor runs as that account, a file really written), its state.db not damaged."""
    subject = str(state_dir)

    def row(status: Status, code: str, **params: object) -> list[Finding]:
        return [
            finding("state_dir", subject, status, code, path=state_dir, user=account.name, **params)
        ]

    try:
        st = state_dir.stat()
    except FileNotFoundError:
        return row(Status.FAIL, "state_missing")
    except OSError as exc:
        return row(Status.FAIL, "state_write_failed", error=exc.strerror)
    if not state_dir.is_dir():
        return row(Status.FAIL, "state_not_dir")
    if not account.may(st, write=True, search=True):
        return row(
            Status.FAIL, "state_not_writable", owner=owner_name(st.st_uid), mode=mode_text(st)
        )
    if os.geteuid() == account.uid:
        error = _write_test(state_dir)
        if error is not None:
            return row(Status.FAIL, "state_write_failed", error=error)
    from fieldagent.state import state_db_damage

    damage = state_db_damage(state_dir)
    if damage is not None:
        return row(Status.WARN, "state_db_damaged", damage=damage)
    return row(Status.PASS, "state_ok")


def _write_test(state_dir: Path) -> str | None:
    """Why a small file cannot be written and synced there, or None."""
    try:
        fd, name = tempfile.mkstemp(prefix=".doctor-", dir=state_dir)
        try:
            os.write(fd, b"fieldagent doctor\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def disk_finding(state_dir: Path, min_free_mb: int) -> Finding:
    """Free space an unprivileged process may use (f_bavail, as the agent_host driver counts
    it) on the state directory's file system, or its nearest existing parent's."""
    where = state_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        vfs = os.statvfs(where)
    except OSError as exc:
        return finding("disk", str(state_dir), Status.WARN, "disk_unknown", error=exc.strerror)
    free_mb = vfs.f_bavail * vfs.f_frsize // 1_000_000
    if free_mb < min_free_mb:
        return finding(
            "disk", str(state_dir), Status.WARN, "disk_low", free_mb=free_mb, min_mb=min_free_mb
        )
    return finding("disk", str(state_dir), Status.PASS, "disk_ok", free_mb=free_mb)


def _kernel_max_error_us() -> int:
    from drivers.agent_host import kernel_max_error_us

    return kernel_max_error_us()


def clock_finding(max_error_us: Callable[[], int] = _kernel_max_error_us) -> Finding:
    """Synchronised as `timedatectl` says it, by the agent_host driver's own adjtimex reading."""
    from drivers.agent_host import clock_synced

    try:
        error = max_error_us()
    except OSError as exc:
        return finding("clock", "", Status.WARN, "clock_unknown", error=exc.strerror or exc)
    if clock_synced(error):
        return finding("clock", "", Status.PASS, "clock_ok", error_ms=f"{error / 1000:.0f}")
    return finding("clock", "", Status.WARN, "clock_unsynced", error_s=f"{error / 1e6:.0f}")
