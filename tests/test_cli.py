"""The command line as users meet it: real processes, real files, real UDP."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_mock import MockerFixture

from fieldagent.localbroker import free_port
from tests.agentproc import ROOT, fieldagent, refused_start, simulate_process
from tests.simrunner import SimRunner
from tests.stationfile import write_station
from tests.support.demo import demo_copy


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


def test_the_readme_install_example_polls_devices_of_the_example_file() -> None:
    """A newcomer copies the example file and runs the README's lines as they are."""
    from fieldagent.config import load_config

    example = load_config(ROOT / "config" / "station.example.toml")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    polled = re.findall(r"fieldagent poll -c /etc/fieldagent/station\.toml (\S+)", readme)
    assert polled
    for device_id in polled:
        example.find_device(device_id)


def test_check_config_takes_the_file_with_c_like_every_command(tmp_path: Path) -> None:
    path = write_station(tmp_path, [ups("ups1", "127.0.0.2", 161)])
    for args in (["-c", str(path)], ["--config", str(path)], [str(path)]):
        done = fieldagent("check-config", *args)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout == f"{path}: ok (station test-station, 1 devices)\n"
    both = fieldagent("check-config", str(path), "-c", str(path))
    assert both.returncode == 2
    assert "not allowed with argument FILE" in both.stderr


