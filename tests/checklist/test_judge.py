"""Judging items on readings: values put into conditions, per device and per table row,
and never a pass on a value the agent does not have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers import REGISTRY, get_driver
from fieldagent.alarms.rules import RuleBook
from fieldagent.checklist.evaluate import Judge, Observations, judge_item
from fieldagent.checklist.expr import parse_condition
from fieldagent.checklist.history import CounterHistory, Sample, increase
from fieldagent.checklist.interpret import CannotEvaluate, Unavailable, evaluate
from fieldagent.checklist.lineup import compare
from fieldagent.checklist.report import Reason, Status
from fieldagent.checklist.resolve import station_checklist
from fieldagent.config import load_config
from fieldagent.model import PollResult, Quality, Reading

T0 = datetime(2026, 8, 27, 23, 0, tzinfo=UTC)


class Fixed:
    """Values for the interpreter alone."""

    def __init__(self, **metrics: object) -> None:
        self.metrics = {k.replace("__", "."): v for k, v in metrics.items()}

    def metric(self, key: str) -> object:
        if key not in self.metrics:
            raise Unavailable(key)
        return self.metrics[key]

    def nominal(self, key: str) -> float:
        return 2000.0

    def limit(self, function: str, key: str) -> float:
        return 1.5

    def increase(self, key: str) -> float:
        return 0.25


@pytest.mark.parametrize(
    ("condition", "values", "expected", "evaluated"),
    [
        (
            "abs(rf.forward_power_w - nominal.rf.forward_power_w)"
            " <= 0.1 * nominal.rf.forward_power_w",
            {"rf__forward_power_w": 1850.0},
            True,
            "abs(1850.0 - 2000.0) <= 0.1 * 2000.0",
        ),
        ("rf.vswr < warn_high(rf.vswr)", {"rf__vswr": 1.7}, False, "1.7 < 1.5"),
        (
            'ups.output.source in ("normal", "booster")',
            {"ups__output__source": "battery"},
            False,
            "'battery' in ('normal', 'booster')",
        ),
        ("not gen.alarm.battery_low and true", {"gen__alarm__battery_low": False}, True, None),
        ("increase(gen.run_hours) >= 5 / 60", {}, True, "0.25 >= 5 / 60"),
        ("min(1, 2, x.y) == 0 or 1 < x.y < 3", {"x__y": 2}, True, None),
    ],
)
def test_values_are_put_in_and_the_condition_computed(
    condition: str, values: dict[str, object], expected: bool, evaluated: str | None
) -> None:
    result, text = evaluate(parse_condition(condition), Fixed(**values))  # type: ignore[arg-type]
    assert result is expected
    if evaluated is not None:
        assert text == evaluated


@pytest.mark.parametrize(
    ("condition", "values", "problem"),
    [
        ("x.y > 1", {"x__y": "high"}, "'high' is not a number"),
        ("x.y / 0 > 1", {"x__y": 3}, "division by zero"),
        ("x.y + 1", {"x__y": 3}, "is 4, not true or false"),
        ("not x.y", {"x__y": 1}, "1 is not true or false"),
    ],
)
def test_values_that_do_not_fit_are_named(
    condition: str, values: dict[str, object], problem: str
) -> None:
    with pytest.raises(CannotEvaluate, match=problem):
        evaluate(parse_condition(condition), Fixed(**values))  # type: ignore[arg-type]


def test_a_missing_value_stops_the_evaluation() -> None:
    with pytest.raises(Unavailable):
        evaluate(parse_condition("x.y > 1 or true"), Fixed())  # type: ignore[arg-type]


def test_increase_sums_growth_and_counts_from_zero_after_a_reset() -> None:
    samples = [Sample(T0 + timedelta(days=d), v) for d, v in [(0, 10), (1, 12), (2, 1), (3, 4)]]
    used = increase("c", samples, window_start=T0)
    assert (used.increase, used.resets, used.samples, used.covers_window) == (6.0, 1, 4, True)
    assert not increase("c", samples[1:], window_start=T0).covers_window


def test_the_history_keeps_one_sample_an_hour_and_every_reset(tmp_path: Path) -> None:
    history = CounterHistory(tmp_path)
    for minutes, value in [(0, 5), (20, 6), (61, 7), (70, 2), (80, 3), (200, 9)]:
        history.record("gen", [("gen.run_hours", Sample(T0 + timedelta(minutes=minutes), value))])
    history.close()
    reopened = CounterHistory(tmp_path)
    kept = reopened.window("gen", "gen.run_hours", T0 + timedelta(minutes=65))
    reopened.close()
    # 0 and 61 (an hour on), 70 (a reset), 200 (an hour after the reset); the baseline is 61.
    assert [(s.ts - T0, s.value) for s in kept] == [
        (timedelta(minutes=61), 7.0),
        (timedelta(minutes=70), 2.0),
        (timedelta(minutes=200), 9.0),
    ]


def test_lineup_compares_names_without_case_or_spacing_and_shows_them_as_written() -> None:
    found = compare(["VTV1 HD", "VTV3 HD", "THVL1"], ["vtv1  hd", "VTV3 HD", "PHIM 24H"])
    assert found.missing == ["THVL1"]
    assert found.extra == ["PHIM 24H"]


# --- Items on a station's devices ---------------------------------------------------------

STATION = """
[station]
id = "bt-judge"
name = "Trạm thử"

