"""`fieldagent run` reloads its station file on SIGHUP (systemctl reload): a real agent
process, real simulators over UDP, a real mosquitto and a real NOTIFY_SOCKET."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from fieldagent.localbroker import LocalBroker
from tests.agentproc import AgentProcess
from tests.mqtt_probe import MqttProbe, Received, retained_snapshot
from tests.notifysocket import NotifySocket
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

ROOT = "bctv/v1/test-station"


def alarms_of(messages: list[Received], device: str) -> list[tuple[str, str]]:
    """(event, alarm rule) of every alarm message about `device`, in order."""
    return [
        (m.json()["event"], m.json()["rule"])
        for m in messages
        if m.topic == f"{ROOT}/alarm" and m.json().get("device") == device
    ]


def notify_path(tmp_path: Path) -> str:
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:
        pytest.skip("temporary directory too deep for an AF_UNIX path")
    return str(path)


def test_sighup_adds_and_removes_devices_and_keeps_the_alarms_of_the_others(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    keep_sim = sims.serve("ups_rfc1628", "127.0.0.2")
    gone_sim = sims.serve("ups_rfc1628", "127.0.0.3")
    new_sim = sims.serve("ups_rfc1628", "127.0.0.4")
    keep_sim.device.set("ups.battery.charge_pct", 30)  # below the warning limit below
    low_battery = {"ups.battery.charge_pct": {"warn_low": 50, "delay_s": 0}}
    keep = device_fields("keep", keep_sim, interval=1, limits=low_battery)
    gone = device_fields("gone", gone_sim, interval=1)
    mqtt: dict[str, Any] = {"url": broker.url}
    config = write_station(tmp_path, [keep, gone], mqtt=mqtt)
    address = notify_path(tmp_path)
    systemd = NotifySocket(address)
    try:
        agent = AgentProcess("run", "-c", str(config), env={"NOTIFY_SOCKET": address})
        try:
            probe.wait_for(lambda ms: ("raised", "ups.battery.charge_pct") in alarms_of(ms, "keep"))
            probe.wait_for(lambda ms: any(m.topic == f"{ROOT}/gone/health" for m in ms))
            systemd.wait_for(lambda ls: "READY=1" in ls, timeout=10)

            write_station(tmp_path, [keep, device_fields("new", new_sim, interval=1)], mqtt=mqtt)
            agent.signal(signal.SIGHUP)

            probe.wait_for(lambda ms: any(m.topic == f"{ROOT}/new/health" for m in ms), 20)
            probe.wait_for(
                lambda ms: any(m.topic == f"{ROOT}/gone/health" and m.payload == b"" for m in ms),
                20,
            )
            probe.wait_for(
                lambda ms: any(m.topic == f"{ROOT}/gone/meta" and m.payload == b"" for m in ms)
            )
            lines = systemd.wait_for(lambda ls: ls.count("READY=1") >= 2, timeout=10)
        finally:
            code, stderr = agent.stop()
    finally:
        systemd.close()
    assert code == 0, stderr
    reloading = lines.index("RELOADING=1")
    assert lines[reloading + 1].startswith("MONOTONIC_USEC="), lines
    assert "READY=1" in lines[reloading + 2 :], lines
    # The alarm of the device the reload did not touch stayed raised: no clear, no second raise.
    assert alarms_of(probe.messages, "keep") == [("raised", "ups.battery.charge_pct")]
    assert "reloaded: added new; removed gone; 1 unchanged" in stderr, stderr
    retained = retained_snapshot(
        broker.host, broker.port, [f"{ROOT}/status", f"{ROOT}/keep/health", f"{ROOT}/new/health"]
    )
    assert f"{ROOT}/gone/health" not in retained
    assert f"{ROOT}/gone/meta" not in retained
    assert [d["id"] for d in retained[f"{ROOT}/status"]["devices"]] == ["keep", "new"]
    assert retained[f"{ROOT}/keep/health"]["state"] == "warning"


def test_sighup_with_a_broken_station_file_changes_nothing(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    config = write_station(
        tmp_path,
        [device_fields("ups1", sim, interval=1)],
        mqtt={"url": broker.url},
        telemetry=FULL,
    )
    address = notify_path(tmp_path)
    systemd = NotifySocket(address)
    telemetry = f"{ROOT}/ups1/telemetry"
    try:
        agent = AgentProcess("run", "-c", str(config), env={"NOTIFY_SOCKET": address})
        try:
            probe.wait_for(lambda ms: any(m.topic == telemetry for m in ms))
            good = config.read_text(encoding="utf-8")
            config.write_text(good.replace("interval = 1", "intervall = 1"), encoding="utf-8")
            agent.signal(signal.SIGHUP)
            lines = systemd.wait_for(lambda ls: ls.count("READY=1") >= 2, timeout=10)
            before = len(probe.on(telemetry))
            probe.wait_for(lambda ms: len([m for m in ms if m.topic == telemetry]) >= before + 3)
        finally:
            code, stderr = agent.stop()
    finally:
        systemd.close()
    assert code == 0, stderr
    assert "RELOADING=1" in lines
    refused = [line for line in stderr.splitlines() if "reload refused" in line]
    assert any(f"{config}: device 'ups1'.intervall: unknown key" in ln for ln in refused), stderr
    assert "reloaded:" not in stderr
