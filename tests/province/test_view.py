"""ProvinceView on the agent's own messages (built and numbered as the agent does), no broker."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fieldagent.alarms.model import AlarmEvent, Transition
from fieldagent.checklist.report import Status
from fieldagent.model import HealthState
from fieldagent.province.view import MAX_PAYLOAD_BYTES, Limits, ProvinceView
from tests.support.stations import FakeStation, Wire, alarm, checklist_report

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def feed(
    view: ProvinceView, *wires: Wire, retained: bool | None = None, now: datetime = NOW
) -> None:
    for wire in wires:
        view.feed(wire.topic, wire.payload, wire.retain if retained is None else retained, now)


def test_a_station_online_with_devices_alarms_and_report() -> None:
    view = ProvinceView()
    station = FakeStation("bt-hamtan")
    feed(
        view,
        station.status(HealthState.CRITICAL),
        station.health(
            "ups-main",
            HealthState.CRITICAL,
            [alarm("bt-hamtan", "ups-main", HealthState.CRITICAL, NOW)],
        ),
        station.health("fm-main"),
        station.report(checklist_report("bt-hamtan", NOW - timedelta(days=1), failed=True)),
    )
    (seen,) = view.stations(NOW)
    assert seen.online is True
    assert seen.worst is HealthState.CRITICAL
    assert seen.counts[HealthState.OK] == 1 and seen.counts[HealthState.CRITICAL] == 1
    assert [a.alarm_id for a in seen.active_alarms] == [
        "bt-hamtan/ups-main/ups.battery.charge_pct/low"
    ]
    assert seen.report is not None and seen.report.verdict is Status.FAIL
    assert seen.report.failed == ("ups.battery_charge",)
    assert seen.report.incomplete == ("power.generator_test",)
    assert seen.missing == 0 and not seen.silent


def test_the_last_will_marks_a_station_offline_and_sorts_it_first() -> None:
    view = ProvinceView()
    gone, fine = FakeStation("a-gone"), FakeStation("z-fine")
    will = gone.will()
    feed(view, gone.status(), fine.status(HealthState.WARNING), will)
    first, second = view.stations(NOW)
    assert (first.id, first.online) == ("a-gone", False)
    assert second.worst is HealthState.WARNING


def test_a_lost_message_is_a_gap_and_a_resend_a_duplicate() -> None:
    view = ProvinceView()
    station = FakeStation("bt-1")
    first = station.status()
    feed(view, first, station.health("ups-main"), retained=False)
    station.number(station.build.health("ups-main", HealthState.OK, None, [], NOW))  # lost
    feed(view, station.health("ups-main", HealthState.WARNING), retained=False)
    feed(view, first, retained=False)
    (seen,) = view.stations(NOW)
    assert seen.gaps == ((3, 3),) and seen.missing == 1
    assert view.rejected["duplicate"] == 1


def test_a_reply_to_a_remote_command_is_part_of_the_stream() -> None:
    """Replies on cmd/NAME/reply are numbered like the rest: a view that skipped them would
    report a gap at every ping."""
    view = ProvinceView()
    station = FakeStation("bt-1")
    reply = station.number(station.build.command_reply("ping", "r-1", error="not allowed"))
    assert reply.topic.endswith("/cmd/ping/reply")
    feed(view, station.status(), reply, station.health("ups-main"), retained=False)
    (seen,) = view.stations(NOW)
    assert seen.gaps == () and seen.missing == 0
    assert view.accepted == 3 and not view.rejected


def test_silence_is_judged_after_watching_that_long() -> None:
    view = ProvinceView(silent_after_s=60)
    station = FakeStation("bt-1")
    now = datetime.now(UTC) + timedelta(seconds=1)  # the retained status is stamped before
    feed(view, station.status(), retained=True, now=now)
    assert not view.stations(now)[0].silent
    assert not view.stations(now + timedelta(seconds=59))[0].silent
    assert view.stations(now + timedelta(seconds=61))[0].silent
    feed(view, station.health("ups-main"), retained=False, now=now + timedelta(seconds=100))
    assert not view.stations(now + timedelta(seconds=101))[0].silent


def test_bad_messages_are_counted_and_skipped() -> None:
    view = ProvinceView()
    station = FakeStation("bt-1")
    good = station.status()
    data = json.loads(good.payload)
    cases = {
        "not JSON": (good.topic, b"{not json"),
        "bad status": (good.topic, json.dumps({**data, "state": "exploded"}).encode()),
        "oversize": (good.topic, b" " * (MAX_PAYLOAD_BYTES + 1)),
        "foreign topic": ("other/thing/status", good.payload),
        "station or device not as in topic": ("bctv/v1/other/status", good.payload),
    }
    for reason, (topic, payload) in cases.items():
        assert view.feed(topic, payload, False, NOW) is False
        assert view.rejected[reason] == 1, reason
    assert view.feed("bctv/v1/bt-1/status", b"[" * 100_000, False, NOW) is False
    assert view.stations(NOW) == []
    assert view.feed(good.topic, good.payload, True, NOW)


def test_memory_is_bounded_per_station() -> None:
    view = ProvinceView(limits=Limits(stations=2, devices=3, seqs=50))
    station = FakeStation("bt-1")
    for n in range(10):
        feed(view, station.health(f"dev-{n}"))
    for _ in range(100):
        feed(view, station.health("dev-0"), retained=False)
    (seen,) = view.stations(NOW)
    assert len(seen.devices) == 3
    assert view.rejected["too many devices"] == 7
    for name in ("s2", "s3"):
        feed(view, FakeStation(name).status())
    assert len(view.stations(NOW)) == 2 and view.rejected["too many stations"] == 1


def test_station_alarms_and_alarm_events() -> None:
    view = ProvinceView(limits=Limits(events=3))
    station = FakeStation("bt-1")
    flood = alarm("bt-1", "-", HealthState.WARNING, NOW)
    flood = replace(flood, device=None, alarm_id="bt-1/-/traps.flood/flood", rule="traps.flood")
    feed(view, station.number(station.build.status(True, HealthState.WARNING, [], [flood])))
    for _ in range(5):
        event = AlarmEvent(Transition.RAISED, NOW, alarm("bt-1", "ups", HealthState.CRITICAL, NOW))
        feed(view, station.number(station.build.alarm(event)))
    (seen,) = view.stations(NOW)
    assert seen.worst is HealthState.WARNING  # events are history: health says what is active
    assert [a.alarm_id for a in seen.active_alarms] == ["bt-1/-/traps.flood/flood"]
    assert len(seen.events) == 3 and seen.events[-1].seq == station.seq  # the newest kept
