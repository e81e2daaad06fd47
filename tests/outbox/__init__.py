"""Helpers for the outbox tests: drafts with small JSON payloads, an outbox on a real file."""

from __future__ import annotations

import json
from pathlib import Path

from fieldagent.outbox import Draft, Kind, Outbox

TS = "2026-11-29T06:00:00+00:00"


def draft(kind: Kind, topic: str = "", body: str = "x", retain: bool | None = None) -> Draft:
    """A message of `kind` whose payload names its seq, station 'st', and carries `body`."""
    retained = kind in (Kind.STATUS, Kind.HEALTH) if retain is None else retain

    def render(seq: int) -> bytes:
        return json.dumps({"station": "st", "seq": seq, "ts": TS, "body": body}).encode()

    return Draft(kind, topic or f"t/{kind.value}", 1, retained, TS, render)


def open_outbox(
    state_dir: Path,
    limit_bytes: int = 1 << 30,
    keep_one_in: int = 4,
    commit_interval_s: float = 0.0,
) -> Outbox:
    return Outbox(state_dir, limit_bytes, keep_one_in, commit_interval_s)
