"""SD-card wear: bytes the agent writes to disk per hour on the demo station, at default settings.

A Raspberry Pi's SD card wears out with writes, and the outbox writes every message before it
is published; batching telemetry commits (`[outbox] commit_interval_s`, default 5 s) is
meant to keep that down.  This runs the real agent (`fieldagent run`) on the demo station
(config/demo-station.toml: 11 devices every 5 s, served by `fieldagent simulate`, published
to a private mosquitto), in two configurations side by side in the same time window: the
defaults, and `commit_interval_s = 0` (every message committed at once).  Each has its own
copy of the station file, state directory, simulator and broker.

What is counted: `write_bytes` of /proc/AGENT_PID/io between the end of a warm-up and the
end of the run, extrapolated to an hour: the bytes the agent process caused to be written
to the block device (page-cache pages dirtied, fsynced or not; counted once per dirtied
page, so a 100-byte SQLite commit costs at least a 4 KiB page), which is what wears the
card.  It is everything the agent writes: the outbox and the alarm store share state.db,
and nothing else of the agent's goes to disk here (its log is read from a pipe).  `wchar`
(every write() byte, sockets included) is shown for comparison.  Some filesystems and
containers do not account write_bytes (tmpfs never does): a probe writes and fsyncs 1 MiB
in the state directory's filesystem first, and if that is not counted the script falls
back to running the agents under `strace -f -y` and summing the bytes of write()/pwrite64()
calls to state.db and its WAL (`--strace` adds that column anyway).  That fallback counts
bytes handed to the kernel, not pages: it misses the mmap'ed -shm index and the
filesystem's own journal, and ignores that rewriting a page still dirty is free.  In WAL
mode SQLite copies pages back into state.db at a checkpoint, every 1,000 WAL pages
(4 MiB): at the rates measured here every few minutes, so a two-minute run includes none or
one (it rewrites only the few distinct pages touched since the previous one); a longer
`--duration` averages them in.

Sizing: the telemetry the default agent published during the run is put, as drafts, into an
Outbox in this process (payload without the spliced `prev`/`replayed`, as the outbox stores
it), which gives the mean stored size per message as the size limit counts it
(`Outbox.backlog().size`: zlib payload + topic + ROW_OVERHEAD, also read back with SQL), and, from
the measured telemetry rate, the outbox size needed for 7 days of the demo station's
telemetry, from which the default `[outbox] max_mb` is set.  The same drafts repeated to
`--sample-rows` rows give the on-disk size of state.db for that estimate.

    python bench/sd_writes.py [--duration 120] [--warmup 20] [--strace]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from demostation import private_station_text
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.config import (
    DEFAULT_OUTBOX_MB,
    Config,
    OutboxSection,
    SerialDevice,
    SnmpDevice,
    load_config,
)
from fieldagent.localbroker import LocalBroker, free_port
from fieldagent.outbox import Draft, Kind, Outbox
from fieldagent.outbox.draft import ROW_OVERHEAD

DEMO_STATION = Path(__file__).resolve().parent.parent / "config" / "demo-station.toml"
MIB = 1024 * 1024
WEEK_S = 7 * 86400
CONFIGS = {"defaults": None, "commit_interval_s = 0": 0.0}
"""Label -> the [outbox] commit_interval_s written into the station file (None: not set)."""
SPLICED = re.compile(rb'^\{"prev":\d+,(?:"replayed":true,)?')
"""The fields the forwarder puts in front of the stored payload on the way out."""
WRITES = "write,pwrite64,writev,pwritev,pwritev2"


# The station file, copied for one configuration.


def station_copy(
    source: Path, folder: Path, broker: LocalBroker, snmp_port: int, interval: float | None
) -> Path:
    """The demo station file with its own state dir, ptys, SNMP port and broker.

    Only those keys change (and [outbox] commit_interval_s when `interval` is given), so
    the agent runs the shipped station otherwise as it is; the result is checked by loading.
    """
    text = private_station_text(source, folder, broker.url, snmp_port)
    state, tty = folder / "state", folder / "state" / "tty"
    if interval is not None:
        text = re.sub(r"(?m)^commit_interval_s\s*=.*\n", "", text)
        if re.search(r"(?m)^\[outbox\]\s*$", text):
            text = re.sub(r"(?m)^\[outbox\]\s*$", f"[outbox]\ncommit_interval_s = {interval}", text)
        else:
            text += f"\n[outbox]\ncommit_interval_s = {interval}\n"
    path = folder / "station.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # the demo's v3 keys: the agent refuses to start from an open file
    config = load_config(path)
    wanted = OutboxSection().commit_interval_s if interval is None else interval
    problems = [
        f"{d.id}: serial_port {d.serial_port}"
        for d in config.device
        if isinstance(d, SerialDevice) and not d.serial_port.is_relative_to(tty)
    ]
    problems += [
        f"{d.id}: port {d.port}"
        for d in config.device
        if isinstance(d, SnmpDevice) and d.host.startswith("127.0.0.") and d.port != snmp_port
    ]
    if config.agent.state_dir != state.resolve():
        problems.append(f"state_dir {config.agent.state_dir}")
    if config.mqtt.url != broker.url:
        problems.append(f"mqtt url {config.mqtt.url}")
    if config.outbox.commit_interval_s != wanted:
        problems.append(f"commit_interval_s {config.outbox.commit_interval_s}")
    if problems:
        raise RuntimeError(f"{path}: not rewritten as intended: {'; '.join(problems)}")
    return path


# The processes.


class Child:
    """A child process with one output pipe read in a thread: its tail, counts, a marker."""

    def __init__(self, command: list[str], pipe: str, marker: str | None = None) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE if pipe == "stderr" else subprocess.DEVNULL,
            text=True,
        )
        stream = self.process.stdout if pipe == "stdout" else self.process.stderr
        assert stream is not None
        self.tail: deque[str] = deque(maxlen=20)
        self.levels: Counter[str] = Counter()
        self.notable: list[str] = []
        """The first distinct warning and error lines (time stamps left out)."""
        self.seen = threading.Event()
        self._marker = marker
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:  # the pipe never fills, and nothing of it reaches a disk
            self.tail.append(line.rstrip())
            for level in ("WARNING", "ERROR", "CRITICAL", "Traceback"):
                if level in line:
                    self.levels[level] += 1
                    text = line.rstrip().split(" ", 2)[-1]  # after the date and time
                    if len(self.notable) < 3 and text not in self.notable:
                        self.notable.append(text)
            if self._marker is not None and self._marker in line:
                self.seen.set()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float, pid: int | None = None) -> float | None:
        """SIGTERM to `pid` (default: the child itself); seconds until the child exited.

        None if it had to be killed.  Under strace the agent is signalled, not strace:
        strace would detach and leave the agent running.
        """
        if not self.alive():
            return 0.0
        target = pid or self.process.pid
        started = time.monotonic()
        os.kill(target, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)
            self.process.kill()
            self.process.wait()
            return None
        return time.monotonic() - started

    def describe(self) -> str:
        return "\n    ".join(self.tail) or "(no output)"


@dataclass
class Tally:
    """What one broker delivered to a subscriber, by kind, while the window was open."""

    open: bool = False
    kinds: Counter[str] = field(default_factory=Counter)
    telemetry: list[tuple[str, bytes]] = field(default_factory=list)
    """Every telemetry message (topic, payload), whenever it arrived."""
    alarms: list[str] = field(default_factory=list)
    before: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            return  # a retained value replayed to the new subscription, not a new message
        kind = msg.topic.rsplit("/", 1)[-1]
        with self.lock:
            if kind == "telemetry":  # kept whenever it arrives: it is counted by its reading time
                self.telemetry.append((msg.topic, bytes(msg.payload)))
            if not self.open:
                self.before += 1
                return
            self.kinds[kind] += 1
            if kind == "alarm":
                event = json.loads(msg.payload)
                self.alarms.append(f"{event.get('alarm_id')} {event.get('event')}")


@dataclass(frozen=True)
class Io:
    write_bytes: int
    wchar: int
    cpu_s: float
    at: float


def read_io(pid: int) -> Io:
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / ticks  # utime, stime
    return Io(int(fields["write_bytes"]), int(fields["wchar"]), cpu, time.time())


def child_of(pid: int, timeout: float = 10.0) -> int:
    """The process strace started (the agent), found by its parent pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(stat[1]) == pid:
                        return int(entry.name)
        time.sleep(0.05)
    raise RuntimeError(f"strace ({pid}) started no agent within {timeout:g} s")


