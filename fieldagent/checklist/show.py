"""`fieldagent checklist show`: the station's checklist as a technician reviews it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fieldagent.checklist.definition import Category
from fieldagent.checklist.resolve import StationItem
from fieldagent.checklist.schedule import next_run
from fieldagent.config import Config

Lang = Literal["vi", "en"]

_APPLIES = {"vi": "thiết bị", "en": "devices"}
_DIRECTIVE = {"vi": "công văn, mục", "en": "directive item"}
_NONE = {"vi": "không có thiết bị loại này", "en": "no device of this kind"}


def checklist_text(items: list[StationItem], lang: Lang) -> str:
    """Items grouped by category, each with its kind, severity, devices and condition."""
    lines = []
    for category in Category:
        group = [s for s in items if s.item.category is category]
        if not group:
            continue
        lines.append(f"[{category.value}]")
        for station_item in group:
            item = station_item.item
            title = getattr(item.title, lang)
            lines.append(f"  {item.id:<34} {item.severity.value:<8} {item.kind.value:<9} {title}")
            if item.directive:
                numbers = ", ".join(str(n) for n in item.directive)
                lines.append(f"      {_DIRECTIVE[lang]} {numbers}")
            if item.devices is not None:
                devices = ", ".join(station_item.devices) or _NONE[lang]
                lines.append(f"      {_APPLIES[lang]} ({item.devices}): {devices}")
            if item.condition is not None:
                window = f" (within {item.within_days} d)" if item.within_days else ""
                lines.append(f"      {item.condition}{window}")
    return "\n".join(lines)


def checklist_json(items: list[StationItem]) -> list[dict[str, Any]]:
    return [
        {
            **s.item.model_dump(mode="json", exclude_none=True),
            "source": s.source,
            "station_devices": list(s.devices),
        }
        for s in items
    ]


_SCHEDULE = {
    "vi": (
        "Chạy tự động hằng ngày lúc {at} trong các kỳ nghỉ lễ: {windows}.",
        "Lần tới: {next}.",
        "Không có kỳ nghỉ lễ nào sắp tới.",
        "Không chạy tự động (chưa khai báo kỳ nghỉ lễ).",
    ),
    "en": (
        "Runs by itself daily at {at} in the holiday windows: {windows}.",
        "Next: {next}.",
        "No holiday window ahead.",
        "No automatic runs (no holiday windows).",
    ),
}


def schedule_text(config: Config, now: datetime, lang: Lang) -> str:
    """When the daemon runs the checklist by itself (station time)."""
    settings = config.checklist
    daily, upcoming, none_ahead, never = _SCHEDULE[lang]
    if not settings.holiday:
        return never
    zone = ZoneInfo(config.station.timezone)
    windows = ", ".join(str(window) for window in settings.holiday)
    when = next_run(settings.holiday, settings.run_at, zone, now, None)
    after = (
        upcoming.format(next=f"{when.astimezone(zone):%Y-%m-%d %H:%M} ({config.station.timezone})")
        if when is not None
        else none_ahead
    )
    return f"{daily.format(at=settings.run_at, windows=windows)} {after}"
