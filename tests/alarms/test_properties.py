"""The alarm state machine under noise (hypothesis, derandomized, bounded)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldagent.alarms import Transition
from fieldagent.model import HealthState, Quality, Value
from tests.alarms import FM, Station, replay, station_config, with_limits

SETTINGS = settings(derandomize=True, max_examples=150, deadline=None)
VSWR = "rf.vswr"


def fm(**rule: Any) -> Station:
    return Station(station_config([with_limits({**FM, "retries": 2}, rf__vswr=rule)]))


@SETTINGS
@given(
    level=st.sampled_from(["warning", "critical"]),
    noise=st.lists(
        st.tuples(st.integers(1, 30), st.floats(-0.099, 0.099)), min_size=1, max_size=60
    ),
    delay=st.sampled_from([0, 5, 10, 30]),
    clear=st.sampled_from([0, 5, 30]),
)
def test_a_value_wandering_inside_the_deadband_never_flaps(
    level: str, noise: list[tuple[int, float]], delay: int, clear: int
) -> None:
    """At most one event per level reached, never a clear, never a step down."""
    limit = 1.5 if level == "warning" else 2.0
    station = fm(warn_high=1.5, crit_high=2.0, deadband=0.1, delay_s=delay, clear_delay_s=clear)
    for gap, offset in noise:
        station.poll("fm-main", {VSWR: limit + offset}, after=gap)
    kinds = [(e.transition, e.alarm.severity) for e in station.events]
    assert Transition.CLEARED not in {t for t, _ in kinds}
    assert len(kinds) == len(set(kinds)) <= 2
    for event in station.events:
        if event.transition is Transition.SEVERITY_CHANGED:
            assert event.previous is not None
            assert event.alarm.severity.rank > event.previous.rank


@st.composite
def short_excursions(draw: st.DrawFn, delay: int) -> list[tuple[int, Value, str | None]]:
    """Polls (gap s, value, error) where every run of out-of-limit readings spans < delay."""
    polls: list[tuple[int, Value, str | None]] = []
    for index in range(draw(st.integers(1, 10))):
        if index % 2:  # an excursion above 1.5
            span = 0
            for position, gap in enumerate(draw(st.lists(st.integers(1, 20), min_size=1))):
                if position and span + gap >= delay:
                    break
                span += gap if position else 0
                polls.append((gap, draw(st.floats(1.51, 3.0)), None))
        else:  # back to normal, or a poll that fails: either ends the run
            for gap in draw(st.lists(st.integers(1, 20), min_size=1, max_size=4)):
                failed = draw(st.booleans())
                value = None if failed else draw(st.floats(0.5, 1.5))
                polls.append((gap, value, "timeout" if failed else None))
    return polls


@SETTINGS
@given(data=st.data(), delay=st.sampled_from([5, 10, 30, 60]))
def test_a_condition_shorter_than_the_delay_never_raises(data: st.DataObject, delay: int) -> None:
    station = fm(delay_s=delay)
    for gap, value, error in data.draw(short_excursions(delay)):
        if error is not None:
            station.poll("fm-main", error=error, after=gap)
        else:
            station.poll("fm-main", {VSWR: value}, after=gap)
    assert [e for e in station.events if e.alarm.rule == VSWR] == []


NOISE = st.one_of(
    st.floats(0.5, 3.0),
    st.sampled_from(["fail", "missing", "invalid", "absent", "tick"]),
)


@SETTINGS
@given(
    steps=st.lists(st.tuples(st.integers(0, 40), NOISE), max_size=80),
    delay=st.sampled_from([0, 5, 10, 30]),
    clear=st.sampled_from([0, 5, 10, 30]),
    deadband=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_every_raise_is_followed_by_at_most_one_clear(
    steps: list[tuple[int, float | str]], delay: int, clear: int, deadband: float
) -> None:
    """Well-formed event streams whatever the input: raised, severity_changed*, cleared."""
    station = fm(delay_s=delay, clear_delay_s=clear, deadband=deadband)
    for gap, step in steps:
        if step == "tick":
            station.tick(after=gap)
        elif step == "fail":
            station.poll("fm-main", error="timeout", after=gap)
        elif step == "absent":
            station.poll("fm-main", {"tx.on_air": True}, after=gap)
        elif step in ("missing", "invalid"):
            quality = Quality.MISSING if step == "missing" else Quality.INVALID
            station.poll("fm-main", quality={VSWR: quality}, after=gap)
        else:
            assert isinstance(step, float)
            on_air = step < 2.5  # a second condition moving with the first
            station.poll("fm-main", {VSWR: step, "tx.on_air": on_air}, after=gap)
    active = replay(station.events)  # asserts the order of transitions per alarm
    assert active == {a.alarm_id: a for a in station.engine.all_active()}
    for event in station.events:
        assert event.alarm.severity is not HealthState.OK
        if event.transition is Transition.RAISED and event.alarm.condition == "high":
            assert isinstance(event.alarm.value, float) and event.alarm.limit is not None
            assert event.alarm.value > event.alarm.limit
