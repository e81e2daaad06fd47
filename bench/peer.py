"""The agent against the C peer a station would otherwise install: collectd, and net-snmp's tools.

The other benches compare the agent with bare pysnmp, a Python floor.  This one puts it next
to collectd 5.12 (its snmp and mqtt plugins, Debian's `collectd-core`) on the same load in the
same run, next to prometheus-snmp-exporter 0.21 (Go; Debian's package) scraped once per device
per interval by this script standing for Prometheus, and next to net-snmp's `snmpget` /
`snmpbulkget` as the C floor of the SNMP work alone.  Every figure is printed, and written as
JSON and markdown, also as a ratio to collectd.

The responder is ONE net-snmp `snmpd` (C) on a free loopback UDP port with its own config
file, so the SNMP side costs the same for every peer and the Python simulators do not share
the CPU with the agent.  N "devices" are N device entries (agent `[[device]]`, collectd
`<Host>`) with different ids, all pointing at that one snmpd: the simplest honest choice, since
every peer sends exactly the requests it would send to N real devices, and snmpd answers them
all alike (`--responder sim`: the agent's own simulator instead, `fieldagent simulate
--replay` of snmpd's answers recorded once, in a process of its own; the agent's and the
peers' requests then cost Python's CPU on the other side).  The objects are what snmpd
serves out of the box (debian's net-snmp has no UPS-MIB):
15 numeric scalars (ip group 1-13, snmpInPkts, snmpOutPkts), read by GET, and 15 numeric
columns of ifTable, read by GETBULK, one row per interface of this machine (`rows` in the
output).  The agent reads them through a profile (`bench_mib2`, written to the bench station's
`profiles.d/`); collectd through two `<Data>` blocks of a 15-value type (one GET of the
scalars, one bulk walk of the 15 columns, BulkSize 25 as the agent's max-repetitions).

Per N, one after the other: collectd, then `fieldagent run`, each publishing to its own private
mosquitto (QoS 1) for `--warmup` + `--duration` seconds; then snmp_exporter with its own
snmp.yml (one module: `get` the scalars, `walk` the columns), its `/snmp` scraped by threads of
this script (not counted) at each device's offset in the interval; then the C floor, `snmpget`
of the scalars and `snmpbulkget` of the columns once per device per interval.  Measured from /proc
in the measured window (after the warm-up): CPU (utime + stime) of the process tree, peak RSS
(VmHWM at the end, start-up included) and steady RSS (VmRSS at the end); from a paho
subscriber: the time from the process start to its first message and to its first reading,
the values published (agent: readings in telemetry, in the full form `[telemetry] format =
"full"` that publishes every value of every poll as collectd does; collectd: values in its
messages), the
lag from a value's timestamp to its arrival at the subscriber (p50 / p99: both stamp a value
once the device's answer is in, the agent in `Poller.poll`, collectd when it dispatches it,
so this is the path from the answer to the broker), and the
share of polls on time (a device's poll that follows its previous one within 1.1 intervals,
over the polls the window should hold), and the poll cycle p50 / p99 (the agent's own
`poll_ms`, the exporter's `snmp_scrape_duration_seconds`, the span of collectd's stamps in a
poll, the tools' two commands).  The exporter's "messages" are its scrape answers.  From
snmpd: its CPU in the window, and the requests it received per device poll (its own
snmpInPkts, read before and after).

    python bench/peer.py [--devices 50] [--duration 20] [--interval 10] [--json FILE]
                         [--md FILE] [--plot FILE.png]
    python bench/peer.py --devices 10 50 100 --duration 60 --interval 10 --json peer.json

`--plot` draws % of a core and peak RSS against N (matplotlib, the optional `bench` extra).

Run as root it installs what is missing from Debian's packages (`apt-get install -y
--no-install-recommends collectd-core prometheus-snmp-exporter snmpd snmp mosquitto`);
otherwise it names them and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.localbroker import LocalBroker, free_port

SCALARS = (
    *(f"1.3.6.1.2.1.4.{i}.0" for i in range(1, 14)),
    "1.3.6.1.2.1.11.1.0",  # snmpInPkts
    "1.3.6.1.2.1.11.2.0",  # snmpOutPkts
)
"""ip group (ipForwarding .. ipReasmTimeout) and two snmp counters: all numeric, all served by
a bare snmpd (sysServices is not, without a `sysservices` line)."""

IF_COLUMNS = (3, 4, 5, 7, 8, 10, 11, 12, 13, 14, 16, 17, 19, 20, 21)
"""ifType, ifMtu, ifSpeed, ifAdmin/OperStatus, in/out octets, packets, discards, errors,
ifOutQLen: the numeric ifTable columns Linux fills (ifLastChange is TimeTicks, left out)."""
COLUMNS = tuple(f"1.3.6.1.2.1.2.2.1.{c}" for c in IF_COLUMNS)

PACKAGES = {
    "collectd": "collectd-core",
    "prometheus-snmp-exporter": "prometheus-snmp-exporter",
    "snmpd": "snmpd",
    "snmpget": "snmp",
    "snmpbulkget": "snmp",
    "mosquitto": "mosquitto",
}
SBIN = "/usr/sbin:/usr/local/sbin:/usr/bin:/bin"
COLLECTD_PLUGINS = ("/usr/lib/collectd/snmp.so", "/usr/lib/collectd/mqtt.so")
FIRST_MESSAGE_TIMEOUT_S = 60.0
ON_TIME_FACTOR = 1.1
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- installing and finding the peers ---------------------------------------------------


def which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=SBIN)


def ensure_installed() -> None:
    """Install the peers from Debian's packages when root; name them and exit otherwise."""
    missing = sorted(
        {pkg for tool, pkg in PACKAGES.items() if which(tool) is None}
        | ({"collectd-core"} if not all(Path(p).exists() for p in COLLECTD_PLUGINS) else set())
    )
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        sys.exit(f"bench/peer.py: missing {', '.join(missing)}: run `sudo {' '.join(command)}`")
    print(f"installing {' '.join(missing)} from Debian's packages", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(command, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=False)
        subprocess.run(command, env=env, check=True)
    # Debian starts the packaged services; this bench runs its own and leaves those alone.


# --- processes ----------------------------------------------------------------------------


class Group:
    """Child processes, each in its own session (process group), all killed on exit."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, argv: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # Whatever it left in its group goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in reversed(self._procs):
            self.stop(proc)
        self._procs.clear()


def last_line(log: Path) -> str:
    """The last line a child wrote (its logs go with the temp folder unless --keep)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return f"{log.name}: unreadable"
    return f"{log.name}: {lines[-1]}" if lines else f"{log.name}: empty"


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc/*/stat ppid)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def cpu_s(pid: int) -> float:
    """utime + stime of the process tree, seconds."""
    total = 0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def status_kb(pid: int, key: str) -> int:
    """A /proc/PID/status figure (VmHWM, VmRSS) summed over the process tree, kB."""
    total = 0
    for each in tree(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


# --- the responder ------------------------------------------------------------------------


def start_snmpd(group: Group, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port(udp=True)
    conf = folder / "snmpd.conf"
    conf.write_text("rocommunity public 127.0.0.1\n", encoding="utf-8")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(folder / "snmpd-state"))
    snmpd = which("snmpd")
    assert snmpd
    argv = [snmpd, "-f", "-Lo", "-C", "-c", str(conf), f"udp:127.0.0.1:{port}"]
    proc = group.start(argv, folder / "snmpd.log", env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"snmpd exited at start: {last_line(folder / 'snmpd.log')}")
        if snmp_lines(["snmpget", "-t", "0.5", "-r", "0"], port, SCALARS[:1]):
            return proc, port
        time.sleep(0.1)
    sys.exit(f"snmpd did not answer on 127.0.0.1:{port} within 10 s")


def start_sim(group: Group, folder: Path, snmpd_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """The agent's own simulator as the responder (`--responder sim`).

    snmpd's answers to the same objects are recorded once (`snmpget` of the scalars,
    `snmpwalk` of ifTable, numeric, as a technician's walk) and served by `fieldagent
    simulate --replay` in a process of its own on a free port: the same objects and types,
    the values frozen at that moment.  Its snmpInPkts is frozen too, so no requests per poll.
    """
    base = [which("snmpget") or "snmpget", "-v2c", "-c", "public", "-On", "-m", ""]
    walk = [which("snmpwalk") or "snmpwalk", *base[1:]]
    address = f"127.0.0.1:{snmpd_port}"
    recorded = []
    for argv in ([*base, address, *SCALARS], [*walk, address, "1.3.6.1.2.1.2.2.1"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        recorded += [line for line in done.stdout.splitlines() if line.startswith(".")]
    path = folder / "snmpd.walk"
    path.write_text("\n".join(recorded) + "\n", encoding="utf-8")
    port = free_port(udp=True)
    argv = [sys.executable, "-m", "fieldagent", "simulate", "--replay", str(path)]
    proc = group.start([*argv, "--listen", f"127.0.0.1:{port}"], folder / "sim.log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the simulator exited at start: {last_line(folder / 'sim.log')}")
        if snmp_lines(["snmpget", "-t", "0.5", "-r", "0"], port, SCALARS[:1]):
            return proc, port
        time.sleep(0.2)
    sys.exit(f"the simulator did not answer on 127.0.0.1:{port} within 30 s")


def snmp_lines(tool: list[str], port: int, oids: tuple[str, ...]) -> list[str]:
    """Run a net-snmp tool against the responder; its answer lines (numeric, values only)."""
    argv = [which(tool[0]) or tool[0], *tool[1:], "-v2c", "-c", "public", "-On", "-Oq", "-m", ""]
    done = subprocess.run(
        [*argv, f"127.0.0.1:{port}", *oids], capture_output=True, text=True, timeout=10
    )
    return [line for line in done.stdout.splitlines() if line.startswith(".")]


def in_packets(port: int) -> int | None:
    """snmpd's snmpInPkts: every request it received, the reading's own included (a replay's
    is frozen: the difference is then -1, and `requests_in` gives None)."""
    lines = snmp_lines(["snmpget"], port, ("1.3.6.1.2.1.11.1.0",))
    try:
        return int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None


def count_rows(port: int) -> int:
    lines = snmp_lines(["snmpbulkget", "-Cn0", "-Cr64"], port, (COLUMNS[0],))
    return sum(1 for line in lines if line.startswith("." + COLUMNS[0] + "."))


# --- the subscriber -----------------------------------------------------------------------


@dataclass
class Seen:
    """What arrived at the broker, stamped on arrival."""

    first: float | None = None
    first_reading: float | None = None
    values: list[tuple[float, int]] = field(default_factory=list)
    """(arrival, values in the message) of every message carrying readings."""
    polls: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    """device -> (poll timestamp, arrival) of its polls."""
    poll_ms: list[tuple[float, float]] = field(default_factory=list)
    """(arrival, ms): a poll's own duration as the peer reports it (the agent's `poll_ms`,
    the exporter's `snmp_scrape_duration_seconds`); only those arriving in the window count."""
    stamps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """host -> the timestamp of every message about it (collectd's poll cycle is their span)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class Watcher(Protocol):
    """What a leg watches its peer through: a subscriber at the broker, or a scraper."""

    seen: Seen

    def close(self) -> None: ...


Parsed = tuple[str, float, int, float | None, str]
"""(device whose poll this message stands for or "", stamp epoch, values, poll_ms, host)."""


def parse_agent(topic: str, payload: bytes) -> Parsed | None:
    """A telemetry message: (device, poll epoch, readings, poll_ms, device)."""
    if not topic.endswith("/telemetry"):
        return None
    data = json.loads(payload)
    ts = time.mktime(time.strptime(data["ts"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    ts += float("0" + data["ts"][19:].rstrip("Z")) if data["ts"][19:20] == "." else 0.0
    readings = sum(1 for m in data["metrics"].values() if m.get("value") is not None)
    return data["device"], ts, readings, data.get("poll_ms"), data["device"]


def parse_collectd(topic: str, payload: bytes) -> Parsed | None:
    """collectd's `time:v1:v2...` on collectd/HOST/snmp/TYPE-INSTANCE: the scalars' message
    stands for the device's poll; every message counts its values."""
    parts = payload.decode().split(":")
    host = topic.split("/")[1]
    poll = host if topic.endswith("-scalars") else ""
    values = sum(1 for v in parts[1:] if v not in ("nan", "U"))
    return poll, float(parts[0]), values, None, host


class Subscriber:
    def __init__(self, broker: LocalBroker, kind: str) -> None:
        self.seen = Seen()
        self._parse = parse_collectd if kind == "collectd" else parse_agent
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{kind}")
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("the bench subscriber was not subscribed within 10 s")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.time()
        try:
            parsed = self._parse(msg.topic, bytes(msg.payload))
        except (ValueError, KeyError, TypeError, IndexError):
            parsed = None  # not a reading (collectd's or the agent's other messages)
        with self.seen.lock:
            if self.seen.first is None:
                self.seen.first = now
            if parsed is None:
                return
            device, ts, count, poll_ms, host = parsed
            if self.seen.first_reading is None:
                self.seen.first_reading = now
            self.seen.values.append((now, count))
            self.seen.stamps[host].append(ts)
            if device:
                self.seen.polls[device].append((ts, now))
            if poll_ms is not None:
                self.seen.poll_ms.append((now, float(poll_ms)))

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class Scraper:
    """Stands for Prometheus in front of snmp_exporter: one scrape per device per interval.

    Each device is scraped at its own offset in the interval (Prometheus spreads its targets
    over the interval the same way), from a pool of threads of this process: the scraper's CPU
    is not counted, as Prometheus's would not be.  From the start it asks for the first device
    every 20 ms until an answer carries readings: the exporter publishes nothing by itself, so
    its "first message" and "first reading" are that answer.  A poll counts (`polls`) when
    its answer carries every expected sample within the interval; its stamp is the scrape's
    start, as Prometheus stamps a scrape's samples.
    """

    def __init__(self, port: int, snmp_port: int, n: int, interval: float, expected: int) -> None:
        self.seen = Seen()
        self._port = port
        self._n, self._interval, self._expected = n, interval, expected
        self._path = f"/snmp?target=127.0.0.1:{snmp_port}&module={EXPORTER_MODULE}"
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=min(n, 32), thread_name_prefix="scrape")
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def _get(self, path: str) -> str | None:
        connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=self._interval)
        try:
            connection.request("GET", path)
            answer = connection.getresponse()
            body = answer.read().decode("utf-8", errors="replace")
            return body if answer.status == 200 else None
        except OSError:
            return None
        finally:
            connection.close()

    def _scrape(self, i: int) -> bool:
        began = time.time()
        body = self._get(self._path)
        arrival = time.time()
        if body is None:
            return False
        samples, duration = count_samples(body)
        with self.seen.lock:
            if self.seen.first is None:
                self.seen.first = arrival
            if not samples:
                return False
            if self.seen.first_reading is None:
                self.seen.first_reading = arrival
            self.seen.values.append((arrival, samples))
            if samples >= self._expected and arrival - began < self._interval:
                self.seen.polls[f"dev{i:03d}"].append((began, arrival))
            if duration is not None:
                self.seen.poll_ms.append((arrival, 1000 * duration))
        return True

    def _run(self) -> None:
        while not self._scrape(1):
            if self._stop.wait(0.02):
                return
        start = time.time()
        offsets = [(i - 1) * self._interval / self._n for i in range(1, self._n + 1)]
        rounds = 0
        while True:
            for i, offset in enumerate(offsets, 1):
                at = start + rounds * self._interval + offset
                if self._stop.wait(max(0.0, at - time.time())):
                    return
                self._pool.submit(self._scrape, i)
            rounds += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)


def count_samples(body: str) -> tuple[int, float | None]:
    """Samples of the module's metrics in a scrape (the exporter's own `snmp_*` left out), and
    the exporter's `snmp_scrape_duration_seconds`."""
    samples, duration = 0, None
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("snmp_scrape_duration_seconds "):
            duration = float(line.split()[1])
        elif not line.startswith("snmp_"):
            samples += 1
    return samples, duration


# --- the peers' configuration -------------------------------------------------------------


def collectd_conf(folder: Path, n: int, snmp_port: int, broker: LocalBroker, interval: int) -> Path:
    """collectd with the snmp plugin (one GET, one bulk walk per host) and the mqtt plugin."""
    names = ", ".join(f"v{i:02d}:GAUGE:U:U" for i in range(1, 16))
    types = folder / "bench-types.db"
    types.write_text(f"bench15 {names}\n", encoding="utf-8")
    hosts = "".join(
        f'  <Host "dev{i:03d}">\n'
        f'    Address "udp:127.0.0.1:{snmp_port}"\n'
        '    Version 2\n    Community "public"\n'
        '    Collect "scalars" "iftable"\n'
        f"    Interval {interval}\n    Timeout 2\n    Retries 1\n    BulkSize 25\n"
        "  </Host>\n"
        for i in range(1, n + 1)
    )
    scalar_oids = " ".join(f'"{oid}"' for oid in SCALARS)
    column_oids = " ".join(f'"{oid}"' for oid in COLUMNS)
    conf = folder / "collectd.conf"
    conf.write_text(
        f'Hostname "bench"\nFQDNLookup false\nBaseDir "{folder}"\n'
        f'PIDFile "{folder}/collectd.pid"\nPluginDir "/usr/lib/collectd"\n'
        f'TypesDB "/usr/share/collectd/types.db" "{types}"\nInterval {interval}\n'
        "LoadPlugin logfile\n"
        '<Plugin logfile>\n  LogLevel "warning"\n  File STDOUT\n</Plugin>\n'
        "LoadPlugin snmp\nLoadPlugin mqtt\n"
        "<Plugin snmp>\n"
        '  <Data "scalars">\n    Type "bench15"\n    Table false\n'
        f'    TypeInstance "scalars"\n    Values {scalar_oids}\n  </Data>\n'
        '  <Data "iftable">\n    Type "bench15"\n    Table true\n'
        f'    TypeInstancePrefix "if"\n    Values {column_oids}\n  </Data>\n'
        f"{hosts}</Plugin>\n"
        "<Plugin mqtt>\n"
        '  <Publish "bench">\n'
        f'    Host "{broker.host}"\n    Port {broker.port}\n'
        '    ClientId "collectd-bench"\n    Prefix "collectd"\n'
        "    QoS 1\n    Retain false\n    StoreRates false\n"
        "  </Publish>\n</Plugin>\n",
        encoding="utf-8",
    )
    return conf


EXPORTER_MODULE = "bench_mib2"


def exporter_conf(folder: Path) -> Path:
    """snmp_exporter 0.21's snmp.yml, as its generator would write it for the same objects.

    In 0.21 the modules are the file's top-level keys, each with its own `version` and
    `auth` (the `modules:` / `auths:` split came in 0.23): `get` the scalars, `walk` each
    column (15 of ifEntry's 22, so no walk of the whole entry), one metric per object, the
    columns indexed by ifIndex.  Timeout and retries as collectd's; max-repetitions 25.
    """
    lines = [
        f"{EXPORTER_MODULE}:",
        "  version: 2",
        "  max_repetitions: 25",
        "  retries: 1",
        "  timeout: 2s",
        "  auth:",
        "    community: public",
        "  get:",
        *(f"  - {oid}" for oid in SCALARS),
        "  walk:",
        *(f"  - {oid}" for oid in COLUMNS),
        "  metrics:",
    ]
    for oid in SCALARS:
        group, item = oid.split(".")[-3:-1]
        lines += [
            f"  - name: mib2_g{group}_{item}",
            f"    oid: {oid.removesuffix('.0')}",
            "    type: gauge",
            f"    help: MIB-2 {oid}",
        ]
    for column, oid in zip(IF_COLUMNS, COLUMNS, strict=True):
        lines += [
            f"  - name: mib2_if_c{column}",
            f"    oid: {oid}",
            "    type: gauge",
            f"    help: ifTable column {column}",
            "    indexes:",
            "    - labelname: ifIndex",
            "      type: gauge",
        ]
    path = folder / "snmp.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def profile_text() -> str:
    """The agent's driver for what snmpd serves, as a station profile."""
    out = [
        "[profile]",
        'name = "bench_mib2"',
        'title = "MIB-2 ip / snmp groups and ifTable, as a bare net-snmp snmpd serves them"',
        'kind = "bench"',
        'protocol = "snmp"',
        'maturity = "model"',
        "",
    ]
    for oid in SCALARS:
        group, item = oid.split(".")[-3:-1]
        out += [
            "[[metric]]",
            f'key = "mib2.g{group}_{item}"',
            f'title = "MIB-2 {oid}"',
            f'source = "{oid}"',
            'alarm_class = "other"',
            "",
        ]
    for column, oid in zip(IF_COLUMNS, COLUMNS, strict=True):
        out += [
            "[[metric]]",
            f'key = "mib2.if_c{column}"',
            f'title = "ifTable column {column}"',
            f'source = "{oid}"',
            'table = "if"',
            'alarm_class = "other"',
            "",
        ]
    return "\n".join(out)


def station_file(folder: Path, n: int, snmp_port: int, broker: LocalBroker, interval: int) -> Path:
    (folder / "profiles.d").mkdir(exist_ok=True)
    (folder / "profiles.d" / "bench_mib2.toml").write_text(profile_text(), encoding="utf-8")
    devices = "".join(
        f'[[device]]\nid = "dev{i:03d}"\ndriver = "bench_mib2"\nhost = "127.0.0.1"\n'
        f'port = {snmp_port}\ncommunity = "public"\ninterval = {interval}\n\n'
        for i in range(1, n + 1)
    )
    path = folder / "station.toml"
    path.write_text(
        '[station]\nid = "bench"\nname = "Peer bench"\n\n'
        f'[agent]\nstate_dir = "{folder / "state"}"\nlog_level = "warning"\n\n'
        f'[mqtt]\nurl = "{broker.url}"\n\n'
        # Every value of every poll, as collectd publishes them: the same work to compare.
        # The default compact form sends only what changed (bench/uplink.py).
        '[telemetry]\nformat = "full"\n\n'
        f"{devices}",
        encoding="utf-8",
    )
    return path


# --- one leg ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Leg:
    cpu_s: float
    varbinds: int
    peak_rss_kb: int
    steady_rss_kb: int
    first_message_s: float | None
    first_reading_s: float | None
    lag_p50_ms: float | None
    lag_p99_ms: float | None
    on_time: float | None
    duration: float
    poll_ms_p50: float | None = None
    poll_ms_p99: float | None = None
    responder_cpu_s: float = 0.0
    requests: int | None = None
    """SNMP requests snmpd received in the window (its snmpInPkts, less the bench's own)."""

    def figures(self) -> dict[str, float | None]:
        return {
            "cpu_ms_per_1000_varbinds": (
                1000 * self.cpu_s / self.varbinds * 1000 if self.varbinds else None
            ),
            "core_pct": 100 * self.cpu_s / self.duration,
            "peak_rss_mb": self.peak_rss_kb / 1024 or None,
            "steady_rss_mb": self.steady_rss_kb / 1024 or None,
            "first_message_s": self.first_message_s,
            "first_reading_s": self.first_reading_s,
            "lag_p50_ms": self.lag_p50_ms,
            "lag_p99_ms": self.lag_p99_ms,
            "on_time_pct": None if self.on_time is None else 100 * self.on_time,
            "poll_ms_p50": self.poll_ms_p50,
            "poll_ms_p99": self.poll_ms_p99,
        }


def run_leg(
    group: Group,
    kind: str,
    argv: list[str],
    folder: Path,
    watch: Callable[[], Watcher],
    snmpd_pid: int,
    port: int,
    args: argparse.Namespace,
    n: int,
) -> Leg:
    subscriber = watch()
    try:
        started = time.time()
        proc = group.start(argv, folder / f"{kind}.log")
        time.sleep(args.warmup)
        if proc.poll() is not None:
            sys.exit(f"{kind} exited during the warm-up: {last_line(folder / f'{kind}.log')}")
        window_start = time.time()
        cpu0, snmpd0, packets0 = cpu_s(proc.pid), cpu_s(snmpd_pid), in_packets(port)
        time.sleep(args.duration)
        cpu1, snmpd1, packets1 = cpu_s(proc.pid), cpu_s(snmpd_pid), in_packets(port)
        window_end = time.time()
        peak, steady = status_kb(proc.pid, "VmHWM"), status_kb(proc.pid, "VmRSS")
        group.stop(proc)
    finally:
        subscriber.close()
    seen = subscriber.seen
    with seen.lock:
        varbinds = sum(c for t, c in seen.values if window_start <= t < window_end)
        lags, on_time = [], 0
        for polls in seen.polls.values():
            previous = None
            for ts, arrival in polls:
                if window_start <= arrival < window_end:
                    lags.append(1000 * (arrival - ts))
                    if previous is not None and ts - previous <= ON_TIME_FACTOR * args.interval:
                        on_time += 1
                previous = ts
        expected = n * int(args.duration // args.interval)
        if kind == "collectd":
            cycles = poll_spans(seen.stamps, window_start, window_end, args.interval)
        else:
            cycles = [ms for t, ms in seen.poll_ms if window_start <= t < window_end]
        return Leg(
            cpu_s=cpu1 - cpu0,
            varbinds=varbinds,
            peak_rss_kb=peak,
            steady_rss_kb=steady,
            first_message_s=None if seen.first is None else seen.first - started,
            first_reading_s=None if seen.first_reading is None else seen.first_reading - started,
            lag_p50_ms=percentile(lags, 50),
            lag_p99_ms=percentile(lags, 99),
            on_time=min(1.0, on_time / expected) if expected else None,
            duration=window_end - window_start,
            poll_ms_p50=percentile(cycles, 50),
            poll_ms_p99=percentile(cycles, 99),
            responder_cpu_s=snmpd1 - snmpd0,
            requests=requests_in(packets0, packets1),
        )


def requests_in(before: int | None, after: int | None) -> int | None:
    """Requests the responder received between two readings of its snmpInPkts."""
    if before is None or after is None or after <= before:
        return None
    return after - before - 1


def poll_spans(
    stamps: dict[str, list[float]], start: float, end: float, interval: float
) -> list[float]:
    """collectd's poll cycles, ms: per host, the span of one poll's value-list stamps.

    collectd reports no poll duration.  Its snmp plugin stamps the scalars' values when
    their GET is answered and the table's rows when the walk is done, so the span from the
    first stamp of a poll to its last is the walk (a lower bound of the cycle: the GET's own
    round trip is not in it).  A poll's stamps lie within half an interval of its first.
    """
    spans = []
    for host_stamps in stamps.values():
        ordered = sorted(t for t in host_stamps if start <= t < end)
        first = last = None
        for ts in ordered:
            if first is None or ts - first > interval / 2:
                if first is not None and last is not None:
                    spans.append(1000 * (last - first))
                first = ts
            last = ts
        if first is not None and last is not None:
            spans.append(1000 * (last - first))
    return spans


def run_floor(port: int, snmpd_pid: int, n: int, rows: int, args: argparse.Namespace) -> Leg:
    """net-snmp's tools: per device per interval one snmpget of the scalars and one
    snmpbulkget of the columns (as many repetitions as rows); CPU from wait4's rusage (its
    ru_maxrss is no RSS figure: it counts the forking Python's pages); a device's poll cycle
    is its two commands."""
    get = [which("snmpget") or "snmpget", "-v2c", "-c", "public", "-On", "-Oq", "-m", ""]
    bulk = [which("snmpbulkget") or "snmpbulkget", "-v2c", "-c", "public", "-On", "-Oq", "-m", ""]
    address = f"127.0.0.1:{port}"
    commands = [
        [*get, address, *SCALARS],
        [*bulk, "-Cn0", f"-Cr{rows}", address, *COLUMNS],
    ]
    cpu, varbinds, on_time = 0.0, 0, 0
    cycles: list[float] = []
    packets0, snmpd0 = in_packets(port), cpu_s(snmpd_pid)
    start = time.time()
    rounds = int(args.duration // args.interval)
    for round_no in range(rounds):
        slot = start + round_no * args.interval
        time.sleep(max(0.0, slot - time.time()))
        began = time.time()
        for _ in range(n):
            device_began = time.perf_counter()
            for argv in commands:
                proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                assert proc.stdout
                out = proc.stdout.read()
                proc.stdout.close()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                cpu += usage.ru_utime + usage.ru_stime
                varbinds += sum(1 for line in out.splitlines() if line.startswith(b".1.3.6.1.2.1."))
            cycles.append(1000 * (time.perf_counter() - device_began))
        took = time.time() - began
        on_time += n if took <= ON_TIME_FACTOR * args.interval else 0
    duration = max(time.time() - start, rounds * args.interval)
    packets1, snmpd1 = in_packets(port), cpu_s(snmpd_pid)
    return Leg(
        cpu_s=cpu,
        varbinds=varbinds,
        peak_rss_kb=0,
        steady_rss_kb=0,
        first_message_s=None,
        first_reading_s=None,
        lag_p50_ms=None,
        lag_p99_ms=None,
        on_time=on_time / (n * rounds) if rounds else None,
        duration=duration,
        poll_ms_p50=percentile(cycles, 50),
        poll_ms_p99=percentile(cycles, 99),
        requests=requests_in(packets0, packets1),
        responder_cpu_s=snmpd1 - snmpd0,
    )


def run_exporter(
    group: Group,
    folder: Path,
    n: int,
    snmp_port: int,
    rows: int,
    snmpd_pid: int,
    args: argparse.Namespace,
) -> Leg:
    """prometheus-snmp-exporter on a free port, scraped once per device per interval."""
    leg_dir = folder / f"snmp_exporter-{n}"
    leg_dir.mkdir()
    web = free_port()
    argv = [
        which("prometheus-snmp-exporter") or "prometheus-snmp-exporter",
        f"--config.file={exporter_conf(leg_dir)}",
        f"--web.listen-address=127.0.0.1:{web}",
        "--log.level=warn",
    ]
    expected = len(SCALARS) + len(COLUMNS) * rows

    def watch() -> Watcher:
        return Scraper(web, snmp_port, n, args.interval, expected)

    return run_leg(group, "snmp_exporter", argv, leg_dir, watch, snmpd_pid, snmp_port, args, n)


# --- report -------------------------------------------------------------------------------

LABELS = {
    "cpu_ms_per_1000_varbinds": "CPU ms / 1,000 varbinds",
    "core_pct": "% of a core",
    "peak_rss_mb": "peak RSS MiB",
    "steady_rss_mb": "steady RSS MiB",
    "first_message_s": "start to 1st message s",
    "first_reading_s": "start to 1st reading s",
    "lag_p50_ms": "stamp to broker p50 ms",
    "lag_p99_ms": "stamp to broker p99 ms",
    "on_time_pct": "polls on time %",
    "poll_ms_p50": "poll cycle p50 ms",
    "poll_ms_p99": "poll cycle p99 ms",
}


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def per_poll(leg: Leg, n: int, interval: float) -> float | None:
    """Requests snmpd received per device poll in the window."""
    polls = n * leg.duration / interval
    return None if leg.requests is None or not polls else leg.requests / polls


def table(n: int, rows: int, legs: dict[str, Leg], args_interval: float) -> str:
    figures = {name: leg.figures() for name, leg in legs.items()}
    base = figures["collectd"]
    names = list(legs)
    lines = [
        f"\n### {n} devices x ({len(SCALARS)} scalars + {len(COLUMNS)} columns x {rows} rows)\n",
        "| figure | " + " | ".join(f"{name} | ratio" for name in names) + " |",
        "|---|" + "---:|---:|" * len(names),
    ]
    for key, label in LABELS.items():
        cells = []
        for name in names:
            value = figures[name][key]
            share = ratio(value, base[key])
            cells += [fmt(value), "-" if share is None else f"{share:,.2f}x"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| varbinds in window | " + " | ".join(f"{legs[x].varbinds:,} | " for x in names) + "|"
    )
    lines.append(
        "| responder CPU s in window | "
        + " | ".join(f"{fmt(legs[x].responder_cpu_s)} | " for x in names)
        + "|"
    )
    lines.append(
        "| SNMP requests per poll | "
        + " | ".join(f"{fmt(per_poll(legs[x], n, args_interval), 1)} | " for x in names)
        + "|"
    )
    if legs["collectd"].cpu_s < 10 / CLK_TCK:
        lines.append(
            f"\ncollectd used under 10 clock ticks ({1000 / CLK_TCK:.0f} ms each) of CPU in the "
            "window: its CPU figures and the ratios to them are coarse; run longer or more devices"
        )
    lines.append(
        "\npoll cycle: fieldagent's own `poll_ms`; snmp_exporter's `snmp_scrape_duration_seconds`;"
        " collectd's span of a poll's value-list stamps (the walk, a lower bound); the tools' two"
        " commands."
    )
    return "\n".join(lines)


SUMMARY = (
    ("cpu_ms_per_1000_varbinds", "CPU per 1,000 varbinds", "ms", 1),
    ("core_pct", "% of a core", "%", 2),
    ("peak_rss_mb", "peak RSS", "MiB", 1),
    ("steady_rss_mb", "steady RSS", "MiB", 1),
    ("first_message_s", "start to 1st message", "s", 2),
    ("first_reading_s", "start to 1st reading", "s", 2),
    ("poll_ms_p50", "poll cycle p50", "ms", 0),
    ("poll_ms_p99", "poll cycle p99", "ms", 0),
    ("on_time_pct", "polls on time", "%", 0),
)


def markdown(results: dict[str, object], tables: list[str]) -> str:
    """One summary table (every peer's figure and its ratio to collectd's) and the per-N
    tables as printed."""
    runs = results["runs"]
    assert isinstance(runs, list)
    head = "| devices | peer | " + " | ".join(label for _, label, _, _ in SUMMARY) + " |"
    lines = [
        "# Peer bench",
        "",
        f"{results['scalars']} scalars (GET) + {results['columns']} columns x {results.get('rows')}"
        f" rows (GETBULK) per device every {results['interval_s']} s from one"
        f" {results.get('responder', 'snmpd')}; {results['duration_s']} s"
        f" measured after {results['warmup_s']} s of warm-up per leg. Each cell: the figure"
        " (its unit in the header) and, in brackets, its ratio to collectd's.",
        "",
        head,
        "|---:|---|" + "---:|" * len(SUMMARY),
    ]
    for run in runs:
        base = run["peers"]["collectd"]
        for name, peer in run["peers"].items():
            cells = []
            for key, _, unit, digits in SUMMARY:
                value = peer.get(key)
                if value is None:
                    cells.append("-")
                    continue
                share = ratio(value, base.get(key)) if name != "collectd" else None
                cell = f"{fmt(value, digits)} {unit}"
                cells.append(cell + (f" ({share:,.2f}x)" if share is not None else ""))
            lines.append(f"| {run['devices']} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + "\n".join(tables) + "\n"


def require_matplotlib() -> None:
    """--plot needs matplotlib, the project's optional `bench` extra: say how to get it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit(
            "bench/peer.py: --plot needs matplotlib: run `.venv/bin/pip install -e '.[bench]'`"
            " (or scripts/bench.sh, which does)"
        )


def plot(results: dict[str, object], path: Path) -> None:
    """Two panels against N, one line per peer: % of a core and peak RSS (log scales: the
    peers lie orders of magnitude apart)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    runs = results["runs"]
    assert isinstance(runs, list)
    names = list(runs[0]["peers"]) if runs else []
    figure, (cpu_axis, rss_axis) = plt.subplots(1, 2, figsize=(11, 4.5))
    for index, name in enumerate(names):
        for axis, key in ((cpu_axis, "core_pct"), (rss_axis, "peak_rss_mb")):
            points = [
                (run["devices"], run["peers"][name][key])
                for run in runs
                if run["peers"].get(name, {}).get(key)
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, marker="o", label=name, color=f"C{index}")
    for axis, title in (
        (cpu_axis, "CPU, % of one core"),
        (rss_axis, "peak RSS, MiB"),
    ):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("devices")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        devices = [run["devices"] for run in runs]
        axis.set_xticks(devices, [str(d) for d in devices])
        axis.xaxis.set_minor_locator(NullLocator())
        axis.legend()
    figure.suptitle(
        f"{results['scalars']} scalars + {results['columns']} columns x {results.get('rows')} rows"
        f" per device every {results['interval_s']} s, one {results.get('responder', 'snmpd')}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="fieldagent-peer-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _interrupted(signum: int, frame: object) -> None:
    raise SystemExit(f"bench/peer.py: stopped by signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[50])
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per leg")
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default: interval)")
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None, help="the tables as markdown")
    parser.add_argument(
        "--plot", type=Path, default=None, help="PNG: CPU and peak RSS against N (matplotlib)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument(
        "--responder",
        choices=("snmpd", "sim"),
        default="snmpd",
        help="net-snmp's snmpd (C), or the agent's own simulator replaying snmpd's objects",
    )
    args = parser.parse_args()
    # Stopped by a signal, still stop every child and remove the temp folder (a background
    # job of a non-interactive shell starts with SIGINT ignored: set it anyway).
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _interrupted)
    if args.warmup is None:
        args.warmup = float(args.interval)
    if args.plot:
        require_matplotlib()
    ensure_installed()
    group = Group()
    tables: list[str] = []
    results: dict[str, object] = {
        "interval_s": args.interval,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "scalars": len(SCALARS),
        "columns": len(COLUMNS),
        "responder": args.responder,
        "runs": [],
    }
    with workdir() as folder:
        try:
            snmpd, port = start_snmpd(group, folder)
            if args.responder == "sim":
                replay, port = start_sim(group, folder, port)
                group.stop(snmpd)
                snmpd = replay
            rows = count_rows(port)
            results["rows"] = rows
            for n in args.devices:
                legs: dict[str, Leg] = {}
                for kind in ("collectd", "fieldagent"):
                    leg_dir = folder / f"{kind}-{n}"
                    leg_dir.mkdir()
                    with LocalBroker(leg_dir / "broker") as broker:
                        if kind == "collectd":
                            conf = collectd_conf(leg_dir, n, port, broker, args.interval)
                            argv = [which("collectd") or "collectd", "-f", "-C", str(conf)]
                        else:
                            station = station_file(leg_dir, n, port, broker, args.interval)
                            argv = [sys.executable, "-m", "fieldagent", "run", "-c", str(station)]
                        print(f"{n} devices: {kind} ...", file=sys.stderr, flush=True)
                        legs[kind] = run_leg(
                            group,
                            kind,
                            argv,
                            leg_dir,
                            functools.partial(Subscriber, broker, kind),
                            snmpd.pid,
                            port,
                            args,
                            n,
                        )
                print(f"{n} devices: snmp_exporter ...", file=sys.stderr, flush=True)
                legs["snmp_exporter"] = run_exporter(group, folder, n, port, rows, snmpd.pid, args)
                print(f"{n} devices: net-snmp tools ...", file=sys.stderr, flush=True)
                legs["net-snmp tools"] = run_floor(port, snmpd.pid, n, rows, args)
                tables.append(table(n, rows, legs, args.interval))
                print(tables[-1], flush=True)
                base = legs["collectd"].figures()
                runs = results["runs"]
                assert isinstance(runs, list)
                runs.append(
                    {
                        "devices": n,
                        "peers": {
                            name: {
                                **leg.figures(),
                                "varbinds": leg.varbinds,
                                "cpu_s": leg.cpu_s,
                                "duration_s": leg.duration,
                                "responder_cpu_s": leg.responder_cpu_s,
                                "snmp_requests": leg.requests,
                                "ratio_to_collectd": {
                                    key: ratio(value, base[key])
                                    for key, value in leg.figures().items()
                                },
                            }
                            for name, leg in legs.items()
                        },
                    }
                )
        finally:
            group.stop_all()
            if args.keep:
                kept = Path(tempfile.mkdtemp(prefix="fieldagent-peer-logs-"))
                shutil.copytree(folder, kept, dirs_exist_ok=True)
                print(f"logs kept in {kept}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.md:
        args.md.write_text(markdown(results, tables), encoding="utf-8")
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
