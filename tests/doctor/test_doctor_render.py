"""The report as a technician reads it: Vietnamese first, English under it, every value
filled in; one language with --lang; the exit code by the worst row."""

from __future__ import annotations

import re
from pathlib import Path

from fieldagent.doctor.render import render_text
from fieldagent.doctor.result import Status, finding
from fieldagent.doctor.texts import CHECKS, MESSAGES
from tests.doctor.doctorrun import doctor_text, station


def _broken_station(tmp_path: Path) -> Path:
    device = {"id": "changeover", "driver": "changeover_ascii", "serial_port": tmp_path / "ttyX"}
    path = station(tmp_path, devices=[device])
    (tmp_path / "state").rmdir()
    return path


def test_both_languages_vietnamese_first_every_value_filled(tmp_path: Path) -> None:
    code, text = doctor_text(_broken_station(tmp_path))
    assert code == Status.FAIL
    vi, en = text.index("Kiểm tra trạm test-station"), text.index("Checking station test-station")
    assert vi < en
    assert "LỖI" in text[:en] and "Việc cần làm" in text[:en] and "FAIL" not in text[:en]
    assert "FAIL" in text[en:] and "What to do" in text[en:]
    assert "(mã thoát 2)" in text[:en] and "(exit code 2)" in text[en:]
    assert re.search(r"\{[a-z_]+\}", text) is None  # no template left unfilled


def test_one_language_when_asked(tmp_path: Path) -> None:
    _, text = doctor_text(_broken_station(tmp_path), langs=("en",))
    assert "Checking station" in text and "Kiểm tra" not in text and "LỖI" not in text


def test_every_message_renders_in_both_languages_with_its_fix() -> None:
    # Every code, as a failure: each has words in both languages, and a failure says what
    # to do unless it is only a report of a value (free space unknown, a bind error).
    for code, message in MESSAGES.items():
        row = finding("config", "", Status.FAIL, code)
        text = render_text([row], "s", "f", 2)
        assert message.result.vi and message.result.en, code
        fixes = text.count("→ Việc cần làm:") + text.count("→ What to do:")
        assert fixes == (0 if message.fix is None else 2), code
    assert set(CHECKS) >= {"config", "broker_tls", "serial", "device", "traps"}
