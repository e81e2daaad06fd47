"""Health from readings, and when silence becomes `unreachable`."""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.ups_rfc1628 import DRIVER as UPS
from fieldagent.health import HealthTracker, evaluate
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


def test_unreachable_only_after_retries_failures_in_a_row() -> None:
    tracker = HealthTracker(UPS, unreachable_after=3)
    assert tracker.update(answered()) is not None
    assert tracker.update(silent()).state is HealthState.OK  # type: ignore[union-attr]
    assert tracker.update(silent()).state is HealthState.OK  # type: ignore[union-attr]
    third = tracker.update(silent())
    assert third is not None and third.state is HealthState.UNREACHABLE
    assert "3 polls in a row" in (third.reason or "")
    assert "127.0.0.2" in (third.reason or "")


def test_recovers_by_itself_when_the_device_answers_again() -> None:
    tracker = HealthTracker(UPS, unreachable_after=1)
    assert tracker.update(silent()).state is HealthState.UNREACHABLE  # type: ignore[union-attr]
    back = tracker.update(answered())
    assert back is not None and back.state is HealthState.OK
    assert tracker.failures_in_a_row == 0


def test_a_device_never_read_has_no_health_until_declared_unreachable() -> None:
    tracker = HealthTracker(UPS, unreachable_after=2)
    assert tracker.update(silent()) is None
    assert tracker.update(silent()).state is HealthState.UNREACHABLE  # type: ignore[union-attr]