class Station:
    """One configuration: station file, broker, subscriber, simulator and agent."""

    def __init__(
        self,
        label: str,
        folder: Path,
        interval: float | None,
        strace: bool,
        stack: contextlib.ExitStack,
    ) -> None:
        self.label = label
        self.folder = folder
        folder.mkdir()
        self.broker = LocalBroker(folder / "broker")
        self.broker.start()
        stack.callback(self.broker.stop)
        self.path = station_copy(DEMO_STATION, folder, self.broker, free_port(udp=True), interval)
        self.config = load_config(self.path)
        self.tally = Tally()
        self.subscriber = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.subscriber.on_message = self.tally.on_message
        self.subscriber.connect(self.broker.host, self.broker.port)
        self.subscriber.subscribe(f"{self.config.mqtt.topic_root}/#", qos=1)
        self.subscriber.loop_start()
        stack.callback(self.subscriber.loop_stop)
        stack.callback(self.subscriber.disconnect)
        fieldagent = [sys.executable, "-m", "fieldagent"]
        self.simulator = Child([*fieldagent, "simulate", "-c", str(self.path)], "stdout", "help")
        stack.callback(self.simulator.stop, 10.0)
        if not self.simulator.seen.wait(30.0):
            raise RuntimeError(f"{label}: simulator not ready:\n    {self.simulator.describe()}")
        self.trace = folder / "strace.txt" if strace else None
        command = [*fieldagent, "run", "-c", str(self.path)]
        if self.trace is not None:
            command = [
                "strace",
                "-f",
                "-qq",
                "-y",
                "-ttt",
                "-s",
                "0",
                "-e",
                f"trace={WRITES}",
                "-e",
                "signal=none",
                "-o",
                str(self.trace),
                *command,
            ]
        self.agent = Child(command, "stderr")
        self.agent_pid = (
            self.agent.process.pid if self.trace is None else child_of(self.agent.process.pid)
        )
        self.shutdown_s: float | None = 0.0
        stack.callback(self._stop_agent)  # runs first: before the simulator and broker stop

    def _stop_agent(self) -> None:
        if self.agent.alive():
            self.shutdown_s = self.agent.stop(20.0, self.agent_pid)

    def check(self) -> None:
        if not self.agent.alive():
            raise RuntimeError(f"{self.label}: the agent exited:\n    {self.agent.describe()}")

    def readings(self, start: float, end: float) -> list[tuple[str, bytes]]:
        """The telemetry of readings taken between `start` and `end` (epoch seconds).

        Counted by the payload's `ts`, not by arrival: batched commits publish a
        reading up to one commit interval late, which would skew a count by arrival.
        """
        with self.tally.lock:
            telemetry = list(self.tally.telemetry)
        return [
            (topic, payload)
            for topic, payload in telemetry
            if start <= datetime.fromisoformat(json.loads(payload)["ts"]).timestamp() < end
        ]

    def window(self, is_open: bool) -> Io:
        """Open or close the counting window; the agent's I/O counters at that moment."""
        io = read_io(self.agent_pid)
        with self.tally.lock:
            self.tally.open = is_open
        return io


