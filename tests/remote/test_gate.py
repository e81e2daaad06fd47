"""The one budget concept (`fieldagent.budget.Budget`) and the remote commands' gate, on a
fake clock: each command's rate, the shared budget of refusal replies."""

from __future__ import annotations

import pytest

from fieldagent.budget import REPLY_BURST, REPLY_EVERY_S, Budget
from fieldagent.remote.gate import RATES, RemoteGate
from fieldagent.remote.settings import COMMANDS


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_a_budget_gives_a_burst_then_one_per_interval_and_counts_the_rest() -> None:
    clock = Clock()
    budget = Budget(3, 4.0, clock)
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    assert budget.wait_s() == 4.0
    clock.now += 3.0
    assert budget.wait_s() == pytest.approx(1.0)
    assert not budget.take()
    clock.now += 1.0
    assert budget.take()
    assert budget.take_denied() == 2
    assert budget.take_denied() == 0
    clock.now += 1000  # a quiet hour saves up no more than the burst
    assert sum(budget.take() for _ in range(10)) == 3


def test_a_budget_needs_a_burst_and_an_interval() -> None:
    with pytest.raises(ValueError, match="a burst of at least 1"):
        Budget(0, 1.0)
    with pytest.raises(ValueError, match="positive interval"):
        Budget(1, 0.0)


def test_every_command_has_a_rate_and_each_its_own() -> None:
    assert set(RATES) == set(COMMANDS)
    clock = Clock()
    gate = RemoteGate(clock)
    poll_burst, poll_every = RATES["poll"]
    assert all(gate.admit("poll") is None for _ in range(poll_burst))
    wait = gate.admit("poll")
    assert wait == pytest.approx(poll_every)
    assert gate.admit("ping") is None  # another command's budget is untouched
    clock.now += poll_every
    assert gate.admit("poll") is None
    assert gate.limit("poll") == f"{poll_burst} in a row, then one per {poll_every:g} s"


def test_a_flood_of_pings_is_rate_limited_and_its_refusals_get_few_replies() -> None:
    clock = Clock()
    gate = RemoteGate(clock)
    burst, every_s = RATES["ping"]
    accepted = replied = 0
    for _ in range(6000):  # 100 a second for a minute
        if gate.admit("ping") is None:
            accepted += 1
        elif gate.may_reply():
            replied += 1
        clock.now += 0.01
    assert accepted == burst + int(60 / every_s) - 1  # the last refill falls just past 60 s
    assert replied == REPLY_BURST + int(60 / REPLY_EVERY_S) - 1
    assert gate.take_unanswered() == 6000 - accepted - replied
    assert gate.unanswered == 0
