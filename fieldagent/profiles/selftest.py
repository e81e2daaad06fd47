"""A profile's simulator against its own declarations, without a network.

The conformance suite plays every shipped driver's scenarios over UDP; a
station's own profile gets the same judgement from `fieldagent profile check`:
the starting values read `ok` and healthy, and each scenario leads to the
values and the health its `expect` declares.  A profile whose simulator
contradicts it would make `simulate` and the tests built on it lie.
"""

from __future__ import annotations

import math

from fieldagent.driver import Driver
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality, Reading, Value, utc_now
from fieldagent.profiles.build import quoted
from fieldagent.sim.device import NORMAL, SimulatedDevice

RELATIVE_TOLERANCE = 0.02
"""How close a float must come to an expected value (the conformance suite's own)."""


class _Clock:
    """Scenario time that moves only when told: the checks are repeatable."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def simulator_problems(driver: Driver, source: str) -> list[str]:
    """What the profile's simulator does that its declarations say it must not."""
    clock = _Clock()
    device = SimulatedDevice(driver, clock=clock)
    initial = _readings(driver, device)
    problems = [
        f"{source}: simulator.initial: {reading.key} reads {reading.quality}"
        f"{f' ({reading.detail})' if reading.detail else ''}: give it a starting value"
        " the metric can read"
        for reading in initial
        if reading.quality is not Quality.OK
    ]
    if not problems:
        state = _health(driver, initial)
        if state is not HealthState.OK:
            problems.append(
                f"{source}: simulator.initial: the starting values put the device in {state}:"
                " a simulator starts healthy (faults are scenarios)"
            )
    for index, (name, scenario) in enumerate(driver.simulator.scenarios.items()):
        if scenario.silent or scenario.line_fault is not None:
            continue  # what a device that does not answer shows is the poller's, not the profile's
        where = f"{source}: simulator.scenario[{index}] ({name}).expect"
        device.play(NORMAL)
        device.play(name)
        clock.now += scenario.expect.after_s
        readings = _readings(driver, device)
        values = {r.key: r.value for r in readings}
        for key, expected in scenario.expect.values.items():
            if not _close(values.get(key), expected):
                problems.append(
                    f"{where}.values.{quoted(key)}: expected {expected!r}, the simulator"
                    f" reads {values.get(key)!r} after {scenario.expect.after_s:g} s"
                )
        declared = scenario.expect.health
        if declared is not None and (state := _health(driver, readings)) is not declared:
            problems.append(
                f"{where}.health: expected {declared}, the simulator's readings give {state}"
                f" after {scenario.expect.after_s:g} s"
            )
    return problems


def _readings(driver: Driver, device: SimulatedDevice) -> tuple[Reading, ...]:
    return driver.decode(driver.encode(device.snapshot()), utc_now())


def _health(driver: Driver, readings: tuple[Reading, ...]) -> HealthState:
    """The state the readings put the device in, judged as one answered poll."""
    return evaluate(driver, PollResult(driver.name, utc_now(), readings)).state


def _close(value: Value, expected: Value) -> bool:
    both_numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (value, expected)
    )
    if both_numbers:
        assert isinstance(value, int | float) and isinstance(expected, int | float)
        return math.isclose(value, expected, rel_tol=RELATIVE_TOLERANCE)
    return value == expected
