"""Checklist conditions: what they may say, what they refer to, and clear refusals."""

from __future__ import annotations

import re

import pytest

from drivers import REGISTRY
from fieldagent.checklist.expr import ExpressionError, parse_condition


def test_a_transmitter_condition_names_its_readings_nominals_and_limits() -> None:
    condition = parse_condition(
        "tx.on_air and abs(rf.forward_power_w - nominal.rf.forward_power_w)"
        " <= 0.1 * nominal.rf.forward_power_w and rf.vswr < warn_high(rf.vswr)"
    )
    assert condition.metrics == {"tx.on_air", "rf.forward_power_w", "rf.vswr"}
    assert condition.nominals == {"rf.forward_power_w"}
    assert condition.limits == {("warn_high", "rf.vswr")}
    assert condition.history == frozenset()


def test_enum_states_history_and_constants() -> None:
    assert parse_condition("ups.output.source == 'normal'").metrics == {"ups.output.source"}
    assert parse_condition("increase(gen.run_hours) >= 5 / 60").history == {"gen.run_hours"}
    assert parse_condition("not false and true").metrics == frozenset()
    membership = parse_condition("ups.output.source not in ('battery', 'bypass')")
    assert membership.metrics == {"ups.output.source"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("__import__('os').system('reboot')", "unknown function"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("rf.vswr.__class__", "no metric"),  # a plain (unknown) key, refused later by name
        ("rf.vswr[0]", "indexing is not allowed"),
        ("[x for x in y]", "a comprehension is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("2 ** 100000", "** is not allowed"),
        ("rf.vswr in rf.ok", "'in' takes a list of constants"),
        ("rf.vswr in (1, nominal.x)", "'in' takes a list of constants"),
        ("warn_high(2)", "takes one metric key"),
        ("warn_high(nominal.rf.vswr)", "takes one metric key"),
        ("abs(1, 2)", "abs() takes one argument"),
        ("max(a=1)", "keyword arguments"),
        ("rf.vswr < ", "column"),
        ("None", "the constant None is not allowed"),
        ("True", "write true, not True"),
        ("warn_high", "warn_high is a function"),
        ("(lambda: 1)()", "unknown function"),
    ],
)
def test_anything_else_is_refused_with_a_reason(text: str, problem: str) -> None:
    if problem == "no metric":  # dunder segments are just an unknown metric key
        assert parse_condition(text).metrics == {"rf.vswr.__class__"}
        return
    with pytest.raises(ExpressionError, match=re.escape(problem)):
        parse_condition(text)


def test_the_column_points_at_the_fault() -> None:
    with pytest.raises(ExpressionError, match="column 15: unknown function 'exec'"):
        parse_condition("tx.on_air and exec('x')")


def test_every_metric_key_of_every_driver_can_be_written_in_a_condition() -> None:
    keys = {m.key for driver in REGISTRY.values() for m in driver.metrics}
    for key in keys:
        assert parse_condition(f"{key} == 1").metrics == {key}, key
