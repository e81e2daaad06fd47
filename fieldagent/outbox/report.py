"""`fieldagent outbox`: the backlog as a technician reads it, or as JSON for scripts."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from fieldagent.alarms.messages import local_time
from fieldagent.outbox.outbox import Backlog


def backlog_text(backlog: Backlog, now: datetime, zone: tzinfo) -> str:
    """A small table: messages, oldest and size per kind, then the totals against the limit.

    Times are the station's (`zone`), as on its wall clock; the JSON keeps UTC.
    """
    lines = [f"{'kind':<10} {'messages':>9}  {'oldest':<25} {'waiting':>9} {'size':>10}"]
    for kind in backlog.kinds:
        oldest = datetime.fromisoformat(kind.oldest)
        lines.append(
            f"{kind.kind:<10} {kind.messages:>9}  {local_time(oldest, zone):<25}"
            f" {_age(now - oldest):>9} {_size(kind.size):>10}"
        )
    share = 100 * backlog.size / backlog.limit if backlog.limit else 0.0
    lines.append(
        f"{'total':<10} {backlog.count:>9}  {'':<25} {'':>9} {_size(backlog.size):>10}"
        f"  of {_size(backlog.limit)} ({share:.0f} %)"
    )
    if backlog.handed_over:
        lines.append(
            f"{backlog.handed_over} of the checklist reports wait for the agent to number and"
            " send them (fieldagent run, or run --once)."
        )
    if not backlog.kinds:
        lines.append("The outbox is empty: the broker has every message.")
    lines.append(
        f"Thinned readings: {backlog.thinned}; superseded state values: {backlog.superseded};"
        f" last sequence number: {backlog.last_seq}."
    )
    return "\n".join(lines)


def backlog_json(backlog: Backlog) -> dict[str, Any]:
    return {
        "messages": backlog.count,
        "size_bytes": backlog.size,
        "limit_bytes": backlog.limit,
        "thinned": backlog.thinned,
        "superseded": backlog.superseded,
        "last_seq": backlog.last_seq,
        "handed_over": backlog.handed_over,
        "kinds": {
            k.kind: {"messages": k.messages, "oldest": k.oldest, "size_bytes": k.size}
            for k in backlog.kinds
        },
    }


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
