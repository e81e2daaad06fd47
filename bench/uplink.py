"""Uplink bytes: the demo station's MQTT traffic per day, compact telemetry against full.

The province pays for every byte its stations send.  This runs the demo station
(config/demo-station.toml: 11 devices every 5 s, served by `fieldagent simulate` with its
live-looking noise) twice side by side in the same time window, each with its own copy of
the station file, state directory, simulator, private mosquitto and real agent process
(`fieldagent run`): one with `[telemetry] format = "full"` (contract v1: every reading of
every poll), one with `format = "compact"` (v2, the default: report by exception, a
snapshot per device every `snapshot_interval_s`, units in the retained meta message).

A subscriber on each broker counts every message by topic kind (telemetry, meta, health,
status, alarm, ...) as it travels from the agent to the broker: an MQTT 3.1.1 PUBLISH
packet, i.e. its fixed header (1 byte + the remaining length, 1-4 bytes), the topic with
its 2-byte length, the 2-byte packet id at QoS 1, and the payload.  TCP/IP and TLS
overhead and the broker's 4-byte PUBACKs (downlink) are not counted.  Messages are
counted in a window that opens after a warm-up (the start's meta messages and first
snapshots are behind it) and lasts `--duration` seconds; per day is that rate times
86,400, plus the meta messages once (a start a day; a reconnect sends them again too).
Snapshots are staggered over the snapshot interval, so a window shorter than it sees its
share of them (11 devices x window / interval); `--duration 600` averages two whole
intervals.

    python bench/uplink.py [--duration 120] [--warmup 20]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from demostation import private_station_text
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.config import load_config
from fieldagent.localbroker import LocalBroker, free_port

DEMO_STATION = Path(__file__).resolve().parent.parent / "config" / "demo-station.toml"
DAY_S = 86400
STATIONS = 100
FORMS = ("full", "compact")
KINDS = ("telemetry", "meta", "health", "status", "alarm")


def publish_bytes(topic: str, payload: bytes, qos: int) -> int:
    """The size of an MQTT 3.1.1 PUBLISH packet carrying this message."""
    remaining = 2 + len(topic.encode()) + (2 if qos else 0) + len(payload)
    length_bytes = 1
    while remaining >= 128**length_bytes:
        length_bytes += 1
    return 1 + length_bytes + remaining


def station_copy(folder: Path, broker: LocalBroker, snmp_port: int, form: str) -> Path:
    """The demo station with its own state dir, ptys, SNMP port, broker and telemetry form."""
    text = private_station_text(DEMO_STATION, folder, broker.url, snmp_port)
    if re.search(r"(?m)^\[telemetry\]", text):
        raise RuntimeError(f"{DEMO_STATION} has a [telemetry] section: this script adds its own")
    text = text.replace("\n[[device]]", f'\n[telemetry]\nformat = "{form}"\n\n[[device]]', 1)
    path = folder / "station.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # the demo's v3 keys: the agent refuses to start from an open file
    config = load_config(path)
    if config.telemetry.format != form or config.mqtt.url != broker.url:
        raise RuntimeError(f"{path}: not rewritten as intended")
    return path


@dataclass
class Tally:
    """Bytes and messages by topic kind, inside the window and over the whole run."""

    open: bool = False
    window: Counter[str] = field(default_factory=Counter)
    window_messages: Counter[str] = field(default_factory=Counter)
    run: Counter[str] = field(default_factory=Counter)
    run_messages: Counter[str] = field(default_factory=Counter)
    devices: Counter[str] = field(default_factory=Counter)
    """Telemetry bytes in the window by device: where the bytes go."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            return  # a retained value replayed to a new subscription, not traffic
        kind = msg.topic.rsplit("/", 1)[-1]
        size = publish_bytes(msg.topic, bytes(msg.payload), msg.qos)
        with self.lock:
            self.run[kind] += size
            self.run_messages[kind] += 1
            if self.open:
                self.window[kind] += size
                self.window_messages[kind] += 1
                if kind == "telemetry":
                    self.devices[msg.topic.rsplit("/", 2)[-2]] += size


