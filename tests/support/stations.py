"""Simulated stations for the province's tests: messages built and numbered as the agent does.

`FakeStation` uses the agent's own `MessageBuilder` (payload models, topics, QoS,
retain) and numbers each draft like the outbox (one counter per station, `prev`
spliced in by `outbox.wire_payload`), so what the province's tools read is
what an agent publishes.  `publish` sends through a real paho client; the last
will is registered as the agent registers it (a number outside the chain) and
`vanish` kills the connection so that the broker publishes it.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldagent.alarms.model import Alarm
from fieldagent.checklist.definition import Category, ItemKind, Severity, Text
from fieldagent.checklist.report import (
    Check,
    ItemResult,
    ReadingUsed,
    Report,
    StationInfo,
    Status,
    summarize,
)
from fieldagent.config import parse_config
from fieldagent.model import HealthState
from fieldagent.outbox import Draft, Row, wire_payload
from fieldagent.outbox.draft import compress
from fieldagent.outgoing import MessageBuilder
from fieldagent.topics import Topics

ROOT = "bctv/v1"


@dataclass(frozen=True)
class Wire:
    topic: str
    payload: bytes
    qos: int
    retain: bool


def alarm(station: str, device: str, severity: HealthState, at: datetime) -> Alarm:
    return Alarm(
        alarm_id=f"{station}/{device}/ups.battery.charge_pct/low",
        station=station,
        device=device,
        rule="ups.battery.charge_pct",
        condition="low",
        severity=severity,
        raised_at=at,
        value=12,
        limit=15.0,
        message_vi="Dung lượng ắc quy còn lại thấp: 12 % (ngưỡng 15 %)",
        message_en="Low estimated charge remaining: 12 % (limit 15 %)",
        unit="%",
    )


def checklist_report(
    station: str, finished: datetime, failed: bool = False, technician: str = "Nguyễn Văn An"
) -> Report:
    """A report of two items; `failed`: the battery item failed with its evidence."""
    battery = ItemResult(
        id="ups.battery_charge",
        category=Category.POWER,
        kind=ItemKind.AUTO,
        severity=Severity.CRITICAL,
        title=Text(vi="Dung lượng ắc quy", en="Battery charge"),
        hint=Text(vi="Sạc ắc quy", en="Charge the battery"),
        source="pre-holiday.toml",
        status=Status.FAIL if failed else Status.PASS,
        checks=[
            Check(
                device="ups-main",
                status=Status.FAIL if failed else Status.PASS,
                evaluated="42 >= 90" if failed else "100 >= 90",
                readings=[
                    ReadingUsed(
                        key="ups.battery.charge_pct",
                        value=42 if failed else 100,
                        unit="%",
                        quality="ok",
                        ts=finished,
                    )
                ],
            )
        ],
    )
    generator = ItemResult(
        id="power.generator_test",
        category=Category.POWER,
        kind=ItemKind.MANUAL,
        severity=Severity.WARNING,
        title=Text(vi="Chạy thử máy phát điện", en="Generator test run"),
        hint=Text(vi="Chạy thử 15 phút", en="Run it for 15 minutes"),
        source="pre-holiday.toml",
        status=Status.INCOMPLETE,
        checks=[],
    )
    items = [battery, generator]
    started = finished - timedelta(minutes=4)
    return Report(
        id=f"{station}-{started:%Y%m%dT%H%M%SZ}-7c41",
        station=StationInfo(id=station, name=f"Đài {station}", timezone="Asia/Ho_Chi_Minh"),
        templates=["pre-holiday"],
        trigger="command-line",
        automatic_only=False,
        technician=technician,
        started=started,
        finished=finished,
        agent_version="test",
        hostname="test",
        devices=[],
        items=items,
        summary=summarize(items),
    )


@dataclass
class FakeStation:
    """One station's messages, numbered as its outbox numbers them."""

    id: str
    root: str = ROOT
    seq: int = 0
    last: int = 0
    """The seq of the last message in the chain (`prev` of the next)."""
    build: MessageBuilder = field(init=False)

    def __post_init__(self) -> None:
        config = parse_config(
            {
                "station": {"id": self.id, "name": f"Đài {self.id}"},
                "mqtt": {"topic_root": self.root},
            },
            "station.toml",
        )
        self.build = MessageBuilder(config, Topics(self.root, self.id), telemetry_qos=1)

    def number(self, draft: Draft, skip: bool = False) -> Wire:
        """The draft as published: the next number, `prev` the last one in the chain.

        `skip`: the message is numbered but never published (a lost one).
        """
        self.seq += 1
        row = Row(
            self.seq,
            self.last,
            draft.kind,
            draft.topic,
            draft.qos,
            draft.retain,
            draft.ts,
            compress(draft.render(self.seq)),
        )
        self.last = self.seq
        return Wire(draft.topic, wire_payload(row, replayed=False), draft.qos, draft.retain)

    def will(self) -> Wire:
        """The offline status, numbered outside the chain as the agent's last will."""
        self.seq += 1
        draft = self.build.status(False, HealthState.OK, [])
        return Wire(draft.topic, draft.render(self.seq), draft.qos, draft.retain)

    def status(self, worst: HealthState = HealthState.OK) -> Wire:
        return self.number(self.build.status(True, worst, []))

    def health(
        self, device: str, state: HealthState = HealthState.OK, alarms: list[Alarm] | None = None
    ) -> Wire:
        return self.number(self.build.health(device, state, None, alarms or [], datetime.now(UTC)))

    def report(self, report: Report) -> Wire:
        return self.number(self.build.checklist_report(report))

    def message(self, tail: str, body: dict[str, Any], retain: bool = False) -> Wire:
        """A message written by hand (telemetry, meta, a hostile device id), numbered in the
        chain like the others: `tail` is the topic after the station, `body` the payload
        without the envelope (station, seq, prev, ts are added)."""
        self.seq += 1
        envelope = {"station": self.id, "seq": self.seq, "prev": self.last}
        envelope["ts"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        self.last = self.seq
        payload = json.dumps({**envelope, **body}, ensure_ascii=False).encode()
        return Wire(f"{self.root}/{self.id}/{tail}", payload, 1, retain)


def province(stations: int, devices: int) -> tuple[list[FakeStation], list[Wire]]:
    """A province's retained state: per station its status, `devices` devices' health and a
    (failed) checklist report, as agents publish them."""
    made = [FakeStation(f"st-{n:03d}") for n in range(stations)]
    now = datetime.now(UTC)
    wires = []
    for station in made:
        wires.append(station.status())
        wires += [station.health(f"dev-{d:02d}") for d in range(devices)]
        wires.append(station.report(checklist_report(station.id, now, failed=True)))
    return made, wires


def alarm_burst(made: list[FakeStation], per_station: int) -> list[Wire]:
    """`per_station` devices of every station turn critical, an alarm each."""
    now = datetime.now(UTC)
    return [
        station.health(
            f"dev-{d:02d}",
            HealthState.CRITICAL,
            [alarm(station.id, f"dev-{d:02d}", HealthState.CRITICAL, now)],
        )
        for station in made
        for d in range(per_station)
    ]


class Link:
    """A paho client publishing as a station's agent: QoS and retain as the draft says."""

    def __init__(self, host: str, port: int, will: Wire | None = None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, f"station-{time.monotonic_ns()}")
        if will is not None:
            self.client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self.client.connect(host, port, keepalive=5)
        self.client.loop_start()

    def publish(self, *wires: Wire) -> None:
        for wire in wires:
            info = self.client.publish(wire.topic, wire.payload, qos=wire.qos, retain=wire.retain)
            info.wait_for_publish(timeout=5)
            assert info.is_published(), wire.topic

    def raw(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Anything at all on any topic: what an untrusted publisher may send."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def vanish(self) -> None:
        """Cut the connection without DISCONNECT: the broker publishes the will at once."""
        self.client.loop_stop()
        sock = self.client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
