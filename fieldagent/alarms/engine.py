"""The alarm engine: from poll results (and traps, and time) to alarm events.

Every alarm is a *condition* with a logical state, judged from readings:

- **Limits** (``high``, ``low``): a number beyond its warning or critical limit.
  Each level has a deadband: once a level is reached, the value must come back
  past ``limit ∓ deadband`` before that level lets go.
- **States** (``state``): an enum label or a true/false value that the rule maps
  to warning or critical (UPS on battery, RF off, interlock open...).
- **Invalid readings** (``invalid``): a watched metric that reads `invalid` for
  `INVALID_INTERVALS` poll intervals (or its delay, if longer) is a warning.
- **Device rules** (rule ``poll``): ``unreachable`` after `retries` failed polls
  in a row, cleared by the first answer; ``stale`` when no answer came for
  `STALE_INTERVALS` intervals (a hung poller, a blocked serial line).  Unreachable
  says more than stale, so it supersedes it: stale clears when unreachable is
  raised, and is not raised while the device is unreachable.
- **External** alarms (traps): raised and cleared by `external`, no delay.
  Traps get lost, so when the driver names the reading that proves the
  alarm's cause over (`TrapRule.cleared_by`), polls clear it too: once that
  reading, taken after the trap, has been normal for its clear delay.
- **Maintenance**: a station alarm per device in maintenance mode.

Delays are confirmed by readings: a level is raised when every reading from
its first sighting to one at least `delay_s` later shows it, and let go when
every reading for `clear_delay_s` shows it gone.  So a delay shorter than the
poll interval means "two readings in a row"; a delay of 0 acts on the first
reading.  A level whose delay ends while the reading is already past a higher
level raises that higher level at once.  Readings that carry no evidence (a
failed poll, `bad`, `invalid`) restart both timers; an active alarm stays
active through them.  A `missing`
reading, or a reading that is absent from an answered poll, counts as "the
condition is not present" (the device says it has no such value now): it can
clear an alarm, never raise one.  So does a reading of a table row the device
says is not in use (`Reading.in_use`): an unconfigured channel raises nothing,
and a channel taken out of use clears its alarms after their clear delay.

The logical state runs all the time; what is *published* (the active alarms,
the events) is the logical state minus the devices in maintenance.  When a
device enters maintenance its alarms clear (reason "maintenance"); when it
leaves, whatever holds at that moment is raised at once.  Time-only rules
(stale, maintenance start and expiry) are checked on every call, not only by
`tick`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fieldagent.alarms import messages
from fieldagent.alarms.model import Alarm, AlarmEvent, Transition, alarm_id
from fieldagent.alarms.rules import Rule, RuleBook
from fieldagent.config import Config
from fieldagent.driver import Driver
from fieldagent.model import HealthState, PollResult, Quality, Reading, Value

LOW = "low"
HIGH = "high"
STATE = "state"
INVALID = "invalid"
METRIC_CONDITIONS = frozenset({LOW, HIGH, STATE, INVALID})

POLL = "poll"
UNREACHABLE = "unreachable"
STALE = "stale"

MAINTENANCE_ON = "on"

# What a condition is about: a reading, the device's polls, a trap, maintenance.
_METRIC, _POLL, _EXTERNAL, _MAINTENANCE = "metric", "poll", "external", "maintenance"

REASON_MAINTENANCE = "maintenance"
REASON_MAINTENANCE_ENDED = "maintenance ended"
REASON_SUPERSEDED = "superseded by unreachable"
REASON_REMOVED = "device no longer in the station file"
REASON_NO_RULE = "no alarm rule for it any more"
REASON_OTHER_STATION = "alarm of another station id"
REASON_CAUSE_OVER = "polls show its cause over"


def maintenance_rule(device_id: str) -> str:
    """The rule of the station alarm saying `device_id` is in maintenance."""
    return f"maintenance[device={device_id}]"


def _maintenance_device(rule: str) -> str | None:
    prefix, suffix = "maintenance[device=", "]"
    if rule.startswith(prefix) and rule.endswith(suffix):
        return rule[len(prefix) : -len(suffix)]
    return None


@dataclass(frozen=True)
class MaintenanceOverride:
    """Maintenance set by a command (`set_maintenance`), not by the station file.

    `until` None ends maintenance.  It holds while the file's own
    `maintenance_until` is still what it was when the command came
    (`config_until`): a technician who edits the file has the last word.
    """

    until: datetime | None
    config_until: datetime | None
    set_at: datetime


Evidence = tuple[Value, float | None]
"""The value, and the limit it broke, that put a condition at a level."""


@dataclass
class _Run:
    """Since when a level has been seen present (on) or absent (off), without a gap."""

    on_since: datetime | None = None
    off_since: datetime | None = None


def _held(since: datetime | None, ts: datetime, seconds: float) -> bool:
    return since is not None and (ts - since).total_seconds() >= seconds


@dataclass
class _Condition:
    """The logical state of one alarm condition and the timers of its levels."""

    device: str | None
    rule: str
    condition: str
    kind: str
    levels: tuple[HealthState, ...] = ()
    severity: HealthState | None = None
    value: Value = None
    limit: float | None = None
    unit: str = ""
    detail: str = ""
    fixed: tuple[str, str] | None = None
    runs: dict[HealthState, _Run] = field(default_factory=dict)
    trap_at: datetime | None = None
    """When a trap last set this (external) condition: older readings prove nothing."""
    normal_since: datetime | None = None
    """Since when the reading that proves this trap alarm's cause over has read normal."""
    evidence: dict[HealthState, Evidence] = field(default_factory=dict)

    def interrupt(self) -> None:
        """No evidence either way: both timers of every level start again."""
        for run in self.runs.values():
            run.on_since = run.off_since = None

    def judge(
        self, ts: datetime, breach: Mapping[HealthState, Evidence], delay_s: float, clear_s: float
    ) -> bool:
        """One observation: `breach` holds the levels present now.  True if the severity moved.

        A level is present when it or a higher level is breached (so critical
        implies warning).  When a level above the current one has been present
        for the whole delay, go to the highest level present now: a reading
        already past the critical limit (or in a state mapped critical) by the
        time the warning's delay ends raises critical, not a warning that shows a
        critical value.  Else, when the current level has been absent for the
        whole clear delay, fall back to the highest lower level not yet absent
        that long.
        """
        for level in self.levels:
            run = self.runs.setdefault(level, _Run())
            if level in breach:
                run.off_since = None
                run.on_since = run.on_since or ts
                self.evidence[level] = breach[level]
            else:
                run.on_since = None
                run.off_since = run.off_since or ts
        rank = self.severity.rank if self.severity is not None else 0
        up = [
            level
            for level in self.levels
            if level.rank > rank and _held(self.runs[level].on_since, ts, delay_s)
        ]
        new = self.severity
        if up:
            present = [level for level in self.levels if level in breach]
            new = max(present, key=lambda level: level.rank)
        elif self.severity is not None and self._gone(self.severity, ts, clear_s):
            lower = [
                level
                for level in self.levels
                if level.rank < rank and not self._gone(level, ts, clear_s)
            ]
            new = max(lower, key=lambda level: level.rank) if lower else None
        if new is self.severity:
            return False
        self.severity = new
        if new is not None:
            self.value, self.limit = self.evidence.get(new, (self.value, self.limit))
        return True

    def _gone(self, level: HealthState, ts: datetime, clear_s: float) -> bool:
        run = self.runs.get(level)
        return run is None or _held(run.off_since, ts, clear_s)


