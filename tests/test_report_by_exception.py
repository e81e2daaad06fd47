"""Report by exception: deadbands, quality flips, enums, rows and snapshots on a fake clock."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from drivers import REGISTRY
from fieldagent.model import PollResult, Quality, Reading, Value
from fieldagent.report_by_exception import Changes, DeviceReporter, deadbands_of, moved

TS = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
UPS = REGISTRY["ups_rfc1628"]
VOLTAGE = "ups.input.voltage_v"  # deadband 5 V
SOURCE = "ups.output.source"  # an enum: any change


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reading(
    key: str, value: Value, quality: Quality = Quality.OK, detail: str = "", in_use: bool = True
) -> Reading:
    unit = UPS.metric(key).unit if "[" not in key else ""
    return Reading(key, value, unit, quality, TS, detail, in_use)


def poll(*readings: Reading, error: str | None = None) -> PollResult:
    return PollResult("ups-main", TS, tuple(readings), error)


def reporter(clock: FakeClock, interval: float = 300, offset: float = 100) -> DeviceReporter:
    return DeviceReporter(deadbands_of(UPS, {}), interval, offset, clock)


def keys(changes: Changes | None) -> list[str] | None:
    return None if changes is None else [r.key for r in changes.readings]


def test_first_poll_is_a_snapshot_and_an_unchanged_poll_sends_nothing() -> None:
    clock = FakeClock()
    rep = reporter(clock)
    first = rep.report(poll(reading(VOLTAGE, 230), reading(SOURCE, "normal")))
    assert first is not None and first.full and keys(first) == [VOLTAGE, SOURCE]
    clock.now += 5
    assert rep.report(poll(reading(VOLTAGE, 230), reading(SOURCE, "normal"))) is None


def test_a_number_is_sent_only_beyond_its_deadband_from_the_value_last_sent() -> None:
    clock = FakeClock()
    rep = reporter(clock)
    assert UPS.metric(VOLTAGE).deadband == 5.0
    rep.report(poll(reading(VOLTAGE, 230)))
    # Creeping up 2 V a poll: not lost in steps, sent once it adds up to more than 5 V.
    sent = []
    for volts in (232, 234, 235, 236, 238):
        clock.now += 5
        changes = rep.report(poll(reading(VOLTAGE, volts)))
        sent.append(None if changes is None else changes.readings[0].value)
    assert sent == [None, None, None, 236, None]  # 235 is exactly 5 V away: not beyond it


def test_a_device_deadband_overrides_the_driver_and_zero_reports_any_change() -> None:
    clock = FakeClock()
    rep = DeviceReporter(deadbands_of(UPS, {VOLTAGE: 0.0}), 300, 100, clock)
    rep.report(poll(reading(VOLTAGE, 230)))
    assert keys(rep.report(poll(reading(VOLTAGE, 230.1)))) == [VOLTAGE]
    assert rep.report(poll(reading(VOLTAGE, 230.1))) is None


def test_quality_detail_and_in_use_changes_are_sent_whatever_the_value() -> None:
    clock = FakeClock()
    rep = reporter(clock)
    rep.report(poll(reading(VOLTAGE, 230)))
    missing = reading(VOLTAGE, None, Quality.MISSING, detail="device has no such object")
    assert keys(rep.report(poll(missing))) == [VOLTAGE]
    other = reading(VOLTAGE, None, Quality.MISSING, detail="device sentinel -1")
    assert keys(rep.report(poll(other))) == [VOLTAGE]
    assert keys(rep.report(poll(reading(VOLTAGE, 230)))) == [VOLTAGE]  # back: within 5 V
    unused = reading(VOLTAGE, 230, in_use=False)
    assert keys(rep.report(poll(unused))) == [VOLTAGE]


def test_an_enum_change_is_sent_and_none_values_compare_equal() -> None:
    clock = FakeClock()
    rep = reporter(clock)
    bad = reading(SOURCE, None, Quality.BAD)
    rep.report(poll(bad))
    assert rep.report(poll(bad)) is None
    assert keys(rep.report(poll(reading(SOURCE, "battery")))) == [SOURCE]
    assert keys(rep.report(poll(reading(SOURCE, "normal")))) == [SOURCE]


def test_moved_compares_types_and_is_not_fooled_by_non_finite_numbers() -> None:
    assert moved(1, 1.0, None)  # shown differently: 1 against 1.0
    assert moved(True, 1, None)  # a truth value is not a number
    assert not moved(True, True, None)
    assert moved(None, 0, 5.0)
    assert moved(230.0, math.nan, 5.0)  # abs(nan - x) > 5 is False: it must still be news
    assert not moved(math.inf, math.inf, 5.0)
    assert moved(230.0, 236.0, 5.0) and not moved(230.0, 235.0, 5.0)


def test_an_error_and_the_recovery_are_each_sent_at_once_as_snapshots() -> None:
    clock = FakeClock()
    rep = reporter(clock)
    rep.report(poll(reading(VOLTAGE, 230), reading(SOURCE, "normal")))
    down = poll(
        reading(VOLTAGE, None, Quality.BAD), reading(SOURCE, None, Quality.BAD), error="no reply"
    )
    clock.now += 5
    changes = rep.report(down)
    assert changes is not None and changes.full
    clock.now += 5
    assert rep.report(down) is None  # still down: nothing new
    clock.now += 5
    back = rep.report(poll(reading(VOLTAGE, 230), reading(SOURCE, "normal")))
    assert back is not None and back.full


def test_a_row_that_appears_or_goes_makes_a_snapshot() -> None:
    clock = FakeClock()
    rep = reporter(clock)
    rep.report(poll(reading(VOLTAGE, 230)))
    grown = rep.report(poll(reading(VOLTAGE, 230), reading("x.snr_db[channel=1]", 30)))
    assert grown is not None and grown.full and len(grown.readings) == 2
    shrunk = rep.report(poll(reading(VOLTAGE, 230)))
    assert shrunk is not None and shrunk.full and keys(shrunk) == [VOLTAGE]


def test_snapshots_come_at_the_staggered_offset_then_every_interval() -> None:
    clock = FakeClock()
    rep = reporter(clock, interval=300, offset=100)
    full_at = []
    for step in range(0, 1000, 5):  # a poll every 5 s for 1000 s, values unchanged
        clock.now = 1000.0 + step
        changes = rep.report(poll(reading(VOLTAGE, 230)))
        if changes is not None:
            assert changes.full
            full_at.append(step)
    assert full_at == [0, 100, 400, 700]


def test_a_snapshot_resets_the_baseline_of_every_reading() -> None:
    clock = FakeClock()
    rep = reporter(clock, interval=300, offset=10)
    rep.report(poll(reading(VOLTAGE, 230)))
    clock.now += 10
    snapshot = rep.report(poll(reading(VOLTAGE, 233)))  # within the deadband, but due
    assert snapshot is not None and snapshot.full and snapshot.readings[0].value == 233
    clock.now += 5
    assert keys(rep.report(poll(reading(VOLTAGE, 238.5)))) == [VOLTAGE]  # 5.5 V from 233
