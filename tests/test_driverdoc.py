"""docs/drivers.md is generated from the declarations and must match them."""

from __future__ import annotations

from drivers import REGISTRY
from fieldagent.driverdoc import render_all
from tests.agentproc import ROOT


def test_drivers_doc_is_current() -> None:
    committed = (ROOT / "docs" / "drivers.md").read_text(encoding="utf-8")
    assert committed == render_all(REGISTRY.values()), (
        "docs/drivers.md is stale: run `python -m fieldagent.driverdoc > docs/drivers.md`"
    )


def test_every_metric_appears_with_its_limits() -> None:
    text = render_all(REGISTRY.values())
    for driver in REGISTRY.values():
        for metric in driver.metrics:
            assert f"`{metric.key}`" in text
    assert "| < 50 | < 15 |" in text  # ups.battery.charge_pct
