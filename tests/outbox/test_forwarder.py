"""The forwarder with a real broker: an alarm raised during a long drain overtakes the
backlog, and the window of messages handed to paho is never exceeded."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from fieldagent.config import MqttSection
from fieldagent.localbroker import LocalBroker
from fieldagent.outbox import Forwarder, Kind
from fieldagent.publisher import Message, MqttPublisher
from tests.mqtt_probe import MqttProbe
from tests.outbox import draft, open_outbox

BACKLOG = 20_000


class CountingPublisher(MqttPublisher):
    """The real publisher, counting what is handed to paho and not yet acknowledged."""

    most_in_flight = 0
    in_flight = 0
    published = 0
    lock = threading.Lock()

    def publish(self, message: Message) -> int | None:
        mid = super().publish(message)
        if mid is not None:
            with self.lock:
                self.published += 1
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return mid

    def acknowledged(self) -> None:
        with self.lock:
            self.in_flight -= 1


def test_an_alarm_raised_during_a_drain_overtakes_the_backlog(tmp_path: Path) -> None:
    broker = LocalBroker(
        tmp_path / "broker", listener_options=("allow_anonymous true", "max_queued_messages 0")
    )
    broker.start()
    probe = MqttProbe(broker.host, broker.port, "t/#")
    outbox = open_outbox(tmp_path / "state", commit_interval_s=5.0)
    for number in range(BACKLOG):
        outbox.put(draft(Kind.TELEMETRY, topic="t/telemetry", body=str(number)))
    outbox.commit()
    settings = MqttSection(url=broker.url, max_inflight=50)
    forwarder = Forwarder(outbox, settings.max_inflight)

    async def scenario() -> tuple[int, int]:
        loop = asyncio.get_running_loop()

        def delivered(mid: int) -> None:
            publisher.acknowledged()  # paho's thread
            forwarder.on_delivered(mid)

        publisher = CountingPublisher(
            settings,
            "forwarder-test",
            on_connected=lambda: loop.call_soon_threadsafe(forwarder.connected),
            on_delivered=delivered,
        )
        task = asyncio.create_task(forwarder.run(publisher))
        publisher.start(broker.host, broker.port)
        await asyncio.to_thread(probe.wait_for, lambda ms: len(ms) >= 1000, 30)
        handed_before = publisher.published  # how far the drain was when the alarm came
        alarm = outbox.put(draft(Kind.ALARM, topic="t/alarm"))
        forwarder.wake()
        assert await forwarder.drain(60)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        publisher.stop()
        assert publisher.most_in_flight <= settings.max_inflight
        return alarm, handed_before

    try:
        alarm, handed_before = asyncio.run(scenario())
        messages = probe.wait_for(lambda ms: len(ms) >= BACKLOG + 1, timeout=30)
    finally:
        probe.close()
        broker.stop()
        outbox.close()
    arrival = [json.loads(m.payload)["seq"] for m in messages]
    # One window behind what was handed to paho when it was raised, not 19,000 readings
    # behind (counted from the publisher, not from when the probe noticed: a loaded
    # machine delays the probe's thread, not the order).
    assert arrival.index(alarm) <= handed_before + 2 * settings.max_inflight
    readings = [seq for seq in arrival if seq != alarm]
    assert readings == sorted(readings) and len(set(readings)) == BACKLOG
