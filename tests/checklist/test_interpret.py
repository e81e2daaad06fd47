"""Evaluating a condition: arithmetic stays within the numbers a float holds, whatever
the readings, so no step overflows, runs away, or lets inf or nan decide a comparison."""

from __future__ import annotations

import pytest

from fieldagent.checklist.expr import parse_condition
from fieldagent.checklist.interpret import CannotEvaluate, evaluate

COUNTER64 = 2**64 - 1


class Readings:
    """Values by metric key, as a device's readings would give them."""

    def __init__(self, **values: float) -> None:
        self._values = {key.replace("_", "."): value for key, value in values.items()}

    def metric(self, key: str) -> float:
        return self._values[key]

    def nominal(self, key: str) -> float:
        return self._values[f"nominal.{key}"]

    def limit(self, function: str, key: str) -> float:
        raise AssertionError(f"no limit in these tests: {function}({key})")

    def increase(self, key: str) -> float:
        raise AssertionError(f"no history in these tests: {key}")


@pytest.mark.parametrize(
    "text",
    [
        " * ".join(["net.octets"] * 20) + " > 0",  # whole numbers: Python would go on multiplying
        " * ".join(["net.octets"] * 20) + " / 3 > 0",
        "rf.power * rf.power > 0",
        "rf.power * rf.power - rf.power * rf.power < 1",  # inf - inf is nan: every comparison false
    ],
)
def test_a_result_beyond_a_float_cannot_be_evaluated(text: str) -> None:
    values = Readings(net_octets=COUNTER64, rf_power=1e300)
    with pytest.raises(CannotEvaluate, match="beyond the range of numbers"):
        evaluate(parse_condition(text), values)


def test_large_readings_within_range_are_compared_exactly() -> None:
    values = Readings(net_octets=COUNTER64, rf_power=1e300)
    assert evaluate(parse_condition("net.octets * 2 > net.octets"), values) == (
        True,
        f"{COUNTER64} * 2 > {COUNTER64}",
    )
    assert evaluate(parse_condition("rf.power / 1e15 > 1e15"), values)[0] is True
