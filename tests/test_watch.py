"""One-line renderings of published messages: readable, bounded, never raising."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest

from fieldagent.watch import LINE_LIMIT, render

BASE = {"station": "s", "seq": 7, "ts": "2026-11-28T23:05:06.002Z"}


def test_health_line_lists_the_active_alarms() -> None:
    alarm = {
        "rule": "ups.battery.charge_pct",
        "message": {"vi": "Dung lượng pin thấp: 12 %", "en": "Low charge: 12 % (limit 15 %)"},
    }
    payload = {**BASE, "device": "ups1", "state": "critical", "alarms": [alarm]}
    line = render("r/s/ups1/health", json.dumps(payload).encode())
    assert line.startswith("23:05:06 #7")
    assert "CRITICAL" in line and "Low charge: 12 % (limit 15 %)" in line


def test_times_are_shown_in_the_station_time_zone() -> None:
    payload = json.dumps({**BASE, "device": "ups1", "state": "ok", "alarms": []}).encode()
    line = render("r/s/ups1/health", payload, zone=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert line.startswith("06:05:06 #7")  # 23:05:06 UTC, the next morning at the station
    bad = json.dumps({**BASE, "ts": "yesterday", "device": "ups1", "state": "ok"}).encode()
    assert render("r/s/ups1/health", bad).startswith("--:--:-- #7")


def test_unreachable_health_shows_the_reason() -> None:
    payload = {**BASE, "device": "tx", "state": "unreachable", "reason": "no reply", "alarms": []}
    assert "UNREACHABLE no reply" in render("r/s/tx/health", json.dumps(payload).encode())


def test_alarm_and_trap_lines() -> None:
    raised = {
        **BASE,
        "event": "raised",
        "device": "fm1",
        "severity": "critical",
        "message": {"vi": "x", "en": "High VSWR: 2.3 (limit 2)"},
    }
    assert "ALARM    fm1          RAISED   CRITICAL High VSWR" in render(
        "r/s/alarm", json.dumps(raised).encode()
    )
    trap = {**BASE, "event": "trap", "device": "ups1", "trap_oid": "1.3.6.1.2.1.33.2.1"}
    assert "TRAP     ups1" in render("r/s/alarm", json.dumps(trap).encode())


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


def test_telemetry_line_leaves_out_rows_not_in_use() -> None:
    metrics = {
        "docsis.upstream.snr_db[channel=5]": {"value": 35.2, "unit": "dB", "quality": "ok"},
        "docsis.upstream.snr_db[channel=6]": {
            "value": 0,
            "unit": "dB",
            "quality": "ok",
            "in_use": False,
        },
    }
    line = render(
        "r/s/c/telemetry", json.dumps({**BASE, "device": "c", "metrics": metrics}).encode()
    )
    assert "snr_db[channel=5]=35.2dB" in line
    assert "channel=6" not in line and "(+1 more)" in line


@pytest.mark.parametrize(
    "payload", [b"\xff\xfe", b"not json", b"[1, 2]", b"{}", b"[" * 100_000, b'{"a":' * 100_000]
)
def test_untrusted_payloads_never_raise(payload: bytes) -> None:
    assert render("r/s/d/health", payload)


def test_compact_telemetry_and_meta_lines() -> None:
    snapshot = {
        **BASE,
        "v": 2,
        "device": "ups1",
        "full": True,
        "val": {
            "ups.input.voltage_v": 231,
            "ups.battery.runtime_min": None,
            "ups.output.source": "normal",
        },
        "q": {"ups.battery.runtime_min": "missing"},
    }
    line = render("r/s/ups1/telemetry", json.dumps(snapshot).encode())
    assert "SNAPSHOT ups1         input.voltage_v=231 battery.runtime_min missing" in line
    change = {**BASE, "v": 2, "device": "ups1", "full": False, "val": {"ups.input.voltage_v": 224}}
    assert "DATA     ups1         input.voltage_v=224" in render(
        "r/s/ups1/telemetry", json.dumps(change).encode()
    )
    down = {**change, "val": {}, "err": "no reply from 127.0.0.2"}
    assert "no reply: no reply from 127.0.0.2" in render(
        "r/s/ups1/telemetry", json.dumps(down).encode()
    )
    garbled = {**change, "val": [1], "q": 3, "off": "x"}
    assert "DATA     ups1" in render("r/s/ups1/telemetry", json.dumps(garbled).encode())
    meta = {
        **BASE,
        "v": 2,
        "device": "ups1",
        "driver": "ups_rfc1628",
        "metrics": {"a": {}, "b": {}},
    }
    assert "META     ups1         ups_rfc1628: 2 metrics" in render(
        "r/s/ups1/meta", json.dumps(meta).encode(), retained=True
    )
