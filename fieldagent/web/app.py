"""The aiohttp application: routes, the login gate, the security headers, the live stream.

Read-only by construction: every route is GET (and the HEAD aiohttp adds to
it), except POST /login and POST /logout, which change only this server's own
sessions; nothing here holds an MQTT client that could publish
(tests/web/test_http.py asserts the route table).  Every page but the login
page and the static files needs a session: a page asked for without one is
redirected to /login, anything else (the event stream) gets 401.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from aiohttp import web

from fieldagent.checklist.render_html import report_html
from fieldagent.province.view import StationView
from fieldagent.web import render
from fieldagent.web.auth import LoginLimit, Sessions, check_password
from fieldagent.web.passwords import Hashed
from fieldagent.web.state import WebState
from fieldagent.web.texts import LABELS, LANGS, Lang

log = logging.getLogger("fieldagent.web")

SESSION_COOKIE = "fieldagent_session"
LANG_COOKIE = "fieldagent_lang"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
    " img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
RECORD_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self';"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""The printed record carries its own style sheet inline (checklist/render_html.py), no script."""
RECORD_ROUTE = "record"
STREAM_MIN_S = 0.2
"""The live fragment is sent at most this often: a burst of messages makes one update."""
STREAM_REFRESH_S = 5.0
"""And at least this often, so ages, silence and the clock on the page move."""
LINE_ENDS = re.compile(r"\r\n|\r|\n")
"""What ends a line in an event stream: each piece of the fragment gets its own `data:`."""
STATIC = {"web.js": "text/javascript", "web.css": "text/css"}

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")


@dataclass
class Settings:
    state: WebState
    users: dict[str, Hashed]
    station_glob: str | None = None
    cookie_secure: bool = False
    """Set the Secure flag even on plain HTTP: behind a reverse proxy that does the TLS."""
    sessions: Sessions = field(default_factory=Sessions)
    limit: LoginLimit = field(default_factory=LoginLimit)
    note: str = ""
    link_error: Callable[[], str | None] = lambda: None
    """Why the broker is not reached now (shown above the stations), None when it is."""
    closing: bool = False


def build_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[_gate], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app.on_response_prepare.append(_headers)
    app.on_shutdown.append(_closing)
    app.router.add_get("/", stations_page)
    app.router.add_get("/station/{station}", station_page)
    app.router.add_get("/station/{station}/report", report_page, name=RECORD_ROUTE)
    app.router.add_get("/events", events, allow_head=False)  # a stream: GET alone
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    return app


@web.middleware
async def _gate(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path != "/login" and not request.path.startswith("/static/"):
        settings = request.app[SETTINGS]
        user = settings.sessions.user(request.cookies.get(SESSION_COOKIE))
        if user is None:
            if request.method in ("GET", "HEAD") and request.path != "/events":
                raise web.HTTPFound("/login")
            raise web.HTTPUnauthorized(text="login required\n")
        request["user"] = user
    response: web.StreamResponse = await handler(request)
    lang = request.query.get("lang")
    if lang in LANGS and lang != request.cookies.get(LANG_COOKIE) and not response.prepared:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="Strict", httponly=True, path="/"
        )
    return response


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    route = request.match_info.route
    record = route.name == RECORD_ROUTE and response.status == 200
    response.headers["Content-Security-Policy"] = RECORD_CSP if record else PAGE_CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


async def _closing(app: web.Application) -> None:
    app[SETTINGS].closing = True
    app[SETTINGS].state.bump()
    await asyncio.sleep(0)


def language(request: web.Request) -> Lang:
    for asked in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked == "en":
            return "en"
        if asked == "vi":
            return "vi"
    return "vi"


def _shown(settings: Settings, now: datetime) -> list[StationView]:
    views = settings.state.view.stations(now)
    if settings.station_glob:
        views = [v for v in views if fnmatch.fnmatchcase(v.id, settings.station_glob)]
    return views


