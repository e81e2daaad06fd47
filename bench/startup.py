"""How long the command takes to start, against the interpreter's own start.

Times, in fresh processes, `python -c pass` (the floor: no command starts faster),
`fieldagent --help` and `fieldagent check-config -c FILE` (the demo station by default,
copied and made private, as its v3 keys require), and prints the median of N runs of
each with its ratio to the floor.  With `--before REV` the same commands run, interleaved
run by run, on a checkout of REV too (`git archive` into a temporary folder), so the
before and after figures come from one run on one load.

Bytecode is cached as on an installed agent (pip compiles at install): the commands run
without PYTHONDONTWRITEBYTECODE, so the warm-up run writes `__pycache__` (ignored by git)
and the timed runs read it.

    python bench/startup.py [--runs 5] [--config FILE] [--before REV]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo-station.toml"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def elapsed(argv: list[str], cwd: Path) -> float:
    """Wall time of one run to completion, in seconds; a failing command is an error."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} (in {cwd}) failed: {done.stderr.decode()[-500:]}")
    return took


def checkout(rev: str, into: Path) -> Path:
    """The files of REV, as committed, in a folder of their own."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def private_copy(station: Path, folder: Path) -> Path:
    """The station file in `folder`/config, mode 0600; its relative paths land in `folder`."""
    (folder / "config").mkdir(parents=True)
    copy = folder / "config" / station.name
    shutil.copyfile(station, copy)
    copy.chmod(0o600)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--config", type=Path, default=DEMO, help="station file to check")
    parser.add_argument("--before", metavar="REV", help="also time a checkout of REV")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        station = private_copy(args.config, Path(tmp) / "station")
        trees = {"now": ROOT}
        if args.before:
            trees[args.before] = checkout(args.before, Path(tmp) / "before")
        commands = {
            "fieldagent --help": ["-m", "fieldagent", "--help"],
            "fieldagent check-config": ["-m", "fieldagent", "check-config", "-c", str(station)],
        }
        floor: list[float] = []
        times: dict[tuple[str, str], list[float]] = {
            (tree, name): [] for tree in trees for name in commands
        }
        for tail in commands.values():  # a warm-up of each: bytecode and page cache
            for path in trees.values():
                elapsed([sys.executable, *tail], path)
        for _ in range(args.runs):
            floor.append(elapsed([sys.executable, "-c", "pass"], ROOT))
            for name, tail in commands.items():
                for tree, path in trees.items():
                    times[tree, name].append(elapsed([sys.executable, *tail], path))

    base = statistics.median(floor)
    print(f"median of {args.runs} runs, seconds (ratio to python -c pass); {args.config.name}")
    print(f"{'python -c pass':<26}{base:>12.3f} ({1:5.1f}x)")
    print(f"{'':<26}" + "".join(f"{tree:>22}" for tree in trees))
    for name in commands:
        cells = []
        for tree in trees:
            median = statistics.median(times[tree, name])
            cells.append(f"{median:>12.3f} ({median / base:5.1f}x)")
        print(f"{name:<26}" + "".join(f"{cell:>22}" for cell in cells))


if __name__ == "__main__":
    main()