def test_check_config_warns_about_each_device_whose_driver_is_a_model(tmp_path: Path) -> None:
    ird = {"id": "ird1", "driver": "ird_satellite", "host": "127.0.0.3"}
    path = write_station(tmp_path, [ups("ups1", "127.0.0.2", 161), ird])
    with path.open("a", encoding="utf-8") as station:
        station.write('\n[checklist]\nlineup = ["VTV1"]\n')  # the IRD's line-up check needs it
    done = fieldagent("check-config", str(path))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stdout.splitlines() if ": warning: " in line]
    assert warnings == [
        f"{path}: warning: device 'ird1': driver ird_satellite is a model, not built on a"
        " published MIB or protocol document: check its readings against the device"
    ]


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
        # Two blocks share the id 'ups1': only their position tells them apart.
        "device[0].port: ",
        "device[0].interval: ",
        "device[1].colour: unknown key",
        "device 'tx1'.driver: unknown driver 'no_such_driver'",
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
    assert refused_start(done) == (
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
    assert done.stderr.startswith(f"error: no reply from 127.0.0.2:{port} ")
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert rows and all(row[1:] == ["bad"] or row[1:] == [row[1], "bad"] for row in rows), rows
    assert "no reply" not in done.stdout  # said once, on stderr, not in every row


def test_poll_of_a_serial_device_names_its_port(tmp_path: Path) -> None:
    tty = tmp_path / "tty"
    path = write_station(
        tmp_path,
        [
            {"id": "co", "driver": "changeover_ascii", "serial_port": tty / "co"},
            {"id": "gen", "driver": "generator_modbus", "serial_port": tty / "bus", "unit": 10},
        ],
    )
    sim = simulate_process(path)
    try:
        assert sim.stdout is not None
        assert sim.stdout.readline().startswith("simulating co ")  # its pty is in place
        co = fieldagent("poll", "-c", str(path), "co")
        gen = fieldagent("poll", "-c", str(path), "gen")
    finally:
        sim.terminate()
        sim.communicate(timeout=10)
    assert co.returncode == 0, co.stderr
    assert co.stdout.startswith(f"co (changeover_ascii) at {tty / 'co'}, ")
    assert gen.returncode == 0, gen.stderr
    assert gen.stdout.startswith(f"gen (generator_modbus) at {tty / 'bus'} (unit 10), ")


@pytest.mark.parametrize(
    "kind",
    [
        "status", "telemetry", "telemetry-compact", "meta", "health", "checklist",
        "checklist-reply", "command-reply",
    ],
)  # fmt: skip
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
    sim = simulate_process(path)
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


def test_demo_shows_health_arrive_then_the_mains_failure(tmp_path: Path) -> None:
    done = fieldagent(
        # Polls every 5 s; an alarm must hold for its delay (10 s): raised at the 3rd or 4th poll.
        "demo",
        "-c",
        str(demo_copy(tmp_path / "config")),
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


def _into_closed_pipe(*args: str, buffered: bool) -> subprocess.CompletedProcess[str]:
    """`fieldagent ARGS | head -0`: the reader has gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    try:
        return subprocess.run(
            [sys.executable, "-m", "fieldagent", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=env,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("buffered", [True, False])
@pytest.mark.parametrize("args", [("drivers",), ("drivers", "ups_rfc1628"), ("schema",)])
def test_a_reader_that_goes_away_gets_one_line_and_exit_141(
    args: tuple[str, ...], buffered: bool
) -> None:
    done = _into_closed_pipe(*args, buffered=buffered)
    assert done.returncode == 141, done.stderr
    assert done.stderr == "fieldagent: output closed by its reader (broken pipe)\n"


def _held_udp_port(host: str) -> socket.socket:
    """A UDP port on `host` that some other program already uses."""
    held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    held.bind((host, 0))
    return held


def test_simulate_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with _held_udp_port("127.0.0.4") as held:
        port = held.getsockname()[1]
        path = write_station(tmp_path, [ups("ups1", "127.0.0.4", port)])
        done = fieldagent("simulate", "-c", str(path))
    assert done.returncode == 71
    assert done.stderr.splitlines() == [
        f"error: cannot serve SNMP at 127.0.0.4:{port}: Address already in use"
        " (another agent or simulator already uses it)"
    ]


def test_demo_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with _held_udp_port("127.0.0.4") as held:
        port = held.getsockname()[1]
        path = write_station(tmp_path, [ups("ups1", "127.0.0.4", port)])
        done = fieldagent("demo", "-c", str(path), "--duration", "30")
    assert done.returncode == 71
    assert done.stderr.splitlines() == [
        f"error: cannot serve SNMP at 127.0.0.4:{port}: Address already in use"
        " (another agent or simulator already uses it)"
    ]


def _stops_when_its_reader_goes(process: subprocess.Popen[str], banner_lines: int) -> None:
    """Read the banner, close the pipe like `head` does; the process must end by itself."""
    assert process.stdout is not None and process.stderr is not None
    for _ in range(banner_lines):
        assert process.stdout.readline()
    process.stdout.close()
    try:
        process.wait(timeout=40)  # far less than the run it was asked for
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: the demo stops its mosquitto, SIGKILL would not
            process.wait(timeout=15)
    assert process.returncode == 141
    assert process.stderr.read() == "fieldagent: output closed by its reader (broken pipe)\n"


def test_demo_stops_when_its_reader_goes(tmp_path: Path) -> None:
    port = free_port("127.0.0.4", udp=True)
    path = write_station(tmp_path, [ups("ups1", "127.0.0.4", port, interval=1)])
    demo = subprocess.Popen(
        [sys.executable, "-m", "fieldagent", "demo", "-c", str(path), "--duration", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    _stops_when_its_reader_goes(demo, banner_lines=3)


def test_simulate_stops_when_its_reader_goes(tmp_path: Path) -> None:
    port = free_port("127.0.0.4", udp=True)
    path = write_station(tmp_path, [ups("ups1", "127.0.0.4", port)])
    sim = simulate_process(path)
    assert sim.stdin is not None
    sim.stdin.write("show ups1\n")  # its answer is written after the reader has gone
    sim.stdin.flush()
    _stops_when_its_reader_goes(sim, banner_lines=2)


@pytest.mark.parametrize("command", ["simulate", "demo"])
@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("ups9=mains_fail", "--scenario: no simulated device 'ups9' (simulated: ups1)"),
        ("ups1=flood", "--scenario: ups1 (ups_rfc1628) has no scenario 'flood' (known: "),
    ],
)
def test_a_bad_scenario_is_one_line_and_exit_78(
    tmp_path: Path, command: str, scenario: str, says: str
) -> None:
    path = write_station(tmp_path, [ups("ups1", "127.0.0.4", free_port("127.0.0.4", udp=True))])
    done = fieldagent(command, "-c", str(path), "--scenario", scenario)
    assert done.returncode == 78
    [line] = done.stderr.splitlines()
    assert line.startswith(says), line


def test_serial_devices_that_cannot_share_a_line_are_one_line(tmp_path: Path) -> None:
    bus = tmp_path / "tty" / "bus"
    path = write_station(
        tmp_path,
        [
            {"id": "gen", "driver": "generator_modbus", "serial_port": bus, "unit": 10},
            {"id": "co", "driver": "changeover_ascii", "serial_port": bus},
        ],
    )
    for command in ("simulate", "check-config"):
        done = fieldagent(command, "-c", str(path))
        assert done.returncode in (78, 1), done.stderr  # check-config: 1, a bad file
        assert done.stderr == (
            f"{path}: device: devices 'gen' and 'co' share serial_port {bus} but speak modbus"
            " and ascii: one line, one protocol\n"
        )
