"""One-line renderings of published messages: readable, bounded, never raising."""

from __future__ import annotations

import json

import pytest

from fieldagent.watch import LINE_LIMIT, render

BASE = {"station": "s", "seq": 7, "ts": "2026-11-28T23:05:06.002Z"}


def test_health_line_names_the_problem_and_its_limit() -> None:
    payload = {
        **BASE,
        "device": "ups1",
        "state": "critical",
        "problems": [{"metric": "ups.battery.charge_pct", "value": 12, "unit": "%", "limit": 15.0}],
    }
    line = render("r/s/ups1/health", json.dumps(payload).encode())
    assert line.startswith("23:05:06 #7")
    assert "CRITICAL" in line and "ups.battery.charge_pct=12% (limit 15)" in line


def test_unreachable_health_shows_the_reason() -> None:
    payload = {**BASE, "device": "tx", "state": "unreachable", "reason": "no reply", "problems": []}
    assert "UNREACHABLE no reply" in render("r/s/tx/health", json.dumps(payload).encode())


def test_telemetry_line_is_bounded() -> None:
    metrics = {
        f"x.metric_{i}_with_a_long_name": {"value": i, "unit": "W", "quality": "ok"}
        for i in range(40)
    }
    line = render(
        "r/s/d/telemetry", json.dumps({**BASE, "device": "d", "metrics": metrics}).encode()
    )
    assert len(line) <= LINE_LIMIT
    assert "metric_0_with_a_long_name=0W" in line


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"not json", b"[1, 2]", b"{}"])
def test_untrusted_payloads_never_raise(payload: bytes) -> None:
    assert render("r/s/d/health", payload)
