"""What the command line says about a station file before it reads one: where the file is
by default, and how a file that cannot be used is refused.

A module of its own, free of pydantic and the drivers, so that `fieldagent --help` and
the parser of every command import nothing heavier than argparse; `fieldagent.config`
re-exports both.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG_PATH = Path("/etc/fieldagent/station.toml")


class ConfigError(Exception):
    """A station file that cannot be used; `problems` holds one line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
