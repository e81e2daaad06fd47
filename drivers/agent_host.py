"""The agent's own box (a Raspberry Pi-class Linux machine), protocol `local`.

A station's health is only as trustworthy as the box that reports it: a Pi
that throttles when hot, runs out of SD card for its outbox, or has lost its
clock (readings and alarms stamped hours wrong) is a problem worth an alarm of
its own.  Nothing here goes over a network; every value comes from the kernel.

Sources (a metric's `oid` is the source name the reader fills in):

- ``/proc/loadavg``: 1, 5 and 15 minute load averages (raw in hundredths).
  ``host.load_5m_per_core`` divides the 5-minute load by the online CPUs
  (``/sys/devices/system/cpu/online``), so one limit fits a single-core board
  and a four-core Pi alike.  It warns above 1.5 and is critical above 3.0
  runnable tasks per core: well above "busy", because on a Pi a slow SD card
  puts tasks in uninterruptible I/O wait, which Linux counts as load too.  The
  5-minute average is used so a burst (log rotation, an apt run) does not alarm.
- ``/proc/meminfo``: MemAvailable as a share of MemTotal (raw in tenths of %).
- ``/proc/uptime``: seconds since boot.
- ``/sys/class/thermal/thermal_zone*/temp`` (millidegrees): the CPU zone (its
  ``type`` names the CPU or SoC: ``cpu-thermal`` on a Pi, ``x86_pkg_temp`` on a
  PC), or the hottest zone when none does.  A box with no thermal zone (a VM)
  reports the temperature as missing.  Limits follow the Pi firmware, which
  starts throttling at 80 °C: warning above 70, critical above 80.
- ``os.statvfs`` on the state directory (the real path, not under the root):
  the space an unprivileged process may still use (``f_bavail``: reserved
  blocks are not the agent's), as % and in MB (10**6 bytes).
- ``adjtimex(2)`` with modes 0 (read only), through ctypes: the clock counts as
  synchronised exactly when ``timedatectl`` says "System clock synchronized:
  yes": systemd's timedated holds the kernel's maximum error below 16 s to be
  synchronised.  The STA_UNSYNC status flag (and the return value TIME_ERROR,
  5, that comes with it) is not the test: chrony sets STA_UNSYNC on purpose, to
  keep the kernel from writing the RTC, while it keeps the clock synchronised.
  Without any sync the kernel lets the maximum error grow to 16 s and sets
  STA_UNSYNC, so both rules agree on a box that never synced or stopped.

A source that cannot be read gives raw None (quality missing) for its metrics,
never an exception: a box without a thermal zone still reports its disk.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import TypeVar

from fieldagent.driver import (
    AlarmClass,
    Driver,
    Limits,
    LocalContext,
    Maturity,
    Metric,
    Quantity,
    RawValue,
    SimModel,
    ValueType,
)
from fieldagent.model import HealthState

CPU_TEMPERATURE = "local:cpu_temperature"
LOAD_1M = "local:load_1m"
LOAD_5M = "local:load_5m"
LOAD_15M = "local:load_15m"
LOAD_5M_PER_CORE = "local:load_5m_per_core"
MEMORY_AVAILABLE = "local:memory_available"
DISK_FREE_PCT = "local:disk_free_pct"
DISK_FREE_MB = "local:disk_free_mb"
CLOCK_SYNCED = "local:clock_synced"
UPTIME = "local:uptime"

_FREE_LIMITS = Limits(warn_low=15, crit_low=5)

METRICS = (
    Metric(
        "host.cpu_temperature_c",
        "°C",
        CPU_TEMPERATURE,
        "CPU temperature",
        divisor=1000,
        decimals=1,
        valid=(-40, 150),
        limits=Limits(warn_high=70, crit_high=80),
        deadband=2.0,
        dashboard=True,
        quantity=Quantity.TEMPERATURE,
        alarm_class=AlarmClass.TEMPERATURE,
    ),
    Metric(
        "host.load_1m",
        "",
        LOAD_1M,
        "Load average, 1 minute",
        scale=0.01,
        valid=(0, 10_000),
        deadband=0.5,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "host.load_5m",
        "",
        LOAD_5M,
        "Load average, 5 minutes",
        scale=0.01,
        valid=(0, 10_000),
        deadband=0.25,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "host.load_15m",
        "",
        LOAD_15M,
        "Load average, 15 minutes",
        scale=0.01,
        valid=(0, 10_000),
        deadband=0.1,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "host.load_5m_per_core",
        "",
        LOAD_5M_PER_CORE,
        "Load average (5 minutes) per online CPU core",
        scale=0.01,
        valid=(0, 10_000),
        limits=Limits(warn_high=1.5, crit_high=3.0),
        deadband=0.25,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "host.memory_available_pct",
        "%",
        MEMORY_AVAILABLE,
        "Memory available",
        scale=0.1,
        valid=(0, 100),
        limits=_FREE_LIMITS,
        deadband=2.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "host.disk_free_pct",
        "%",
        DISK_FREE_PCT,
        "Free space for the state directory",
        scale=0.1,
        valid=(0, 100),
        limits=_FREE_LIMITS,
        deadband=1.0,
        dashboard=True,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "host.disk_free_mb",
        "MB",
        DISK_FREE_MB,
        "Free space for the state directory",
        valid=(0, None),
        deadband=100.0,
        alarm_class=AlarmClass.OTHER,
    ),
    Metric(
        "host.clock_synced",
        "",
        CLOCK_SYNCED,
        "System clock synchronised (NTP)",
        ValueType.BOOL,
        states={False: HealthState.WARNING},
        alarm_class=AlarmClass.STATE,
    ),
    Metric(
        "host.uptime_s",
        "s",
        UPTIME,
        "Time since boot",
        valid=(0, None),
        deadband=3600.0,
        alarm_class=AlarmClass.OTHER,
    ),
)

T = TypeVar("T")


def _unless_unreadable(read: Callable[[], T]) -> T | None:
    """The value `read` gives, or None when its file is absent, unreadable or garbled."""
    try:
        return read()
    except (OSError, ValueError, IndexError, KeyError, ZeroDivisionError):
        return None


def _load_averages(root: Path) -> tuple[int, int, int]:
    """/proc/loadavg's three averages, in hundredths ("0.52" -> 52)."""
    fields = (root / "proc/loadavg").read_text().split()
    one, five, fifteen = (round(float(field) * 100) for field in fields[:3])
    return one, five, fifteen


