"""Health from readings, and when silence becomes `unreachable`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from drivers import docsis_cmts as cmts
from drivers.docsis_cmts import DRIVER as CMTS
from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent.driver import row_key
from fieldagent.health import evaluate, snapshot_state
from fieldagent.model import HealthState, PollResult, Value

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def answered(**overrides: Value) -> PollResult:
    values = {**UPS.simulator.initial, **{k.replace("__", "."): v for k, v in overrides.items()}}
    return PollResult("ups1", TS, UPS.decode(UPS.encode(values), TS))


def silent() -> PollResult:
    return PollResult("ups1", TS, (), error="no reply from 127.0.0.2:161")


def test_normal_ups_is_ok() -> None:
    health = evaluate(UPS, answered())
    assert health.state is HealthState.OK
    assert health.problems == ()


def test_worst_metric_wins_and_every_problem_is_listed() -> None:
    health = evaluate(
        UPS,
        answered(
            ups__output__source="battery", ups__battery__charge_pct=10, ups__battery__runtime_min=8
        ),
    )
    assert health.state is HealthState.CRITICAL
    by_metric = {p.metric: (p.state, p.limit) for p in health.problems}
    assert by_metric == {
        "ups.output.source": (HealthState.WARNING, None),
        "ups.battery.charge_pct": (HealthState.CRITICAL, 15),
        "ups.battery.runtime_min": (HealthState.WARNING, 10),
    }


def test_a_poll_without_an_answer_is_unreachable_at_once() -> None:
    assert snapshot_state(UPS, silent()) is HealthState.UNREACHABLE
    assert snapshot_state(UPS, answered()) is HealthState.OK
    assert snapshot_state(UPS, answered(ups__battery__charge_pct=10)) is HealthState.CRITICAL


def test_rows_not_in_use_are_listed_but_not_judged() -> None:
    """A CMTS's unconfigured logical channels read SNR 0: no problem while admin down."""
    values = {**CMTS.simulator.initial, row_key(cmts.SNR, cmts.TABLE, "4"): 18.0}
    result = PollResult("cmts1", TS, CMTS.decode(CMTS.encode(values), TS))
    unconfigured = row_key(cmts.SNR, cmts.TABLE, cmts.UNCONFIGURED[0])
    assert {r.key: r.value for r in result.readings}[unconfigured] == 0

    health = evaluate(CMTS, result)

    assert [(p.metric, p.state) for p in health.problems] == [
        (row_key(cmts.SNR, cmts.TABLE, "4"), HealthState.CRITICAL)
    ]
    undeclared = replace(CMTS, rows_in_use=())
    every_row = evaluate(
        undeclared, PollResult("cmts1", TS, undeclared.decode(undeclared.encode(values), TS))
    )
    assert unconfigured in {p.metric for p in every_row.problems}
