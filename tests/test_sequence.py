"""Subscribers' completeness check: duplicates by (station, seq), losses by `prev`."""

from __future__ import annotations

import json

import pytest

from fieldagent.sequence import SequenceCheck, StationSequence


def payload(seq: int, prev: int | None, station: str = "st", replayed: bool = False) -> bytes:
    body = {"station": station, "seq": seq, "ts": "2026-11-29T06:00:00Z", "replayed": replayed}
    if prev is not None:
        body["prev"] = prev
    return json.dumps(body).encode()


def test_a_complete_stream_in_any_order_has_no_gap() -> None:
    stream = StationSequence(since=0)
    for seq, prev in [(3, 2), (1, 0), (2, 1), (5, 3)]:  # 4 was dropped on purpose: 5 names 3
        assert stream.add(seq, prev)
    assert stream.gaps() == []


def test_a_lost_message_is_the_gap_below_the_prev_that_never_came() -> None:
    stream = StationSequence(since=0)
    for seq, prev in [(1, 0), (2, 1), (6, 5), (7, 6)]:  # 3..5 lost: only 5 is named
        stream.add(seq, prev)
    assert stream.gaps() == [(3, 5)]
    stream.add(5, 3)  # late, after an alarm overtook it; 4 was dropped on purpose
    stream.add(3, 2)
    assert stream.gaps() == []


def test_a_resend_is_a_duplicate() -> None:
    check = SequenceCheck()
    assert check.add_payload(payload(1, 0))
    assert not check.add_payload(payload(1, 0, replayed=True))
    assert check.add_payload(payload(1, 0, station="other"))  # numbers are per station


def test_a_late_subscriber_sees_no_gap_before_its_first_message() -> None:
    check = SequenceCheck()
    check.add_payload(payload(40, 12), retained=True)  # retained health delivered on subscribe
    check.add_payload(payload(900, 899))
    check.add_payload(payload(902, 901))
    assert check.gaps() == {"st": [(901, 901)]}


def test_the_last_will_is_outside_the_chain() -> None:
    stream = StationSequence(since=0)
    stream.add(1, 0)
    stream.add(2, None)  # the will: no prev, named by nobody
    stream.add(3, 1)
    assert stream.gaps() == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\xff", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b"[" * 100_000, "not JSON: maximum recursion depth exceeded"),  # any publisher's
        (b'{"seq": 1}', "no station"),
        (b'{"station": "st", "seq": true}', "bad seq"),
        (b'{"station": "st", "seq": 0}', "bad seq"),
        (b'{"station": "st", "seq": 5, "prev": 5}', "bad prev"),
        (b'{"station": "st", "seq": 5, "prev": "4"}', "bad prev"),
    ],
)
def test_payloads_that_are_not_envelopes_are_refused_by_name(raw: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SequenceCheck().add_payload(raw)


def test_both_telemetry_forms_and_meta_are_envelopes_of_the_same_sequence() -> None:
    """v1 (full), v2 (compact, with its short keys) and the retained meta number alike."""
    base = {"station": "st", "ts": "2026-12-02T05:00:00Z"}
    full = {**base, "seq": 1, "prev": 0, "device": "ups", "metrics": {}, "error": None}
    meta = {**base, "seq": 2, "prev": 1, "v": 2, "device": "ups", "metrics": {}}
    compact = {**base, "seq": 4, "prev": 2, "v": 2, "device": "ups", "full": False, "val": {}}
    check = SequenceCheck()
    for body, retained in ((full, False), (meta, True), (compact, False)):
        assert check.add_payload(json.dumps(body).encode(), retained)
    assert check.gaps() == {}  # 3 was never used: a poll in which nothing changed
    lost = {**compact, "seq": 9, "prev": 7}
    check.add_payload(json.dumps(lost).encode())
    assert check.gaps() == {"st": [(5, 7)]}
