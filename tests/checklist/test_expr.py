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


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not " * 5000 + "true", "20004 characters: a condition has at most 500"),
        ("-" * 200_000 + "1 > 0", "200005 characters: a condition has at most 500"),
        ("1" * 4000 + " > 0", "4004 characters: a condition has at most 500"),
        ("not " * 40 + "true", "column 129: nested too deep: more than 32 levels"),
        (" + ".join(["rf.vswr"] * 40) + " > 0", "nested too deep: more than 32 levels"),
        ("rf.vswr < " + "9" * 400, "column 11: the number '99999999999999999999'… is too large"),
        ("rf.vswr < 1e999", "the number '1e999' is too large: at most 1e+15"),
        ("rf.vswr > -2e15", "the number '2e15' is too large"),
        ("ups.output.source in ('normal', 1e16)", "the number '1e16' is too large"),
    ],
)
def test_a_condition_too_long_too_deep_or_with_a_huge_number_is_refused(
    text: str, problem: str
) -> None:
    with pytest.raises(ExpressionError, match=re.escape(problem)):
        parse_condition(text)


def test_conditions_within_the_bounds_are_kept() -> None:
    assert parse_condition("not " * 30 + "rf.on").metrics == {"rf.on"}
    assert parse_condition("rf.vswr < 1e15 and rf.vswr > -1_000_000_000_000_000").metrics == {
        "rf.vswr"
    }
    assert parse_condition(" " * 600 + "rf.on").metrics == {"rf.on"}  # counted once stripped
