"""`fieldagent checklist show`: the station's checklist as a technician reviews it."""

from __future__ import annotations

from typing import Any, Literal

from fieldagent.checklist.definition import Category
from fieldagent.checklist.resolve import StationItem

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
