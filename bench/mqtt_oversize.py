"""What a huge message on a subscribed topic costs a subscriber: paho's own client against
the agent's `BoundedClient`, over MQTT 3.1.1 and 5.

Each subscriber is a process of its own (so its peak RSS, VmHWM, is its own): it
subscribes, the script publishes one message of `--mb` MB and then a small
marker, and the subscriber reports its peak RSS before and after the marker
arrived.

    python bench/mqtt_oversize.py [--mb 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import paho.mqtt.publish as publish

from fieldagent.localbroker import LocalBroker
from fieldagent.mqttclient import MAX_PACKET_BYTES

TOPIC = "bench/cmd"

SUBSCRIBER = """
import sys, threading
from pathlib import Path
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from fieldagent.mqttclient import MAX_PACKET_BYTES, BoundedClient

kind, protocol, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
version = MQTTProtocolVersion.MQTTv5 if protocol == "5" else MQTTProtocolVersion.MQTTv311
args = (CallbackAPIVersion.VERSION2, "bench-" + kind)
client = (
    BoundedClient(MAX_PACKET_BYTES, *args, protocol=version)
    if kind == "bounded" else mqtt.Client(*args, protocol=version)
)
marker = threading.Event()
client.on_connect = lambda c, u, f, rc, p: c.subscribe("bench/cmd", qos=1)
client.on_subscribe = lambda c, u, mid, rcs, p: print("ready", flush=True)
client.on_message = lambda c, u, m: m.payload == b"marker" and marker.set()

def peak():
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])

properties = None
if protocol == "5" and kind == "bounded":  # as the agent's publisher does
    properties = Properties(PacketTypes.CONNECT)
    properties.MaximumPacketSize = MAX_PACKET_BYTES
client.connect("127.0.0.1", port, properties=properties)
client.loop_start()
before = peak()
marker.wait(300)
print(before, peak(), flush=True)
client.disconnect()
client.loop_stop()
"""


def measure(broker: LocalBroker, kind: str, protocol: str, payload: bytes) -> tuple[int, int]:
    """The subscriber's peak RSS before the huge message and after the marker, in KiB."""
    root = Path(__file__).resolve().parent.parent
    subscriber = subprocess.Popen(
        [sys.executable, "-c", SUBSCRIBER, kind, protocol, str(broker.port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    assert subscriber.stdout is not None
    assert subscriber.stdout.readline() == "ready\n"
    publish.multiple(
        [(TOPIC, payload, 1, False), (TOPIC, b"marker", 1, False)],
        hostname=broker.host,
        port=broker.port,
    )
    before, after = map(int, subscriber.stdout.readline().split())
    subscriber.wait(30)
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the huge message, MB")
    args = parser.parse_args()
    payload = b"x" * (args.mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as folder:
        broker = LocalBroker(Path(folder))
        broker.start()
        try:
            print(f"one {args.mb} MB message, then a marker; limit {MAX_PACKET_BYTES} bytes")
            head = ("client", "MQTT", "peak before", "peak after", "grew")
            print("{:<10}{:<7}{:>13}{:>13}{:>11}".format(*head))
            for kind in ("paho", "bounded"):
                for protocol in ("3.1.1", "5"):
                    before, after = measure(broker, kind, protocol, payload)
                    print(
                        f"{kind:<10}{protocol:<7}{before / 1024:>9.1f} MiB{after / 1024:>9.1f} MiB"
                        f"{(after - before) / 1024:>7.1f} MiB"
                    )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
