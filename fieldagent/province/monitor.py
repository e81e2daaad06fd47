"""`fieldagent monitor`: every station of the province on one screen, live or once.

Live, the table is redrawn when the picture changes, at most once a second
(and every few seconds anyway, as ages and silence move with the clock): on a
terminal with a plain ANSI clear, otherwise (a pipe, a log) a new table each
time; with `--json`, one JSON document a line.  `--once` waits until the
retained burst has settled, prints once and exits with the worst state
(`monitor_render.exit_code`).  `--archive DIR` keeps every checklist report
seen (`archive.ReportArchive`).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from fieldagent.config import MqttSection
from fieldagent.province import monitor_render
from fieldagent.province.archive import ReportKeeper
from fieldagent.province.feed import Feed
from fieldagent.province.view import ProvinceView, StationView

log = logging.getLogger("fieldagent.province")

REDRAW_MIN_S = 1.0
REFRESH_S = 5.0
CLEAR = "\x1b[H\x1b[2J"


@dataclass(frozen=True)
class MonitorOptions:
    station: str | None = None
    """A glob over station ids: those stations' devices and alarms are shown too."""
    once: bool = False
    json: bool = False
    silent_after_s: float = 300.0
    share: str | None = None
    archive: Path | None = None
    quiet_s: float = 1.0
    timeout_s: float = 30.0
    telemetry: bool = True
    """Subscribe to telemetry and meta too: needed to judge gaps (and the usual heartbeat)."""
    duration_s: float | None = None
    """Live: stop after this long (tests, scripts); None: until interrupted."""


def run_monitor(
    settings: MqttSection, password: str | None, options: MonitorOptions, out: TextIO
) -> int:
    whole = options.telemetry and not options.share  # every message of each station
    view = ProvinceView(settings.topic_root, options.silent_after_s, judge_gaps=whole)
    narrow = options.station if options.station and not _is_glob(options.station) else None
    feed = Feed(
        view,
        settings,
        password,
        station=narrow,
        share=options.share,
        on_message=ReportKeeper(options.archive) if options.archive else None,
        telemetry=options.telemetry,
    )
    feed.start()
    try:
        feed.settle(options.quiet_s, options.timeout_s)
        if options.once:
            views = _shown(view, options)
            _print(view, views, options, out, tty=False)
            return monitor_render.exit_code(views)
        return _live(feed, options, out)
    finally:
        feed.stop()


def _live(feed: Feed, options: MonitorOptions, out: TextIO) -> int:
    tty = out.isatty() and not options.json
    end = None if options.duration_s is None else time.monotonic() + options.duration_s
    drawn_at = 0.0
    dirty = True
    while end is None or time.monotonic() < end:
        dirty = feed.drain(0.25) or dirty
        now = time.monotonic()
        if (dirty and now - drawn_at >= REDRAW_MIN_S) or (tty and now - drawn_at >= REFRESH_S):
            _print(feed.view, _shown(feed.view, options), options, out, tty)
            drawn_at, dirty = now, False
    return monitor_render.exit_code(_shown(feed.view, options))


def _shown(view: ProvinceView, options: MonitorOptions) -> list[StationView]:
    views = view.stations(datetime.now(UTC))
    if options.station:
        views = [v for v in views if fnmatch.fnmatchcase(v.id, options.station)]
    return views


def _print(
    view: ProvinceView, views: list[StationView], options: MonitorOptions, out: TextIO, tty: bool
) -> None:
    now = datetime.now(UTC)
    if options.json:
        document = monitor_render.as_json(views, now, view.rejected, bool(options.station))
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        skipped = sum(n for why, n in view.rejected.items() if why != "duplicate")
        text = monitor_render.table(views, now, skipped)
        if options.station:
            text += "".join("\n" + monitor_render.detail(v, now) for v in views)
        out.write((CLEAR if tty else "") + text + ("" if tty else "\n"))
    out.flush()


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
