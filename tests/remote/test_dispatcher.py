"""`RemoteCommands` on an event loop, with the agent's side played by a small station stand-in
(its polls wait until the test lets them finish) and the real message builder: what each
request leads to, on a fake clock and a fixed wall time."""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fieldagent.config import parse_config
from fieldagent.model import HealthState, PollResult
from fieldagent.outbox import Draft
from fieldagent.outgoing import MessageBuilder
from fieldagent.publisher import Incoming
from fieldagent.remote.dispatcher import RemoteCommands, RemoteParts, StationFigures
from fieldagent.remote.settings import RemoteSection
from fieldagent.topics import Topics

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
TOPICS = Topics("bctv/v1", "st")


class Station:
    """The agent's parts the commands use: one device, polls released by the test."""

    def __init__(self, maintenance_problem: str | None = None) -> None:
        self.sent: list[Draft] = []
        self.maintenance: list[tuple[str, datetime | None]] = []
        self.checklist: list[bytes] = []
        self.release = asyncio.Event()
        self.polls = 0
        self._problem = maintenance_problem

    async def poll(self, device_id: str) -> PollResult:
        self.polls += 1
        await self.release.wait()
        return PollResult(device_id, NOW, (), error="no answer (timeout)", duration_s=1.5)

    def request_maintenance(self, device_id: str, until: datetime | None) -> str | None:
        if self._problem is None:
            self.maintenance.append((device_id, until))
        return self._problem

    def parts(self) -> RemoteParts:
        config = parse_config(tomllib.loads('[station]\nid = "st"\nname = "S"\n'), "station")
        return RemoteParts(
            devices=lambda: {"ups1"},
            figures=lambda: StationFigures(HealthState.WARNING, 1, 3),
            poll=self.poll,
            health=lambda device_id: HealthState.UNREACHABLE,
            request_maintenance=self.request_maintenance,
            send=self.sent.append,
            build=MessageBuilder(config, TOPICS, 1),
            forward={"checklist": self.checklist.append},
        )

    def replies(self) -> list[tuple[str, dict[str, Any]]]:
        return [(d.topic.rsplit("/", 2)[1], json.loads(d.render(1))) for d in self.sent]


def commands(station: Station, **settings: Any) -> RemoteCommands:
    allow = ["ping", "poll", "maintenance"]
    return RemoteCommands(
        RemoteSection(**{"allow": allow, **settings}),
        TOPICS,
        station.parts(),
        clock=lambda: 100.0,
        now=lambda: NOW,
    )


def message(name: str, payload: str, requested_by: str | None = None) -> Incoming:
    properties = () if requested_by is None else (("requested_by", requested_by),)
    return Incoming(TOPICS.command(name), payload.encode(), properties)


def test_cmd_checklist_is_handed_on_untouched_and_answered_by_nobody_here() -> None:
    station = Station()
    commands(station).handle(message("checklist", '{"request_id": "c"}', "ops"))
    assert station.checklist == [b'{"request_id": "c"}'] and station.sent == []


def test_a_topic_outside_cmd_is_not_a_command() -> None:
    station = Station()
    commands(station).handle(Incoming("bctv/v1/st/cmd/ping/reply", b"{}"))
    assert station.sent == []


def test_a_poll_replies_when_it_is_done_and_a_second_one_meanwhile_is_refused() -> None:
    asyncio.run(poll_twice())


