"""`checklist run --output PATH`: the report goes to the file, the terminal shows only the verdict.
Real command, real simulated UPS over UDP, real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agentproc import fieldagent
from tests.checklist.test_daemon import TEMPLATE
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station


@pytest.fixture
def station(tmp_path: Path, sims: SimRunner) -> Path:
    ups = sims.serve("ups_rfc1628", "127.0.0.2")
    path = write_station(tmp_path, [device_fields("ups-main", ups)])
    (tmp_path / "test.toml").write_text(TEMPLATE, encoding="utf-8")
    with path.open("a", encoding="utf-8") as station_file:
        station_file.write('\n[checklist]\ntemplates = ["test.toml"]\n')
    return path


def run_to(station: Path, output: Path, *args: str) -> tuple[int, str, str]:
    done = fieldagent(
        *("checklist", "run", "-c", str(station), "--lang", "en"),
        *("--format", "html", "--output", str(output), *args),
    )
    return done.returncode, done.stdout, done.stderr


def archived(station: Path) -> list[Path]:
    return sorted((station.parent / "state" / "checklists").glob("*.json"))


def test_a_report_written_to_a_file_leaves_only_the_verdict_on_the_terminal(
    station: Path,
) -> None:
    output = station.parent / "record.html"

    code, stdout, stderr = run_to(station, output)

    assert code == 2, stderr  # the manual item is unanswered
    assert output.read_text(encoding="utf-8").lower().startswith("<!doctype html")
    assert stdout == ""
    (report,) = archived(station)
    assert stderr.strip().splitlines()[-1] == (
        f"{report.stem}: INCOMPLETE: some items could not be checked  ({report})"
    )
