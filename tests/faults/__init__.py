"""Fault tests of store and forward: real mosquitto, real SQLite, the agent as a process."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from fieldagent.localbroker import LocalBroker
from fieldagent.sequence import StationSequence
from tests.mqtt_probe import Received

ROOT_TOPIC = "bctv/v1/test-station"


def central_broker(workdir: Path, persistence: bool = False) -> LocalBroker:
    """A broker set up the way the province's should be for backlogs (docs/mqtt-topics.md).

    mosquitto's default `max_queued_messages 1000` drops messages to a subscriber
    that falls behind a drain ("Outgoing messages are being dropped"): the
    subscriber would see gaps the agent did not cause.
    """
    return LocalBroker(
        workdir,
        listener_options=("allow_anonymous true", "max_queued_messages 0"),
        persistence=persistence,
    )


def without_replayed(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "replayed"}


def check_stream(messages: list[Received]) -> dict[int, dict[str, Any]]:
    """No gap, and every duplicate an exact re-send; the first copy of each message by seq."""
    first: dict[int, dict[str, Any]] = {}
    stream = StationSequence(since=0)
    for message in messages:
        body = message.json()
        if stream.add(body["seq"], body.get("prev")):
            first[body["seq"]] = body
        else:
            assert without_replayed(body) == without_replayed(first[body["seq"]]), body["seq"]
    gaps = stream.gaps()
    assert gaps == [], f"lost messages in {gaps}"
    return first


def outbox_rows(state_dir: Path) -> dict[int, tuple[str, bool]]:
    """The committed rows (seq -> topic, retained), read like another process would."""
    with sqlite3.connect(state_dir / "state.db") as db:
        found = db.execute("SELECT seq, topic, retain FROM outbox")
        return {seq: (topic, bool(retain)) for seq, topic, retain in found}


def missing(
    committed: dict[int, tuple[str, bool]], first: dict[int, Any], topics: dict[int, str]
) -> set[int]:
    """Committed messages that never arrived; a retained value counts as arrived when it or
    a newer value of its topic did (the outbox keeps only the latest on purpose)."""
    newest: dict[str, int] = {}
    for seq, topic in topics.items():
        newest[topic] = max(seq, newest.get(topic, 0))
    return {
        seq
        for seq, (topic, retained) in committed.items()
        if seq not in first and not (retained and newest.get(topic, 0) > seq)
    }


def integrity(state_dir: Path) -> str:
    with sqlite3.connect(state_dir / "state.db") as db:
        (result,) = db.execute("PRAGMA integrity_check").fetchone()
    return str(result)


def outbox_report(stdout: str) -> dict[str, Any]:
    report = json.loads(stdout)
    assert isinstance(report, dict)
    return report


DAMAGES = ("truncated", "garbage-header", "empty")


def damage_state_db(state_dir: Path, kind: str) -> None:
    """Damage a closed state.db the way an SD card does: cut short, first page garbage, emptied."""
    path = state_dir / "state.db"
    size = path.stat().st_size
    assert size > 4 * 4096, "too small a database to cut short"
    if kind == "truncated":
        os.truncate(path, size // 2)
    elif kind == "garbage-header":
        with path.open("r+b") as file:
            file.write(bytes(range(256)) * 16)
    else:
        os.truncate(path, 0)