class Station:
    """One form: broker, subscriber, simulator and agent, each its own."""

    def __init__(self, form: str, folder: Path, stack: contextlib.ExitStack) -> None:
        self.form = form
        folder.mkdir()
        self.broker = LocalBroker(folder / "broker")
        self.broker.start()
        stack.callback(self.broker.stop)
        self.path = station_copy(folder, self.broker, free_port(udp=True), form)
        self.tally = Tally()
        self.subscriber = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.subscriber.on_message = self.tally.on_message
        self.subscriber.connect(self.broker.host, self.broker.port)
        self.subscriber.subscribe("#", qos=1)
        self.subscriber.loop_start()
        stack.callback(self.subscriber.loop_stop)
        stack.callback(self.subscriber.disconnect)
        fieldagent = [sys.executable, "-m", "fieldagent"]
        self.simulator = subprocess.Popen(
            [*fieldagent, "simulate", "-c", str(self.path)],
            stdin=subprocess.PIPE,  # it takes commands on stdin; closed when we stop it
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        stack.callback(_stop, self.simulator)
        assert self.simulator.stdout is not None
        for line in self.simulator.stdout:  # it prints its devices, then how to command it
            if "help" in line:
                break
        else:
            raise RuntimeError(f"{form}: the simulator stopped before it was ready")
        threading.Thread(target=self.simulator.stdout.read, daemon=True).start()
        self.agent = subprocess.Popen(
            [*fieldagent, "run", "-c", str(self.path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(_stop, self.agent)  # runs first: before the simulator and broker stop

    def set_window(self, is_open: bool) -> None:
        if self.agent.poll() is not None:
            raise RuntimeError(f"{self.form}: the agent exited with {self.agent.returncode}")
        with self.tally.lock:
            self.tally.open = is_open


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Figures:
    """One form's traffic, per second in the window and per day."""

    bytes_per_s: dict[str, float]
    messages_per_s: dict[str, float]
    meta_once: int
    device_bytes_per_s: dict[str, float]

    @property
    def day_bytes(self) -> float:
        return sum(self.bytes_per_s.values()) * DAY_S + self.meta_once

    def kind_day_bytes(self, kind: str) -> float:
        return self.bytes_per_s.get(kind, 0.0) * DAY_S + (self.meta_once if kind == "meta" else 0)


def figures(tally: Tally, duration: float) -> Figures:
    with tally.lock:
        window = dict(tally.window)
        messages = dict(tally.window_messages)
        meta = tally.run["meta"]
        devices = {device: size / duration for device, size in tally.devices.items()}
    rates = {kind: size / duration for kind, size in window.items() if kind != "meta"}
    counts = {kind: n / duration for kind, n in messages.items() if kind != "meta"}
    return Figures(rates, counts, meta, devices)


def table(results: dict[str, Figures]) -> str:
    kinds = sorted(
        {k for f in results.values() for k in (*f.bytes_per_s, "meta")},
        key=lambda k: (KINDS.index(k) if k in KINDS else len(KINDS), k),
    )
    head = f"{'form':<8} {'kind':<10} {'bytes/s':>9} {'MB/day':>8} {'GB/day x100':>11} {'msg/s':>7}"
    lines = [head, "-" * len(head)]
    for form, fig in results.items():
        for kind in [*kinds, "total"]:
            if kind == "total":
                per_s = sum(fig.bytes_per_s.values())
                day = fig.day_bytes
                rate = sum(fig.messages_per_s.values())
            else:
                per_s = fig.bytes_per_s.get(kind, 0.0)
                day = fig.kind_day_bytes(kind)
                rate = fig.messages_per_s.get(kind, 0.0)
            lines.append(
                f"{form:<8} {kind:<10} {per_s:>9.1f} {day / 1e6:>8.2f} "
                f"{day * STATIONS / 1e9:>11.3f} {rate:>7.2f}"
            )
        lines.append("")
    full, compact = results["full"], results["compact"]
    ratio = compact.day_bytes / full.day_bytes
    telemetry = (compact.kind_day_bytes("telemetry") + compact.meta_once) / full.kind_day_bytes(
        "telemetry"
    )
    lines.append(
        f"compact / full over a day: {ratio:.3f} of all bytes ({1 / ratio:.1f}x fewer); "
        f"telemetry and meta against v1 telemetry: {telemetry:.3f}"
    )
    lines += ["", f"{'telemetry bytes/s by device':<28} {'full':>8} {'compact':>8} {'ratio':>6}"]
    for device in sorted(
        full.device_bytes_per_s, key=lambda d: -compact.device_bytes_per_s.get(d, 0)
    ):
        before = full.device_bytes_per_s[device]
        after = compact.device_bytes_per_s.get(device, 0.0)
        lines.append(f"{device:<28} {before:>8.1f} {after:>8.1f} {after / before:>6.3f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0, help="counting window, seconds")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the window")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="fieldagent-uplink-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        stations = {form: Station(form, Path(tmp) / form, stack) for form in FORMS}
        time.sleep(args.warmup)
        for station in stations.values():
            station.set_window(True)
        time.sleep(args.duration)
        for station in stations.values():
            station.set_window(False)
        results = {form: figures(s.tally, args.duration) for form, s in stations.items()}
    print(
        f"demo station ({DEMO_STATION.name}), {args.duration:g} s window after {args.warmup:g} s"
        " warm-up; MQTT PUBLISH bytes (header + topic + payload), agent to broker"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
