"""`fieldagent web` over HTTP (aiohttp's client): the login gate, sessions, read-only routes,
escaping and the security headers, against the real server and mosquitto."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import html5lib

from fieldagent.localbroker import LocalBroker
from fieldagent.model import HealthState
from tests.support.stations import FakeStation, Link, Wire, alarm
from tests.web.conftest import NOW, PASSWORD, USER, WebServer

WAIT_S = 10.0


def run(body: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies of a numeric host (127.0.0.1)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
            await body(session)

    asyncio.run(main())


async def log_in(
    session: aiohttp.ClientSession, url: str, password: str = PASSWORD
) -> aiohttp.ClientResponse:
    async with session.post(
        f"{url}/login", data={"user": USER, "password": password}, allow_redirects=False
    ) as answer:
        await answer.read()
        return answer


async def page(session: aiohttp.ClientSession, url: str, until: str = "") -> str:
    """The page's text, asked again until it holds `until` (the retained state is coming)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        async with session.get(url, allow_redirects=False) as answer:
            assert answer.status == 200, (url, answer.status)
            text = await answer.text()
        if until in text or time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.1)


def test_every_page_needs_a_login(server: WebServer) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        for path in ("/", "/station/st-nam", "/station/st-nam/report", "/?lang=en"):
            async with session.get(server.url + path, allow_redirects=False) as answer:
                assert answer.status == 302, path
                assert answer.headers["Location"] == "/login"
        async with session.get(server.url + "/events", allow_redirects=False) as answer:
            assert answer.status == 401
        async with session.get(server.url + "/login") as answer:
            assert answer.status == 200
            assert 'name="password"' in await answer.text()
        async with session.get(server.url + "/static/web.js") as answer:
            assert answer.status == 200
            assert answer.content_type == "text/javascript"

    run(body)


def test_a_wrong_password_is_refused_logged_without_it_and_rate_limited(
    server: WebServer,
) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        for _ in range(5):
            answer = await log_in(session, server.url, "wrong password 1")
            assert answer.status == 401
            assert "fieldagent_session" not in answer.cookies
        # The budget is spent: even the right password waits now.
        answer = await log_in(session, server.url)
        assert answer.status == 429
        async with session.get(server.url + "/", allow_redirects=False) as answer:
            assert answer.status == 302

    run(body)
    said = server.said()
    assert said.count("failed login for user 'ops' from 127.0.0.1") == 5
    assert "login refused for 127.0.0.1: too many attempts" in said
    assert "wrong password 1" not in said and PASSWORD not in said


def test_a_session_shows_the_stations_until_logout(server: WebServer) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        answer = await log_in(session, server.url)
        assert answer.status == 302 and answer.headers["Location"] == "/"
        cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
        assert "Secure" not in cookie  # plain HTTP here; --cookie-secure behind a TLS proxy
        token = re.search(r"fieldagent_session=([^;]+)", cookie)
        assert token is not None and len(token.group(1)) >= 40

        text = await page(session, server.url + "/", until="st-tay")
        order = [text.index(f'data-station="{name}"') for name in ("st-nam", "st-bac", "st-tay")]
        assert order == sorted(order)  # worst first
        assert "nghiêm trọng" in text and "Các đài" in text  # Vietnamese by default
        assert "Dung lượng ắc quy còn lại thấp" in text  # the alarm's own Vietnamese text

        nam = await page(session, server.url + "/station/st-nam", until="tx.forward_power_w")
        assert "1984.5 W" in nam and "12.25 W" in nam  # v2 rebuilt, units from the meta
        assert "Công suất phát" in nam and "Reflected power" in nam  # titles from the meta
        assert "st-nam/ups-main/ups.battery.charge_pct/low" in nam
        bac = await page(session, server.url + "/station/st-bac", until="ups.battery.charge_pct")
        assert "97 %" in bac or "97.0 %" in bac  # v1 telemetry
        assert "lỗi (no answer)" in bac  # a bad reading's quality in words

        async with session.get(server.url + "/station/st-nam/report") as answer:
            record = await answer.text()
            assert answer.status == 200
            assert "BIÊN BẢN" in record.upper() and "ups.battery_charge" in record
            assert "script-src" not in answer.headers["Content-Security-Policy"]
        async with session.get(server.url + "/station/st-tay/report") as answer:
            assert answer.status == 404
        async with session.get(server.url + "/station/nowhere") as answer:
            assert answer.status == 404

        english = await page(session, server.url + "/?lang=en", until="st-tay")
        assert "Stations" in english and "critical" in english
        again = await page(session, server.url + "/")  # the choice is kept in a cookie
        assert "Active alarms" in again

        async with session.post(server.url + "/logout", allow_redirects=False) as answer:
            assert answer.status == 302 and answer.headers["Location"] == "/login"
        async with session.get(server.url + "/", allow_redirects=False) as answer:
            assert answer.status == 302
        # The old token is forgotten by the server, not only by this browser.
        async with session.get(
            server.url + "/",
            allow_redirects=False,
            headers={"Cookie": f"fieldagent_session={token.group(1)}"},
        ) as answer:
            assert answer.status == 302

    run(body)


