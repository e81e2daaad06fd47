"""A headless chromium driven over the Chrome DevTools Protocol, for the web page's tests.

`Chromium` starts Debian's `chromium --headless=new` with its own profile
directory and `--remote-debugging-port=0`; the port the browser chose is read
from `DevToolsActivePort` in that directory.  `Page` speaks CDP to one tab over
aiohttp's WebSocket client: navigate, evaluate JavaScript and get its value,
capture a screenshot.  Every wait is bounded; `close` kills the browser (call
it in a finally).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

START_S = 20.0
CALL_S = 10.0


class CdpError(Exception):
    pass


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """One headless browser process with a private profile directory."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 860) -> None:
        binary = chromium_path()
        if binary is None:
            raise CdpError("chromium is not installed (scripts/setup.sh installs it)")
        profile.mkdir(parents=True, exist_ok=True)
        self.profile = profile
        self._log = (profile.parent / f"{profile.name}.log").open("wb")
        """The browser's own chatter, in a file: a pipe nobody reads would fill and block it."""
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                f"--window-size={width},{height}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
        )
        self.port = self._port()

    def _port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                said = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise CdpError(f"chromium exited ({self.process.returncode}): {said[-2000:]}")
            try:
                first = marker.read_text().splitlines()[0]
                return int(first)
            except (OSError, IndexError, ValueError):
                time.sleep(0.05)
        raise CdpError(f"chromium wrote no {marker} within {START_S:g} s")

    async def page(self, session: aiohttp.ClientSession) -> Page:
        """The first tab (about:blank), connected."""
        deadline = time.monotonic() + START_S
        while True:
            async with session.get(f"http://127.0.0.1:{self.port}/json/list") as answer:
                targets = await answer.json(content_type=None)
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                socket = await session.ws_connect(
                    pages[0]["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024
                )
                return Page(socket)
            if time.monotonic() > deadline:
                raise CdpError("chromium shows no page target")
            await asyncio.sleep(0.1)

    def close(self) -> None:
        """Kill the browser's whole process group and reap it."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()


class Page:
    """One tab: CDP commands by id, events ignored."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        await self.socket.send_json({"id": number, "method": method, "params": params})
        async with asyncio.timeout(CALL_S):
            while True:
                message = await self.socket.receive()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    raise CdpError(f"{method}: the browser closed the connection")
                data = json.loads(message.data)
                if data.get("id") != number:
                    continue  # an event, or an answer to an earlier call
                if "error" in data:
                    raise CdpError(f"{method}: {data['error']}")
                result: dict[str, Any] = data.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        """The expression's value (JSON-able), awaited if it is a promise."""
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def wait_for(
        self, expression: str, timeout_s: float = 10.0, every_s: float = 0.02
    ) -> Any:
        """Evaluate until the value is truthy; CdpError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise CdpError(f"not true within {timeout_s:g} s: {expression}")
            await asyncio.sleep(every_s)

    async def navigate(self, url: str, timeout_s: float = 10.0) -> None:
        await self.call("Page.navigate", url=url)
        where = json.dumps(url.split("?")[0])
        await self.wait_for(
            f"document.readyState === 'complete' && location.href.startsWith({where})", timeout_s
        )

    async def screenshot(self, path: Path) -> Path:
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def close(self) -> None:
        await self.socket.close()
