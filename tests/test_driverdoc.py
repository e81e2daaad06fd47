"""docs/drivers.md is generated from the declarations and must match them."""

from __future__ import annotations

from drivers import REGISTRY
from fieldagent.driverdoc import (
    HAND_WRITTEN,
    generated_part,
    regenerated,
    render_markdown,
)
from tests.agentproc import ROOT


def test_drivers_doc_is_current() -> None:
    committed = (ROOT / "docs" / "drivers.md").read_text(encoding="utf-8")
    assert generated_part(committed) == render_markdown(REGISTRY.values()), (
        "docs/drivers.md is stale: run `python -m fieldagent.driverdoc docs/drivers.md`"
    )
    assert HAND_WRITTEN in committed


def test_regenerating_keeps_the_hand_written_part() -> None:
    drivers = list(REGISTRY.values())[:2]
    old = f"stale generated text\n\n{HAND_WRITTEN}\n\n## Survey\n\nWritten by hand.\n"
    new = regenerated(old, drivers)
    assert new == f"{render_markdown(drivers)}\n{HAND_WRITTEN}\n\n## Survey\n\nWritten by hand.\n"
    assert generated_part(new) == render_markdown(drivers)
    assert regenerated(render_markdown(drivers), drivers) == render_markdown(drivers)


def test_every_metric_appears_with_its_limits() -> None:
    text = render_markdown(REGISTRY.values())
    for driver in REGISTRY.values():
        for metric in driver.metrics:
            shown = f"{metric.key}[{metric.table}=…]" if metric.table else metric.key
            assert f"`{shown}`" in text
    assert "| 0 … 100 | < 50 | < 15 |  | other |" in text  # ups.battery.charge_pct


def test_each_drivers_maturity_and_each_metrics_alarm_class_are_shown() -> None:
    text = render_markdown(REGISTRY.values())
    for driver in REGISTRY.values():
        assert f"| {driver.kind} | {driver.protocol} | {driver.maturity} |" in text
        assert f"protocol `{driver.protocol}`, maturity `{driver.maturity}`, declared in" in text
    assert "| low → warning, depleted → critical | state |" in text  # ups.battery.status


def test_drivers_command_lists_every_driver_and_shows_one_in_full() -> None:
    from tests.agentproc import fieldagent

    listing = fieldagent("drivers")
    assert listing.returncode == 0
    for name in REGISTRY:
        assert name in listing.stdout
    one = fieldagent("drivers", "ups_rfc1628")
    assert "ups.battery.charge_pct" in one.stdout and "warn < 50 / crit < 15" in one.stdout
    assert "(ups, snmp, stable)" in one.stdout
    assert "(transmitter, snmp, model)" in fieldagent("drivers", "dvbt2_transmitter").stdout
    assert "scenarios: normal, no_reply, mains_fail" in one.stdout
    assert 'driver = "ups_rfc1628"' in one.stdout
    assert fieldagent("drivers", "nope").returncode == 2


def test_each_driver_says_where_it_is_declared_a_module_or_a_profile() -> None:
    text = render_markdown(REGISTRY.values())
    assert "declared in `drivers/profiles/offair_inovonics640.toml`" in text
    assert "declared in `drivers/ups_rfc1628.py`" in text
