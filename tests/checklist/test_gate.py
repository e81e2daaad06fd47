"""The cooldown between runs asked for over MQTT and the budget of refusal replies, on a
fake clock; the setting in the station file."""

from __future__ import annotations

import tomllib

import pytest

from fieldagent.checklist.gate import REPLY_BURST, REPLY_EVERY_S, CommandGate
from fieldagent.config import ConfigError, parse_config


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_run_may_start_at_once_then_only_after_the_cooldown() -> None:
    clock = Clock()
    gate = CommandGate(600, clock)
    assert gate.wait_s() == 0
    gate.started()
    clock.now += 1
    assert gate.wait_s() == 599
    clock.now += 598.5
    assert gate.wait_s() == 0.5
    clock.now += 0.5
    assert gate.wait_s() == 0
    gate.started()
    assert gate.wait_s() == 600


def test_a_flood_of_refusals_gets_a_burst_of_replies_then_one_per_interval() -> None:
    clock = Clock()
    gate = CommandGate(600, clock)
    replied = 0
    for _ in range(6000):  # 100 a second for a minute
        replied += gate.may_reply()
        clock.now += 0.01
    assert REPLY_EVERY_S == 10
    assert replied == REPLY_BURST + 5  # one more at 10, 20, 30, 40 and 50 s
    assert gate.take_unanswered() == 6000 - replied
    assert gate.take_unanswered() == 0


def test_the_budget_refills_to_the_burst_and_no_further() -> None:
    clock = Clock()
    gate = CommandGate(600, clock)
    assert all(gate.may_reply() for _ in range(REPLY_BURST))
    assert not gate.may_reply()
    clock.now += 100 * REPLY_EVERY_S  # a quiet hour does not save up more than a burst
    assert all(gate.may_reply() for _ in range(REPLY_BURST))
    assert not gate.may_reply()
    assert gate.take_unanswered() == 2


def station(checklist: str) -> str:
    return f'[station]\nid = "bt-test"\nname = "Trạm thử"\n[checklist]\n{checklist}\n'


def test_the_cooldown_is_read_from_the_station_file_and_bounded() -> None:
    config = parse_config(tomllib.loads(station("command_cooldown_s = 120")), "station.toml")
    assert config.checklist.command_cooldown_s == 120
    assert parse_config(tomllib.loads(station("")), "s").checklist.command_cooldown_s == 600
    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(station("command_cooldown_s = 5")), "station.toml")
    assert caught.value.problems == [
        "station.toml: checklist.command_cooldown_s: Input should be greater than or equal to"
        " 60 (got 5)"
    ]
