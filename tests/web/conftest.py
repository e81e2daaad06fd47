"""The web page's tests: three stations publishing as agents do on a real mosquitto, and
the real `fieldagent web` server (a child process) on a free port.

- `st-bac`: ok; its UPS sends v1 telemetry; checklist passed;
- `st-nam`: critical, an active alarm on its UPS; its FM transmitter sends compact v2
  telemetry with its retained meta; checklist failed;
- `st-tay`: ok, never ran its checklist.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker, free_port
from fieldagent.model import HealthState
from tests.agentproc import ROOT
from tests.support.stations import FakeStation, Link, alarm, checklist_report

NOW = datetime.now(UTC)
USER = "ops"
PASSWORD = "correct horse battery"
STATIONS = ("st-bac", "st-nam", "st-tay")
START_S = 20.0


def ups_telemetry(charge: float) -> dict[str, object]:
    return {
        "device": "ups-main",
        "driver": "ups_rfc1628",
        "kind": "ups",
        "poll_ms": 40,
        "metrics": {
            "ups.battery.charge_pct": {"value": charge, "unit": "%", "quality": "ok"},
            "ups.input.voltage_v": {
                "value": None,
                "unit": "V",
                "quality": "bad",
                "detail": "no answer",
            },
        },
    }


FM_META = {
    "v": 2,
    "device": "fm-main",
    "name": "Máy phát FM",
    "driver": "fm_tx",
    "kind": "transmitter",
    "title": "FM transmitter",
    "interval_s": 10.0,
    "snapshot_interval_s": 600.0,
    "metrics": {
        "tx.forward_power_w": {
            "unit": "W",
            "title": "Forward power",
            "title_vi": "Công suất phát",
            "type": "number",
        },
        "tx.reflected_power_w": {"unit": "W", "title": "Reflected power", "type": "number"},
    },
}
FM_SNAPSHOT = {
    "v": 2,
    "device": "fm-main",
    "full": True,
    "ms": 80,
    "val": {"tx.forward_power_w": 1984.5, "tx.reflected_power_w": 12.25},
}


def publish_province(broker: LocalBroker) -> dict[str, FakeStation]:
    made = {name: FakeStation(name) for name in STATIONS}
    bac, nam, tay = (made[name] for name in STATIONS)
    critical = alarm(nam.id, "ups-main", HealthState.CRITICAL, NOW - timedelta(minutes=7))
    link = Link(broker.host, broker.port)
    try:
        link.publish(
            bac.status(),
            bac.health("ups-main"),
            bac.message("ups-main/telemetry", ups_telemetry(97.0)),
            bac.report(checklist_report(bac.id, NOW - timedelta(days=1))),
            nam.status(HealthState.CRITICAL),
            nam.health("ups-main", HealthState.CRITICAL, [critical]),
            nam.health("fm-main"),
            nam.message("fm-main/meta", FM_META, retain=True),
            nam.report(checklist_report(nam.id, NOW - timedelta(hours=5), failed=True)),
            tay.status(),
            tay.health("ups-main"),
        )
    finally:
        link.close()
    return made


def publish_telemetry(broker: LocalBroker, made: dict[str, FakeStation]) -> None:
    """Telemetry is never retained: sent once the server is subscribed, as the next poll's."""
    link = Link(broker.host, broker.port)
    try:
        link.publish(
            made["st-bac"].message("ups-main/telemetry", ups_telemetry(97.0)),
            made["st-nam"].message("fm-main/telemetry", FM_SNAPSHOT),
        )
    finally:
        link.close()


@dataclass
class WebServer:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def said(self) -> str:
        return self.log.read_text(errors="replace")


def make_passwords(path: Path) -> Path:
    """The password file, made by the command as an operator makes it (password on stdin)."""
    done = subprocess.run(
        [sys.executable, "-m", "fieldagent", "web", "passwd", str(path), USER],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    return path


def start_web(
    broker: LocalBroker | str,
    passwords: Path,
    log: Path,
    *extra: str,
    ready: str = "web: settled",
) -> WebServer:
    """`fieldagent web` on a free port, returned once its log says `ready`."""
    url = broker if isinstance(broker, str) else broker.url
    port = free_port()
    out = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldagent",
            "web",
            "--broker",
            url,
            "--listen",
            f"127.0.0.1:{port}",
            "--passwords",
            str(passwords),
            *extra,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out.close()
    server = WebServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + START_S
    while True:
        if process.poll() is not None:
            raise AssertionError(f"fieldagent web exited {process.returncode}: {server.said()}")
        if ready in server.said():
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        if time.monotonic() > deadline:
            stop_web(server)
            raise AssertionError(f"fieldagent web not settled after {START_S:g} s: {server.said()}")
        time.sleep(0.05)


def stop_web(server: WebServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture
def province(broker: LocalBroker) -> dict[str, FakeStation]:
    return publish_province(broker)


@pytest.fixture
def server(
    broker: LocalBroker, province: dict[str, FakeStation], tmp_path: Path
) -> Iterator[WebServer]:
    passwords = make_passwords(tmp_path / "web-users")
    running = start_web(broker, passwords, tmp_path / "web.log")
    publish_telemetry(broker, province)
    try:
        yield running
    finally:
        stop_web(running)
