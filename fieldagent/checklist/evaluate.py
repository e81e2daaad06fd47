"""Judge the automatic items of a station's checklist on one fresh set of readings.

Every item is judged per device of its kind, and per table row when its
condition reads a table column (`ird.locked` means every input): the item
passes only if every check does.  A check never passes on a value it does
not have: an unreachable device, a bad, missing or invalid reading, an empty
table or a limit not set make it `incomplete`, never `pass` (nor `fail`: the
equipment may be fine).  A readiness item whose counter did not grow enough
is `incomplete`, not `fail`, while the history does not yet cover its window.
A table row the device says is not in use (an unconfigured channel) is not
judged: its check is `n/a`, and an item whose every check is `n/a` is `n/a`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from fieldagent.alarms.rules import RuleBook
from fieldagent.checklist.definition import ItemKind
from fieldagent.checklist.expr import Condition
from fieldagent.checklist.history import Sample, increase
from fieldagent.checklist.interpret import CannotEvaluate, Unavailable, evaluate
from fieldagent.checklist.lineup import lineup_check
from fieldagent.checklist.report import (
    Check,
    HistoryUsed,
    ItemResult,
    LimitFunction,
    LimitUsed,
    ReadingUsed,
    Reason,
    Status,
    overall,
)
from fieldagent.checklist.resolve import StationItem
from fieldagent.driver import Driver, base_key, row_key, split_row_key
from fieldagent.model import PollResult, Quality, Reading

HistoryWindow = Callable[[str, str, datetime], list[Sample]]
"""(device, key, window start) -> stored samples, the baseline first."""


@dataclass(frozen=True)
class Observations:
    """What one checklist run saw: a fresh poll of every device and the station's figures."""

    results: Mapping[str, PollResult]
    station: Mapping[str, Reading]
    """station.* figures (alarms, unreachable devices, outbox), as readings."""


@dataclass(frozen=True)
class Judge:
    """Everything a check compares against besides the readings."""

    rules: RuleBook
    nominal: Mapping[str, Mapping[str, float]]
    lineup: list[str]
    history: HistoryWindow
    now: datetime


def judge_item(item: StationItem, seen: Observations, judge: Judge) -> ItemResult:
    """An automatic, readiness or line-up item's result with its checks."""
    definition = item.item
    if definition.kind is ItemKind.LINEUP:
        assert definition.services is not None
        checks = (
            [lineup_check(item.devices, seen.results, definition.services, judge.lineup)]
            if item.devices
            else []
        )
    else:
        condition = definition.parsed
        assert condition is not None  # auto and readiness items have one
        checks = (
            [_check(None, None, condition, _StationValues(seen.station), {})]
            if definition.devices is None
            else [
                check
                for device in item.devices
                for check in _device_checks(item, condition, device, seen, judge)
            ]
        )
    judged: list[Status] = [c.status for c in checks if c.status is not Status.NOT_APPLICABLE]
    status = overall(judged) if judged else Status.NOT_APPLICABLE
    return result_of(item, status, checks)


def result_of(item: StationItem, status: Status, checks: list[Check]) -> ItemResult:
    definition = item.item
    return ItemResult(
        id=definition.id,
        category=definition.category,
        kind=definition.kind,
        severity=definition.severity,
        title=definition.title,
        hint=definition.hint,
        directive=definition.directive,
        condition=definition.condition,
        within_days=definition.within_days,
        source=item.source,
        status=status,
        checks=checks,
    )


def _device_checks(
    item: StationItem, condition: Condition, device: str, seen: Observations, judge: Judge
) -> list[Check]:
    result = seen.results[device]
    if not result.answered:
        return [
            Check(
                device=device,
                status=Status.INCOMPLETE,
                reason=Reason.UNREACHABLE,
                detail=result.error or "",
            )
        ]
    readings = {r.key: r for r in result.readings}
    tables = {m.key for m in judge.rules.driver(device).metrics if m.table is not None}
    rows = _rows(condition.metrics & tables, readings)
    if rows == []:
        read = ", ".join(sorted(condition.metrics & tables))
        return [Check(device=device, status=Status.INCOMPLETE, reason=Reason.NO_ROWS, detail=read)]
    window = judge.now - timedelta(days=item.item.within_days or 0)
    unused = _unused_rows(readings)
    return [
        _not_in_use(device, row, judge.rules.driver(device), readings)
        if row is not None and row in unused
        else _check(
            device,
            row,
            condition,
            _DeviceValues(device, row, tables, readings, judge, window),
            judge.nominal.get(device, {}),
        )
        for row in (rows if rows is not None else [None])
    ]


def _unused_rows(readings: Mapping[str, Reading]) -> set[str]:
    """The rows ("channel=2") whose readings the driver marked not in use."""
    unused: set[str] = set()
    for key, reading in readings.items():
        parts = split_row_key(key)
        if parts is not None and not reading.in_use:
            unused.add(f"{parts[1]}={parts[2]}")
    return unused


def _not_in_use(device: str, row: str, driver: Driver, readings: Mapping[str, Reading]) -> Check:
    """The check of a row not in use: n/a, with the reading that says so as its evidence."""
    label, _, index = row.partition("=")
    said = [
        reading
        for declared in driver.rows_in_use
        if declared.table == label
        and (reading := readings.get(row_key(declared.column, label, index))) is not None
    ]
    return Check(
        device=device,
        row=row,
        status=Status.NOT_APPLICABLE,
        reason=Reason.NOT_IN_USE,
        detail=", ".join(f"{base_key(r.key)} {r.value}" for r in said),
        readings=[ReadingUsed.of(r) for r in said],
    )