[agent]
state_dir = "state"

[checklist]
lineup = ["VTV1 HD", "VTV3 HD"]

[checklist.nominal.fm1]
"rf.forward_power_w" = 2000

[[device]]
id = "fm1"
driver = "fm_transmitter_nautel"
host = "192.0.2.1"

[[device]]
id = "ird1"
driver = "ird_satellite"
host = "192.0.2.2"

[device.limits."ird.link_margin_db"]
warn_low = 2

[[device]]
id = "gen1"
driver = "generator_modbus"
serial_port = "/dev/ttyUSB0"
unit = 1
"""


@pytest.fixture
def station(tmp_path: Path) -> tuple[dict[str, object], Judge, Path]:
    path = tmp_path / "station.toml"
    path.write_text(STATION, encoding="utf-8")
    config = load_config(path, REGISTRY)
    items = {s.item.id: s for s in station_checklist(config, path, REGISTRY)}
    drivers = {d.id: get_driver(d.driver) for d in config.device}
    history = CounterHistory(tmp_path / "state")
    judge = Judge(
        rules=RuleBook(config, drivers),
        nominal=config.checklist.nominal,
        lineup=config.checklist.lineup,
        history=history.window,
        now=T0,
    )
    return items, judge, tmp_path / "state"  # type: ignore[return-value]


def poll(device: str, **values: object) -> PollResult:
    readings = tuple(
        Reading(key, value, "", Quality.OK if value is not None else Quality.BAD, T0)
        for key, value in values.items()
    )
    return PollResult(device, T0, readings)


def seen(*results: PollResult) -> Observations:
    return Observations({r.device_id: r for r in results}, {})


def test_a_condition_over_a_table_is_judged_row_by_row(station: tuple) -> None:  # type: ignore[type-arg]
    items, judge, _ = station
    ird = poll(
        "ird1",
        **{
            "ird.link_margin_db[input=1]": 3.7,
            "ird.link_margin_db[input=2]": 0.4,
            "ird.locked[input=1]": True,
            "ird.locked[input=2]": True,
        },
    )
    result = judge_item(items["ird.link_margin"], seen(ird), judge)
    assert result.status is Status.FAIL
    assert [(c.row, c.status, c.evaluated) for c in result.checks] == [
        ("input=1", Status.PASS, "3.7 >= 1"),
        ("input=2", Status.FAIL, "0.4 >= 1"),
    ]
    assert result.checks[1].readings[0].key == "ird.link_margin_db[input=2]"


def test_a_table_without_rows_is_incomplete(station: tuple) -> None:  # type: ignore[type-arg]
    items, judge, _ = station
    result = judge_item(items["ird.locked"], seen(poll("ird1")), judge)
    assert result.status is Status.INCOMPLETE
    assert (result.checks[0].reason, result.checks[0].detail) == (Reason.NO_ROWS, "ird.locked")


def test_limits_and_nominals_are_part_of_the_evidence(station: tuple) -> None:  # type: ignore[type-arg]
    items, judge, _ = station
    fm = poll("fm1", **{"rf.vswr": 1.9, "rf.forward_power_w": 1500.0})
    vswr = judge_item(items["transmitter.vswr"], seen(fm), judge).checks[0]
    assert vswr.status is Status.FAIL
    limit = get_driver("fm_transmitter_nautel").metric("rf.vswr").limits.warn_high
    assert [(u.function, u.key, u.value) for u in vswr.limits] == [("warn_high", "rf.vswr", limit)]
    power = judge_item(items["transmitter.forward_power"], seen(fm), judge).checks[0]
    assert (power.status, power.nominals) == (Status.FAIL, {"rf.forward_power_w": 2000.0})
    assert power.evaluated == "abs(1500.0 - 2000.0) <= 0.1 * 2000.0"


def test_a_bad_reading_or_an_unreachable_device_is_incomplete_never_pass(
    station: tuple,  # type: ignore[type-arg]
) -> None:
    items, judge, _ = station
    bad = judge_item(items["transmitter.vswr"], seen(poll("fm1", **{"rf.vswr": None})), judge)
    assert (bad.status, bad.checks[0].reason) == (Status.INCOMPLETE, Reason.NO_READING)
    assert bad.checks[0].readings[0].quality == "bad"
    silent = PollResult("fm1", T0, (), error="timeout after 3 tries")
    gone = judge_item(items["transmitter.on_air"], seen(silent), judge)
    assert (gone.status, gone.checks[0].reason) == (Status.INCOMPLETE, Reason.UNREACHABLE)
    assert gone.checks[0].detail == "timeout after 3 tries"


def test_a_readiness_item_is_incomplete_until_its_history_covers_the_window(
    station: tuple,  # type: ignore[type-arg]
) -> None:
    items, judge, state = station
    run_hours = poll("gen1", **{"gen.run_hours": 100.02})
    young = judge_item(items["generator.test_run"], seen(run_hours), judge)
    assert (young.status, young.checks[0].reason) == (Status.INCOMPLETE, Reason.HISTORY_SHORT)

    history = CounterHistory(state)
    history.record("gen1", [("gen.run_hours", Sample(T0 - timedelta(days=31), 100.0))])
    covered = judge_item(items["generator.test_run"], seen(run_hours), judge)
    assert covered.status is Status.FAIL  # 0.02 h is 1.2 minutes, less than 5
    (used,) = covered.checks[0].history
    assert (used.covers_window, used.samples, round(used.increase, 2)) == (True, 2, 0.02)

    ran = judge_item(
        items["generator.test_run"], seen(poll("gen1", **{"gen.run_hours": 100.2})), judge
    )
    assert ran.status is Status.PASS
    history.close()


def test_the_lineup_item_fails_with_the_difference(station: tuple) -> None:  # type: ignore[type-arg]
    items, judge, _ = station
    ird = poll("ird1", **{"ird.service[input=1]": "VTV1 HD", "ird.service[input=2]": "PHIM 24H"})
    result = judge_item(items["ird.lineup"], seen(ird), judge)
    (check,) = result.checks
    assert (result.status, check.reason) == (Status.FAIL, Reason.LINEUP_DIFFERS)
    assert check.lineup is not None
    assert (check.lineup.missing, check.lineup.extra) == (["VTV3 HD"], ["PHIM 24H"])
    assert [r.key for r in check.readings] == [
        "ird1:ird.service[input=1]",
        "ird1:ird.service[input=2]",
    ]


def ird_with_input_2_disabled(**values: object) -> PollResult:
    """An IRD poll as the driver marks it: input 2 disabled, so its readings are not in use."""
    polled = poll("ird1", **values, **{"ird.input_enabled[input=1]": True})
    disabled = Reading("ird.input_enabled[input=2]", False, "", Quality.OK, T0)
    marked = get_driver("ird_satellite").mark_rows_in_use((*polled.readings, disabled))
    return PollResult("ird1", T0, marked)


def test_a_row_not_in_use_is_neither_a_pass_nor_a_fail(station: tuple) -> None:  # type: ignore[type-arg]
    items, judge, _ = station
    ird = ird_with_input_2_disabled(
        **{"ird.link_margin_db[input=1]": 3.7, "ird.link_margin_db[input=2]": 0.0}
    )
    result = judge_item(items["ird.link_margin"], seen(ird), judge)
    assert result.status is Status.PASS
    assert [(c.row, c.status, c.reason) for c in result.checks] == [
        ("input=1", Status.PASS, None),
        ("input=2", Status.NOT_APPLICABLE, Reason.NOT_IN_USE),
    ]
    unused = result.checks[1]
    assert unused.detail == "ird.input_enabled False"
    assert [r.key for r in unused.readings] == ["ird.input_enabled[input=2]"]


def test_an_item_whose_every_row_is_not_in_use_is_not_applicable(station: tuple) -> None:  # type: ignore[type-arg]
    items, judge, _ = station
    only_input_2 = PollResult(
        "ird1",
        T0,
        get_driver("ird_satellite").mark_rows_in_use(
            (
                Reading("ird.locked[input=2]", False, "", Quality.OK, T0),
                Reading("ird.input_enabled[input=2]", False, "", Quality.OK, T0),
            )
        ),
    )
    result = judge_item(items["ird.locked"], seen(only_input_2), judge)
    assert (result.status, [c.status for c in result.checks]) == (
        Status.NOT_APPLICABLE,
        [Status.NOT_APPLICABLE],
    )


def test_the_lineup_leaves_out_the_service_of_an_input_not_in_use(station: tuple) -> None:  # type: ignore[type-arg]
    items, judge, _ = station
    ird = ird_with_input_2_disabled(
        **{"ird.service[input=1]": "VTV1 HD", "ird.service[input=2]": "OLD FEED"}
    )
    (check,) = judge_item(items["ird.lineup"], seen(ird), judge).checks
    assert check.lineup is not None
    assert (check.lineup.found, check.lineup.extra) == (["VTV1 HD"], [])
