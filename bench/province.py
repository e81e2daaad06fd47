"""The province's monitor at scale: start-up to a complete view, peak RSS, an alarm burst.

200 stations' retained state (status, 10 devices' health, one checklist report
each: 2,400 retained messages, built and numbered as agents do) on a private
mosquitto.  Then, side by side:

- `mosquitto_sub -t 'bctv/v1/#' -C N`: receives the same retained set and exits
  (the floor: a C client that only prints);
- `fieldagent monitor --once --json`: connects, waits for the retained burst to
  settle (1 s without a retained message: included in its time, and shown apart),
  validates every message and prints the province's view.

Each is a fresh process; time is wall clock from start to exit, RSS the peak
(GNU time's %M).  Last, a burst of alarms (5 per station, with their
health) is published while a subscriber feeds a `ProvinceView` in this process:
the time until the view holds every one of them.

    .venv/bin/python bench/province.py [--stations 200] [--devices 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fieldagent.config import MqttSection  # noqa: E402
from fieldagent.localbroker import LocalBroker, free_port  # noqa: E402
from fieldagent.province.feed import Feed  # noqa: E402
from fieldagent.province.view import ProvinceView  # noqa: E402
from tests.support.stations import Link, alarm_burst, province  # noqa: E402


def run(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB (GNU time's %M: the program's own, not this process's
    at the fork, which ru_maxrss of a direct child would include) and stdout."""
    with tempfile.NamedTemporaryFile("r") as peak:
        start = time.monotonic()
        done = subprocess.run(
            ["/usr/bin/time", "-o", peak.name, "-f", "%M", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            check=True,
        )
        took = time.monotonic() - start
        return took, int(peak.read().split()[-1]), done.stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--alarms", type=int, default=5, help="alarms per station in the burst")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        # as docs/mqtt-topics.md asks of the province's broker: with mosquitto's default
        # max_queued_messages (1000) a QoS 1 subscriber loses the retained burst beyond it
        LocalBroker(
            Path(folder),
            port=free_port(),
            listener_options=("allow_anonymous true", "max_queued_messages 0"),
        ) as broker,
    ):
        made, wires = province(args.stations, args.devices)
        link = Link(broker.host, broker.port)
        link.publish(*wires)
        size = sum(len(w.payload) for w in wires)
        print(f"{len(wires)} retained messages, {size / 1e6:.1f} MB, {args.stations} stations")

        sub_s, sub_kib, _ = run(
            [
                "mosquitto_sub",
                "-h",
                broker.host,
                "-p",
                str(broker.port),
                "-t",
                "bctv/v1/#",
                "-C",
                str(len(wires)),
            ]
        )
        mon_s, mon_kib, out = run(
            [
                sys.executable,
                "-m",
                "fieldagent",
                "monitor",
                "--broker",
                broker.url,
                "--once",
                "--json",
            ]
        )
        seen = json.loads(out)["stations"]
        assert len(seen) == args.stations, len(seen)
        short = [s["station"] for s in seen if sum(s["devices"].values()) != args.devices]
        assert not short, (short[:5], json.loads(out)["rejected"])
        quiet = 1.0
        print(f"{'':<34} {'seconds':>8} {'peak RSS MiB':>13}")
        print(f"{'mosquitto_sub (retained set)':<34} {sub_s:>8.2f} {sub_kib / 1024:>13.1f}")
        print(f"{'fieldagent monitor --once --json':<34} {mon_s:>8.2f} {mon_kib / 1024:>13.1f}")
        print(f"{'  of which settling (quiet time)':<34} {quiet:>8.2f}")
        print(
            f"ratio monitor / mosquitto_sub: time {mon_s / sub_s:.1f}x"
            f" ({(mon_s - quiet) / sub_s:.1f}x without the quiet time),"
            f" RSS {mon_kib / sub_kib:.1f}x"
        )

        view = ProvinceView()
        feed = Feed(view, MqttSection(url=broker.url), None)
        feed.start()
        feed.settle()
        burst = alarm_burst(made, args.alarms)
        start = time.monotonic()
        link.publish(*burst)
        expected = args.stations * args.alarms
        while time.monotonic() - start < 60:
            feed.drain(0.1)
            active = sum(len(s.active_alarms) for s in view.stations(datetime.now(UTC)))
            if active >= expected:
                break
        took = time.monotonic() - start
        feed.stop()
        link.close()
        print(
            f"alarm burst: {len(burst)} health messages with {expected} alarms in the view"
            f" after {took:.2f} s ({len(burst) / took:.0f} messages/s, publishing included)"
        )


if __name__ == "__main__":
    main()