async def poll_twice() -> None:
    station = Station()
    remote = commands(station)
    remote.handle(message("poll", '{"request_id": "p1", "device": "ups1"}'))
    await asyncio.sleep(0)
    remote.handle(message("poll", '{"request_id": "p2", "device": "ups1"}'))
    assert station.polls == 1
    ((name, refused),) = station.replies()
    assert (name, refused["request_id"], refused["ok"]) == ("poll", "p2", False)
    assert refused["error"] == "a poll of ups1 asked for on cmd/poll is still running"
    station.release.set()
    for _ in range(3):
        await asyncio.sleep(0)
    name, done = station.replies()[1]
    assert (done["request_id"], done["ok"], done["ts"]) == ("p1", True, "2026-12-01T01:00:00Z")
    assert done["poll"] == {
        "device": "ups1", "answered": False, "health": "unreachable", "poll_ms": 1500,
        "error": "no answer (timeout)",
    }  # fmt: skip
    station.release.clear()
    remote.handle(message("poll", '{"request_id": "p3", "device": "ups1"}'))
    await asyncio.sleep(0)
    await remote.stop()  # a poll still running is cancelled
    assert station.polls == 2 and len(station.sent) == 2


def test_ping_reports_the_station_figures() -> None:
    station = Station()
    commands(station).handle(message("ping", ""))
    ((name, reply),) = station.replies()
    assert (name, reply["ok"], reply["request_id"]) == ("ping", True, None)
    assert reply["ping"]["state"] == "warning" and reply["ping"]["outbox_waiting"] == 3
    assert reply["ping"]["uptime_s"] == 0


@pytest.mark.parametrize(
    ("payload", "until"),
    [
        ('{"device": "ups1", "hours": 1.5}', NOW + timedelta(hours=1.5)),
        ('{"device": "ups1", "until": "2026-12-01T09:00:00+07:00"}', NOW + timedelta(hours=1)),
        ('{"device": "ups1", "off": true}', None),
    ],
)
def test_maintenance_is_recorded_as_the_local_command_would(
    payload: str, until: datetime | None
) -> None:
    station = Station()
    commands(station, max_maintenance_h=2).handle(message("maintenance", payload))
    assert station.maintenance == [("ups1", until)]
    ((_, reply),) = station.replies()
    assert reply["maintenance"] == {
        "device": "ups1",
        "until": None if until is None else until.isoformat().replace("+00:00", "Z"),
    }


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ('{"device": "ups1", "hours": 2.5}', "hours 2.5 is longer than the longest maintenance"),
        (
            '{"device": "ups1", "until": "2026-12-01T10:01:00+07:00"}',
            "until 2026-12-01T10:01:00+07:00 is further than the longest maintenance, 2 h",
        ),
        ('{"device": "ups1", "until": "2026-12-01T01:00:00Z"}', "is past"),
        ('{"device": "ups2", "off": true}', "unknown device 'ups2'"),
    ],
)  # fmt: skip
def test_a_maintenance_out_of_bounds_is_refused_and_nothing_recorded(
    payload: str, error: str
) -> None:
    station = Station()
    commands(station, max_maintenance_h=2).handle(message("maintenance", payload))
    assert station.maintenance == []
    ((_, reply),) = station.replies()
    assert reply["ok"] is False and error in reply["error"], reply["error"]


def test_a_maintenance_the_disk_cannot_keep_is_refused_in_words() -> None:
    station = Station(maintenance_problem="state.db: the disk is full")
    commands(station).handle(message("maintenance", '{"device": "ups1", "off": true}'))
    ((_, reply),) = station.replies()
    assert reply["error"] == (
        "the maintenance of ups1 could not be recorded: state.db: the disk is full"
    )


def test_a_requested_by_property_that_cannot_be_logged_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    station = Station()
    commands(station).handle(message("ping", '{"request_id": "r"}', "ops\nINFO forged line"))
    ((_, reply),) = station.replies()
    assert reply["request_id"] == "r" and "requested_by: give 1 to 64 printable" in reply["error"]
    assert "forged" not in caplog.text


def test_an_unknown_command_name_is_echoed_bounded_and_printable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    station = Station()
    name = "x\x07" + "y" * 100
    commands(station).handle(message(name, "{}"))
    (draft,) = station.sent
    assert draft.topic == f"bctv/v1/st/cmd/{name}/reply"  # where the sender listens
    reply = json.loads(draft.render(1))
    assert reply["command"] == name[:64]
    assert "x?yyy" in caplog.text and "\x07" not in caplog.text
