"""Outbox drain rate: a 100,000-message backlog replayed to mosquitto, against mosquitto_pub.

After a long outage the agent replays its whole backlog at full speed, so the outbox's
side of that path (SQLite reads, zlib, the `prev` splice, the forwarder's window, deletes
committed in batches, paho) should keep up with what the broker and a subscriber can take,
and its memory should not grow with the backlog.

The backlog is real: telemetry drafts of the demo station (config/demo-station.toml: its 11
devices and drivers, values from their simulators with noise, one poll per device every
5 s of the outage), built by MessageBuilder and put into a fresh outbox with its batched
commits, so the payloads are the real 0.7-3.3 kB JSON objects on 11 topics.  The outbox is
then closed and reopened (the agent restarting after the outage) and drained through
Forwarder and MqttPublisher into a private mosquitto, timed from the first publish to the
moment a subscriber (paho, QoS 1, in its own process as a real subscriber is, so it does
not share the GIL with the drain) has received every message.  Side by side, on the same
broker and subscriber, `mosquitto_pub -l -q 1` with the same window (`-M`) publishes the
very same payload bytes (read out of the outbox before the drain), timed from its start
(connect included) to the last arrival: the floor set by broker + subscriber.  mosquitto_pub
-l reads all of stdin ahead and, at its end, disconnects at the first PUBACK that carries
the last message's id; ids wrap at 65,535, so fed more lines than that at once it stops
early (2.0.11: 34,565 of 100,000 sent, exit status 0).  The lines therefore go to successive
mosquitto_pub processes, 50,000 at a time (`--pub-chunk`), timed as one leg.  The broker
runs with `max_queued_messages 0`: by default mosquitto drops QoS 1 messages for a
subscriber more than 1,000 behind, which a Python subscriber is during the mosquitto_pub leg.

Peak RSS during the drain is VmHWM after resetting it (/proc/self/clear_refs) just before
the drain.  Also printed: the fill rate (puts/s, batched commits) and the on-disk size of
state.db (+ WAL) against `Outbox.backlog().size`, the estimate that `[outbox] max_mb` is
compared to.

    python bench/outbox_drain.py [--messages 100000] [--inflight 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import re
import resource
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from drivers import get_driver
from fieldagent.config import Config, DeviceSection, MqttSection, load_config
from fieldagent.driver import Driver
from fieldagent.localbroker import LocalBroker
from fieldagent.model import PollResult
from fieldagent.outbox import Draft, Forwarder, Kind, Outbox, Row, wire_payload
from fieldagent.outbox.draft import ROW_OVERHEAD
from fieldagent.outbox.outbox import MAX_BATCH
from fieldagent.outgoing import MessageBuilder
from fieldagent.publisher import Message, MqttPublisher
from fieldagent.sim.device import SimulatedDevice
from fieldagent.topics import Topics

DEMO_STATION = Path(__file__).resolve().parent.parent / "config" / "demo-station.toml"
VARIANTS = 32
"""Simulated polls per device, cycled: each row is compressed on its own, so repeats are free."""
PUB_TOPIC = "bench/mosquitto_pub"
MQTT_MAX_MID = 65_535
MIB = 1024 * 1024


# The subscriber runs in its own process: in ours it would compete with the drain for the GIL.


def subscriber_process(host: str, port: int, commands: Connection, reports: Connection) -> None:
    """Count arrivals on every topic (QoS 1); report once the expected number is in."""
    lock = threading.Lock()
    expected = count = payload_bytes = 0
    first = cpu = 0.0

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal count, payload_bytes, first
        now = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
        with lock:
            count += 1
            payload_bytes += len(msg.payload)
            if count == 1:
                first = now
            if count == expected:
                reports.send(("done", first, now, time.process_time() - cpu, payload_bytes))

    def on_subscribe(client: mqtt.Client, *args: object) -> None:
        with lock:
            reports.send(("ready",))

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-counter")
    client.on_connect = lambda c, *args: c.subscribe("#", qos=1)
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(host, port)
    client.loop_start()
    while True:
        command, number = commands.recv()
        if command == "stop":
            break
        if command == "count":
            with lock:
                reports.send(("count", count))
            continue
        with lock:
            expected, count, payload_bytes, cpu = number, 0, 0, time.process_time()
            reports.send(("armed",))
    client.disconnect()
    client.loop_stop()


@dataclass(frozen=True)
class Arrived:
    first: float
    last: float
    cpu_s: float
    payload_bytes: int


class Counter:
    """The subscriber process, from this side: arm it for N messages, wait for the N-th."""

    def __init__(self, broker: LocalBroker) -> None:
        spawn = multiprocessing.get_context("spawn")
        command_out, self._commands = spawn.Pipe(duplex=False)  # (receiving, sending)
        self._reports, report_in = spawn.Pipe(duplex=False)
        self._process = spawn.Process(
            target=subscriber_process,
            args=(broker.host, broker.port, command_out, report_in),
            daemon=True,
        )
        self._process.start()
        self._expect_report("ready", 10.0)

    def arm(self, count: int) -> None:
        self._commands.send(("expect", count))
        self._expect_report("armed", 10.0)

    def wait(self, timeout: float) -> Arrived:
        _, first, last, cpu, payload_bytes = self._expect_report("done", timeout)
        assert isinstance(first, float) and isinstance(last, float) and isinstance(cpu, float)
        assert isinstance(payload_bytes, int)
        return Arrived(first, last, cpu, payload_bytes)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._commands.send(("stop", 0))
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()

    def _expect_report(self, what: str, timeout: float) -> tuple[object, ...]:
        if not self._reports.poll(timeout):
            self._commands.send(("count", 0))
            count = self._reports.recv()[1] if self._reports.poll(5.0) else "?"
            raise TimeoutError(f"subscriber: no {what!r} within {timeout:g} s ({count} arrived)")
        report: tuple[object, ...] = self._reports.recv()
        if report[0] != what:
            raise RuntimeError(f"subscriber: expected {what!r}, got {report!r}")
        return report


# The backlog: the demo station's telemetry through an outage.


def telemetry_drafts(config: Config, count: int) -> Iterator[Draft]:
    """`count` telemetry drafts, device after device, as the agent builds them during an outage.

    Values come from each device's simulator (noise on) at successive poll times; the
    PollResults are prepared first, so the caller times only what the agent does per reading.
    """
    builder = MessageBuilder(
        config, Topics(config.mqtt.topic_root, config.station.id), config.mqtt.telemetry_qos
    )
    devices: list[tuple[DeviceSection, Driver, list[PollResult]]] = []
    for section in config.device:
        driver = get_driver(section.driver).with_scaling(section.scaling)
        devices.append((section, driver, simulated_polls(section, driver)))
    start = datetime.now(UTC) - timedelta(days=7)
    for n in range(count):
        section, driver, polls = devices[n % len(devices)]
        poll_round = n // len(devices)
        ts = start + timedelta(seconds=poll_round * section.interval)
        yield builder.telemetry(section, driver, replace(polls[poll_round % VARIANTS], ts=ts))


def simulated_polls(section: DeviceSection, driver: Driver) -> list[PollResult]:
    now = [0.0]
    device = SimulatedDevice(driver, noise=True, clock=lambda: now[0])
    polls = []
    for k in range(VARIANTS):
        now[0] = k * section.interval
        ts = datetime.now(UTC)
        readings = driver.decode(driver.encode(device.live_values()), ts)
        polls.append(PollResult(section.id, ts, readings, duration_s=0.004 + 0.002 * (k % 17)))
    return polls


@dataclass(frozen=True)
class Fill:
    seconds: float
    estimate: int
    """Outbox.backlog().size: what the size limit counts."""
    db_bytes: int
    wal_bytes: int
    closed_db_bytes: int
    """state.db after close (the last connection checkpoints and removes the WAL)."""
    payload_bytes: int
    """The JSON payloads as published (with `prev` and `replayed`)."""
    largest: int
    smallest: int


def fill(
    config: Config, state_dir: Path, count: int, limit_mb: int, lines: list[Path], chunk: int
) -> Fill:
    """Put `count` drafts into a fresh outbox, then write their wire payloads as lines."""
    outbox = Outbox(
        state_dir,
        limit_mb * MIB,
        config.outbox.thin_keep_one_in,
        config.outbox.commit_interval_s,
    )
    drafts = telemetry_drafts(config, count)
    started = time.perf_counter()
    for draft in drafts:
        outbox.put(draft)
    outbox.commit()
    seconds = time.perf_counter() - started
    backlog = outbox.backlog()
    if backlog.count != count or backlog.thinned:
        raise RuntimeError(f"outbox holds {backlog.count} of {count} ({backlog.thinned} thinned)")
    db, wal = state_dir / "state.db", state_dir / "state.db-wal"
    db_bytes, wal_bytes = db.stat().st_size, wal.stat().st_size if wal.exists() else 0
    outbox.close()
    sizes = write_lines(db, lines, chunk)
    return Fill(
        seconds,
        backlog.size,
        db_bytes,
        wal_bytes,
        db.stat().st_size,
        sum(sizes),
        max(sizes),
        min(sizes),
    )


def write_lines(db: Path, lines: list[Path], chunk: int) -> list[int]:
    """mosquitto_pub's input: every row's payload exactly as the drain will publish it.

    Written `chunk` lines to a file, next to the state directory; `lines` gets the paths.
    """
    sizes: list[int] = []
    reader = sqlite3.connect(db)
    try:
        found = reader.execute(
            "SELECT seq, prev, kind, topic, qos, retain, ts, payload FROM outbox"
            " ORDER BY priority, seq"
        )
        with contextlib.ExitStack() as files:
            out = None
            for seq, prev, kind, topic, qos, retain, ts, payload in found:
                if out is None or len(sizes) % chunk == 0:
                    lines.append(db.parent.parent / f"payloads-{len(lines)}.txt")
                    out = files.enter_context(lines[-1].open("wb"))
                row = Row(seq, prev, Kind(kind), topic, qos, bool(retain), ts, payload)
                wire = wire_payload(row, replayed=True)  # the drain replays all of it
                if b"\n" in wire:
                    raise ValueError(
                        f"row {seq}: payload spans lines, mosquitto_pub -l would split"
                    )
                out.write(wire + b"\n")
                sizes.append(len(wire))
    finally:
        reader.close()
    return sizes


# The two ways to the broker.


@dataclass(frozen=True)
class Leg:
    label: str
    seconds: float
    """From the first publish (mosquitto_pub: its start) to the last arrival."""
    cpu_s: float
    """CPU of the publishing process."""
    subscriber_cpu_s: float
    payload_bytes: int


def mosquitto_pub(
    broker: LocalBroker,
    counter: Counter,
    lines: list[Path],
    count: int,
    inflight: int,
    timeout: float,
) -> Leg:
    command = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-i", "bench-pub",
               "-q", "1", "-M", str(inflight), "-t", PUB_TOPIC, "-l"]  # fmt: skip
    counter.arm(count)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    for chunk in lines:  # one after the other: each exits once the broker acknowledged all
        with chunk.open("rb") as stdin:
            returncode = subprocess.run(command, stdin=stdin, timeout=timeout).returncode
        if returncode:
            raise RuntimeError(f"mosquitto_pub exited with {returncode}")
    arrived = counter.wait(timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Leg(
        f"mosquitto_pub -q 1 -M {inflight}",
        arrived.last - started,
        cpu,
        arrived.cpu_s,
        arrived.payload_bytes,
    )


class FirstPublish:
    """The publisher, noting when the forwarder hands it its first message."""

    def __init__(self, publisher: MqttPublisher) -> None:
        self._publisher = publisher
        self.first: float | None = None

    @property
    def connected(self) -> bool:
        return self._publisher.connected

    def publish(self, message: Message) -> int | None:
        if self.first is None:
            self.first = time.monotonic()
        return self._publisher.publish(message)


@dataclass(frozen=True)
class Drain:
    leg: Leg
    reopen_s: float
    empty_s: float
    """From the first publish until every row is acknowledged and deleted."""
    rss_before_kib: int
    peak_rss_kib: int
    peak_is_lifetime: bool
    written_bytes: int
    """Bytes this process wrote to disk during the drain (/proc/self/io write_bytes)."""


async def drain(
    config: Config,
    state_dir: Path,
    broker: LocalBroker,
    counter: Counter,
    count: int,
    inflight: int,
    limit_mb: int,
    timeout: float,
) -> Drain:
    """Reopen the filled outbox and forward it all, as the agent does after a restart."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    outbox = Outbox(
        state_dir,
        limit_mb * MIB,
        config.outbox.thin_keep_one_in,
        config.outbox.commit_interval_s,
    )
    reopen_s = time.perf_counter() - started
    if outbox.backlog_count() != count:
        raise RuntimeError(f"reopened outbox holds {outbox.backlog_count()} of {count}")
    forwarder = Forwarder(outbox, inflight)
    publisher = MqttPublisher(
        MqttSection(url=broker.url, max_inflight=inflight),
        client_id="bench-drain",
        on_connected=lambda: call_soon_threadsafe(loop, forwarder.connected),
        on_delivered=forwarder.on_delivered,
    )
    sender = FirstPublish(publisher)
    counter.arm(count)
    rss_before = proc_kib("/proc/self/status", "VmRSS")
    peak_is_lifetime = not reset_peak_rss()
    written = proc_io("/proc/self/io", "write_bytes")
    cpu = time.process_time()
    task = asyncio.create_task(forwarder.run(sender))
    try:
        publisher.start(broker.host, broker.port)
        arrived = await asyncio.to_thread(counter.wait, timeout)
        if not await forwarder.drain(timeout):
            raise TimeoutError(f"outbox not empty after {timeout:g} s")
        empty = time.monotonic()
        cpu = time.process_time() - cpu
        written = proc_io("/proc/self/io", "write_bytes") - written
        peak = proc_kib("/proc/self/status", "VmHWM")
        if peak_is_lifetime:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        publisher.stop()
        await cancel(task)
        outbox.close()
    assert sender.first is not None
    leg = Leg(
        f"outbox drain, window {inflight}",
        arrived.last - sender.first,
        cpu,
        arrived.cpu_s,
        arrived.payload_bytes,
    )
    return Drain(leg, reopen_s, empty - sender.first, rss_before, peak, peak_is_lifetime, written)


