"""Fixtures of the fault tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldagent.localbroker import LocalBroker
from tests.faults import central_broker


@pytest.fixture
def central(tmp_path: Path) -> Iterator[LocalBroker]:
    """The province's broker, set up for backlogs, persistent across its own restarts."""
    broker = central_broker(tmp_path / "central", persistence=True)
    broker.start()
    yield broker
    broker.stop()
