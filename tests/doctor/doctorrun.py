"""Run `fieldagent doctor` in the test's process on a station file written to disk."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldagent.doctor.command import DoctorOptions, run_doctor
from fieldagent.localbroker import LocalBroker
from tests.stationfile import write_station

SHORT = 2.0
"""Doctor's --timeout in the tests: every wait is bounded by it."""


@dataclass(frozen=True)
class Report:
    code: int
    rows: list[dict[str, Any]]

    def codes(self, check: str) -> list[str]:
        """The result codes of every row of `check`."""
        return [row["code"] for row in self.rows if row["check"] == check]

    def row(self, check: str) -> dict[str, Any]:
        rows = [row for row in self.rows if row["check"] == check]
        assert len(rows) == 1, rows
        return rows[0]


def doctor(path: Path, **options: Any) -> Report:
    """The JSON report of one run (both languages) and its exit code."""
    out = io.StringIO()
    options.setdefault("timeout", SHORT)
    code = run_doctor(path, DoctorOptions(json=True, **options), out)
    report = json.loads(out.getvalue())
    assert report["exit_code"] == code
    return Report(code, report["checks"])


def doctor_text(path: Path, **options: Any) -> tuple[int, str]:
    out = io.StringIO()
    options.setdefault("timeout", SHORT)
    code = run_doctor(path, DoctorOptions(**options), out)
    return code, out.getvalue()


def station(
    folder: Path,
    broker: LocalBroker | None = None,
    devices: list[dict[str, Any]] | None = None,
    mqtt: dict[str, Any] | None = None,
    extra: str = "",
) -> Path:
    """A station file with its state directory made, reaching `broker` (plain, loopback)."""
    (folder / "state").mkdir(parents=True, exist_ok=True)
    settings = {"url": broker.url} if broker is not None else {"url": "mqtt://127.0.0.1:1"}
    settings.update(mqtt or {})
    path = write_station(folder, devices or [], mqtt=settings)
    if extra:
        path.write_text(path.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path