# Counting write syscalls in an strace log (the fallback, or --strace).

_CALL = re.compile(
    r"^(\d+)\s+(\d+\.\d+) (\w+)\((\d+)<([^>]*)>.*?(?:\) += (-?\d+)|<unfinished \.\.\.>)"
)
_RESUMED = re.compile(r"^(\d+)\s+(\d+\.\d+) <\.\.\. \w+ resumed>.*\) += (-?\d+)")


def traced_bytes(trace: Path, start: float, end: float) -> Counter[str]:
    """Bytes written by write syscalls to state.db* between `start` and `end`, by file name."""
    written: Counter[str] = Counter()
    pending: dict[str, tuple[float, str]] = {}
    for line in trace.read_text(errors="replace").splitlines():
        call = _CALL.match(line)
        if call is not None:
            pid, at, _, _, path, result = call.groups()
            if result is None:
                pending[pid] = (float(at), path)
                continue
            stamp = float(at)
        else:
            resumed = _RESUMED.match(line)
            if resumed is None or resumed.group(1) not in pending:
                continue
            pid, _, result = resumed.groups()
            stamp, path = pending.pop(pid)
        name = Path(path).name
        if name.startswith("state.db") and start <= stamp < end and int(result) > 0:
            written[name] += int(result)
    return written


