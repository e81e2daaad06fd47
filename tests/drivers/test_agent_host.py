"""agent_host: the agent's own box, polled for real through the Poller's local transport.

Two roots: this machine's real /proc and /sys (values checked against
independent reads), and a prepared tree in tmp_path whose files the test
writes, so every value, and every missing file, is checked exactly.  The
kernel clock is the one thing a file tree cannot fake: where a test needs a
given clock state it replaces the adjtimex read, as a kernel error would.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import shutil
import time
from pathlib import Path

import pytest

from drivers import agent_host
from drivers.agent_host import DRIVER, MAX_SYNCED_ERROR_US, clock_synced, kernel_max_error_us
from fieldagent.config import LocalDevice
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality, Value, utc_now
from fieldagent.poller import Poller
from fieldagent.transports.local import LocalReader
from fieldagent.transports.snmp import SnmpClient

DEVICE = LocalDevice(id="agent-box", driver="agent_host")
SYNCED_MAX_ERROR_US = 250_000
"""A maximum error a freshly synchronised clock reports (well under 16 s)."""

MEMINFO = """MemTotal:        3884376 kB
MemFree:          912644 kB
MemAvailable:    2913282 kB
Buffers:           98212 kB
Cached:          1840056 kB
"""


def poll(root: Path, state_dir: Path) -> PollResult:
    async def once() -> PollResult:
        client = SnmpClient()
        try:
            return await Poller(client, LocalReader(state_dir=state_dir, root=root)).poll(
                DEVICE, DRIVER
            )
        finally:
            client.close()

    return asyncio.run(once())


def by_key(result: PollResult) -> dict[str, tuple[Value, Quality]]:
    return {r.key: (r.value, r.quality) for r in result.readings}


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def zone(root: Path, index: int, kind: str, millidegrees: int | str) -> None:
    write(root, f"sys/class/thermal/thermal_zone{index}/type", f"{kind}\n")
    write(root, f"sys/class/thermal/thermal_zone{index}/temp", f"{millidegrees}\n")


@pytest.fixture
def pi_root(tmp_path: Path) -> Path:
    """A Raspberry Pi 4's /proc and /sys as far as the driver reads them."""
    root = tmp_path / "root"
    write(root, "proc/loadavg", "0.52 0.61 0.40 2/187 4711\n")
    write(root, "proc/meminfo", MEMINFO)
    write(root, "proc/uptime", "354021.77 1383050.12\n")
    write(root, "sys/devices/system/cpu/online", "0-3\n")
    zone(root, 0, "cpu-thermal", 54_530)
    return root


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def synced_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_host, "kernel_max_error_us", lambda: SYNCED_MAX_ERROR_US)


def disk_free(state_dir: Path) -> tuple[float, int]:
    """Free space for an unprivileged process, by shutil (f_bavail / f_blocks): (%, MB)."""
    usage = shutil.disk_usage(state_dir)
    return usage.free * 100 / usage.total, usage.free // 1_000_000


@pytest.mark.usefixtures("synced_clock")
def test_prepared_pi_root_is_read_exactly(pi_root: Path, state_dir: Path) -> None:
    result = poll(pi_root, state_dir)
    readings = by_key(result)
    disk_pct, disk_mb = readings.pop("host.disk_free_pct"), readings.pop("host.disk_free_mb")

    assert result.error is None
    assert readings == {
        "host.cpu_temperature_c": (54.5, Quality.OK),
        "host.load_1m": (0.52, Quality.OK),
        "host.load_5m": (0.61, Quality.OK),
        "host.load_15m": (0.4, Quality.OK),
        "host.load_5m_per_core": (0.15, Quality.OK),  # 0.61 over 4 cores
        "host.memory_available_pct": (75.0, Quality.OK),  # 2913282 of 3884376 kB
        "host.clock_synced": (True, Quality.OK),
        "host.uptime_s": (354_021, Quality.OK),
    }
    expected_pct, expected_mb = disk_free(state_dir)
    assert disk_pct[1] is disk_mb[1] is Quality.OK
    assert disk_pct[0] == pytest.approx(expected_pct, abs=0.2)
    assert disk_mb[0] == pytest.approx(expected_mb, abs=50)  # the disk is shared: others write
    assert evaluate(DRIVER, result).state is HealthState.OK


@pytest.mark.usefixtures("synced_clock")
def test_a_box_without_thermal_zone_reports_the_temperature_missing(
    pi_root: Path, state_dir: Path
) -> None:
    shutil.rmtree(pi_root / "sys/class/thermal")  # a VM: no thermal zone at all

    result = poll(pi_root, state_dir)

    readings = by_key(result)
    assert readings["host.cpu_temperature_c"] == (None, Quality.MISSING)
    others = {k: q for k, (_, q) in readings.items() if k != "host.cpu_temperature_c"}
    assert set(others.values()) == {Quality.OK}
    assert evaluate(DRIVER, result).state is HealthState.OK


