"""Alarms and their events: the values the engine hands out, the store keeps and the
publisher sends.

An alarm is identified by where it is and what it is about: station, device
(None for a station alarm), rule (a reading key such as ``rf.vswr`` or
``ird.cn_db[input=2]``, or a device rule such as ``poll``) and condition
(``high``, ``low``, ``state``, ``invalid``, ``unreachable``, ``stale``...).
The same condition on the same thing always has the same `alarm_id`, so a
restart, a republish or a central database can match it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from fieldagent.model import HealthState, Value

STATION_DEVICE = "-"
"""Stands for the device part of a station alarm's id ("-" is never a device id)."""


def alarm_id(station: str, device: str | None, rule: str, condition: str) -> str:
    """``bt-tuyphong/fm-main/rf.vswr/high``; station alarms have ``-`` for the device."""
    return f"{station}/{device if device is not None else STATION_DEVICE}/{rule}/{condition}"


class Transition(enum.StrEnum):
    """What happened to an alarm; one event per transition, none while a state holds."""

    RAISED = "raised"
    SEVERITY_CHANGED = "severity_changed"
    CLEARED = "cleared"


@dataclass(frozen=True)
class Alarm:
    """One alarm, active (`cleared_at` None) or as it was when it cleared.

    `value` and `limit` are what caused the alarm at its current severity
    (for a state rule `value` is the state and `limit` None); `unit` is the
    value's unit.  `changed_at` is when the severity last changed (the raise
    time at first).  `duration_s` is set once the alarm has cleared.
    """

    alarm_id: str
    station: str
    device: str | None
    rule: str
    condition: str
    severity: HealthState
    raised_at: datetime
    value: Value
    limit: float | None
    message_vi: str
    message_en: str
    unit: str = ""
    changed_at: datetime | None = None
    cleared_at: datetime | None = None
    duration_s: float | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def cleared(self, ts: datetime) -> Alarm:
        """This alarm, cleared at `ts`."""
        ts = max(ts, self.raised_at)
        return replace(
            self, cleared_at=ts, duration_s=round((ts - self.raised_at).total_seconds(), 3)
        )


@dataclass(frozen=True)
class AlarmEvent:
    """A transition of one alarm at `ts`; `alarm` is its state just after.

    `previous` is the severity before a severity change; `reason` says why an
    alarm cleared when its condition did not simply go away (maintenance, a
    device removed from the station file, unreachable superseding stale).
    """

    transition: Transition
    ts: datetime
    alarm: Alarm
    previous: HealthState | None = None
    reason: str = ""