def _station(settings: Settings, name: str, now: datetime) -> StationView | None:
    if settings.station_glob and not fnmatch.fnmatchcase(name, settings.station_glob):
        return None
    return settings.state.view.station(name, now)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _fragment(settings: Settings, station: str | None, lang: Lang) -> str | None:
    now = datetime.now(UTC)
    if station is None:
        error = settings.link_error()
        note = settings.note if error is None else f"{settings.note}: {error}"
        return render.stations_html(_shown(settings, now), now, lang, note)
    view = _station(settings, station, now)
    if view is None:
        return None
    readings = {d.id: settings.state.readings(view.id, d.id) for d in view.devices}
    return render.station_html(view, readings, now, lang)


async def stations_page(request: web.Request) -> web.Response:
    settings, lang = request.app[SETTINGS], language(request)
    body = _fragment(settings, None, lang) or ""
    return _html(render.page(LABELS[lang]["title"], body, lang, request["user"], "/events"))


async def station_page(request: web.Request) -> web.Response:
    settings, lang = request.app[SETTINGS], language(request)
    name = request.match_info["station"]
    body = _fragment(settings, name, lang)
    if body is None:
        text = f'<p class="error">{render.escaped(LABELS[lang]["not_found"])}</p>'
        return _html(render.page(name, text, lang, request["user"], None), status=404)
    events = f"/events?station={quote(name, safe='')}"
    return _html(render.page(name, body, lang, request["user"], events))


async def report_page(request: web.Request) -> web.Response:
    settings, lang = request.app[SETTINGS], language(request)
    view = _station(settings, request.match_info["station"], datetime.now(UTC))
    if view is None or view.report is None:
        key = "not_found" if view is None else "no_report"
        text = f'<p class="error">{render.escaped(LABELS[lang][key])}</p>'
        return _html(render.page("", text, lang, request["user"], None), status=404)
    return _html(report_html(view.report.report, lang))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: the live fragment again each time the view changes."""
    settings, lang = request.app[SETTINGS], language(request)
    station = request.query.get("station")
    token = request.cookies.get(SESSION_COOKIE)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    seen = settings.state.version
    sent_at = 0.0
    try:
        while not settings.closing:
            seen = await settings.state.changed(seen, STREAM_REFRESH_S)
            if settings.closing or settings.sessions.user(token) is None:
                break
            wait = STREAM_MIN_S - (time.monotonic() - sent_at)
            if wait > 0:
                await asyncio.sleep(wait)
                seen = settings.state.version
            fragment = _fragment(settings, station, lang)
            if fragment is None:
                break
            data = "".join(f"data: {line}\n" for line in LINE_ENDS.split(fragment))
            await response.write(f"event: update\n{data}\n".encode())
            sent_at = time.monotonic()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    body = resources.files("fieldagent.web").joinpath("static", name).read_bytes()
    return web.Response(
        body=body,
        content_type=STATIC[name],
        charset="utf-8",
        headers={"Cache-Control": "max-age=300"},
    )


async def login_page(request: web.Request) -> web.Response:
    return _html(render.login_html(language(request)))


async def login(request: web.Request) -> web.Response:
    settings, lang = request.app[SETTINGS], language(request)
    client = request.remote or "?"
    if not settings.limit.allow(client):
        log.warning("login refused for %s: too many attempts", client)
        return _html(render.login_html(lang, LABELS[lang]["too_many"]), status=429)
    form = await request.post()
    user, password = str(form.get("user", ""))[:64], str(form.get("password", ""))[:1024]
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, check_password, settings.users, user, password):
        log.warning("failed login for user %r from %s", user, client)
        return _html(render.login_html(lang, LABELS[lang]["wrong"]), status=401)
    log.info("%r logged in from %s", user, client)
    response = web.HTTPFound("/")
    response.set_cookie(
        SESSION_COOKIE,
        settings.sessions.open(user),
        max_age=int(settings.sessions.lifetime_s),
        httponly=True,
        samesite="Strict",
        secure=request.secure or settings.cookie_secure,
        path="/",
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    settings.sessions.close(request.cookies.get(SESSION_COOKIE))
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