@pytest.mark.parametrize(
    ("zones", "expected_c"),
    [
        # The CPU zone wins over a hotter non-CPU sensor (a PMIC, a battery).
        ([("pmic", 71_000), ("cpu-thermal", 48_000)], 48.0),
        # Two CPU zones: the hotter one.
        ([("x86_pkg_temp", 61_000), ("cpu0-thermal", 63_500), ("acpitz", 90_000)], 63.5),
        # No zone names the CPU: the hottest zone.
        ([("acpitz", 41_000), ("pch_cannonlake", 52_000)], 52.0),
        # A zone whose sensor does not answer is skipped, not fatal.
        ([("cpu-thermal", "garbage"), ("gpu-thermal", 47_000)], 47.0),
    ],
)
@pytest.mark.usefixtures("synced_clock")
def test_the_cpu_zone_is_chosen(
    pi_root: Path, state_dir: Path, zones: list[tuple[str, int | str]], expected_c: float
) -> None:
    shutil.rmtree(pi_root / "sys/class/thermal")
    for index, (kind, temp) in enumerate(zones):
        zone(pi_root, index, kind, temp)

    assert by_key(poll(pi_root, state_dir))["host.cpu_temperature_c"] == (expected_c, Quality.OK)


@pytest.mark.usefixtures("synced_clock")
def test_a_zone_that_fails_to_read_is_skipped(pi_root: Path, state_dir: Path) -> None:
    zone(pi_root, 1, "soc-thermal", 58_000)
    (pi_root / "sys/class/thermal/thermal_zone0/temp").unlink()
    (pi_root / "sys/class/thermal/thermal_zone0/temp").mkdir()  # read() fails: EISDIR

    assert by_key(poll(pi_root, state_dir))["host.cpu_temperature_c"] == (58.0, Quality.OK)


@pytest.mark.usefixtures("synced_clock")
def test_unreadable_or_garbled_files_give_missing_readings_not_errors(
    tmp_path: Path, state_dir: Path
) -> None:
    root = tmp_path / "broken"
    write(root, "proc/loadavg", "\n")  # empty
    write(root, "proc/meminfo", "MemTotal: 1000 kB\n")  # a kernel before 3.14: no MemAvailable
    write(root, "proc/uptime", "soon\n")
    write(root, "sys/devices/system/cpu/online", "0-1\n")

    result = poll(root, state_dir)

    assert result.error is None
    readings = by_key(result)
    missing = {k for k, (_, q) in readings.items() if q is Quality.MISSING}
    assert missing == {
        "host.cpu_temperature_c",
        "host.load_1m",
        "host.load_5m",
        "host.load_15m",
        "host.load_5m_per_core",
        "host.memory_available_pct",
        "host.uptime_s",
    }
    assert readings["host.disk_free_mb"][1] is Quality.OK


@pytest.mark.usefixtures("synced_clock")
def test_load_per_core_counts_a_sparse_online_list_and_survives_its_absence(
    pi_root: Path, state_dir: Path
) -> None:
    write(pi_root, "sys/devices/system/cpu/online", "0,2-3\n")  # cpu1 taken offline
    assert by_key(poll(pi_root, state_dir))["host.load_5m_per_core"] == (0.2, Quality.OK)

    (pi_root / "sys/devices/system/cpu/online").unlink()
    readings = by_key(poll(pi_root, state_dir))
    assert readings["host.load_5m_per_core"] == (None, Quality.MISSING)
    assert readings["host.load_5m"] == (0.61, Quality.OK)


@pytest.mark.usefixtures("synced_clock")
def test_a_state_dir_that_does_not_exist_gives_missing_disk_readings(pi_root: Path) -> None:
    readings = by_key(poll(pi_root, pi_root / "no" / "such" / "dir"))

    assert readings["host.disk_free_pct"] == (None, Quality.MISSING)
    assert readings["host.disk_free_mb"] == (None, Quality.MISSING)
    assert readings["host.uptime_s"] == (354_021, Quality.OK)


