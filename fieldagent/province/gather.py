"""`fieldagent readiness`: the reports on the broker and in the archive, summed up for a holiday.

The retained `checklist/report` of every station is each one's latest run; the
monitor's archive (`--archive DIR`) adds the runs the broker no longer holds
(a station that ran again after its pre-holiday inspection).  Statuses are
read too, so that without `--stations FILE` every station the broker knows is
listed, reported or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from fieldagent.config import MqttSection
from fieldagent.province.archive import ReportArchive
from fieldagent.province.feed import Feed
from fieldagent.province.readiness import Readiness, gather
from fieldagent.province.view import ProvinceView


@dataclass(frozen=True)
class ReadinessOptions:
    holiday: str
    since: date
    archive: Path | None = None
    stations: list[str] | None = None
    quiet_s: float = 1.0
    timeout_s: float = 30.0


def collect(settings: MqttSection, password: str | None, options: ReadinessOptions) -> Readiness:
    root = settings.topic_root
    view = ProvinceView(root)
    feed = Feed(
        view,
        settings,
        password,
        filters=[f"{root}/+/status", f"{root}/+/checklist/report"],
    )
    feed.start()
    try:
        feed.settle(options.quiet_s, options.timeout_s)
    finally:
        feed.stop()
    now = datetime.now(UTC)
    stations = view.stations(now)
    reports = [s.report.report for s in stations if s.report is not None]
    if options.archive is not None:
        reports += list(ReportArchive(options.archive).reports())
    return gather(
        reports,
        options.since,
        now,
        options.holiday,
        expected=options.stations,
        seen=[s.id for s in stations],
        names={s.id: s.name for s in stations if s.name},
    )