def _online_cpus(root: Path) -> int:
    """How many CPUs are online: "0-3" or "0,2-3" in /sys/devices/system/cpu/online."""
    count = 0
    for part in (root / "sys/devices/system/cpu/online").read_text().strip().split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def _per_core(load_hundredths: int | None, cpus: int | None) -> int | None:
    if load_hundredths is None or not cpus:
        return None
    return round(load_hundredths / cpus)


def _memory_available_permille(root: Path) -> int:
    """MemAvailable / MemTotal, in tenths of a percent (kernels since 3.14 have both)."""
    fields: dict[str, int] = {}
    for line in (root / "proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("MemTotal", "MemAvailable"):
            fields[name] = int(rest.split()[0])
    return round(fields["MemAvailable"] * 1000 / fields["MemTotal"])


def _uptime_s(root: Path) -> int:
    return int(float((root / "proc/uptime").read_text().split()[0]))


_CPU_ZONE_WORDS = ("cpu", "soc", "x86_pkg")
"""Words in a thermal zone's `type` that mark it as the processor's own sensor."""


def _cpu_millidegrees(root: Path) -> int | None:
    """The CPU zone's temperature (the hottest CPU zone, else the hottest zone)."""
    cpu: list[int] = []
    other: list[int] = []
    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*")):
        # Some zones answer EINVAL or ENODATA while their sensor sleeps: skip those.
        reading = _unless_unreadable(partial(_zone_reading, zone))
        if reading is not None:
            kind, temp = reading
            (cpu if any(word in kind for word in _CPU_ZONE_WORDS) else other).append(temp)
    return max(cpu or other, default=None)


def _zone_reading(zone: Path) -> tuple[str, int]:
    """A thermal zone's type (lower case) and temperature in millidegrees."""
    return (zone / "type").read_text().strip().lower(), int((zone / "temp").read_text())


def _disk_free(state_dir: Path) -> tuple[int, int]:
    """Free space an unprivileged process may use: (tenths of %, MB)."""
    stat = os.statvfs(state_dir)
    permille = round(stat.f_bavail * 1000 / stat.f_blocks)
    return permille, stat.f_bavail * stat.f_frsize // 1_000_000


def _longs(*names: str) -> list[tuple[str, type[ctypes.c_long]]]:
    return [(name, ctypes.c_long) for name in names]


class _Timex(ctypes.Structure):
    """struct timex of adjtimex(2), as the C library's `adjtimex` takes it (native long).

    `slack` is room to spare: the kernel must never write past the buffer.
    """

    _fields_ = [
        ("modes", ctypes.c_uint),
        *_longs("offset", "freq", "maxerror", "esterror"),
        ("status", ctypes.c_int),
        *_longs("constant", "precision", "tolerance", "time_sec", "time_usec"),
        *_longs("tick", "ppsfreq", "jitter"),
        ("shift", ctypes.c_int),
        *_longs("stabil", "jitcnt", "calcnt", "errcnt", "stbcnt"),
        ("tai", ctypes.c_int),
        ("reserved", ctypes.c_int * 11),
        ("slack", ctypes.c_byte * 64),
    ]


MAX_SYNCED_ERROR_US = 16_000_000
"""The kernel's NTP_PHASE_LIMIT: a maximum error this large means "not synchronised"."""


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def kernel_max_error_us() -> int:
    """The kernel clock's maximum error (µs), read with adjtimex(2) and modes 0 (no change).

    OSError when the call fails (a seccomp filter may forbid it).
    """
    timex = _Timex()
    if _libc().adjtimex(ctypes.byref(timex)) < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"adjtimex: {os.strerror(errno)}")
    return int(timex.maxerror)


