"""The page's HTML, from the view's snapshots: every value from the broker escaped.

Everything a station sends is untrusted (a station, device or alarm text may
hold markup), so each such string goes through `_e` (control characters made
visible by the checklist renderer's `printable`, then `html.escape`, quotes
included); the rest is this module's own fixed text.  No inline script and no
inline style: the page's script and style are the static files, which the
Content-Security-Policy allows alone.

`stations_html` and `station_html` are the live part (`<main id="live">`);
the server sends the same fragment again over Server-Sent Events whenever the
view changes, and the script puts it in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fieldagent.checklist.render_html import escape
from fieldagent.checklist.render_text import QUALITY_WORDS, STATUS_WORDS
from fieldagent.driver import base_key
from fieldagent.model import HealthState
from fieldagent.payloads import AlarmItem
from fieldagent.province.view import StationView
from fieldagent.web.state import Readings
from fieldagent.web.texts import LABELS, STATE_WORDS, Lang


def escaped(value: object) -> str:
    """Any value as safe HTML text or attribute."""
    return escape(str(value))


_e = escaped


def station_url(station: str, tail: str = "") -> str:
    return f"/station/{quote(station, safe='')}{tail}"


def _when(then: datetime | None, lang: Lang) -> str:
    if then is None:
        return LABELS[lang]["never"]
    return f"{then:%Y-%m-%d %H:%M:%S}Z"


def _state(state: HealthState, lang: Lang, offline: bool = False) -> str:
    word = LABELS[lang]["offline"] if offline else STATE_WORDS[lang][state]
    css = "offline" if offline else state.value
    return f'<span class="state {css}">{_e(word)}</span>'


def flags(view: StationView, lang: Lang) -> list[str]:
    words = LABELS[lang]
    found = []
    if view.online is None:
        found.append(words["no_status"])
    if view.silent:
        found.append(words["silent"])
    if view.missing:
        found.append(words["gap"].format(n=view.missing))
    return found


def page(title: str, body: str, lang: Lang, user: str | None, events: str | None) -> str:
    """A whole document; `events`: the SSE address that keeps `<main>` live."""
    words = LABELS[lang]
    other: Lang = "en" if lang == "vi" else "vi"
    live = f' data-events="{_e(events)}"' if events else ""
    top = [f'<a href="?lang={other}" class="lang">{_e(words["other_lang"])}</a>']
    if user is not None:
        top.append(
            f'<form method="post" action="/logout" class="logout"><span>{_e(user)}</span>'
            f' <button type="submit">{_e(words["logout"])}</button></form>'
        )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            '<link rel="stylesheet" href="/static/web.css">',
            '<script src="/static/web.js" defer></script>',
            "</head>",
            "<body>",
            f'<header><a href="/" class="home">{_e(words["title"])}</a>'
            f"<nav>{''.join(top)}</nav></header>",
            f'<main id="live"{live}>',
            body,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def stations_html(views: list[StationView], now: datetime, lang: Lang, note: str = "") -> str:
    """Every station, worst first, with counts, flags and the active alarms below."""
    words = LABELS[lang]
    head = "".join(
        f"<th>{_e(words[key])}</th>"
        for key in ("station", "name", "state", "ok", "warning", "critical", "unreachable")
    ) + "".join(
        f"<th>{_e(words[key])}</th>" for key in ("alarms", "last_seen", "checklist", "flags")
    )
    rows = []
    for view in views:
        counts = view.counts
        report = view.report
        checklist = (
            f'<a href="{_e(station_url(view.id, "/report"))}">'
            f"{_e(STATUS_WORDS[lang][report.verdict])}</a> {report.finished:%Y-%m-%d}"
            if report is not None
            else _e(words["none"])
        )
        cells = [
            f'<td><a href="{_e(station_url(view.id))}" class="station">{_e(view.id)}</a></td>',
            f"<td>{_e(view.name)}</td>",
            f"<td>{_state(view.worst, lang, view.online is False)}</td>",
            *(f'<td class="n">{counts[s]}</td>' for s in HealthState),
            f'<td class="n">{len(view.active_alarms)}</td>',
            f"<td>{_e(_when(view.last_seen, lang))}</td>",
            f"<td>{checklist}</td>",
            f'<td class="flags">{_e(" ".join(flags(view, lang)))}</td>',
        ]
        rows.append(f'<tr data-station="{_e(view.id)}">{"".join(cells)}</tr>')
    alarms = [(view.id, alarm) for view in views for alarm in view.active_alarms]
    parts = [
        f"<h1>{_e(words['stations'])} <small>{_e(words['count'].format(n=len(views)))}"
        f" · {_e(words['updated'])} {now:%H:%M:%S}Z</small></h1>",
        f'<p class="note">{_e(note)}</p>' if note else "",
        f'<table class="stations"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>",
        f"<h2>{_e(words['active_alarms'])} ({len(alarms)})</h2>",
        _alarm_list(alarms, lang, with_station=True),
    ]
    return "\n".join(p for p in parts if p)


def _alarm_list(alarms: list[tuple[str, AlarmItem]], lang: Lang, with_station: bool) -> str:
    words = LABELS[lang]
    if not alarms:
        return f'<p class="none">{_e(words["no_alarms"])}</p>'
    ordered = sorted(alarms, key=lambda pair: (-pair[1].severity.rank, pair[1].raised_at))
    items = []
    for station, alarm in ordered:
        where = f'<a href="{_e(station_url(station))}">{_e(station)}</a> ' if with_station else ""
        text = alarm.message.vi if lang == "vi" else alarm.message.en
        items.append(
            f'<li class="alarm" data-alarm="{_e(alarm.alarm_id)}">'
            f'{_state(alarm.severity, lang)} {where}<span class="text">{_e(text)}</span>'
            f' <span class="id">{_e(alarm.alarm_id)}</span>'
            f' <span class="since">{_e(words["since"])} {_e(_when(alarm.raised_at, lang))}</span>'
            "</li>"
        )
    return f'<ul class="alarms">{"".join(items)}</ul>'


def station_html(
    view: StationView,
    readings: dict[str, Readings | None],
    now: datetime,
    lang: Lang,
) -> str:
    """One station: its devices with their readings, its active alarms, its latest record."""
    words = LABELS[lang]
    flag_text = " ".join(flags(view, lang))
    parts = [
        f'<p><a href="/">← {_e(words["back"])}</a></p>',
        f"<h1>{_e(view.id)} <small>{_e(view.name)}</small></h1>",
        f"<p>{_state(view.worst, lang, view.online is False)}"
        f" {_e(words['last_seen'])}: {_e(_when(view.last_seen, lang))}"
        f' <span class="flags">{_e(flag_text)}</span>'
        f" · {_e(words['updated'])} {now:%H:%M:%S}Z</p>",
        f"<h2>{_e(words['active_alarms'])} ({len(view.active_alarms)})</h2>",
        _alarm_list([(view.id, a) for a in view.active_alarms], lang, with_station=False),
        f"<h2>{_e(words['report'])}</h2>",
        _report_line(view, lang),
        f"<h2>{_e(words['devices'])} ({len(view.devices)})</h2>",
    ]
    for device in view.devices:
        reason = f" ({_e(device.reason)})" if device.reason else ""
        parts.append(
            f'<section class="device" data-device="{_e(device.id)}">'
            f"<h3>{_e(device.id)} {_state(device.state, lang)}{reason}</h3>"
            f"{_readings_table(readings.get(device.id), lang)}</section>"
        )
    return "\n".join(parts)


def _report_line(view: StationView, lang: Lang) -> str:
    words = LABELS[lang]
    report = view.report
    if report is None:
        return f'<p class="none">{_e(words["no_report"])}</p>'
    return (
        f"<p>{_e(STATUS_WORDS[lang][report.verdict])} · {report.finished:%Y-%m-%d %H:%M}Z"
        f" · {_e(report.technician or '-')} · {_e(report.id)}"
        f' · <a href="{_e(station_url(view.id, "/report"))}">{_e(words["open_report"])}</a></p>'
    )


def _readings_table(readings: Readings | None, lang: Lang) -> str:
    words = LABELS[lang]
    if readings is None or not readings.metrics:
        error = f" ({_e(readings.error)})" if readings is not None and readings.error else ""
        return f'<p class="none">{_e(words["no_readings"])}{error}</p>'
    rows = []
    for key, metric in sorted(readings.metrics.items()):
        quality = str(metric.get("quality", "ok"))
        shown = "" if quality == "ok" else QUALITY_WORDS[lang].get(quality, quality)
        detail = metric.get("detail")
        if detail:
            shown = f"{shown} ({detail})"
        css = "off" if metric.get("in_use") is False else quality
        title, title_vi = readings.titles.get(base_key(key), ("", None))
        named = (title_vi or title) if lang == "vi" else title
        label = f'{_e(named)} <span class="key">{_e(key)}</span>' if named else _e(key)
        rows.append(
            f'<tr class="{_e(css)}"><td>{label}</td>'
            f'<td class="n">{_e(_value(metric.get("value")))} {_e(metric.get("unit") or "")}</td>'
            f"<td>{_e(shown)}</td></tr>"
        )
    head = "".join(f"<th>{_e(words[k])}</th>" for k in ("metric", "value", "quality"))
    when = f'<p class="ts">{_e(_stamp(readings.ts))}</p>'
    table = f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
    return f'{when}<table class="readings">{table}</table>'


def _stamp(ts: str | None) -> str:
    """An ISO time from the payload as the page shows times; the text itself if it is not one."""
    if not ts:
        return ""
    try:
        return f"{datetime.fromisoformat(ts.replace('Z', '+00:00')):%Y-%m-%d %H:%M:%S}Z"
    except ValueError:
        return ts


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def login_html(lang: Lang, message: str = "") -> str:
    words = LABELS[lang]
    said = f'<p class="error">{_e(message)}</p>' if message else ""
    body = (
        f"<h1>{_e(words['login'])}</h1>{said}"
        f'<form method="post" action="/login?lang={lang}" class="login">'
        f'<label>{_e(words["user"])} <input name="user" id="user" autocomplete="username"'
        " required></label>"
        f'<label>{_e(words["password"])} <input name="password" id="password" type="password"'
        ' autocomplete="current-password" required></label>'
        f'<button type="submit" id="login">{_e(words["login"])}</button></form>'
    )
    return page(words["login"], body, lang, None, None)
