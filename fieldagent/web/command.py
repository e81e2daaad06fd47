"""`fieldagent web`: the subscriber, the view and the aiohttp server in one process.

paho runs in its thread (`ProvinceSubscriber`) and hands each message to the
event loop with `call_soon_threadsafe`; the view, the readings and every
page are touched only on the loop.  The server subscribes and never
publishes.  SIGINT / SIGTERM stop it: the subscriber, then the server (open
event streams end at once).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from fieldagent.config import MqttSection
from fieldagent.configbase import ConfigError
from fieldagent.province.archive import ReportKeeper
from fieldagent.province.subscriber import ProvinceSubscriber
from fieldagent.province.view import ProvinceView
from fieldagent.web.app import Settings, build_app
from fieldagent.web.passwords import Hashed, read_passwords
from fieldagent.web.state import WebState

DEFAULT_LISTEN = "127.0.0.1:8080"


@dataclass(frozen=True)
class WebOptions:
    passwords: Path
    listen: str = DEFAULT_LISTEN
    station: str | None = None
    share: str | None = None
    archive: Path | None = None
    silent_after_s: float = 300.0
    cookie_secure: bool = False
    settle_s: float = 30.0
    """How long to wait for the retained burst before saying the broker is not there yet."""


def listen_address(text: str) -> tuple[str, int]:
    """`ADDR:PORT` (an IPv6 address in brackets); ConfigError naming --listen."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError([f"--listen {text!r}: give ADDR:PORT, e.g. {DEFAULT_LISTEN}"])
    return host, int(port)


def run_web(settings: MqttSection, password: str | None, options: WebOptions) -> int:
    host, port = listen_address(options.listen)
    users = read_passwords(options.passwords)
    return asyncio.run(_serve(settings, password, options, users, host, port))


async def _serve(
    settings: MqttSection,
    password: str | None,
    options: WebOptions,
    users: dict[str, Hashed],
    host: str,
    port: int,
) -> int:
    loop = asyncio.get_running_loop()
    view = ProvinceView(settings.topic_root, options.silent_after_s, judge_gaps=not options.share)
    state = WebState(view, ReportKeeper(options.archive) if options.archive else None)
    glob = options.station
    narrow = glob if glob and not any(c in glob for c in "*?[") else None

    def hand_over(topic: str, payload: bytes, retained: bool) -> None:
        loop.call_soon_threadsafe(state.feed, topic, payload, retained)

    subscriber = ProvinceSubscriber(
        settings,
        hand_over,
        station=narrow,
        share=options.share,
        password=password,
    )
    app = build_app(
        Settings(
            state,
            users,
            station_glob=glob,
            cookie_secure=options.cookie_secure,
            note=f"MQTT {settings.host}:{settings.port}",
            link_error=lambda: subscriber.last_error,
        )
    )
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError([f"--listen {host}:{port}: cannot listen: {exc.strerror}"]) from None
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    subscriber.start()
    shown = f"[{host}]" if ":" in host else host
    print(
        f"web: serving http://{shown}:{port}/ (broker {settings.host}:{settings.port})",
        file=sys.stderr,
    )
    settling = asyncio.create_task(_settled(subscriber, state, options.settle_s))
    try:
        await stop.wait()
    finally:
        settling.cancel()
        subscriber.stop()
        await runner.cleanup()
    return 0


async def _settled(subscriber: ProvinceSubscriber, state: WebState, settle_s: float) -> None:
    """Say once when the broker's retained state is in (or why it is not yet)."""
    loop = asyncio.get_running_loop()
    while not await loop.run_in_executor(None, subscriber.wait_settled, 1.0, settle_s):
        print(
            f"web: no subscription yet: {subscriber.last_error or 'no answer'}; still trying",
            file=sys.stderr,
        )
    await asyncio.sleep(0)  # the messages handed over before the quiet second, fed
    count = len(state.view.stations(datetime.now(UTC)))
    print(f"web: settled: {count} station{'' if count == 1 else 's'} known", file=sys.stderr)