def clock_synced(max_error_us: int) -> bool:
    """What `timedatectl` shows as "System clock synchronized" (see the module docstring)."""
    return max_error_us < MAX_SYNCED_ERROR_US


def read_host(context: LocalContext) -> dict[str, RawValue]:
    """Every source of this driver, read once; None for each one that cannot be read."""
    root = context.root
    loads = _unless_unreadable(lambda: _load_averages(root))
    cpus = _unless_unreadable(lambda: _online_cpus(root))
    disk = _unless_unreadable(lambda: _disk_free(context.state_dir))
    max_error = _unless_unreadable(kernel_max_error_us)
    return {
        CPU_TEMPERATURE: _unless_unreadable(lambda: _cpu_millidegrees(root)),
        LOAD_1M: loads[0] if loads else None,
        LOAD_5M: loads[1] if loads else None,
        LOAD_15M: loads[2] if loads else None,
        LOAD_5M_PER_CORE: _per_core(loads[1] if loads else None, cpus),
        MEMORY_AVAILABLE: _unless_unreadable(lambda: _memory_available_permille(root)),
        DISK_FREE_PCT: disk[0] if disk else None,
        DISK_FREE_MB: disk[1] if disk else None,
        CLOCK_SYNCED: None if max_error is None else (1 if clock_synced(max_error) else 2),
        UPTIME: _unless_unreadable(lambda: _uptime_s(root)),
    }


SIMULATOR = SimModel(
    initial={
        "host.cpu_temperature_c": 51.2,
        "host.load_1m": 0.42,
        "host.load_5m": 0.35,
        "host.load_15m": 0.3,
        "host.load_5m_per_core": 0.09,
        "host.memory_available_pct": 63.5,
        "host.disk_free_pct": 71.4,
        "host.disk_free_mb": 20_480,
        "host.clock_synced": True,
        "host.uptime_s": 86_400,
    },
    scenarios={},
)

DRIVER = Driver(
    name="agent_host",
    title="Agent host (the agent's own Linux box)",
    kind="host",
    protocol="local",
    maturity=Maturity.STABLE,
    metrics=METRICS,
    simulator=SIMULATOR,
    local_reader=read_host,
    description=(
        "The box the agent runs on: CPU temperature, load, memory, free space for the"
        " state directory, clock synchronisation and uptime, read from the kernel."
    ),
    sample_config="""[[device]]
id = "agent-box"
driver = "agent_host"
host = "localhost"
interval = 30
""",
)