async def cancel(task: asyncio.Task[None]) -> None:
    """Cancel until it has ended.

    On Python 3.11 `asyncio.wait_for` swallows a cancellation that arrives when the awaited
    future is already done, so Forwarder.run (waiting on its wake event through wait_for)
    ignores a cancel made in the same tick as a wake-up, and one `gather` after one
    `cancel` can wait forever.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)


def call_soon_threadsafe(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """paho's thread: the forwarder hears of the connection on the event loop, as in the agent."""
    loop.call_soon_threadsafe(callback)


def proc_kib(path: str, field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(path).read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def proc_io(path: str, field: str) -> int:
    match = re.search(rf"^{field}: (\d+)", Path(path).read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def report(config: Config, count: int, filled: Fill, pub: Leg, drained: Drain) -> None:
    print(
        f"{count:,} telemetry messages of station {config.station.id} ({len(config.device)}"
        f" devices, one topic each; payloads {filled.smallest}-{filled.largest} B, mean"
        f" {filled.payload_bytes / count:.0f} B), QoS 1, to a private mosquitto and a paho"
        " subscriber in another process"
    )
    print(
        f"fill: {count / filled.seconds:,.0f} puts/s ({filled.seconds:.1f} s, commits of up"
        f" to {MAX_BATCH} rows); reopening the outbox took {drained.reopen_s * 1000:.0f} ms"
    )
    print()
    print(f"{'path':<26} {'msg/s':>8} {'MB/s':>6} {'s':>6} {'pub CPU s':>10} {'sub CPU s':>10}")
    for leg in (pub, drained.leg):
        print(
            f"{leg.label:<26} {count / leg.seconds:>8,.0f}"
            f" {leg.payload_bytes / leg.seconds / 1e6:>6.1f} {leg.seconds:>6.1f}"
            f" {leg.cpu_s:>10.1f} {leg.subscriber_cpu_s:>10.1f}"
        )
    same = "same" if pub.payload_bytes == drained.leg.payload_bytes else "DIFFERENT"
    print(
        f"rate, outbox drain / mosquitto_pub: {pub.seconds / drained.leg.seconds:.2f}"
        f" ({same} payload bytes received: {drained.leg.payload_bytes:,})"
    )
    print(
        f"outbox empty (every row acknowledged and deleted) {drained.empty_s:.1f} s after the"
        f" first publish; the drain wrote {drained.written_bytes / MIB:.1f} MiB to disk"
        f" ({drained.written_bytes / count:.0f} B per message)"
    )
    peak = "peak (lifetime, VmHWM reset unavailable)" if drained.peak_is_lifetime else "peak"
    print(
        f"RSS: {drained.rss_before_kib / 1024:.1f} MiB before the drain, {peak}"
        f" {drained.peak_rss_kib / 1024:.1f} MiB during it"
        f" (+{(drained.peak_rss_kib - drained.rss_before_kib) / 1024:.1f} MiB)"
    )
    print()
    on_disk = filled.db_bytes + filled.wal_bytes
    print(f"{'size of the backlog':<44} {'MiB':>8} {'B/message':>10} {'/ estimate':>11}")
    rows = [
        ("Outbox.backlog().size (the limit's estimate)", filled.estimate),
        ("state.db + state.db-wal, outbox open", on_disk),
        ("  of which state.db-wal", filled.wal_bytes),
        ("state.db after close (WAL checkpointed)", filled.closed_db_bytes),
        ("payloads as published (uncompressed JSON)", filled.payload_bytes),
    ]
    for label, size in rows:
        print(
            f"{label:<44} {size / MIB:>8.1f} {size / count:>10.0f} {size / filled.estimate:>11.2f}"
        )
    content = filled.estimate / count - ROW_OVERHEAD  # compressed payload + topic
    overhead = filled.closed_db_bytes / count - content
    print(
        f"per-row overhead implied by state.db after close: {overhead:.0f} B"
        f" (the estimate counts ROW_OVERHEAD = {ROW_OVERHEAD} B)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument(
        "--inflight",
        type=int,
        default=MqttSection().max_inflight,
        help="the forwarder's window and mosquitto_pub -M (default: the agent's)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEMO_STATION,
        help="station whose telemetry fills the outbox (default: the demo station)",
    )
    parser.add_argument(
        "--limit-mb",
        type=int,
        default=4096,
        help="outbox size limit, high enough that nothing is thinned",
    )
    parser.add_argument(
        "--pub-chunk",
        type=int,
        default=50_000,
        help="lines per mosquitto_pub process (its message ids wrap at 65,535)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="per leg, seconds")
    args = parser.parse_args()
    if not 0 < args.pub_chunk < MQTT_MAX_MID:
        parser.error(f"--pub-chunk must be between 1 and {MQTT_MAX_MID - 1}")
    config = load_config(args.config)
    with tempfile.TemporaryDirectory(prefix="fieldagent-bench-") as tmp:
        folder = Path(tmp)
        # mosquitto drops QoS 1 messages for a subscriber that has more than
        # max_queued_messages (default 1000) waiting: the bench must lose none.
        broker = LocalBroker(
            folder / "broker", listener_options=("allow_anonymous true", "max_queued_messages 0")
        )
        broker.start()
        counter: Counter | None = None
        try:
            counter = Counter(broker)
            lines: list[Path] = []
            filled = fill(
                config, folder / "state", args.messages, args.limit_mb, lines, args.pub_chunk
            )
            pub = mosquitto_pub(broker, counter, lines, args.messages, args.inflight, args.timeout)
            drained = asyncio.run(
                drain(
                    config,
                    folder / "state",
                    broker,
                    counter,
                    args.messages,
                    args.inflight,
                    args.limit_mb,
                    args.timeout,
                )
            )
            dropped = [
                line for line in broker.log_path.read_text().splitlines() if "dropped" in line
            ]
            if dropped:
                raise RuntimeError(f"mosquitto dropped messages: {dropped[0]}")
        finally:
            if counter is not None:
                counter.close()
            broker.stop()
    report(config, args.messages, filled, pub, drained)


if __name__ == "__main__":
    main()
