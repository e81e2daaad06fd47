"""The drivers' fixtures: snmpsim replaying recordings (tests/support/snmpsim.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.snmpsim import Replay, ReplayFn, serving


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayFn]:
    """Starts snmpsim on host:free-port serving a data folder; stops every one at the end."""
    with ExitStack() as stack:

        def start(data_dir: Path, host: str) -> Replay:
            return stack.enter_context(serving(data_dir, host, tmp_path / f"snmpsim-{host}"))

        yield start
