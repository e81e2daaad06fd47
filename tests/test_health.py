"""Health from readings, and when silence becomes `unreachable`."""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.ups_rfc1628 import DRIVER as UPS
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
