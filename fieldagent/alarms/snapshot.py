"""Alarms of one instant, for `fieldagent run --once`.

A single poll cannot wait for an alarm delay, so a --once run judges the
readings as they are (limits and states, no delay, no deadband) and reports
what breaks as alarms of that instant, with the same ids and texts the
engine would use.  No events are published: nothing was raised or cleared.
"""

from __future__ import annotations

from fieldagent.alarms.messages import limit_messages, state_messages
from fieldagent.alarms.model import Alarm, alarm_id
from fieldagent.driver import Driver
from fieldagent.health import evaluate
from fieldagent.model import PollResult


def snapshot_alarms(
    station: str, device_id: str, driver: Driver, result: PollResult
) -> list[Alarm]:
    """What breaks a limit or a state in one answered poll, as alarms raised at its time."""
    alarms = []
    for problem in evaluate(driver, result).problems:
        metric = driver.metric(problem.metric)
        if problem.limit is None or not isinstance(problem.value, int | float):
            condition = "state"
            vi, en = state_messages(metric, problem.metric, problem.value)
        else:
            condition = "high" if problem.value > problem.limit else "low"
            vi, en = limit_messages(
                metric, problem.metric, condition, float(problem.value), problem.limit
            )
        alarms.append(
            Alarm(
                alarm_id=alarm_id(station, device_id, problem.metric, condition),
                station=station,
                device=device_id,
                rule=problem.metric,
                condition=condition,
                severity=problem.state,
                raised_at=result.ts,
                value=problem.value,
                limit=problem.limit,
                message_vi=vi,
                message_en=en,
                unit=problem.unit,
            )
        )
    return alarms
