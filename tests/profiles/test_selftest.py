"""`profile check` plays a profile's simulator against its own expectations."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers import REGISTRY
from fieldagent.profiles.load import parse_profile
from fieldagent.profiles.selftest import simulator_problems

OFFAIR = Path(REGISTRY.origins["offair_inovonics640"]).read_text(encoding="utf-8")


def problems_of(text: str) -> list[str]:
    return simulator_problems(parse_profile(text, "p.toml", Path(".")), "p.toml")


@pytest.mark.parametrize("name", [n for n, o in REGISTRY.origins.items() if o.endswith(".toml")])
def test_every_shipped_profiles_simulator_keeps_its_word(name: str) -> None:
    assert simulator_problems(REGISTRY[name], name) == []


def test_a_simulator_that_starts_in_a_fault_is_refused() -> None:
    text = OFFAIR.replace(
        '"offair.audio_loss" = "off", "offair.low', '"offair.audio_loss" = "on", "offair.low'
    )
    assert problems_of(text) == [
        "p.toml: simulator.initial: the starting values put the device in critical: a simulator"
        " starts healthy (faults are scenarios)",
        'p.toml: simulator.scenario[2] (pilot_loss).expect.values."offair.audio_loss":'
        " expected 'off', the simulator reads 'on' after 0 s",
        "p.toml: simulator.scenario[2] (pilot_loss).expect.health: expected warning, the"
        " simulator's readings give critical after 0 s",
    ]


def test_a_scenario_that_does_not_lead_where_it_says_is_named() -> None:
    text = OFFAIR.replace('"offair.rssi_dbuv" = 8 } }', '"offair.rssi_dbuv" = 30 } }')
    assert problems_of(text) == [
        'p.toml: simulator.scenario[1] (carrier_loss).expect.values."offair.rssi_dbuv":'
        " expected 30, the simulator reads 8 after 0 s"
    ]


def test_a_metric_without_a_starting_value_is_named() -> None:
    text = OFFAIR.replace('"offair.multipath_pct" = 4, ', "")
    assert problems_of(text)[0] == (
        "p.toml: simulator.initial: offair.multipath_pct reads missing (device has no such"
        " object): give it a starting value the metric can read"
    )
