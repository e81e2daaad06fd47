"""sd_notify to a real datagram socket: a path, the abstract namespace, none, a dead one."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.sdnotify import Notifier
from tests.notifysocket import NotifySocket


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    """A socket path short enough for AF_UNIX (108 bytes with the NUL)."""
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:
        pytest.skip("temporary directory too deep for an AF_UNIX path")
    return path


@pytest.fixture
def systemd(socket_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(str(socket_path))
    yield listener
    listener.close()


def test_each_message_arrives_as_one_datagram_at_a_path(
    systemd: NotifySocket, socket_path: Path
) -> None:
    notifier = Notifier.from_environment(
        {"NOTIFY_SOCKET": str(socket_path), "WATCHDOG_USEC": "2000000"}
    )
    notifier.ready("1 device: 1 ok; outbox 0 waiting")
    notifier.status("line one\nline two")
    notifier.watchdog()
    notifier.stopping()

    systemd.wait_for(lambda lines: "STOPPING=1" in lines, timeout=5)
    assert [n.lines for n in systemd.notices] == [
        ("READY=1", "STATUS=1 device: 1 ok; outbox 0 waiting"),
        ("STATUS=line one line two",),  # a status is one line: a newline would start a key
        ("WATCHDOG=1",),
        ("STOPPING=1",),
    ]


def test_an_abstract_socket_is_named_with_an_at_sign() -> None:
    name = f"fieldagent-test-{secrets.token_hex(6)}"
    systemd = NotifySocket("\0" + name)
    try:
        assert Notifier.from_environment({"NOTIFY_SOCKET": f"@{name}"}).send("READY=1")
        systemd.wait_for(lambda lines: lines == ["READY=1"], timeout=5)
    finally:
        systemd.close()


def test_without_notify_socket_nothing_is_sent_and_no_watchdog_is_kept() -> None:
    notifier = Notifier.from_environment({"WATCHDOG_USEC": "2000000"})
    assert not notifier.enabled
    assert notifier.watchdog_period is None
    assert notifier.send("READY=1") is False


def test_the_ping_period_is_half_the_watchdog_for_this_process_only(socket_path: Path) -> None:
    env = {"NOTIFY_SOCKET": str(socket_path), "WATCHDOG_USEC": "2000000"}
    assert Notifier.from_environment(env).watchdog_period == 1.0
    mine = {**env, "WATCHDOG_PID": str(os.getpid())}
    assert Notifier.from_environment(mine).watchdog_period == 1.0
    other = {**env, "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier.from_environment(other).watchdog_period is None
    assert Notifier.from_environment({**env, "WATCHDOG_USEC": "0"}).watchdog_period is None
    assert Notifier.from_environment({**env, "WATCHDOG_USEC": "soon"}).watchdog_period is None


def test_a_failed_send_never_raises_and_is_logged_once(
    socket_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": str(socket_path)})  # nobody bound
    with caplog.at_level(logging.WARNING, logger="fieldagent.sdnotify"):
        assert notifier.send("READY=1") is False
        assert notifier.send("STATUS=still here") is False
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("cannot notify systemd (NOTIFY_SOCKET)")


def test_reloading_carries_the_monotonic_time_systemd_compares(
    systemd: NotifySocket, socket_path: Path
) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier(str(socket_path)).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    systemd.wait_for(lambda lines: "RELOADING=1" in lines, timeout=5)
    [(reloading, stamp)] = [n.lines for n in systemd.notices]
    assert reloading == "RELOADING=1"
    key, _, usec = stamp.partition("=")
    assert key == "MONOTONIC_USEC" and before <= int(usec) <= after, stamp