class AlarmEngine:
    """All alarms of one station: feed it polls, traps and time; it returns events.

    `drivers` maps a device id (or a driver name) to the device's driver;
    `clock` returns the UTC-aware now; `restored` are the alarms that were
    active when the agent stopped (from `AlarmStore.load_active`) and
    `maintenance` the maintenance commands in force (`AlarmStore.load_maintenance`).
    Events from restoring (an alarm whose device left the station file, a
    maintenance that expired meanwhile) come out of the first call.
    """

    def __init__(
        self,
        station_id: str,
        config: Config,
        drivers: Mapping[str, Driver],
        clock: Callable[[], datetime],
        restored: Iterable[Alarm] = (),
        maintenance: Mapping[str, MaintenanceOverride] | None = None,
    ) -> None:
        self._station = station_id
        self._config = config
        self._book = RuleBook(config, drivers)
        self._clock = clock
        self._zone = ZoneInfo(config.station.timezone)
        now = clock()
        ids = self._book.device_ids
        self._alarms: dict[str, Alarm] = {}
        self._conditions: dict[str, _Condition] = {}
        self._by_device: dict[str | None, dict[str, _Condition]] = {}
        self._failures = dict.fromkeys(ids, 0)
        self._last_error = dict.fromkeys(ids, "")
        self._last_answer = dict.fromkeys(ids, now)
        self._in_maintenance: dict[str, datetime] = {}
        self._overrides = {
            device_id: override
            for device_id, override in (maintenance or {}).items()
            if self._book.has_device(device_id)
            and override.config_until == self._book.device(device_id).maintenance_until
        }
        self._pending = self._restore(restored, now)
        self._pending += self._reconcile(now)

    # ------------------------------------------------------------------ inputs

    def observe(self, device_id: str, result: PollResult) -> list[AlarmEvent]:
        """One poll of one device: its readings, or its failure."""
        self._book.device(device_id)
        events = self._take_pending() + self._reconcile(self._clock())
        ts = result.ts
        if not result.answered:
            return events + self._failed(device_id, result)
        self._failures[device_id] = 0
        self._last_answer[device_id] = max(self._last_answer[device_id], ts)
        unreachable = self._condition(device_id, POLL, UNREACHABLE, kind=_POLL)
        if unreachable.severity is not None:
            unreachable.severity = None
            events += self._publish(unreachable, ts)
        events += self._update_stale(device_id, ts)
        seen: set[str] = set()
        for reading in result.readings:
            rule = self._book.rule(device_id, reading.key)
            if rule is None or not rule.watched or not reading.in_use:
                continue
            seen.add(reading.key)
            events += self._judge_reading(device_id, rule, reading, ts)
        readings = {reading.key: reading for reading in result.readings}
        for condition in list(self._by_device.get(device_id, {}).values()):
            if condition.kind == _METRIC and condition.rule not in seen:
                events += self._judge_absent(device_id, condition, ts)
            elif condition.kind == _EXTERNAL and condition.severity is not None:
                events += self._judge_cause(device_id, condition, readings, ts)
        return events

    def external(
        self,
        device_id: str,
        rule: str,
        condition: str,
        severity: HealthState | None,
        value: Value,
        message_vi: str,
        message_en: str,
    ) -> list[AlarmEvent]:
        """Raise (`severity`) or clear (None, or OK) an alarm at once: a trap, say.

        The same severity again changes nothing but the stored value and texts.
        When `rule` and `condition` name a condition the readings also judge
        (``tx.alarm.high_swr`` / ``state``), the trap sets that condition now,
        without its delay, and later readings carry on from there: they keep
        it, or clear it after the clear delay (or raise it again after the delay).
        Otherwise, when the driver names a reading that proves the alarm's cause
        over (`TrapRule.cleared_by`), polls taken after this call clear it once
        that reading has been normal for its clear delay.
        """
        self._book.device(device_id)
        now = self._clock()
        events = self._take_pending() + self._reconcile(now)
        target = None if severity is None or severity is HealthState.OK else severity
        judged = self._book.rule(device_id, rule)
        if judged is not None and judged.watched and condition in METRIC_CONDITIONS:
            levels = _levels_of(judged, condition)
            cond = self._condition(device_id, rule, condition, levels)
            cond.levels = levels
            for level in levels:
                run = cond.runs.setdefault(level, _Run())
                if target is not None and level.rank <= target.rank:
                    run.on_since, run.off_since = run.on_since or now, None
                else:
                    run.on_since, run.off_since = None, run.off_since or now
        else:
            cond = self._condition(device_id, rule, condition, kind=_EXTERNAL)
            cond.trap_at, cond.normal_since = now, None
        cond.severity, cond.value, cond.limit = target, value, None
        cond.fixed = (message_vi, message_en)
        events += self._publish(cond, now, refresh=True)
        if cond.kind == _METRIC:
            cond.fixed = None  # later transitions come from readings: their own texts
        return events

    def station_alarm(
        self,
        rule: str,
        condition: str,
        severity: HealthState | None,
        value: Value,
        message_vi: str,
        message_en: str,
    ) -> list[AlarmEvent]:
        """Raise (`severity`) or clear (None) a station alarm no device owns: a trap flood, say."""
        now = self._clock()
        events = self._take_pending() + self._reconcile(now)
        cond = self._condition(None, rule, condition, kind=_EXTERNAL)
        cond.severity = None if severity is None or severity is HealthState.OK else severity
        cond.value, cond.limit, cond.fixed = value, None, (message_vi, message_en)
        return events + self._publish(cond, now, refresh=True)

    def tick(self) -> list[AlarmEvent]:
        """Time passes: stale devices, maintenance that starts or expires."""
        return self._take_pending() + self._reconcile(self._clock())

    def set_maintenance(self, device_id: str, until: datetime | None) -> list[AlarmEvent]:
        """Put a device in maintenance until `until`, or end it (None or a past time)."""
        device = self._book.device(device_id)
        if until is not None and until.utcoffset() is None:
            raise ValueError("maintenance until: give a timezone-aware time")
        now = self._clock()
        self._overrides[device_id] = MaintenanceOverride(until, device.maintenance_until, now)
        return self._take_pending() + self._reconcile(now)

    def reconfigure(
        self, config: Config, drivers: Mapping[str, Driver], rejudged: Iterable[str] = ()
    ) -> list[AlarmEvent]:
        """A reloaded station file: the events it takes, without losing what still holds.

        A device no longer in the file ends each of its active alarms (and its
        maintenance alarm) with a `cleared` event, reason REASON_REMOVED, and is
        forgotten.  A device in `rejudged` (its settings, driver or station
        limits changed) keeps its active alarms while its new rules can still
        raise them (else `cleared`, REASON_NO_RULE), and its delays in progress
        start again, under the new rules.  Every other device keeps everything:
        active alarms, delays in progress, failure counts, maintenance.  Added
        devices start as at start-up (their last answer counted from now).
        """
        now = self._clock()
        events = self._take_pending()
        book = RuleBook(config, drivers)
        for device_id in [d for d in self._book.device_ids if not book.has_device(d)]:
            events += self._forget(device_id, now)
        self._config, self._book = config, book
        for device_id in book.device_ids:
            if device_id not in self._failures:
                self._failures[device_id], self._last_error[device_id] = 0, ""
                self._last_answer[device_id] = now
        for device_id in rejudged:
            if book.has_device(device_id):
                events += self._rejudge(device_id, now)
        return events + self._reconcile(now)

    def _forget(self, device_id: str, now: datetime) -> list[AlarmEvent]:
        """A device removed from the file: its alarms cleared, its state dropped."""
        events: list[AlarmEvent] = []
        keys = list(self._by_device.pop(device_id, {}))
        keys.append(alarm_id(self._station, None, maintenance_rule(device_id), MAINTENANCE_ON))
        for key in keys:
            cond = self._conditions.pop(key, None)
            if cond is not None and cond.device is None:
                self._by_device.get(None, {}).pop(key, None)
            alarm = self._alarms.pop(key, None)
            if alarm is not None:
                events.append(
                    AlarmEvent(Transition.CLEARED, now, alarm.cleared(now), reason=REASON_REMOVED)
                )
        self._failures.pop(device_id, None)
        self._last_error.pop(device_id, None)
        self._last_answer.pop(device_id, None)
        self._overrides.pop(device_id, None)
        self._in_maintenance.pop(device_id, None)
        return events

    def _rejudge(self, device_id: str, now: datetime) -> list[AlarmEvent]:
        """New rules for a device: timers start again, alarms no rule raises any more end."""
        events: list[AlarmEvent] = []
        for key, cond in list(self._by_device.get(device_id, {}).items()):
            if cond.kind != _METRIC:
                continue
            cond.interrupt()
            rule = self._book.rule(device_id, cond.rule)
            levels = () if rule is None or not rule.watched else _levels_of(rule, cond.condition)
            if levels:
                cond.levels = levels
                continue
            cond.severity = None
            events += self._publish(cond, now, REASON_NO_RULE)
            del self._conditions[key], self._by_device[device_id][key]
        return events

    # ------------------------------------------------------------------ queries

    def active(self, device_id: str | None = None) -> list[Alarm]:
        """The active alarms of a device; of the station itself when `device_id` is None."""
        return sorted(
            (a for a in self._alarms.values() if a.device == device_id),
            key=lambda a: (a.raised_at, a.alarm_id),
        )

    def all_active(self) -> list[Alarm]:
        return sorted(self._alarms.values(), key=lambda a: (a.raised_at, a.alarm_id))

    def device_state(self, device_id: str) -> HealthState:
        """The worst active alarm of the device (unreachable is the worst); OK when none."""
        return HealthState.worst([a.severity for a in self.active(device_id)])

    def station_state(self) -> HealthState:
        """The worst active alarm of the station, its own and its devices'."""
        return HealthState.worst([a.severity for a in self._alarms.values()])

    def maintenance_until(self, device_id: str) -> datetime | None:
        """When the device's maintenance ends; None when it is not in maintenance."""
        return self._in_maintenance.get(device_id)

    @property
    def maintenance_overrides(self) -> dict[str, MaintenanceOverride]:
        """The maintenance commands in force, for `AlarmStore.save_maintenance`."""
        return dict(self._overrides)

    # ------------------------------------------------------------------ readings

    def _failed(self, device_id: str, result: PollResult) -> list[AlarmEvent]:
        self._failures[device_id] += 1
        self._last_error[device_id] = result.error or ""
        for condition in self._by_device.get(device_id, {}).values():
            if condition.kind == _METRIC:
                condition.interrupt()
        events: list[AlarmEvent] = []
        retries = self._book.device(device_id).retries
        unreachable = self._condition(device_id, POLL, UNREACHABLE, kind=_POLL)
        if self._failures[device_id] >= retries and unreachable.severity is None:
            unreachable.severity = HealthState.UNREACHABLE
            unreachable.value, unreachable.limit = self._failures[device_id], retries
            events += self._publish(unreachable, result.ts)
        return events + self._update_stale(device_id, result.ts)

    def _judge_reading(
        self, device_id: str, rule: Rule, reading: Reading, ts: datetime
    ) -> list[AlarmEvent]:
        """One watched reading: its limit or state conditions, and its `invalid` one."""
        key = rule.key
        if reading.quality is Quality.BAD:
            for cond in self._metric_conditions(device_id, key, METRIC_CONDITIONS):
                cond.interrupt()
            return []
        if reading.quality is Quality.INVALID:
            for cond in self._metric_conditions(device_id, key, (LOW, HIGH, STATE)):
                cond.interrupt()
            cond = self._condition(device_id, key, INVALID, (HealthState.WARNING,))
            cond.unit, cond.detail = rule.metric.unit, reading.detail
            delay_s = self._book.invalid_delay_s(device_id, rule)
            return self._judge(cond, ts, {HealthState.WARNING: (None, None)}, delay_s, rule)
        events: list[AlarmEvent] = []
        for cond in self._metric_conditions(device_id, key, (INVALID,)):
            events += self._judge(cond, ts, {}, 0.0, rule)
        # OK with a value, or MISSING (value None): the condition is absent then.
        value = reading.value if reading.quality is Quality.OK else None
        if rule.numeric:
            number = float(value) if isinstance(value, int | float) else None
            for side in (LOW, HIGH):
                levels = tuple(level for level, _ in rule.side_limits(side))
                cond_or_none = self._find(device_id, key, side)
                severity = cond_or_none.severity if cond_or_none is not None else None
                breach = {} if number is None else _limit_breach(rule, side, number, severity)
                if cond_or_none is None and not breach:
                    continue
                cond = self._condition(device_id, key, side, levels)
                cond.levels, cond.unit = levels, rule.metric.unit
                events += self._judge(cond, ts, breach, rule.delay_s, rule)
            return events
        levels = _state_levels(rule)
        state = value if isinstance(value, str | bool) else None
        level = HealthState.OK if state is None else rule.states.get(state, HealthState.OK)
        breach = {lvl: (state, None) for lvl in levels if level.rank >= lvl.rank > 0}
        if self._find(device_id, key, STATE) is None and not breach:
            return events
        cond = self._condition(device_id, key, STATE, levels)
        cond.levels = levels
        return events + self._judge(cond, ts, breach, rule.delay_s, rule)

    def _judge(
        self,
        cond: _Condition,
        ts: datetime,
        breach: Mapping[HealthState, Evidence],
        delay_s: float,
        rule: Rule,
    ) -> list[AlarmEvent]:
        if cond.judge(ts, breach, delay_s, rule.clear_delay_s):
            return self._publish(cond, ts)
        return []

    def _judge_absent(self, device_id: str, cond: _Condition, ts: datetime) -> list[AlarmEvent]:
        """A watched reading an answered poll did not bring: its conditions are not present."""
        rule = self._book.rule(device_id, cond.rule)
        clear_s = rule.clear_delay_s if rule is not None else 0.0
        if cond.judge(ts, {}, 0.0, clear_s):
            return self._publish(cond, ts)
        return []

    def _judge_cause(
        self, device_id: str, cond: _Condition, readings: Mapping[str, Reading], ts: datetime
    ) -> list[AlarmEvent]:
        """A trap alarm whose cause a reading tells: cleared once it reads normal long enough.

        Only readings taken after the trap count, and only `ok` ones that break
        no limit and show no state mapped to warning or critical; any other
        reading (or none) starts the clear delay again.
        """
        key = self._book.driver(device_id).trap_cleared_by(cond.rule)
        rule = None if key is None else self._book.rule(device_id, key)
        if key is None or rule is None:
            return []
        reading = readings.get(key)
        after_trap = cond.trap_at is None or ts >= cond.trap_at
        if reading is None or not after_trap or not _normal(rule, reading):
            cond.normal_since = None
            return []
        cond.normal_since = cond.normal_since or ts
        if not _held(cond.normal_since, ts, rule.clear_delay_s):
            return []
        cond.severity, cond.normal_since = None, None
        return self._publish(cond, ts, f"{REASON_CAUSE_OVER}: {key} {reading.value}")

    def _metric_conditions(
        self, device_id: str, key: str, conditions: Iterable[str]
    ) -> list[_Condition]:
        found = (self._find(device_id, key, c) for c in conditions)
        return [c for c in found if c is not None]

    # ------------------------------------------------------------------ time

    def _reconcile(self, now: datetime) -> list[AlarmEvent]:
        """Maintenance that starts, changes or ends; devices gone stale."""
        events: list[AlarmEvent] = []
        for device_id in self._book.device_ids:
            until = self._effective_until(device_id)
            on = until is not None and now < until
            cond = self._condition(
                None, maintenance_rule(device_id), MAINTENANCE_ON, kind=_MAINTENANCE
            )
            if on and until is not None:
                self._in_maintenance[device_id] = until
                cond.severity, cond.value = HealthState.WARNING, until.isoformat()
                events += self._publish(cond, now, refresh=True)
                events += self._resync(device_id, now, REASON_MAINTENANCE)
            elif device_id in self._in_maintenance:
                del self._in_maintenance[device_id]
                cond.severity = None
                events += self._publish(cond, now, REASON_MAINTENANCE_ENDED)
                events += self._resync(device_id, now, REASON_MAINTENANCE_ENDED)
            events += self._update_stale(device_id, now)
        return events

    def _effective_until(self, device_id: str) -> datetime | None:
        configured = self._book.device(device_id).maintenance_until
        override = self._overrides.get(device_id)
        if override is not None and override.config_until == configured:
            return override.until
        return configured

    def _update_stale(self, device_id: str, now: datetime) -> list[AlarmEvent]:
        cond = self._condition(device_id, POLL, STALE, kind=_POLL)
        unreachable = self._condition(device_id, POLL, UNREACHABLE, kind=_POLL)
        superseded = unreachable.severity is not None
        age = (now - self._last_answer[device_id]).total_seconds()
        limit = self._book.stale_after_s(device_id)
        target = HealthState.WARNING if age > limit and not superseded else None
        if target is cond.severity:
            return []
        cond.severity = target
        if target is not None:
            cond.value, cond.limit, cond.unit = round(age, 1), limit, "s"
        return self._publish(cond, now, REASON_SUPERSEDED if superseded else "")

    def _resync(self, device_id: str, now: datetime, reason: str) -> list[AlarmEvent]:
        """Publish the device's logical state again (after maintenance starts or ends)."""
        events: list[AlarmEvent] = []
        for cond in list(self._by_device.get(device_id, {}).values()):
            events += self._publish(cond, now, reason)
        return events

    # ------------------------------------------------------------------ publishing

    def _publish(
        self, cond: _Condition, ts: datetime, reason: str = "", refresh: bool = False
    ) -> list[AlarmEvent]:
        """Make the active alarm of `cond` match its logical state; the events that takes."""
        key = alarm_id(self._station, cond.device, cond.rule, cond.condition)
        suppressed = cond.device is not None and cond.device in self._in_maintenance
        target = None if suppressed else cond.severity
        current = self._alarms.get(key)
        if target is None:
            if current is None:
                return []
            del self._alarms[key]
            why = REASON_MAINTENANCE if suppressed and cond.severity is not None else reason
            return [AlarmEvent(Transition.CLEARED, ts, current.cleared(ts), reason=why)]
        message_vi, message_en = self._messages(cond)
        if current is None:
            alarm = Alarm(
                key,
                self._station,
                cond.device,
                cond.rule,
                cond.condition,
                target,
                ts,
                cond.value,
                cond.limit,
                message_vi,
                message_en,
                unit=cond.unit,
                changed_at=ts,
            )
            self._alarms[key] = alarm
            return [AlarmEvent(Transition.RAISED, ts, alarm, reason=reason)]
        if current.severity is target and not refresh:
            return []
        changed = replace(
            current,
            severity=target,
            value=cond.value,
            limit=cond.limit,
            message_vi=message_vi,
            message_en=message_en,
        )
        if current.severity is target:
            self._alarms[key] = changed  # same state, fresher details: no event
            return []
        changed = replace(changed, changed_at=ts)
        self._alarms[key] = changed
        event = AlarmEvent(
            Transition.SEVERITY_CHANGED, ts, changed, previous=current.severity, reason=reason
        )
        return [event]

    def _messages(self, cond: _Condition) -> tuple[str, str]:
        if cond.fixed is not None:
            return cond.fixed
        if cond.device is None:
            device_id = _maintenance_device(cond.rule)
            if device_id is not None and self._book.has_device(device_id):
                name = self._book.device(device_id).display_name
                until = self._in_maintenance.get(device_id)
                if until is not None:
                    return messages.maintenance_messages(name, until, self._zone)
            return cond.rule, cond.rule
        device = self._book.device(cond.device)
        if cond.rule == POLL and cond.condition == UNREACHABLE:
            failures = cond.value if isinstance(cond.value, int) else device.retries
            return messages.unreachable_messages(
                device.display_name, failures, device.retries, self._last_error[cond.device]
            )
        if cond.rule == POLL and cond.condition == STALE:
            age = cond.value if isinstance(cond.value, int | float) else 0.0
            return messages.stale_messages(
                device.display_name, float(age), self._book.stale_after_s(cond.device)
            )
        rule = self._book.rule(cond.device, cond.rule)
        if rule is not None:
            value, limit = cond.value, cond.limit
            if (
                cond.condition in (LOW, HIGH)
                and isinstance(value, int | float)
                and limit is not None
            ):
                return messages.limit_messages(
                    rule.metric, rule.key, cond.condition, float(value), limit
                )
            if cond.condition == STATE:
                return messages.state_messages(rule.metric, rule.key, value)
            if cond.condition == INVALID:
                return messages.invalid_messages(rule.metric, rule.key, cond.detail)
        text = f"{cond.rule} {cond.condition}"
        return text, text

    # ------------------------------------------------------------------ bookkeeping

    def _take_pending(self) -> list[AlarmEvent]:
        pending, self._pending = self._pending, []
        return pending

    def _find(self, device_id: str | None, rule: str, condition: str) -> _Condition | None:
        return self._conditions.get(alarm_id(self._station, device_id, rule, condition))

    def _condition(
        self,
        device_id: str | None,
        rule: str,
        condition: str,
        levels: tuple[HealthState, ...] = (),
        kind: str = _METRIC,
    ) -> _Condition:
        key = alarm_id(self._station, device_id, rule, condition)
        cond = self._conditions.get(key)
        if cond is None:
            cond = _Condition(device_id, rule, condition, kind, levels)
            self._conditions[key] = cond
            self._by_device.setdefault(device_id, {})[key] = cond
        return cond

    def _restore(self, restored: Iterable[Alarm], now: datetime) -> list[AlarmEvent]:
        """Take back the alarms active before a restart; clear those that no longer apply."""
        events: list[AlarmEvent] = []
        for alarm in restored:
            if not alarm.active:
                continue
            reason = self._orphaned(alarm)
            if reason:
                events.append(
                    AlarmEvent(Transition.CLEARED, now, alarm.cleared(now), reason=reason)
                )
                continue
            key = alarm_id(self._station, alarm.device, alarm.rule, alarm.condition)
            alarm = replace(alarm, alarm_id=key)
            self._alarms[key] = alarm
            levels: tuple[HealthState, ...] = ()
            rule = self._book.rule(alarm.device, alarm.rule) if alarm.device else None
            poll = alarm.rule == POLL and alarm.condition in (UNREACHABLE, STALE)
            maintained = _maintenance_device(alarm.rule) if alarm.device is None else None
            if rule is not None and alarm.condition in METRIC_CONDITIONS:
                kind, levels = _METRIC, _levels_of(rule, alarm.condition)
            elif poll:
                kind = _POLL
            elif maintained is not None:
                kind = _MAINTENANCE
            else:
                kind = _EXTERNAL
            cond = self._condition(alarm.device, alarm.rule, alarm.condition, levels, kind)
            cond.severity, cond.value, cond.limit = alarm.severity, alarm.value, alarm.limit
            cond.unit = alarm.unit
            if kind == _EXTERNAL:
                cond.fixed = (alarm.message_vi, alarm.message_en)
            if kind == _POLL and alarm.device is not None:
                device_id = alarm.device
                if alarm.condition == UNREACHABLE:
                    retries = self._book.device(device_id).retries
                    self._failures[device_id] = max(self._failures[device_id], retries)
                else:  # stale until the device answers, not just because the agent restarted
                    silent = timedelta(seconds=self._book.stale_after_s(device_id) + 1)
                    self._last_answer[device_id] = now - silent
            if maintained is not None:
                self._in_maintenance[maintained] = _parse_time(alarm.value) or now
        return events

    def _orphaned(self, alarm: Alarm) -> str:
        """Why a restored alarm cannot stay, or "" when it can."""
        if alarm.station != self._station:
            return REASON_OTHER_STATION
        if alarm.device is None:
            device_id = _maintenance_device(alarm.rule)
            if device_id is None:
                return REASON_NO_RULE
            return "" if self._book.has_device(device_id) else REASON_REMOVED
        if not self._book.has_device(alarm.device):
            return REASON_REMOVED
        rule = self._book.rule(alarm.device, alarm.rule)
        if rule is None or alarm.condition not in METRIC_CONDITIONS:
            return ""  # a device rule (poll) or an external alarm
        if not rule.watched or not _levels_of(rule, alarm.condition):
            return REASON_NO_RULE
        return ""


