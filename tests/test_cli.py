"""The command line as users meet it: real processes, real files, real UDP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_mock import MockerFixture

from fieldagent.localbroker import free_port
from tests.agentproc import ROOT, fieldagent
from tests.simrunner import SimRunner
from tests.stationfile import write_station


def ups(device_id: str, host: str, port: int, **extra: object) -> dict[str, object]:
    return {"id": device_id, "driver": "ups_rfc1628", "host": host, "port": port, **extra}


def test_check_config_accepts_the_shipped_files(tmp_path: Path) -> None:
    # Copied to be made private: both hold v3 keys, and a checkout is readable by everyone.
    shutil.copytree(ROOT / "config", tmp_path / "config")
    for name in ("demo-station.toml", "station.example.toml"):
        (tmp_path / "config" / name).chmod(0o600)
        done = fieldagent("check-config", str(tmp_path / "config" / name))
        assert done.returncode == 0, done.stderr
        assert "ok" in done.stdout


def test_check_config_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = write_station(
        tmp_path,
        [
            ups("ups1", "127.0.0.2", 70000, interval=0.5),
            ups("ups1", "127.0.0.3", 161, colour="red"),
            {"id": "tx1", "driver": "no_such_driver", "host": "127.0.0.4"},
        ],
        mqtt={"url": "http://broker"},
    )
    done = fieldagent("check-config", str(path))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    expected = [
        "mqtt.url: ",
        "device[0].port: ",
        "device[0].interval: ",
        "device[1].colour: unknown key",
        "device[2].driver: unknown driver 'no_such_driver'",
    ]
    for fragment in expected:
        assert any(line.startswith(f"{path}: {fragment}") for line in lines), (fragment, lines)


def test_run_with_an_unusable_config_exits_78_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[station\nid = 1\n", encoding="utf-8")
    done = fieldagent("run", "-c", str(path), "--once")
    assert done.returncode == 78
    assert f"{path}: TOML syntax" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_rejects_a_bad_broker_override(tmp_path: Path) -> None:
    path = write_station(tmp_path, [ups("ups1", "127.0.0.2", 161)])
    done = fieldagent("run", "-c", str(path), "--once", "--broker", "tcp://x")
    assert done.returncode == 78
    assert "--broker: " in done.stderr and "mqtt://" in done.stderr


def test_a_broker_override_with_a_password_is_refused_without_repeating_it(
    tmp_path: Path,
) -> None:
    path = write_station(tmp_path, [ups("ups1", "127.0.0.2", 161)])
    done = fieldagent("run", "-c", str(path), "--once", "--broker", "mqtt://u:hunter22@127.0.0.1")
    assert done.returncode == 78
    assert done.stderr.strip() == (
        "--broker: no user name or password in the URL: use username and password_file"
    )


def test_poll_prints_a_table_and_publishes_nothing(tmp_path: Path, sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    sim.device.set("ups.battery.charge_pct", 64)
    path = write_station(
        tmp_path, [ups("ups1", "127.0.0.2", sim.port)], mqtt={"url": "mqtt://127.0.0.1:1"}
    )
    done = fieldagent("poll", "-c", str(path), "ups1")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:] if line}
    assert rows["ups.battery.charge_pct"] == ["64", "%", "ok"]
    assert rows["ups.output.source"] == ["normal", "ok"]
    assert "health: ok" in done.stdout
    assert "broker" not in done.stderr  # it never tried to publish


def test_poll_json_and_unknown_device(tmp_path: Path, sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    path = write_station(tmp_path, [ups("ups1", "127.0.0.2", sim.port)])
    done = fieldagent("poll", "-c", str(path), "ups1", "--json")
    assert json.loads(done.stdout)["ups.battery.voltage_v"]["value"] == 81.6
    missing = fieldagent("poll", "-c", str(path), "ups9")
    assert missing.returncode == 2
    assert "no device 'ups9'" in missing.stderr and "ups1" in missing.stderr


def test_poll_of_a_silent_device_exits_1_with_the_reason(tmp_path: Path) -> None:
    port = free_port("127.0.0.2", udp=True)
    path = write_station(tmp_path, [ups("ups1", "127.0.0.2", port, timeout=0.3)])
    done = fieldagent("poll", "-c", str(path), "ups1")
    assert done.returncode == 1
    assert "127.0.0.2" in done.stderr
    assert "bad" in done.stdout


@pytest.mark.parametrize("kind", ["status", "telemetry", "health", "checklist", "checklist-reply"])
def test_schema_prints_the_payload_json_schema(kind: str) -> None:
    done = fieldagent("schema", kind)
    schema = json.loads(done.stdout)
    assert {"station", "seq", "ts"} <= set(schema["properties"])


def test_simulate_serves_the_config_and_takes_commands_on_stdin(tmp_path: Path) -> None:
    port = free_port("127.0.0.4", udp=True)
    path = write_station(
        tmp_path,
        [ups("ups1", "127.0.0.4", port), ups("real", "192.0.2.10", 161)],
    )
    sim = subprocess.Popen(
        [sys.executable, "-m", "fieldagent", "simulate", "-c", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert sim.stdout is not None and sim.stdin is not None
        banner = [sim.stdout.readline() for _ in range(3)]
        assert f"simulating ups1 (ups_rfc1628) at 127.0.0.4:{port}" in banner[0]
        assert "not simulated: real" in banner[1] and "not a loopback" in banner[1]
        sim.stdin.write("set ups1 ups.battery.charge_pct 33\n")
        sim.stdin.flush()
        assert "ups.battery.charge_pct = 33" in sim.stdout.readline()
        sim.stdin.write("set ups1 ups.nope 1\n")
        sim.stdin.flush()
        assert sim.stdout.readline().startswith("error: ")
        done = fieldagent("poll", "-c", str(path), "ups1", "--json")
        assert json.loads(done.stdout)["ups.battery.charge_pct"]["value"] == 33
    finally:
        sim.terminate()
        sim.communicate(timeout=10)
    assert sim.returncode == 0


def test_demo_shows_health_arrive_then_the_mains_failure() -> None:
    done = fieldagent(
        # Polls every 5 s; an alarm must hold for its delay (10 s): raised at the 3rd or 4th poll.
        "demo",
        "--duration",
        "24",
        "--fault-after",
        "1",
        "--time-scale",
        "50",
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "STATUS   ONLINE" in out
    assert "HEALTH   ups-main     OK" in out
    assert "mains power cut at ups-main" in out
    assert "HEALTH   ups-main     CRITICAL" in out
    assert out.index("HEALTH   ups-main     OK") < out.index("HEALTH   ups-main     CRITICAL")
    assert "STATUS   OFFLINE" in out


def test_demo_without_mosquitto_says_what_to_install(
    mocker: MockerFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldagent.cli import main

    mocker.patch("fieldagent.localbroker.shutil.which", return_value=None)  # a machine without it
    assert main(["demo", "--duration", "1"]) == 69
    assert "apt-get install mosquitto" in capsys.readouterr().err


def test_identify_reads_the_identity_and_suggests_the_driver(sims: SimRunner) -> None:
    sim = sims.serve("ups_rfc1628", "127.0.0.6")
    done = fieldagent("identify", "127.0.0.6", "--port", str(sim.port))
    assert done.returncode == 0, done.stderr
    assert "sysDescr     UPS SNMP card (simulated)" in done.stdout
    assert "ups_rfc1628" in done.stdout and "serves 1.3.6.1.2.1.33.1" in done.stdout
    silent = fieldagent(
        "identify", "127.0.0.6", "--port", str(sim.port), "--community", "x", "--timeout", "0.3"
    )
    assert silent.returncode == 1
    assert "no reply from 127.0.0.6" in silent.stderr
