"""The page in a real browser: Debian's chromium, headless, driven over CDP.

Logs in through the form, sees the three stations, and sees a new alarm published
to the broker appear without a reload, within 2 s of the publish.  Screenshots go to
the test's folder, and to `FIELDAGENT_SCREENSHOTS=DIR` when set: the committed
docs/images/web-stations.png and web-station.png are remade with

    FIELDAGENT_SCREENSHOTS=docs/images .venv/bin/pytest tests/web/test_browser.py
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import aiohttp
import pytest

from fieldagent.localbroker import LocalBroker
from fieldagent.model import HealthState
from tests.support.cdp import Chromium, Page, chromium_path
from tests.support.stations import FakeStation, Link, alarm
from tests.web.conftest import NOW, PASSWORD, USER, WebServer

LIVE_S = 2.0
"""From the publish to the alarm in the page's DOM."""


def shots(tmp_path: Path) -> list[Path]:
    folders = [tmp_path]
    if os.environ.get("FIELDAGENT_SCREENSHOTS"):
        folders.append(Path(os.environ["FIELDAGENT_SCREENSHOTS"]))
    return folders


async def screenshot(page: Page, folders: list[Path], name: str) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        written = await page.screenshot(folder / name)
        assert written.read_bytes().startswith(b"\x89PNG"), written


async def log_in(page: Page, url: str) -> None:
    await page.navigate(f"{url}/login")
    await page.evaluate(
        f"document.getElementById('user').value = {json.dumps(USER)};"
        f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
        "document.querySelector('form.login').submit(); true"
    )
    await page.wait_for("location.pathname === '/' && document.readyState === 'complete'")


@pytest.mark.skipif(chromium_path() is None, reason="no chromium: scripts/test.sh installs it")
def test_the_page_is_live_in_a_browser(
    broker: LocalBroker, province: dict[str, FakeStation], server: WebServer, tmp_path: Path
) -> None:
    folders = shots(tmp_path)
    browser = Chromium(tmp_path / "chromium")
    try:
        asyncio.run(_drive(browser, broker, province, server, folders))
    finally:
        browser.close()


async def _drive(
    browser: Chromium,
    broker: LocalBroker,
    province: dict[str, FakeStation],
    server: WebServer,
    folders: list[Path],
) -> None:
    async with aiohttp.ClientSession() as session:
        page = await browser.page(session)
        try:
            await page.call(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=760,
                deviceScaleFactor=1,
                mobile=False,
            )
            await page.navigate(server.url + "/")
            assert await page.evaluate("location.pathname") == "/login"  # no session yet
            await log_in(page, server.url)
            rows = await page.wait_for(
                "document.querySelectorAll('tr[data-station]').length === 3"
                " && [...document.querySelectorAll('tr[data-station]')]"
                ".map(r => r.dataset.station)"
            )
            assert rows == ["st-nam", "st-bac", "st-tay"]  # worst first
            await page.wait_for("document.querySelectorAll('li.alarm').length === 1")
            # The event stream is open before the publish: wait for its first update.
            await page.wait_for(
                "Number(document.getElementById('live').dataset.version) >= 1", timeout_s=10.0
            )
            await screenshot(page, folders, "web-stations.png")

            bac = province["st-bac"]
            raised = alarm(bac.id, "ups-main", HealthState.CRITICAL, NOW)
            link = Link(broker.host, broker.port)
            try:
                wire = bac.health("ups-main", HealthState.CRITICAL, [raised])
                published = time.monotonic()
                link.publish(wire)
                selector = json.dumps(f'li.alarm[data-alarm="{raised.alarm_id}"]')
                await page.wait_for(f"document.querySelector({selector}) !== null", timeout_s=10.0)
                took = time.monotonic() - published
            finally:
                link.close()
            assert took < LIVE_S, f"the alarm took {took:.2f} s to show"
            assert await page.evaluate(
                "document.querySelector('tr[data-station]').dataset.station"
            ) in ("st-nam", "st-bac")  # both critical now
            assert await page.evaluate("location.pathname") == "/"  # no reload, no navigation

            await page.navigate(server.url + "/station/st-nam")
            await page.wait_for(
                "document.querySelector('section[data-device=\"fm-main\"] table') !== null"
            )
            text = await page.evaluate("document.body.innerText")
            assert "1984.5 W" in text and "st-nam/ups-main/ups.battery.charge_pct/low" in text
            await screenshot(page, folders, "web-station.png")
        finally:
            await page.close()
