"""`checklist run` on a terminal: a progress line while polling, then the manual items asked
one by one. Real pseudo-terminal, real simulated UPS over UDP, no agent running."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.agentproc import ROOT
from tests.checklist.test_daemon import TEMPLATE, manual_item
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

SECOND_MANUAL = manual_item("backup.spares", "backup", "Có đủ vật tư dự phòng", "Spares on hand")


class Terminal:
    """A command on a pseudo-terminal, read and answered like a person would."""

    def __init__(self, *args: str) -> None:
        self._master, slave = os.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fieldagent", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "100"},
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{text!r} never came; the terminal shows:\n{self.seen}")

    def answer(self, line: str) -> None:
        os.write(self._master, f"{line}\n".encode())

    def finish(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self._read(max(0.0, deadline - time.monotonic())):
            pass
        code = self.process.wait(max(0.1, deadline - time.monotonic()))
        os.close(self._master)
        return code

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 4096)
        except OSError:  # the command closed the terminal
            return False
        self.seen += chunk.decode("utf-8", errors="replace")
        return bool(chunk)


def test_on_a_terminal_the_manual_items_are_asked_and_answers_go_into_the_report(
    tmp_path: Path, sims: SimRunner
) -> None:
    ups = sims.serve("ups_rfc1628", "127.0.0.2")
    station = write_station(tmp_path, [device_fields("ups-main", ups)])
    (tmp_path / "test.toml").write_text(TEMPLATE + SECOND_MANUAL, encoding="utf-8")
    with station.open("a", encoding="utf-8") as station_file:
        station_file.write('\n[checklist]\ntemplates = ["test.toml"]\n')

    terminal = Terminal("checklist", "run", "-c", str(station))
    terminal.expect("polling 1/1: ups-main ok")
    terminal.expect("Họ tên người kiểm tra: ")
    terminal.answer("Lê Văn Cường")
    terminal.expect("duty.roster: Đã niêm yết lịch trực")
    terminal.expect("[c]ó / [k]hông / [b]ỏ qua: ")
    terminal.answer("c")
    terminal.expect("Ghi chú (Enter để bỏ trống): ")
    terminal.answer("Dán ở phòng máy")
    terminal.expect("backup.spares: Có đủ vật tư dự phòng")
    terminal.expect("[c]ó / [k]hông / [b]ỏ qua: ")
    terminal.answer("k")
    terminal.expect("Ghi chú (Enter để bỏ trống): ")
    terminal.answer("Thiếu cầu chì")
    assert terminal.finish() == 1  # a manual item answered no fails the inspection

    (saved,) = (tmp_path / "state" / "checklists").glob("*.json")
    report = json.loads(saved.read_text(encoding="utf-8"))
    assert report["technician"] == "Lê Văn Cường"
    answers = {i["id"]: (i["status"], i["answer"]) for i in report["items"] if i["answer"]}
    assert answers["duty.roster"][0] == "pass"
    assert answers["duty.roster"][1]["note"] == "Dán ở phòng máy"
    assert answers["backup.spares"][0] == "fail"
    assert (answers["backup.spares"][1]["confirmed"], answers["backup.spares"][1]["note"]) == (
        False,
        "Thiếu cầu chì",
    )
    assert "KHÔNG ĐẠT" in terminal.seen