# Sizing the outbox from the telemetry the agent published.


def stored_form(payload: bytes) -> bytes:
    """The payload as the outbox keeps it: without the fields spliced in on the way out."""
    stored, spliced = SPLICED.subn(b"{", payload, count=1)
    if not spliced:
        raise ValueError("a telemetry payload without prev in front")
    return stored


def draft_of(topic: str, stored: bytes) -> Draft:
    def render(seq: int) -> bytes:
        return re.sub(rb'"seq":\d+', b'"seq":%d' % seq, stored, count=1)

    ts = datetime.now().astimezone().isoformat()
    return Draft(Kind.TELEMETRY, topic, 1, False, ts, render)


@dataclass(frozen=True)
class Sizing:
    messages: int
    published_mean: float
    published_min: int
    published_max: int
    estimate_mean: float
    """Outbox.backlog().size per message: what the limit counts."""
    sql_mean: float
    """SELECT AVG(length(payload)+length(topic)+ROW_OVERHEAD) FROM outbox WHERE kind='telemetry'."""
    sample_rows: int
    db_per_row: float
    """state.db after close (WAL checkpointed), per row of the repeated sample."""
    wal_bytes: int


def size_telemetry(
    config: Config, telemetry: list[tuple[str, bytes]], sample_rows: int, folder: Path
) -> Sizing:
    if not telemetry:
        raise RuntimeError("no telemetry arrived during the run")
    drafts = [draft_of(topic, stored_form(payload)) for topic, payload in telemetry]
    exact = put_all(config, folder / "exact", drafts)
    repeated = [drafts[n % len(drafts)] for n in range(max(sample_rows, len(drafts)))]
    sample = put_all(config, folder / "sample", repeated)
    sizes = [len(payload) for _, payload in telemetry]
    return Sizing(
        len(telemetry),
        sum(sizes) / len(sizes),
        min(sizes),
        max(sizes),
        exact[0],
        exact[1],
        len(repeated),
        sample[2],
        sample[3],
    )


def put_all(
    config: Config, state_dir: Path, drafts: list[Draft]
) -> tuple[float, float, float, int]:
    """Into a fresh outbox: (estimate per row, SQL average, state.db per row, WAL bytes)."""
    outbox = Outbox(state_dir, 1 << 40, config.outbox.thin_keep_one_in, 5.0)
    for draft in drafts:
        outbox.put(draft)
    outbox.commit()
    backlog = outbox.backlog()
    wal = state_dir / "state.db-wal"
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    outbox.close()
    db = sqlite3.connect(state_dir / "state.db")
    try:
        (sql_mean,) = db.execute(
            "SELECT AVG(length(payload) + length(topic) + ?) FROM outbox WHERE kind = 'telemetry'",
            (ROW_OVERHEAD,),
        ).fetchone()
    finally:
        db.close()
    db_bytes = (state_dir / "state.db").stat().st_size
    return backlog.size / backlog.count, float(sql_mean), db_bytes / backlog.count, wal_bytes


# The run.