def _rows(tables: frozenset[str], readings: Mapping[str, Reading]) -> list[str] | None:
    """The rows ("input=2") of the `tables` the condition reads; None when it reads none."""
    if not tables:
        return None
    found = set()
    for key in readings:
        parts = split_row_key(key)
        if parts is not None and parts[0] in tables:
            found.add(f"{parts[1]}={parts[2]}")
    return sorted(found, key=_row_order)


def _row_order(row: str) -> tuple[int, str]:
    index = row.partition("=")[2]
    return (int(index), "") if index.isdigit() else (0, index)


def _check(
    device: str | None,
    row: str | None,
    condition: Condition,
    values: _Collecting,
    nominals: Mapping[str, float],
) -> Check:
    status, reason, detail, evaluated = _verdict(condition, values)
    return Check(
        device=device,
        row=row,
        status=status,
        reason=reason,
        detail=detail,
        evaluated=evaluated,
        readings=[ReadingUsed.of(r) for r in values.readings],
        limits=values.limits,
        nominals={k: nominals[k] for k in sorted(condition.nominals) if k in nominals},
        history=values.history,
    )


def _verdict(
    condition: Condition, values: _Collecting
) -> tuple[Status, Reason | None, str, str | None]:
    """(status, reason, detail, the evaluated expression) of one check."""
    try:
        passed, evaluated = evaluate(condition, values)
    except Unavailable as exc:
        return Status.INCOMPLETE, Reason.NO_READING, str(exc), None
    except CannotEvaluate as exc:
        return Status.INCOMPLETE, Reason.CANNOT_EVALUATE, str(exc), None
    if passed:
        return Status.PASS, None, "", evaluated
    young = [h for h in values.history if not h.covers_window]
    if young:
        since = ", ".join(f"{h.key} since {h.since.isoformat()}" for h in young)
        return Status.INCOMPLETE, Reason.HISTORY_SHORT, since, evaluated
    return Status.FAIL, None, "", evaluated


class _Collecting:
    """Values for one check, keeping what was used as the check's evidence."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.limits: list[LimitUsed] = []
        self.history: list[HistoryUsed] = []

    def metric(self, key: str) -> Any:
        raise Unavailable(f"{key}: not a figure of this check")

    def nominal(self, key: str) -> float:
        raise Unavailable(f"nominal.{key}: not given")

    def limit(self, function: str, key: str) -> float:
        raise Unavailable(f"{function}({key}): not set")

    def increase(self, key: str) -> float:
        raise Unavailable(f"increase({key}): no history")

    def _usable(self, reading: Reading | None, key: str) -> Any:
        """The reading's value, kept as evidence (once); Unavailable unless it is ok."""
        if reading is None:
            raise Unavailable(f"{key}: not read")
        if reading not in self.readings:
            self.readings.append(reading)
        if reading.quality is not Quality.OK:
            detail = f" ({reading.detail})" if reading.detail else ""
            raise Unavailable(f"{reading.key}: {reading.quality.value}{detail}")
        return reading.value


class _StationValues(_Collecting):
    def __init__(self, station: Mapping[str, Reading]) -> None:
        super().__init__()
        self._station = station

    def metric(self, key: str) -> Any:
        return self._usable(self._station.get(key), key)


class _DeviceValues(_Collecting):
    def __init__(
        self,
        device: str,
        row: str | None,
        tables: set[str],
        readings: Mapping[str, Reading],
        judge: Judge,
        window_start: datetime,
    ) -> None:
        super().__init__()
        self._device = device
        self._row = row
        self._readings = readings
        self._judge = judge
        self._window_start = window_start
        self._tables = tables

    def _key(self, key: str) -> str:
        if self._row is None or key not in self._tables:
            return key
        label, _, index = self._row.partition("=")
        return row_key(key, label, index)

    def metric(self, key: str) -> Any:
        full = self._key(key)
        return self._usable(self._readings.get(full), full)

    def nominal(self, key: str) -> float:
        values = self._judge.nominal.get(self._device, {})
        if key not in values:
            raise Unavailable(f"nominal.{key}: not given for {self._device}")
        return values[key]

    def limit(self, function: str, key: str) -> float:
        full = self._key(key)
        rule = self._judge.rules.rule(self._device, full)
        value = getattr(rule.limits, function) if rule is not None else None
        if value is None:
            raise Unavailable(f"{function}({full}): not set for {self._device}")
        if not any(u.function == function and u.key == full for u in self.limits):
            named = cast(LimitFunction, function)  # parse_condition allows only these
            self.limits.append(LimitUsed(function=named, key=full, value=value))
        return float(value)

    def increase(self, key: str) -> float:
        full = self._key(key)
        now = self._usable(self._readings.get(full), full)
        samples = self._judge.history(self._device, full, self._window_start)
        fresh = self._readings[full]
        if not samples or samples[-1].ts < fresh.ts:
            samples = [*samples, Sample(fresh.ts, float(now))]
        used = increase(full, samples, self._window_start)
        self.history.append(used)
        return used.increase
