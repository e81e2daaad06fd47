"""The high-water mark beside state.db: written ahead of use, so numbering never goes back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldagent.outbox import Kind, wire_payload
from fieldagent.outbox.highwater import BLOCK, MARK_NAME, HighWater
from fieldagent.sequence import StationSequence
from tests.outbox import draft, open_outbox


def test_the_mark_is_written_a_block_ahead_before_a_number_is_used(tmp_path: Path) -> None:
    mark = HighWater(tmp_path, block=100)
    assert mark.limit == 0
    mark.cover(1)
    assert (tmp_path / MARK_NAME).read_text() == "100\n"
    mark.cover(100)  # covered: no write
    mark.cover(101)
    assert (tmp_path / MARK_NAME).read_text() == "200\n"
    assert HighWater(tmp_path).limit == 200
    assert not (tmp_path / f"{MARK_NAME}.new").exists()


def test_a_new_state_db_numbers_on_above_the_mark_and_shows_the_reset_as_a_gap(
    tmp_path: Path,
) -> None:
    outbox = open_outbox(tmp_path)
    sent = [outbox.put(draft(Kind.ALARM)) for _ in range(3)]
    rows = outbox.next_rows(10)
    outbox.close()
    assert sent == [1, 2, 3]  # a healthy state.db numbers on without a jump
    reopened = open_outbox(tmp_path)
    assert reopened.put(draft(Kind.ALARM)) == 4 and reopened.renumbered is None
    reopened.close()

    (tmp_path / "state.db").rename(tmp_path / "lost.db")  # as a damaged one is moved aside
    fresh = open_outbox(tmp_path)
    assert fresh.renumbered == BLOCK
    assert fresh.put(draft(Kind.ALARM)) == BLOCK + 1
    after = fresh.next_rows(10)
    assert [(r.seq, r.prev) for r in after] == [(BLOCK + 1, BLOCK)]
    fresh.close()

    subscriber = StationSequence(since=0)
    for row in rows + after:
        body = json.loads(wire_payload(row, replayed=False))
        assert subscriber.add(body["seq"], body["prev"])  # no number seen twice
    assert subscriber.gaps() == [(4, BLOCK)]  # what the lost state.db may have held


@pytest.mark.parametrize("content", [b"", b"garbage\n", b"\xff\xfe"])
def test_an_unreadable_mark_leaves_numbering_to_state_db_and_is_written_again(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / MARK_NAME).write_bytes(content)
    outbox = open_outbox(tmp_path)
    assert outbox.put(draft(Kind.ALARM)) == 1
    outbox.close()
    assert (tmp_path / MARK_NAME).read_text() == f"{BLOCK}\n"
    assert MARK_NAME in caplog.text and "trusts state.db alone" in caplog.text
