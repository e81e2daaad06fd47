"""The outbox's trouble as station alarms, raised once and cleared once, on a real outbox."""

from __future__ import annotations

from pathlib import Path

from fieldagent.alarms import AlarmEvent, Transition
from fieldagent.outbox import Kind
from fieldagent.outbox.station_alarms import (
    FULL_RULE,
    REPLACED_RULE,
    STORAGE_RULE,
    OutboxAlarms,
)
from tests.alarms import Station, station_config
from tests.outbox import draft, open_outbox


def rules(events: list[AlarmEvent]) -> list[tuple[str, str, str]]:
    return [(e.transition.value, e.alarm.rule, e.alarm.severity.value) for e in events]


def test_a_full_outbox_raises_a_warning_once_and_clears_it_once(tmp_path: Path) -> None:
    station = Station(station_config())
    outbox = open_outbox(tmp_path, limit_bytes=2000)
    watch = OutboxAlarms(outbox)
    assert watch.events(station.engine) == []  # nothing wrong, nothing to say
    seqs = [outbox.put(draft(Kind.ALARM, body="z" * 100)) for _ in range(30)]
    assert rules(watch.events(station.engine)) == [("raised", FULL_RULE, "warning")]
    assert watch.events(station.engine) == []
    outbox.delivered(seqs)
    outbox.commit()
    assert rules(watch.events(station.engine)) == [("cleared", FULL_RULE, "warning")]


def test_a_storage_alarm_restored_from_before_a_restart_clears_when_the_disk_is_fine(
    tmp_path: Path,
) -> None:
    before = Station(station_config())
    blocker = tmp_path / "file"
    blocker.write_text("x")
    failing = open_outbox(blocker / "state")  # cannot be created: the disk "fails"
    raised = OutboxAlarms(failing).events(before.engine)
    assert rules(raised) == [("raised", STORAGE_RULE, "critical")]
    assert "Not a directory" in raised[0].alarm.message_en

    after = Station(station_config(), restored=before.engine.all_active())
    events = OutboxAlarms(open_outbox(tmp_path / "state")).events(after.engine)
    assert [(e.transition, e.alarm.rule) for e in events] == [(Transition.CLEARED, STORAGE_RULE)]


def test_a_replaced_state_db_is_a_warning_until_the_next_start(tmp_path: Path) -> None:
    before = Station(station_config())
    replaced = "state.db was damaged (the file is empty): moved aside as state.db.damaged-X"
    raised = OutboxAlarms(open_outbox(tmp_path), replaced).events(before.engine)
    assert rules(raised) == [("raised", REPLACED_RULE, "warning")]
    assert raised[0].alarm.message_en.startswith(
        f"Damaged state file replaced by a new one ({replaced}"
    )

    after = Station(station_config(), restored=before.engine.all_active())
    events = OutboxAlarms(open_outbox(tmp_path)).events(after.engine)
    assert [(e.transition, e.alarm.rule) for e in events] == [(Transition.CLEARED, REPLACED_RULE)]
