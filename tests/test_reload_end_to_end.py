"""`fieldagent run` reloads its station file on SIGHUP (systemctl reload): a real agent
process, real simulators over UDP, a real mosquitto and a real NOTIFY_SOCKET."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from fieldagent.alarms.engine import REASON_REMOVED
from fieldagent.localbroker import LocalBroker, free_port
from tests.agentproc import AgentProcess
from tests.mqtt_probe import MqttProbe, Received, retained_snapshot
from tests.notifysocket import NotifySocket
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station
from tests.support.snmptrap import ups_on_battery

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
    gone_sim.device.set("ups.battery.charge_pct", 30)
    low_battery = {"ups.battery.charge_pct": {"warn_low": 50, "delay_s": 0}}
    keep = device_fields("keep", keep_sim, interval=1, limits=low_battery)
    gone = device_fields("gone", gone_sim, interval=1, limits=low_battery)
    mqtt: dict[str, Any] = {"url": broker.url}
    config = write_station(tmp_path, [keep, gone], mqtt=mqtt)
    address = notify_path(tmp_path)
    systemd = NotifySocket(address)
    try:
        # A 2 s watchdog: liveness must watch the new device set, not wait for "gone".
        watchdog = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"}
        agent = AgentProcess("run", "-c", str(config), env=watchdog)
        try:
            probe.wait_for(lambda ms: ("raised", "ups.battery.charge_pct") in alarms_of(ms, "keep"))
            probe.wait_for(lambda ms: ("raised", "ups.battery.charge_pct") in alarms_of(ms, "gone"))
            systemd.wait_for(lambda ls: "READY=1" in ls, timeout=10)

            new = device_fields("new", new_sim, interval=1)
            write_station(tmp_path, [keep, new], mqtt={**mqtt, "keepalive": 30})
            agent.send(signal.SIGHUP)

            probe.wait_for(lambda ms: any(m.topic == f"{ROOT}/new/health" for m in ms), 20)
            probe.wait_for(
                lambda ms: any(m.topic == f"{ROOT}/gone/health" and m.payload == b"" for m in ms),
                20,
            )
            probe.wait_for(
                lambda ms: any(m.topic == f"{ROOT}/gone/meta" and m.payload == b"" for m in ms)
            )
            systemd.wait_for(lambda ls: ls.count("READY=1") >= 2, timeout=10)
            reloaded = systemd.times_of("READY=1")[-1]
            # "gone"'s poll limit is 4 s: pings must go on well past it.
            systemd.wait_for(
                lambda ls: (
                    len([t for t in systemd.times_of("WATCHDOG=1") if t > reloaded + 6]) >= 2
                ),
                timeout=15,
            )
        finally:
            code, stderr = agent.stop()
        lines = systemd.lines()
    finally:
        systemd.close()
    assert code == 0, stderr
    assert "liveness check failed" not in stderr, stderr
    assert "reload: mqtt.keepalive changed: it applies at the next restart" in stderr, stderr
    reloading = lines.index("RELOADING=1")
    assert lines[reloading + 1].startswith("MONOTONIC_USEC="), lines
    assert "READY=1" in lines[reloading + 2 :], lines
    assert lines.count("RELOADING=1") == 1, lines
    # The alarm of the device the reload did not touch stayed raised: no clear, no second raise.
    assert alarms_of(probe.messages, "keep") == [("raised", "ups.battery.charge_pct")]
    # The removed device's alarm ended with an ordinary clear that says why.
    assert alarms_of(probe.messages, "gone") == [
        ("raised", "ups.battery.charge_pct"),
        ("cleared", "ups.battery.charge_pct"),
    ]
    [cleared] = [
        m.json()
        for m in probe.messages
        if m.topic == f"{ROOT}/alarm" and m.json()["event"] == "cleared"
    ]
    assert cleared["reason"] == REASON_REMOVED, cleared
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
            agent.send(signal.SIGHUP)
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


@pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap not installed")
def test_a_device_added_by_a_reload_is_a_known_trap_sender(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    first = device_fields("ups-a", sims.serve("ups_rfc1628", "127.0.0.2"), interval=30)
    added = device_fields("ups-b", sims.serve("ups_rfc1628", "127.0.0.3"), interval=30)
    trap_port = free_port(udp=True)
    traps = f'\n[traps]\nenabled = true\nlisten = "127.0.0.1"\nport = {trap_port}\n'

    def station(devices: list[dict[str, object]]) -> Path:
        path = write_station(tmp_path, devices, mqtt={"url": broker.url})
        with path.open("a", encoding="utf-8") as file:
            file.write(traps)
        return path

    agent = AgentProcess("run", "-c", str(station([first])))
    try:
        probe.wait_for(lambda ms: any(m.topic == f"{ROOT}/ups-a/health" for m in ms))
        station([first, added])
        agent.send(signal.SIGHUP)
        probe.wait_for(lambda ms: any(m.topic == f"{ROOT}/ups-b/health" for m in ms))
        deadline = time.monotonic() + 15
        while not any(event == "raised" for event, _ in alarms_of(probe.messages, "ups-b")):
            # The receiver is bound again after the reload: send until it answers.
            assert time.monotonic() < deadline, probe.messages[-5:]
            ups_on_battery("127.0.0.3", trap_port)
            time.sleep(0.5)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert "trap receiver not started" not in stderr, stderr


def test_a_changed_device_polls_with_its_new_settings(
    tmp_path: Path, broker: LocalBroker, probe: MqttProbe, sims: SimRunner
) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    mqtt = {"url": broker.url}
    config = write_station(
        tmp_path, [device_fields("ups1", sim, interval=60)], mqtt=mqtt, telemetry=FULL
    )
    telemetry = f"{ROOT}/ups1/telemetry"
    agent = AgentProcess("run", "-c", str(config))
    try:
        probe.wait_for(lambda ms: any(m.topic == telemetry for m in ms))
        write_station(tmp_path, [device_fields("ups1", sim, interval=1)], mqtt=mqtt, telemetry=FULL)
        agent.send(signal.SIGHUP)
        # Every second now, not every minute (telemetry goes out in 5 s commit batches).
        probe.wait_for(lambda ms: len([m for m in ms if m.topic == telemetry]) >= 5, 15)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert "reloaded: changed ups1; 0 unchanged" in stderr, stderr
