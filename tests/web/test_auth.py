"""The web page's password file, sessions and login budget, on real files and a fake clock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fieldagent.configbase import ConfigError
from fieldagent.web.auth import LoginLimit, Sessions, check_password
from fieldagent.web.passwords import read_passwords, set_password
from tests.agentproc import fieldagent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_set_password_adds_then_changes_a_user_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "users"
    assert set_password(path, "ops", "first password") is True
    assert set_password(path, "lan", "another password") is True
    assert set_password(path, "ops", "second password") is False
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "password" not in text  # hashes only
    users = read_passwords(path)
    assert sorted(users) == ["lan", "ops"]
    assert check_password(users, "ops", "second password")
    assert not check_password(users, "ops", "first password")
    assert not check_password(users, "nobody", "second password")
    # Each user has their own salt: the same password gives different hashes.
    set_password(path, "lan", "second password")
    lines = dict(line.split(":", 1) for line in path.read_text().splitlines())
    assert lines["lan"].split(":")[-1] != lines["ops"].split(":")[-1]


def test_a_short_password_or_odd_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shorter than 8"):
        set_password(tmp_path / "users", "ops", "short")
    with pytest.raises(ValueError, match="user name 'a:b'"):
        set_password(tmp_path / "users", "a:b", "long enough password")
    assert not (tmp_path / "users").exists()


def test_a_file_others_may_read_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "users"
    set_password(path, "ops", "long enough password")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError) as refused:
        read_passwords(path)
    assert str(path) in str(refused.value) and "readable by other users" in str(refused.value)
    assert "chmod 600" in str(refused.value)


def test_a_broken_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "users"
    set_password(path, "ops", "long enough password")
    with path.open("a") as file:
        file.write("# a comment\nops2:plain:secret\n")
    with pytest.raises(ConfigError) as refused:
        read_passwords(path)
    assert f"{path}:3: not NAME:scrypt" in str(refused.value)
    assert "secret" not in str(refused.value)


def test_sessions_end_after_their_lifetime_and_at_logout() -> None:
    clock = Clock()
    sessions = Sessions(lifetime_s=60.0, clock=clock)
    first, second = sessions.open("ops"), sessions.open("ops")
    assert first != second and len(first) >= 40
    assert sessions.user(first) == "ops"
    sessions.close(first)
    assert sessions.user(first) is None
    clock.now += 59.0
    assert sessions.user(second) == "ops"
    clock.now += 1.0
    assert sessions.user(second) is None
    assert sessions.user(None) is None and sessions.user("made-up") is None


def test_login_attempts_are_budgeted_per_address() -> None:
    clock = Clock()
    limit = LoginLimit(burst=3, every_s=30.0, clock=clock)
    assert [limit.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("10.0.0.2")  # another address has its own budget
    clock.now += 30.0
    assert limit.allow("10.0.0.1") and not limit.allow("10.0.0.1")


def test_web_refuses_to_start_without_a_usable_password_file(tmp_path: Path) -> None:
    done = fieldagent("web", "--broker", "mqtt://127.0.0.1:1")
    assert done.returncode == 78
    assert "web: --passwords needed" in done.stderr
    path = tmp_path / "users"
    set_password(path, "ops", "long enough password")
    os.chmod(path, 0o640 | 0o004)
    done = fieldagent("web", "--broker", "mqtt://127.0.0.1:1", "--passwords", str(path))
    assert done.returncode == 78
    assert f"{path}: holds the web page's password hashes and is readable by other users" in (
        done.stderr
    )
    os.chmod(path, 0o600)
    done = fieldagent(
        "web", "--broker", "mqtt://127.0.0.1:1", "--passwords", str(path), "--listen", "nowhere"
    )
    assert done.returncode == 78 and "--listen 'nowhere': give ADDR:PORT" in done.stderr