@pytest.mark.parametrize(
    ("temp", "state"),
    [(69_900, HealthState.OK), (72_000, HealthState.WARNING), (81_000, HealthState.CRITICAL)],
)
@pytest.mark.usefixtures("synced_clock")
def test_a_hot_cpu_raises_the_device_state(
    pi_root: Path, state_dir: Path, temp: int, state: HealthState
) -> None:
    zone(pi_root, 0, "cpu-thermal", temp)

    health = evaluate(DRIVER, poll(pi_root, state_dir))

    assert health.state is state
    assert [p.metric for p in health.problems] == (
        [] if state is HealthState.OK else ["host.cpu_temperature_c"]
    )


@pytest.mark.parametrize(
    ("key", "raw", "state"),
    [
        ("host.memory_available_pct", 160, HealthState.OK),  # 16.0 %
        ("host.memory_available_pct", 140, HealthState.WARNING),
        ("host.memory_available_pct", 40, HealthState.CRITICAL),
        ("host.disk_free_pct", 151, HealthState.OK),
        ("host.disk_free_pct", 149, HealthState.WARNING),
        ("host.disk_free_pct", 49, HealthState.CRITICAL),
        ("host.load_5m_per_core", 150, HealthState.OK),
        ("host.load_5m_per_core", 151, HealthState.WARNING),
        ("host.load_5m_per_core", 301, HealthState.CRITICAL),
    ],
)
def test_limits(key: str, raw: int, state: HealthState) -> None:
    metric = DRIVER.metric(key)
    reading = metric.decode(raw, utc_now())
    assert reading.quality is Quality.OK
    assert metric.bad_state(reading)[0] is state


def test_an_unsynchronised_clock_is_a_warning(
    pi_root: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the kernel reports at boot, or hours after the last NTP update: 16 s.
    monkeypatch.setattr(agent_host, "kernel_max_error_us", lambda: MAX_SYNCED_ERROR_US)

    result = poll(pi_root, state_dir)

    assert by_key(result)["host.clock_synced"] == (False, Quality.OK)
    health = evaluate(DRIVER, result)
    assert health.state is HealthState.WARNING
    assert [p.metric for p in health.problems] == ["host.clock_synced"]


def test_a_failing_adjtimex_gives_a_missing_clock(
    pi_root: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden() -> int:  # what a seccomp filter does to the call
        raise OSError(errno.EPERM, "adjtimex: Operation not permitted")

    monkeypatch.setattr(agent_host, "kernel_max_error_us", forbidden)

    readings = by_key(poll(pi_root, state_dir))

    assert readings["host.clock_synced"] == (None, Quality.MISSING)
    assert readings["host.uptime_s"] == (354_021, Quality.OK)


def test_synchronised_means_a_maximum_error_under_16_s() -> None:
    assert clock_synced(0)
    assert clock_synced(15_999_999)
    assert not clock_synced(16_000_000)


def test_adjtimex_struct_matches_this_kernel() -> None:
    """The ctypes layout is right if the kernel's clock lands in the `time` field."""
    timex = agent_host._Timex()
    assert agent_host._libc().adjtimex(ctypes.byref(timex)) >= 0
    assert timex.modes == 0
    assert abs(timex.time_sec - time.time()) < 5
    assert 0 <= kernel_max_error_us() <= MAX_SYNCED_ERROR_US


def test_this_machine_is_read_through_the_real_proc_and_sys(state_dir: Path) -> None:
    before_uptime = float(Path("/proc/uptime").read_text().split()[0])
    result = poll(Path("/"), state_dir)
    readings = by_key(result)

    assert result.error is None
    has_zone = any(_readable(p) for p in Path("/sys/class/thermal").glob("thermal_zone*/temp"))
    temperature, quality = readings.pop("host.cpu_temperature_c")
    assert quality is (Quality.OK if has_zone else Quality.MISSING)
    if has_zone:
        assert isinstance(temperature, float) and -40 <= temperature <= 150

    assert {q for _, q in readings.values()} == {Quality.OK}
    load_1m, load_5m, _ = os.getloadavg()
    assert readings["host.load_1m"][0] == pytest.approx(load_1m, abs=1.0)
    assert readings["host.load_5m"][0] == pytest.approx(load_5m, abs=0.5)
    uptime = readings["host.uptime_s"][0]
    assert isinstance(uptime, int) and before_uptime - 1 <= uptime <= before_uptime + 5
    assert readings["host.memory_available_pct"][0] == pytest.approx(_available_pct(), abs=5)
    expected_pct, _ = disk_free(state_dir)
    assert readings["host.disk_free_pct"][0] == pytest.approx(expected_pct, abs=0.5)
    assert isinstance(readings["host.clock_synced"][0], bool)


def _readable(path: Path) -> bool:
    try:
        int(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def _available_pct() -> float:
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return int(fields["MemAvailable"].split()[0]) * 100 / int(fields["MemTotal"].split()[0])