def write_bytes_accounted(folder: Path) -> bool:
    """Does this filesystem charge a process's writes to its write_bytes?"""
    probe = folder / "probe.bin"
    before = read_io(os.getpid()).write_bytes
    with probe.open("wb") as out:
        out.write(os.urandom(MIB))
        out.flush()
        os.fsync(out.fileno())
    probe.unlink()
    return read_io(os.getpid()).write_bytes - before >= MIB // 2


@dataclass(frozen=True)
class Result:
    label: str
    seconds: float
    written: int
    wchar: int
    cpu_s: float
    traced: Counter[str] | None
    kinds: Counter[str]
    """Messages that arrived during the window, by kind."""
    readings: int
    """Telemetry messages of readings taken during the window."""
    wal_bytes: int
    shutdown_s: float | None
    warnings: int
    notable: list[str]
    alarms: list[str]


def run(args: argparse.Namespace, folder: Path) -> tuple[list[Result], Sizing, bool, Config]:
    accounted = write_bytes_accounted(folder)
    strace = args.strace or not accounted
    if strace and shutil.which("strace") is None:
        raise SystemExit("write_bytes is not accounted here and strace is not installed")
    with contextlib.ExitStack() as stack:
        stations = [
            Station(label, folder / f"run{n}", interval, strace, stack)
            for n, (label, interval) in enumerate(CONFIGS.items())
        ]
        time.sleep(args.warmup)  # connect, first polls, health and status, state.db created
        for station in stations:
            station.check()
            if not station.tally.before:
                raise RuntimeError(f"{station.label}: nothing published during the warm-up")
        start = [station.window(True) for station in stations]
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            for station in stations:
                station.check()
        end = [station.window(False) for station in stations]
        wal = [s.config.agent.state_dir / "state.db-wal" for s in stations]
        wal_bytes = [path.stat().st_size if path.exists() else 0 for path in wal]
        time.sleep(OutboxSection().commit_interval_s + 2.0)  # readings of the window still due
        readings = [s.readings(a.at, b.at) for s, a, b in zip(stations, start, end, strict=True)]
    results = []
    rows = zip(stations, start, end, wal_bytes, readings, strict=True)
    for station, before, after, wal_size, taken in rows:
        traced = (
            traced_bytes(station.trace, before.at, after.at) if station.trace is not None else None
        )
        results.append(
            Result(
                station.label,
                after.at - before.at,
                after.write_bytes - before.write_bytes,
                after.wchar - before.wchar,
                after.cpu_s - before.cpu_s,
                traced,
                station.tally.kinds,
                len(taken),
                wal_size,
                station.shutdown_s,
                station.agent.levels.total(),
                station.agent.notable,
                station.tally.alarms,
            )
        )
    sizing = size_telemetry(stations[0].config, readings[0], args.sample_rows, folder / "sizing")
    return results, sizing, accounted, stations[0].config


