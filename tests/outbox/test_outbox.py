"""The outbox on a real SQLite file: numbering, durability, priority, supersede, limits."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from fieldagent.outbox import Kind, Outbox, Row, wire_payload
from fieldagent.sequence import StationSequence
from fieldagent.state import StateStoreError
from tests.outbox import draft, open_outbox


def send(outbox: Outbox, limit: int = 1000) -> list[Row]:
    """What a forwarder does: take the next rows, freeze them, (pretend to) publish."""
    rows = outbox.next_rows(limit)
    outbox.mark_sent(rows)
    return rows


def received(rows: list[Row]) -> StationSequence:
    """A subscriber that got exactly these rows, as published."""
    stream = StationSequence(since=0)
    for row in rows:
        payload = json.loads(wire_payload(row, replayed=False))
        stream.add(payload["seq"], payload["prev"])
    return stream


def test_numbers_are_consecutive_and_survive_a_restart(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    assert [outbox.put(draft(Kind.ALARM)) for _ in range(3)] == [1, 2, 3]
    outbox.close()
    reopened = open_outbox(tmp_path)
    assert reopened.put(draft(Kind.TELEMETRY)) == 4
    reopened.close()


def test_payload_is_rendered_with_its_number_and_published_with_its_predecessor(
    tmp_path: Path,
) -> None:
    outbox = open_outbox(tmp_path)
    outbox.put(draft(Kind.ALARM, body="first"))
    outbox.put(draft(Kind.ALARM, body="second"))
    first, second = outbox.next_rows(10)
    assert json.loads(wire_payload(second, replayed=True)) == {
        "prev": 1,
        "replayed": True,
        "station": "st",
        "seq": 2,
        "ts": "2026-11-29T06:00:00+00:00",
        "body": "second",
    }
    assert json.loads(wire_payload(first, replayed=False))["prev"] == 0
    assert "replayed" not in json.loads(wire_payload(first, replayed=False))


def test_an_unusable_state_dir_is_named_and_alarms_are_still_taken(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    outbox = open_outbox(blocker / "state")  # below a regular file: can never be created
    assert (
        outbox.problem
        == f"cannot write {blocker}/state/state.db: [Errno 20] Not a directory: '{blocker}/state'"
    )
    assert outbox.put(draft(Kind.ALARM)) == 1
    assert outbox.put(draft(Kind.TELEMETRY)) == 2
    assert [r.seq for r in outbox.next_rows(10)] == [1, 2]
    with pytest.raises(StateStoreError, match="Not a directory"):
        outbox.backlog()


def test_alarms_are_on_disk_when_put_returns_and_telemetry_waits_for_the_batch(
    tmp_path: Path,
) -> None:
    outbox = open_outbox(tmp_path, commit_interval_s=60)
    outbox.put(draft(Kind.TELEMETRY))
    assert on_disk(tmp_path) == []
    assert outbox.next_rows(10) == []  # nothing is published before it is committed
    outbox.put(draft(Kind.ALARM))
    assert on_disk(tmp_path) == [(1, "telemetry"), (2, "alarm")]  # the alarm took the batch
    outbox.put(draft(Kind.TELEMETRY))
    assert outbox.backlog_count() == 3
    outbox.commit()
    assert [seq for seq, _ in on_disk(tmp_path)] == [1, 2, 3]


def on_disk(state_dir: Path) -> list[tuple[int, str]]:
    """What another process sees: committed rows only."""
    with sqlite3.connect(state_dir / "state.db") as db:
        return db.execute("SELECT seq, kind FROM outbox ORDER BY seq").fetchall()


def test_alarms_go_first_then_reports_then_state_then_telemetry_each_in_order(
    tmp_path: Path,
) -> None:
    outbox = open_outbox(tmp_path)
    kinds = [Kind.TELEMETRY, Kind.HEALTH, Kind.ALARM, Kind.TELEMETRY, Kind.CHECKLIST, Kind.ALARM]
    for number, kind in enumerate(kinds):
        outbox.put(draft(kind, topic=f"t/{number}"))
    order = [(r.kind, r.seq) for r in outbox.next_rows(10)]
    assert order == [
        (Kind.ALARM, 3),
        (Kind.ALARM, 6),
        (Kind.CHECKLIST, 5),
        (Kind.HEALTH, 2),
        (Kind.TELEMETRY, 1),
        (Kind.TELEMETRY, 4),
    ]
    assert [r.seq for r in outbox.next_rows(2, after={Kind.ALARM.priority: 3})] == [6, 5]


def test_delivered_rows_are_deleted_and_no_longer_offered(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    for _ in range(3):
        outbox.put(draft(Kind.ALARM))
    outbox.delivered([1, 3])
    assert [r.seq for r in outbox.next_rows(10)] == [2]
    assert outbox.backlog_count() == 1
    outbox.commit()
    assert on_disk(tmp_path) == [(2, "alarm")]


def test_a_newer_retained_value_supersedes_the_unsent_one_without_a_false_gap(
    tmp_path: Path,
) -> None:
    outbox = open_outbox(tmp_path)
    outbox.put(draft(Kind.HEALTH, topic="h/ups"))  # 1: superseded by 3
    outbox.put(draft(Kind.TELEMETRY, topic="tm/ups"))  # 2
    outbox.put(draft(Kind.HEALTH, topic="h/ups", body="newer"))  # 3
    outbox.put(draft(Kind.HEALTH, topic="h/fm"))  # 4: another topic stays
    rows = send(outbox)
    assert sorted(r.seq for r in rows) == [2, 3, 4]
    assert {r.seq: r.prev for r in rows} == {2: 0, 3: 2, 4: 3}
    assert received(rows).gaps() == []
    assert outbox.backlog().superseded == 1


def test_checklist_reports_are_records_each_sent_though_retained_on_one_topic(
    tmp_path: Path,
) -> None:
    outbox = open_outbox(tmp_path)
    for n in range(4):
        outbox.put(draft(Kind.CHECKLIST, topic="st/checklist/report", body=f"r{n}", retain=True))
    rows = send(outbox)
    assert [(r.seq, r.prev) for r in rows] == [(1, 0), (2, 1), (3, 2), (4, 3)]
    assert outbox.backlog().superseded == 0


def test_a_report_taken_from_another_table_is_numbered_in_the_same_transaction(
    tmp_path: Path,
) -> None:
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("CREATE TABLE waiting (id TEXT)")
        db.execute("INSERT INTO waiting VALUES ('r1'), ('r2')")
    outbox = open_outbox(tmp_path)

    def take(name: str) -> Callable[[sqlite3.Connection], None]:
        return lambda db: db.execute("DELETE FROM waiting WHERE id = ?", (name,)).close()

    assert outbox.put_taken(draft(Kind.CHECKLIST, retain=True), take("r1"))
    broken = outbox.put_taken(draft(Kind.CHECKLIST, retain=True), lambda db: db.execute("x"))
    assert not broken  # rolled back: no number used, the message still waits
    outbox.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT id FROM waiting").fetchall() == [("r2",)]
        assert db.execute("SELECT seq FROM outbox").fetchall() == [(1,)]
    assert open_outbox(tmp_path).last_seq == 1


def test_a_value_already_sent_is_never_superseded(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.put(draft(Kind.HEALTH, topic="h/ups"))
    assert [r.seq for r in send(outbox)] == [1]
    outbox.put(draft(Kind.HEALTH, topic="h/ups"))
    assert [r.seq for r in outbox.next_rows(10)] == [1, 2]  # 1 awaits its PUBACK


def test_a_value_whose_successor_was_sent_stays_so_that_prev_is_not_a_lie(
    tmp_path: Path,
) -> None:
    outbox = open_outbox(tmp_path)
    outbox.put(draft(Kind.TELEMETRY, topic="tm/ups"))  # 1
    outbox.put(draft(Kind.HEALTH, topic="h/ups"))  # 2
    outbox.put(draft(Kind.ALARM))  # 3, prev 2: sent first
    first = send(outbox, limit=1)
    assert [(r.seq, r.prev) for r in first] == [(3, 2)]
    outbox.delivered([3])
    outbox.put(draft(Kind.HEALTH, topic="h/ups"))  # 4 would supersede 2, but 3 named it
    rest = send(outbox)
    assert [r.seq for r in rest] == [2, 4, 1]
    assert received(first + rest).gaps() == []


def test_the_last_will_number_is_outside_the_chain(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path)
    outbox.put(draft(Kind.ALARM))
    assert outbox.reserve_unchained() == 2
    outbox.put(draft(Kind.ALARM))
    outbox.close()
    reopened = open_outbox(tmp_path)
    assert [(r.seq, r.prev) for r in reopened.next_rows(10)] == [(1, 0), (3, 1)]
    assert reopened.put(draft(Kind.ALARM)) == 4  # the reservation was committed


def test_over_the_limit_old_telemetry_is_thinned_one_in_n_per_device(tmp_path: Path) -> None:
    probe = open_outbox(tmp_path / "probe")
    probe.put(draft(Kind.TELEMETRY, topic="tm/a", body="y" * 200))
    probe.commit()
    row_size = probe.backlog().size
    limit = row_size * 100
    outbox = open_outbox(tmp_path / "state", limit_bytes=limit, keep_one_in=4)
    puts = []
    for number in range(120):
        kind = Kind.ALARM if number % 10 == 0 else Kind.TELEMETRY
        topic = "alarm" if kind is Kind.ALARM else f"tm/{'ab'[number % 2]}"
        puts.append((outbox.put(draft(kind, topic=topic, body="y" * 200)), kind))
    outbox.commit()
    backlog = outbox.backlog()
    assert backlog.size <= limit
    assert backlog.thinned > 0
    rows = send(outbox, limit=1000)
    kept = {r.seq for r in rows}
    assert {seq for seq, kind in puts if kind is Kind.ALARM} <= kept  # never an alarm
    assert received(rows).gaps() == []  # thinning is announced by the chain, not a loss
    oldest_a = [r.seq for r in sorted(rows, key=lambda r: r.seq) if r.topic == "tm/a"][:2]
    assert oldest_a[0] == 3  # the device's first reading is kept...
    assert oldest_a[1] - oldest_a[0] > 2  # ...and some after it went


def test_alarms_alone_over_the_limit_are_kept_and_say_so(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path, limit_bytes=2000)
    seqs = [outbox.put(draft(Kind.ALARM, body="z" * 100)) for _ in range(30)]
    assert outbox.full
    assert [r.seq for r in outbox.next_rows(100)] == seqs
    outbox.delivered(seqs)
    outbox.commit()
    assert not outbox.full
