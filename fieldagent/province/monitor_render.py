"""The monitor's output, from the view's snapshots: a table for people, JSON for tools, exit codes.

Pure functions of `StationView`s and the time: the live loop and `--once` print
the same thing.  Every string that came from a station goes through
`printable`, so a device's or a person's text cannot drive the terminal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fieldagent.checklist.render_text import printable
from fieldagent.model import HealthState
from fieldagent.province.view import StationView

EXIT_OK = 0
EXIT_WARNING = 1
EXIT_CRITICAL = 2
EXIT_OFFLINE = 3
"""`monitor --once` exits with the worst of: 0 every station online and ok, 1 a warning or
a sequence gap, 2 a critical or unreachable device, 3 a station offline or silent."""


def flags(view: StationView) -> list[str]:
    found = []
    if view.online is False:
        found.append("OFFLINE")
    if view.online is None:
        found.append("NO-STATUS")
    if view.silent:
        found.append("SILENT")
    if view.missing:
        found.append(f"GAP {view.missing}")
    return found


def exit_code(views: list[StationView]) -> int:
    code = EXIT_OK
    for view in views:
        if view.online is False or view.silent:
            return EXIT_OFFLINE
        if view.worst in (HealthState.CRITICAL, HealthState.UNREACHABLE):
            code = max(code, EXIT_CRITICAL)
        elif view.worst is HealthState.WARNING or view.missing:
            code = max(code, EXIT_WARNING)
    return code


def age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


_HEADER = (
    f"{'STATION':<22} {'STATE':<11} {'OK':>3} {'WRN':>3} {'CRT':>3} {'UNR':>3} "
    f"{'ALM':>3}  {'LAST SEEN':<10} {'CHECKLIST':<22} FLAGS"
)


def table(views: list[StationView], now: datetime, rejected: int = 0) -> str:
    """One row per station, worst first (the order `ProvinceView.stations` gives)."""
    count = f"{len(views)} station" + ("" if len(views) == 1 else "s")
    lines = [f"{count} at {now:%Y-%m-%d %H:%M:%S}Z", _HEADER]
    for view in views:
        counts = view.counts
        state = "OFFLINE" if view.online is False else view.worst.value.upper()
        report = view.report
        checklist = (
            f"{report.verdict.value} {report.finished:%Y-%m-%d}" if report is not None else "none"
        )
        lines.append(
            f"{printable(view.id)[:22]:<22} {state:<11} {counts[HealthState.OK]:>3}"
            f" {counts[HealthState.WARNING]:>3} {counts[HealthState.CRITICAL]:>3}"
            f" {counts[HealthState.UNREACHABLE]:>3} {len(view.active_alarms):>3}"
            f"  {age(view.last_seen, now):<10} {checklist:<22} {' '.join(flags(view))}"
        )
    if rejected:
        lines.append(f"({rejected} messages skipped: not the contract's; see --json)")
    return "\n".join(lines) + "\n"


def detail(view: StationView, now: datetime) -> str:
    """One station's devices and active alarms, under its table row."""
    lines = [f"{printable(view.id)}: {printable(view.name)}"]
    for device in view.devices:
        reason = f" ({printable(device.reason)})" if device.reason else ""
        lines.append(f"  {printable(device.id):<20} {device.state.value:<11}{reason}")
    alarms = view.active_alarms
    lines.append(f"  active alarms: {len(alarms)}")
    for alarm in alarms:
        lines.append(
            f"    {alarm.severity.value:<11} {printable(alarm.alarm_id)}"
            f" since {age(alarm.raised_at, now)}: {printable(alarm.message.vi)}"
        )
    if view.report is not None:
        r = view.report
        lines.append(
            f"  checklist {printable(r.id)}: {r.verdict.value} by {printable(r.technician or '-')}"
        )
        lines += [f"    failed     {printable(i)}" for i in r.failed]
        lines += [f"    incomplete {printable(i)}" for i in r.incomplete]
    return "\n".join(lines) + "\n"


def as_json(
    views: list[StationView], now: datetime, rejected: dict[str, int], details: bool = False
) -> dict[str, Any]:
    """The documented shape (docs/central.md, monitor --json)."""
    return {
        "at": now.isoformat(),
        "exit": exit_code(views),
        "rejected": dict(rejected),
        "stations": [_station_json(v, details) for v in views],
    }


def _station_json(view: StationView, details: bool) -> dict[str, Any]:
    report = view.report
    found: dict[str, Any] = {
        "station": view.id,
        "name": view.name,
        "online": view.online,
        "worst": view.worst.value,
        "devices": {state.value: n for state, n in view.counts.items()},
        "alarms": len(view.active_alarms),
        "last_seen": view.last_seen.isoformat() if view.last_seen else None,
        "silent": view.silent,
        "gaps": [list(g) for g in view.gaps],
        "missing": view.missing,
        "flags": flags(view),
        "checklist": None
        if report is None
        else {
            "id": report.id,
            "finished": report.finished.isoformat(),
            "technician": report.technician,
            "verdict": report.verdict.value,
            "failed": list(report.failed),
            "incomplete": list(report.incomplete),
        },
    }
    if details:
        found["device_states"] = [
            {"device": d.id, "state": d.state.value, "reason": d.reason} for d in view.devices
        ]
        found["active_alarms"] = [a.model_dump(mode="json") for a in view.active_alarms]
    return found