def test_the_routes_are_read_only(server: WebServer) -> None:
    from fieldagent.province.view import ProvinceView
    from fieldagent.web.app import Settings, build_app
    from fieldagent.web.state import WebState

    app = build_app(Settings(WebState(ProvinceView()), {}))
    table = sorted(
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    )
    writes = [(m, p) for m, p in table if m not in ("GET", "HEAD")]
    assert writes == [("POST", "/login"), ("POST", "/logout")]
    assert {p for _, p in table} == {
        "/",
        "/station/{station}",
        "/station/{station}/report",
        "/events",
        "/static/{name}",
        "/login",
        "/logout",
    }
    # Nothing in the package can publish: no MQTT client that sends is ever made there.
    package = Path(__file__).resolve().parents[2] / "fieldagent" / "web"
    for module in package.glob("*.py"):
        source = module.read_text()
        assert ".publish(" not in source and "MqttPublisher" not in source, module

    async def body(session: aiohttp.ClientSession) -> None:
        await log_in(session, server.url)
        for method in ("PUT", "DELETE", "PATCH", "POST"):
            async with session.request(method, server.url + "/", allow_redirects=False) as answer:
                assert answer.status == 405, method

    run(body)


def test_hostile_names_are_escaped(broker: LocalBroker, server: WebServer) -> None:
    evil = FakeStation("st-evil")
    device = "<img src=x onerror=alert(1)>"
    built = evil.status(HealthState.CRITICAL)  # the agent's own status, its name made hostile
    data = json.loads(built.payload)
    data["name"] = '<script>alert("name")</script>'
    status = Wire(built.topic, json.dumps(data).encode(), built.qos, built.retain)
    raised = alarm(evil.id, "ups-main", HealthState.CRITICAL, NOW)
    item: dict[str, Any] = {
        "alarm_id": f"{evil.id}/{device}/x/low",
        "rule": "x",
        "condition": "low",
        "severity": "critical",
        "raised_at": raised.raised_at.isoformat(),
        "value": 1,
        "message": {"vi": "<b onmouseover=alert(2)>nóng</b>", "en": "</li><script>x</script>"},
    }
    health = evil.message(
        f"{device}/health",
        {"device": device, "state": "critical", "reason": "<i>why</i>", "alarms": [item]},
        retain=True,
    )
    link = Link(broker.host, broker.port)
    link.publish(status, health)
    link.close()

    async def body(session: aiohttp.ClientSession) -> None:
        await log_in(session, server.url)
        listing = await page(session, server.url + "/", until="st-evil")
        detail = await page(session, server.url + "/station/st-evil", until="why")
        for text in (listing, detail):
            assert "<script>alert" not in text and "<img src=x" not in text
            assert "<b onmouseover" not in text and "<i>why" not in text
            document = html5lib.parse(text, namespaceHTMLElements=False)
            scripts = [s.get("src") for s in document.iter("script")]
            assert scripts == ["/static/web.js"]
            assert list(document.iter("img")) == [] and list(document.iter("b")) == []
            assert not any(
                name.startswith("on") for element in document.iter() for name in element.attrib
            )
        assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in listing
        assert "&lt;img src=x onerror=alert(1)&gt;" in detail

    run(body)


def test_security_headers(server: WebServer) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        for path in ("/login", "/static/web.css"):
            async with session.get(server.url + path) as answer:
                policy = answer.headers["Content-Security-Policy"]
                assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
                assert "unsafe-inline" not in policy
                assert answer.headers["X-Frame-Options"] == "DENY"
                assert answer.headers["X-Content-Type-Options"] == "nosniff"
        await log_in(session, server.url)
        async with session.get(server.url + "/") as answer:
            assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
            assert answer.headers["Cache-Control"] == "no-store"
            assert "<script>" not in await answer.text()  # no inline script

    run(body)


def test_the_event_stream_sends_a_new_alarm(
    broker: LocalBroker, province: dict[str, FakeStation], server: WebServer
) -> None:
    bac = province["st-bac"]
    raised = alarm(bac.id, "ups-main", HealthState.WARNING, NOW)

    async def body(session: aiohttp.ClientSession) -> None:
        await log_in(session, server.url)
        async with session.get(server.url + "/events?station=st-bac&lang=en") as stream:
            assert stream.status == 200
            assert stream.content_type == "text/event-stream"
            link = Link(broker.host, broker.port)
            link.publish(bac.health("ups-main", HealthState.WARNING, [raised]))
            link.close()
            event: list[str] = []
            async with asyncio.timeout(WAIT_S):
                while True:
                    line = (await stream.content.readline()).decode().rstrip("\n")
                    if line:
                        event.append(line)
                        continue
                    if any(raised.alarm_id in part for part in event):
                        break
                    event = []
        assert event[0] == "event: update"
        assert all(part.startswith("data: ") for part in event[1:])
        fragment = "\n".join(part.removeprefix("data: ") for part in event[1:])
        assert "Low estimated charge remaining" in fragment  # English, as asked
        assert 'data-device="ups-main"' in fragment and "st-nam" not in fragment

    run(body)
