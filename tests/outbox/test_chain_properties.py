"""Property: whatever the order of puts, sends, acknowledgements, supersedes and thinning,
a subscriber that receives everything the outbox publishes sees no gap and every alarm."""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fieldagent.outbox import Kind, wire_payload
from fieldagent.sequence import StationSequence
from tests.outbox import draft, open_outbox

KINDS = [Kind.ALARM, Kind.CHECKLIST, Kind.STATUS, Kind.HEALTH, Kind.TELEMETRY]
TOPICS = ["a", "b"]

# Retained kinds twice over: superseding is where the chain can break.
put_op = st.tuples(
    st.just("put"), st.sampled_from([*KINDS, Kind.HEALTH, Kind.STATUS]), st.sampled_from(TOPICS)
)
send_op = st.tuples(st.just("send"), st.integers(1, 6), st.sampled_from(["", "commit"]))
ack_op = st.tuples(st.just("ack"), st.integers(1, 6), st.just(""))
commit_op = st.tuples(st.just("commit"), st.just(0), st.just(""))
restart_op = st.tuples(st.just("restart"), st.just(0), st.just(""))
operations = st.lists(
    st.one_of(put_op, put_op, send_op, ack_op, commit_op, restart_op), max_size=60
)


# An alarm sent ahead of an unsent health, then a newer health: the old one must stay.
SUCCESSOR_SENT = [("put", Kind.HEALTH, "a"), ("put", Kind.ALARM, "a"), ("send", 1, "")]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(operations, st.sampled_from([400, 1500, 1 << 30]))
@example([*SUCCESSOR_SENT, ("put", Kind.HEALTH, "a")], 1 << 30)
@example([*SUCCESSOR_SENT[:2], ("send", 1, "commit"), ("put", Kind.HEALTH, "a")], 1 << 30)
def test_a_subscriber_that_gets_everything_published_sees_no_gap(
    ops: list[tuple[str, Kind | int, str]], limit: int
) -> None:
    with TemporaryDirectory() as state:
        outbox = open_outbox(Path(state), limit_bytes=limit, keep_one_in=2, commit_interval_s=60)
        stream = StationSequence(since=0)
        alarms: set[int] = set()
        latest: dict[str, int] = {}
        inflight: list[int] = []
        handed: dict[int, int] = {}
        for op, number, topic in ops:
            if op == "put":
                assert isinstance(number, Kind)
                kind = number
                seq = outbox.put(draft(kind, topic=f"{kind.value}/{topic}", body="p" * 40))
                assert seq is not None
                if kind is Kind.ALARM:
                    alarms.add(seq)
                if kind in (Kind.STATUS, Kind.HEALTH):
                    latest[f"{kind.value}/{topic}"] = seq
            elif op == "send":
                assert isinstance(number, int)
                rows = outbox.take(number, after=handed, commit=topic == "commit")
                for row in rows:
                    payload = json.loads(wire_payload(row, replayed=row.sent))
                    stream.add(payload["seq"], payload["prev"])
                    inflight.append(row.seq)
                    handed[row.kind.priority] = row.seq
            elif op == "ack":
                assert isinstance(number, int)
                outbox.delivered(inflight[:number])
                del inflight[:number]
            elif op == "commit":
                outbox.commit()
            else:  # a restart: what was in flight is sent again
                outbox.close()
                outbox = open_outbox(Path(state), limit, keep_one_in=2, commit_interval_s=60)
                inflight.clear()
                handed.clear()
        outbox.commit()
        while rows := outbox.next_rows(50):  # the drain after the outage
            outbox.mark_sent(rows)
            for row in rows:
                payload = json.loads(wire_payload(row, replayed=True))
                stream.add(payload["seq"], payload["prev"])
            outbox.delivered([r.seq for r in rows])
        outbox.close()
        assert stream.gaps() == []
        got = stream.seen
        assert alarms <= got
        assert set(latest.values()) <= got  # the latest value of every retained topic arrives
