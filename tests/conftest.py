"""Shared fixtures: a real mosquitto per test that wants one, station files on disk."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker
from tests.mqtt_probe import MqttProbe
from tests.simrunner import SimRunner
from tests.tlsfiles import make_tls_files


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A private mosquitto on a free loopback port, stopped after the test."""
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.stop()


@pytest.fixture
def probe(broker: LocalBroker) -> Iterator[MqttProbe]:
    subscriber = MqttProbe(broker.host, broker.port, "#")
    yield subscriber
    subscriber.close()


@pytest.fixture
def sims() -> Iterator[SimRunner]:
    """Simulated SNMP devices answering from a background loop."""
    runner = SimRunner()
    yield runner
    runner.close()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[LocalBroker, Path]]:
    """A mosquitto with a TLS listener only, and the CA file that verifies it."""
    files = make_tls_files(tmp_path / "tls")
    broker = LocalBroker(
        tmp_path / "tls-broker",
        listener_options=(
            "allow_anonymous true",
            f"cafile {files.ca_cert}",
            f"certfile {files.server_cert}",
            f"keyfile {files.server_key}",
        ),
    )
    broker.start()
    yield broker, files.ca_cert
    broker.stop()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB tmpfs to fill up or make read-only (needs mount rights, as root in CI).

    Larger than SQLite's write-ahead log grows before its automatic checkpoint (1,000
    pages, 4 MiB): on a 2 MiB one an agent slow to start filled the disk by itself before
    the test did."""
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(source, view): `view` is a read-only bind mount of `source` until `remount(view, "rw")`."""
    source, view = tmp_path / "source", tmp_path / "view"
    source.mkdir()
    view.mkdir()
    done = subprocess.run(
        ["mount", "--bind", str(source), str(view)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.strip()}")
    try:
        remount(view, "bind,ro")
        yield source, view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def fill_up(directory: Path) -> Path:
    """Write a file until the filesystem is full; delete it to give the space back."""
    filler = directory / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


def remount(mount_point: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount_point)], check=True)