def _parse_time(value: Value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _normal(rule: Rule, reading: Reading) -> bool:
    """Whether a reading is `ok` and breaks no limit and shows no warning or critical state."""
    value = reading.value
    if reading.quality is not Quality.OK or value is None:
        return False
    if isinstance(value, str | bool):
        return rule.states.get(value, HealthState.OK) is HealthState.OK
    return rule.limits.evaluate(float(value))[0] is HealthState.OK


def _state_levels(rule: Rule) -> tuple[HealthState, ...]:
    levels = {s for s in rule.states.values() if s is not HealthState.OK}
    return tuple(sorted(levels, key=lambda s: s.rank))


def _levels_of(rule: Rule, condition: str) -> tuple[HealthState, ...]:
    if condition in (LOW, HIGH):
        return tuple(level for level, _ in rule.side_limits(condition)) if rule.numeric else ()
    if condition == STATE:
        return () if rule.numeric else _state_levels(rule)
    return (HealthState.WARNING,)


def _limit_breach(
    rule: Rule, side: str, value: float, severity: HealthState | None
) -> dict[HealthState, Evidence]:
    """The levels `value` breaches on one side, with the deadband of the levels held.

    A level the condition is at (or above) lets go only `deadband` past its
    limit; a level not reached yet is breached beyond the limit itself.  A
    level counts as breached when it or a higher one is; its evidence is the
    lowest breached limit at or above it.
    """
    rank = severity.rank if severity is not None else 0
    hits: list[tuple[HealthState, float]] = []
    for level, limit in rule.side_limits(side):
        band = rule.deadband_for(limit) if rank >= level.rank else 0.0
        hit = value > limit - band if side == HIGH else value < limit + band
        if hit:
            hits.append((level, limit))
    breach: dict[HealthState, Evidence] = {}
    for level, _ in rule.side_limits(side):
        above = [(lvl, lim) for lvl, lim in hits if lvl.rank >= level.rank]
        if above:
            breach[level] = (value, min(above, key=lambda h: h[0].rank)[1])
    return breach
