"""The DOCSIS CMTS driver: counting counters, rates across the Counter32 wrap, limits.

The conformance suite checks each scenario's health; these tests check the
rates themselves, across a real wrap, with two real polls over UDP.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from drivers import docsis_cmts as cmts
from fieldagent.config import parse_device
from fieldagent.driver import row_key
from fieldagent.health import evaluate
from fieldagent.model import HealthState, PollResult, Quality, Reading, Value
from fieldagent.poller import Poller
from fieldagent.rates import CounterRates
from fieldagent.transports.snmp import SnmpClient
from tests.simrunner import SimRunner, StepClock, by_key, device_fields, health_of, played

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOST = "127.0.0.40"
DRIVER = cmts.DRIVER
SPAN = 2**32


def row(key: str, channel: str) -> str:
    return row_key(key, cmts.TABLE, channel)


def counted(value: Value) -> int:
    """A simulated counter's value (always an int)."""
    assert isinstance(value, int)
    return value


def rated(scenario: str, first_s: float, second_s: float) -> dict[str, Reading]:
    """The readings of two polls `first_s` and `second_s` into `scenario`, counters as rates.

    Poll timestamps are as far apart as the scenario times, as on a real device.
    """
    device, clock = played(DRIVER, scenario)
    rates = CounterRates()
    readings: tuple[Reading, ...] = ()
    for elapsed in (first_s, second_s):
        clock.now = StepClock.START + elapsed
        decoded = DRIVER.decode(DRIVER.encode(device.snapshot()), TS + timedelta(seconds=elapsed))
        readings = rates.apply(DRIVER, decoded)
    return by_key(readings)


def test_normal_counters_count_at_the_channel_rate() -> None:
    device, clock = played(DRIVER, "normal")
    start = device.snapshot()
    clock.advance(10)
    later = device.snapshot()
    for channel, load in cmts.NORMAL_TRAFFIC.items():
        for key, per_s in load.rates(channel).items():
            assert later[key] == counted(start[key]) + int(per_s * 10), key


def test_count_wraps_as_a_counter32() -> None:
    values: dict[str, Value] = {}
    traffic = {"4": cmts.Traffic(unerrored=1000, corrected=10, uncorrectable=0)}
    start = {key: SPAN - 100 for key in traffic["4"].rates("4")}
    cmts.count(values, start, 1.0, traffic)
    assert values[row(cmts.UNERRORED, "4")] == 900
    assert values[row(cmts.CORRECTED, "4")] == SPAN - 90
    assert values[row(cmts.UNCORRECTABLE, "4")] == SPAN - 100


def test_normal_rates_are_the_simulated_traffic() -> None:
    readings = rated("normal", 0, 30)
    for channel, load in cmts.NORMAL_TRAFFIC.items():
        for key, per_s in load.rates(channel).items():
            assert readings[key].value == pytest.approx(per_s, abs=1 / 30), key
    assert health_of(DRIVER, readings.values(), TS, "cmts1") is HealthState.OK


def test_counter_wrap_rates_stay_right_across_the_wrap() -> None:
    device, clock = played(DRIVER, "counter_wrap")
    before = device.snapshot()
    clock.advance(2 * cmts.WRAP_AFTER_S)
    after = device.snapshot()
    busy = row(cmts.UNERRORED, "6")
    assert counted(before[busy]) > SPAN - 10_000 and counted(after[busy]) < 10_000  # it wrapped
    readings = rated("counter_wrap", 0, 2 * cmts.WRAP_AFTER_S)
    expected = cmts.NORMAL_TRAFFIC["6"].unerrored
    assert readings[busy].value == pytest.approx(expected, abs=1 / cmts.WRAP_AFTER_S)
    assert readings[busy].quality is Quality.OK


def test_rate_across_a_wrap_with_two_real_polls_over_udp(sims: SimRunner) -> None:
    """Device time is set by hand, poll timestamps are real: the rate is the wrapped delta
    over the real seconds between the two polls, exactly."""
    device, clock = played(DRIVER, "counter_wrap")
    sim = sims.serve_device(device, HOST)
    section = parse_device(device_fields("cmts1", sim))
    moments = (StepClock.START + cmts.WRAP_AFTER_S / 2, StepClock.START + 2 * cmts.WRAP_AFTER_S)
    raw: list[dict[str, Value]] = []

    async def twice() -> tuple[PollResult, PollResult]:
        client = SnmpClient()
        poller = Poller(client)
        results: list[PollResult] = []
        try:
            for moment in moments:
                await asyncio.sleep(0.2 if results else 0)
                clock.now = moment
                raw.append(device.snapshot())
                results.append(await poller.poll(section, DRIVER))
        finally:
            client.close()
        return results[0], results[1]

    first, second = asyncio.run(twice())
    assert first.error is None and second.error is None
    seconds = (second.ts - first.ts).total_seconds()
    readings = {r.key: r for r in second.readings}
    for channel, load in cmts.NORMAL_TRAFFIC.items():
        for key in load.rates(channel):
            delta = (counted(raw[1][key]) - counted(raw[0][key])) % SPAN
            assert readings[key].value == pytest.approx(delta / seconds, abs=0.001), key
    wrapped = row(cmts.UNERRORED, "5")
    assert counted(raw[1][wrapped]) < counted(raw[0][wrapped])  # through 2**32 between polls
    assert readings[wrapped].quality is Quality.OK  # a wrap, not taken for a reset


def test_noisy_upstream_alarms_on_that_channel_only() -> None:
    readings = rated("noisy_upstream", 0, 20)
    noisy = cmts.NOISY_CHANNEL
    assert readings[row(cmts.UNCORRECTABLE, noisy)].value == pytest.approx(
        cmts.NOISY_TRAFFIC.uncorrectable, abs=0.05
    )
    problems = evaluate(DRIVER, PollResult("cmts1", TS, tuple(readings.values()))).problems
    assert {p.metric: p.state for p in problems} == {
        row(cmts.SNR, noisy): HealthState.CRITICAL,
        row(cmts.UNCORRECTABLE, noisy): HealthState.CRITICAL,
    }


@pytest.mark.parametrize(
    ("rate", "state"),
    [(0.0, HealthState.OK), (1.0, HealthState.OK), (1.5, HealthState.WARNING),
     (10.0, HealthState.WARNING), (10.5, HealthState.CRITICAL)],
)  # fmt: skip
def test_uncorrectable_rate_limits(rate: float, state: HealthState) -> None:
    assert cmts.UNCORRECTABLE_LIMITS.evaluate(rate)[0] is state


@pytest.mark.parametrize(
    ("tenths", "value", "state"),
    [(345, 34.5, HealthState.OK), (250, 25.0, HealthState.OK), (249, 24.9, HealthState.WARNING),
     (200, 20.0, HealthState.WARNING), (199, 19.9, HealthState.CRITICAL)],
)  # fmt: skip
def test_snr_is_tenth_db_warning_below_25_critical_below_20(
    tenths: int, value: float, state: HealthState
) -> None:
    metric = DRIVER.metric(row(cmts.SNR, "4"))
    reading = metric.decode(tenths, TS)
    assert (reading.value, reading.unit) == (value, "dB")
    assert metric.bad_state(reading)[0] is state


def test_microreflections_are_read_within_the_rfc_range() -> None:
    metric = DRIVER.metric(row(cmts.MICROREFLECTIONS, "4"))
    assert metric.decode(32, TS).value == 32
    assert metric.decode(255, TS).quality is Quality.OK
    assert metric.decode(256, TS).quality is Quality.INVALID
