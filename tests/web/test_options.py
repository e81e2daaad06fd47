"""`fieldagent web --station GLOB --archive DIR` (the page narrowed, every report kept), and
the readings the page keeps beside the province's view."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from fieldagent.localbroker import LocalBroker, free_port
from tests.support.stations import FakeStation
from tests.web.conftest import make_passwords, start_web, stop_web
from tests.web.test_http import log_in, page, run


def test_a_glob_narrows_the_page_and_the_archive_keeps_reports(
    broker: LocalBroker, province: dict[str, FakeStation], tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    passwords = make_passwords(tmp_path / "users")
    server = start_web(
        broker, passwords, tmp_path / "web.log", "--station", "st-ba*", "--archive", str(archive)
    )
    try:

        async def body(session: aiohttp.ClientSession) -> None:
            await log_in(session, server.url)
            listing = await page(session, server.url + "/", until="st-bac")
            assert 'data-station="st-bac"' in listing
            assert "st-nam" not in listing and "st-tay" not in listing
            async with session.get(server.url + "/station/st-nam") as answer:
                assert answer.status == 404  # outside the glob: as if unknown
            async with session.get(server.url + "/station/st-nam/report") as answer:
                assert answer.status == 404
            async with session.get(server.url + "/station/st-bac/report") as answer:
                assert answer.status == 200

        run(body)
    finally:
        stop_web(server)
    kept = sorted(p.parent.name.rsplit("-", 1)[0] for p in archive.glob("*/*.json"))
    assert kept == ["st-bac", "st-nam"]  # the archive keeps what the broker sent, as monitor's


def test_the_page_says_when_the_broker_is_not_reached(tmp_path: Path) -> None:
    passwords = make_passwords(tmp_path / "users")
    closed = f"mqtt://127.0.0.1:{free_port()}"
    server = start_web(closed, passwords, tmp_path / "web.log", "--timeout", "1", ready="serving")
    try:

        async def body(session: aiohttp.ClientSession) -> None:
            await log_in(session, server.url)
            listing = await page(session, server.url + "/", until="cannot connect")
            assert f"cannot connect to {closed}" in listing and "0 đài" in listing

        run(body)
        deadline = time.monotonic() + 10.0  # said after --timeout without a subscription
        while "web: no subscription yet" not in server.said() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_web(server)
    assert "web: no subscription yet: cannot connect to" in server.said()


def test_the_state_keeps_v1_readings_and_rebuilds_v2() -> None:
    """WebState is fed on the event loop: v2 rebuilt from meta + snapshot + change, v1 whole."""
    from datetime import UTC, datetime

    from fieldagent.province.view import ProvinceView
    from fieldagent.web.state import WebState
    from tests.web.conftest import FM_META, FM_SNAPSHOT, ups_telemetry

    station = FakeStation("st-x")

    async def body() -> None:
        state = WebState(ProvinceView(), clock=lambda: datetime.now(UTC))
        for wire in (
            station.status(),
            station.message("fm-main/meta", FM_META, retain=True),
            station.message("fm-main/telemetry", FM_SNAPSHOT),
            station.message(
                "fm-main/telemetry",
                {"v": 2, "device": "fm-main", "full": False, "val": {"tx.forward_power_w": 5.0}},
            ),
            station.message("ups-main/telemetry", ups_telemetry(55.0)),
            station.message("ups-main/telemetry", {"device": "ups-main"}),  # not a payload
        ):
            state.feed(wire.topic, wire.payload, wire.retain)
        fm = state.readings("st-x", "fm-main")
        assert fm is not None
        assert fm.metrics["tx.forward_power_w"]["value"] == 5.0
        assert fm.metrics["tx.reflected_power_w"] == {
            "value": 12.25,
            "unit": "W",
            "quality": "ok",
            "detail": None,
            "in_use": True,
        }
        ups = state.readings("st-x", "ups-main")
        assert ups is not None and ups.metrics["ups.battery.charge_pct"]["value"] == 55.0
        assert state.view.rejected["bad telemetry"] == 1
        assert state.readings("st-x", "nothing") is None
        seen = state.version
        assert await state.changed(seen, 0.05) == seen  # nothing new: back after the timeout

    asyncio.run(body())
