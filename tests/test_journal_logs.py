"""Log lines as journald takes them, and debug lines for one device only: a real
`fieldagent run --once` against simulators and a real mosquitto."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from fieldagent.devicelog import device_log, set_debug_devices
from fieldagent.localbroker import LocalBroker
from fieldagent.logformat import LineFormatter, priority, stream_is_journal
from tests.agentproc import ROOT
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def run_once(config: Path, stderr_file: Path, journal: bool) -> list[str]:
    """`fieldagent run --once` with stderr into a file; JOURNAL_STREAM naming that file's
    device and inode when `journal`, as systemd does for a unit's journal stream."""
    with stderr_file.open("w", encoding="utf-8") as err:
        info = os.fstat(err.fileno())
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal:
            env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
        done = subprocess.run(
            [sys.executable, "-m", "fieldagent", "run", "-c", str(config), "--once"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=ROOT,
            env=env,
            timeout=60,
            check=False,
        )
    lines = stderr_file.read_text(encoding="utf-8").splitlines()
    assert done.returncode == 0, lines
    return lines


def station(tmp_path: Path, broker: LocalBroker, sims: SimRunner) -> Path:
    watched = sims.serve("ups_rfc1628", "127.0.0.2")
    quiet = sims.serve("ups_rfc1628", "127.0.0.3")
    return write_station(
        tmp_path,
        [device_fields("watched", watched), device_fields("quiet", quiet)],
        mqtt={"url": broker.url},
        agent={"debug_devices": ["watched"]},
    )


def test_on_the_journal_stream_lines_carry_their_priority_and_no_timestamp(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    lines = run_once(station(tmp_path, broker, sims), tmp_path / "stderr", journal=True)
    assert lines
    assert all(re.match(r"<[2-7]>(DEBUG|INFO|WARNING|ERROR|CRITICAL) ", ln) for ln in lines), lines
    assert not any(TIMESTAMP.search(line) for line in lines), lines
    assert "<6>INFO device=watched: health ok" in lines, lines
    debug = [line for line in lines if line.startswith("<7>")]
    assert any(line.startswith("<7>DEBUG device=watched: request: GET ") for line in debug)
    assert any(line.startswith("<7>DEBUG device=watched: answer: ") for line in debug)
    assert any("device=watched: decoded ups.battery.charge_pct = " in line for line in debug)
    # Debug for the device asked for, and for nothing else.
    assert all(line.startswith("<7>DEBUG device=watched: ") for line in debug), debug


def test_elsewhere_lines_start_with_their_time(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner
) -> None:
    lines = run_once(station(tmp_path, broker, sims), tmp_path / "stderr", journal=False)
    assert all(TIMESTAMP.match(line) for line in lines), lines
    assert not any(line.startswith("<") for line in lines), lines
    assert any(line.endswith("INFO device=quiet: health ok") for line in lines), lines


def test_journal_stream_must_name_this_very_stream(tmp_path: Path) -> None:
    with (tmp_path / "a").open("w") as a, (tmp_path / "b").open("w") as b:
        info = os.fstat(a.fileno())
        env = {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        assert stream_is_journal(a, env)
        assert not stream_is_journal(b, env)  # stderr redirected elsewhere by hand
        assert not stream_is_journal(a, {"JOURNAL_STREAM": "garbage"})
        assert not stream_is_journal(a, {})
    assert not stream_is_journal(io.StringIO(), env)  # no descriptor at all


def test_priorities_follow_syslog_and_a_traceback_keeps_its_priority() -> None:
    assert [priority(n) for n in (10, 20, 30, 40, 50)] == [7, 6, 4, 3, 2]
    assert priority(25) == 4  # a custom level between two takes the more urgent one
    try:
        raise ValueError("broken decoder")
    except ValueError:
        record = logging.getLogger("fieldagent.poll").makeRecord(
            "fieldagent.poll", logging.ERROR, __file__, 1, "poll failed", (), sys.exc_info()
        )
    text = LineFormatter(journal=True).format(record)
    assert text.splitlines()[0] == "<3>ERROR fieldagent.poll: poll failed"
    assert len(text.splitlines()) > 2
    assert all(line.startswith("<3>") for line in text.splitlines()), text


def test_debug_devices_is_applied_again_as_a_new_list() -> None:
    set_debug_devices(["a", "b"])
    set_debug_devices(["b"])
    try:
        assert device_log("a").getEffectiveLevel() == logging.getLogger().getEffectiveLevel()
        assert device_log("b").level == logging.DEBUG
    finally:
        set_debug_devices([])
    assert device_log("b").level == logging.NOTSET
