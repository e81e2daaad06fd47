"""`checklist run --output PATH`: the report goes to a new file, never through a symbolic link,
an existing file is replaced only with --force, and the terminal then shows only the verdict.
Real command, real simulated UPS over UDP, real files and links."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldagent.checklist.command import EXIT_USAGE
from tests.agentproc import fieldagent
from tests.checklist.test_daemon import TEMPLATE
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

KEPT = "someone else's file\n"


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


def test_the_report_is_never_written_through_a_symbolic_link(station: Path) -> None:
    victim = station.parent / "victim.txt"
    victim.write_text(KEPT, encoding="utf-8")
    link = station.parent / "record.html"
    link.symlink_to(victim)
    dangling = station.parent / "dangling.html"
    dangling.symlink_to(station.parent / "created-through-link.html")

    for path, args in ((link, ()), (link, ("--force",)), (dangling, ())):
        code, stdout, stderr = run_to(station, path, *args)

        assert code == EXIT_USAGE, stderr
        assert f"--output {path} is a symbolic link" in stderr
        assert stdout == ""
    assert victim.read_text(encoding="utf-8") == KEPT
    assert not (station.parent / "created-through-link.html").exists()
    assert archived(station) == []  # refused before the run, not after the inspection


def test_an_existing_file_is_replaced_only_with_force(station: Path) -> None:
    output = station.parent / "record.html"
    output.write_text(KEPT, encoding="utf-8")

    code, _, stderr = run_to(station, output)

    assert code == EXIT_USAGE, stderr
    assert f"--output {output} already exists: give --force" in stderr
    assert output.read_text(encoding="utf-8") == KEPT
    assert archived(station) == []

    code, _, stderr = run_to(station, output, "--force")

    assert code == 2, stderr
    assert output.read_text(encoding="utf-8").lower().startswith("<!doctype html")
    assert len(archived(station)) == 1
    assert [p.name for p in station.parent.iterdir() if p.name.startswith(".")] == []
