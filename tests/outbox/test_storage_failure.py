"""Disk full and read-only filesystems, for real (a small tmpfs): alarms are held in
memory and still offered, telemetry is refused, and all is written once space returns."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_mock import MockerFixture

from fieldagent.outbox import Kind, Outbox, Row, wire_payload
from fieldagent.outbox import outbox as outbox_module
from fieldagent.outbox.highwater import BLOCK
from fieldagent.sequence import StationSequence
from fieldagent.state import set_aside_damaged
from tests.conftest import fill_up, remount
from tests.outbox import draft, open_outbox


def drain(outbox: Outbox, stream: StationSequence) -> list[Row]:
    rows = outbox.next_rows(1000)
    outbox.mark_sent(rows)
    for row in rows:
        payload = json.loads(wire_payload(row, replayed=False))
        stream.add(payload["seq"], payload["prev"])
    outbox.delivered([r.seq for r in rows])
    return rows


def test_disk_full_holds_alarms_in_memory_and_stores_them_when_space_returns(
    small_fs: Path,
) -> None:
    outbox = open_outbox(small_fs / "state")
    stream = StationSequence(since=0)
    outbox.put(draft(Kind.ALARM, body="before"))
    drain(outbox, stream)
    filler = fill_up(small_fs)

    big = "x" * 20_000  # more than the few pages SQLite may still find free
    alarm = outbox.put(draft(Kind.ALARM, body=big))
    assert outbox.problem is not None and "full" in outbox.problem
    reading = outbox.put(draft(Kind.TELEMETRY, body=big))
    health = outbox.put(draft(Kind.HEALTH, topic="h/ups", body="1"))
    newer = outbox.put(draft(Kind.HEALTH, topic="h/ups", body="2"))  # supersedes in memory too
    assert [r.seq for r in outbox.next_rows(10)] == [alarm, newer, reading]
    assert health not in {r.seq for r in outbox.next_rows(10)}
    outbox.commit()
    assert outbox.problem is not None  # still full: the retry failed

    filler.unlink()
    outbox.commit()
    assert outbox.problem is None
    with sqlite3.connect(small_fs / "state" / "state.db") as db:
        stored = [seq for (seq,) in db.execute("SELECT seq FROM outbox ORDER BY seq")]
    assert stored == [alarm, reading, newer]
    outbox.commit()
    drain(outbox, stream)
    assert stream.gaps() == []
    outbox.close()


def test_a_read_only_state_dir_at_start_numbers_on_and_recovers(
    read_only_view: tuple[Path, Path], mocker: MockerFixture
) -> None:
    mocker.patch.object(outbox_module, "MAX_HELD_TELEMETRY", 3)
    source, view = read_only_view
    before = open_outbox(source / "state")
    before.put(draft(Kind.ALARM))
    before.close()

    outbox = open_outbox(view / "state")
    assert outbox.problem is not None and "read-only" in outbox.problem
    held = outbox.put(draft(Kind.ALARM))
    assert held == 2  # numbered on from the read-only database, not from 1
    readings = [outbox.put(draft(Kind.TELEMETRY)) for _ in range(5)]
    offered = [r.seq for r in outbox.next_rows(10)]
    assert offered == [held, *readings[-3:]]  # still published; only the newest readings kept
    outbox.commit()
    assert outbox.problem is not None

    remount(view, "bind,rw")
    outbox.commit()
    assert outbox.problem is None
    stream = StationSequence(since=0)
    assert [r.seq for r in drain(outbox, stream)] == [1, held, *readings[-3:]]
    assert stream.gaps() == []
    outbox.close()


def test_a_row_sent_while_the_disk_was_full_still_pins_its_predecessor(small_fs: Path) -> None:
    outbox = open_outbox(small_fs / "state")
    older = outbox.put(draft(Kind.HEALTH, topic="h/ups", body="old"))
    alarm = outbox.put(draft(Kind.ALARM))  # its prev is the unsent health
    filler = fill_up(small_fs)
    sent = outbox.next_rows(1)
    outbox.mark_sent(sent)  # published; its `sent` cannot be written
    assert [r.seq for r in sent] == [alarm] and outbox.problem is not None
    filler.unlink()
    outbox.commit()
    assert outbox.problem is None
    outbox.put(draft(Kind.HEALTH, topic="h/ups", body="new"))  # would supersede `older`...
    assert older in {r.seq for r in outbox.next_rows(10)}  # ...but the alarm named it
    outbox.close()


def test_a_damaged_state_db_on_a_read_only_disk_numbers_on_above_the_mark_in_memory(
    read_only_view: tuple[Path, Path],
) -> None:
    source, view = read_only_view
    before = open_outbox(source / "state")
    before.put(draft(Kind.ALARM))
    before.close()
    (source / "state" / "state.db").write_bytes(b"")  # emptied by a power cut

    with pytest.raises(OSError):  # the agent cannot move it aside: it runs on
        set_aside_damaged(view / "state", datetime.now(UTC))
    outbox = open_outbox(view / "state")
    assert outbox.problem is not None and "is damaged (the file is empty)" in outbox.problem
    assert outbox.put(draft(Kind.ALARM)) == BLOCK + 1  # never 1 again: held, still published
    assert [r.seq for r in outbox.next_rows(10)] == [BLOCK + 1]
    outbox.close()