def report(
    args: argparse.Namespace, results: list[Result], sizing: Sizing, accounted: bool, config: Config
) -> None:
    per_s = sum(1 / d.interval for d in config.device)
    print(
        f"demo station ({len(config.device)} devices, {per_s:.1f} polls/s), real agent processes"
        f" side by side for {args.duration:g} s after a {args.warmup:g} s warm-up;"
        f" state dirs in {tempfile.gettempdir()}"
    )
    source = "/proc/PID/io write_bytes" if accounted else "NOT ACCOUNTED here (strace below)"
    print(f"disk writes: {source}")
    print()
    traced = results[0].traced is not None
    header = f"{'configuration':<23} {'msg/s':>6} {'telem/s':>8} {'written MiB/h':>14}"
    header += f" {'B/msg':>7} {'wchar MiB/h':>12} {'CPU %':>6}"
    if traced:
        header += f" {'state.db* MiB/h':>16}"
    print(header)
    for r in results:
        messages = r.kinds.total()
        per_hour = 3600 / r.seconds
        line = (
            f"{r.label:<23} {messages / r.seconds:>6.2f} {r.readings / r.seconds:>8.2f}"
            f" {r.written * per_hour / MIB:>14.2f} {r.written / max(messages, 1):>7.0f}"
            f" {r.wchar * per_hour / MIB:>12.2f} {100 * r.cpu_s / r.seconds:>6.1f}"
        )
        if r.traced is not None:
            line += f" {r.traced.total() * per_hour / MIB:>16.2f}"
        print(line)
    print(
        "(msg/s: messages of all kinds that arrived in the window; telem/s: telemetry of"
        " readings taken in it; B/msg: written bytes per message)"
    )
    base, every = results
    if accounted and base.written:
        print(
            f"written, commit_interval_s = 0 / defaults: {every.written / base.written:.1f}x"
            f" (per day: {base.written * 86400 / base.seconds / MIB:.0f} MiB against"
            f" {every.written * 86400 / every.seconds / MIB:.0f} MiB)"
        )
    if base.traced is not None and every.traced is not None and base.traced.total():
        ratio = every.traced.total() / base.traced.total()
        files = ", ".join(f"{name} {size / MIB:.2f} MiB" for name, size in base.traced.items())
        print(f"write syscalls to state.db*, 0 / defaults: {ratio:.1f}x (defaults: {files})")
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(base.kinds.items()))
    print(f"messages (defaults, {base.seconds:.0f} s): {kinds}")
    for r in results:
        if r.alarms:
            print(f"{r.label}: alarm events (committed with an fsync): {', '.join(r.alarms)}")
    for r in results:
        shutdown = "killed after 20 s" if r.shutdown_s is None else f"{r.shutdown_s:.1f} s"
        print(
            f"{r.label}: state.db-wal {r.wal_bytes / MIB:.2f} MiB at the end;"
            f" exit after SIGTERM {shutdown}; {r.warnings} warning/error lines logged"
        )
        for text in r.notable:
            print(f"    {text[:150]}")
    print()
    week = base.readings / base.seconds * WEEK_S
    print(
        f"telemetry payload as published: mean {sizing.published_mean:.0f} B"
        f" ({sizing.published_min}-{sizing.published_max} B, {sizing.messages} messages)"
    )
    print(
        f"stored per telemetry message (zlib payload + topic + {ROW_OVERHEAD}, the limit's"
        " estimate):"
        f" {sizing.estimate_mean:.0f} B (SQL AVG {sizing.sql_mean:.0f} B)"
    )
    print(
        f"state.db per row ({sizing.sample_rows:,} rows, WAL checkpointed):"
        f" {sizing.db_per_row:.0f} B = {sizing.db_per_row / sizing.estimate_mean:.2f}x the"
        f" estimate, plus a WAL of up to {sizing.wal_bytes / MIB:.1f} MiB"
    )
    rate = base.readings / base.seconds
    need = week * sizing.estimate_mean / MIB
    nominal = per_s * WEEK_S * sizing.estimate_mean / MIB
    print(f"7 days of demo-station telemetry: {week:,.0f} messages ({rate:.2f}/s measured)")
    print(
        f"  => outbox size for 7 days: max_mb = {need:.0f} MiB at the measured rate"
        f" ({nominal:.0f} MiB at the nominal {per_s:.2f}/s);"
        f" on disk about {week * sizing.db_per_row / MIB + sizing.wal_bytes / MIB:.0f} MiB"
    )
    print(
        f"  the default max_mb ({DEFAULT_OUTBOX_MB} MiB) holds"
        f" {DEFAULT_OUTBOX_MB * MIB / sizing.estimate_mean / per_s / 86400:.1f} days"
        " of it at the nominal rate"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument(
        "--sample-rows",
        type=int,
        default=20_000,
        help="rows of repeated telemetry for the on-disk size per row",
    )
    parser.add_argument(
        "--strace", action="store_true", help="also count write syscalls to state.db* under strace"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fieldagent-bench-") as tmp:
        results, sizing, accounted, config = run(args, Path(tmp))
    report(args, results, sizing, accounted, config)


if __name__ == "__main__":
    main()
