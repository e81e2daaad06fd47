"""The changeover unit driver: position and readiness states, the switch event, and
why its count and reason are a plain number and free text.

The serial conformance suite checks the scenarios' end states over a pty;
these tests cover the switch step as a pure function of time, every state,
and what a real unit may send for the free-text and word values.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import REGISTRY
from fieldagent.config import parse_device
from fieldagent.driver import ValueType
from fieldagent.health import evaluate
from fieldagent.model import HealthState, Quality, Value
from fieldagent.transports import ascii
from tests.drivers.test_ascii_protocol import served_over_pty
from tests.simrunner import health_of

TS = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DRIVER = REGISTRY["changeover_ascii"]
MAIN_TX = "changeover.main_tx"
POSITION = "changeover.position"
READY = "changeover.ready"
FAULT = "changeover.fault"
DELAY = "changeover.delay_s"
LAST_REASON = "changeover.last_switch_reason"
SWITCH_COUNT = "changeover.switch_count"
INITIAL_SWITCHES = 3
TX_A_FAULT = "TX A FAULT"


def decoded(command: str, sent: bytes) -> tuple[Quality, Value]:
    """One reply line as the agent reads it, through the driver's table."""
    metric = next(m for m in DRIVER.metrics if m.source_key == command)
    raw = ascii.parse_reply(command, sent, text=metric.type is ValueType.TEXT)
    (reading,) = [r for r in DRIVER.decode({command: raw}, TS) if r.key == metric.key]
    return reading.quality, reading.value


def state_with(key: str, value: Value) -> HealthState:
    values = {**DRIVER.simulator.initial, key: value}
    return health_of(DRIVER, DRIVER.decode(DRIVER.encode(values), TS), TS)


@pytest.mark.parametrize(
    ("key", "value", "state"),
    [
        (POSITION, "main", HealthState.OK),
        (POSITION, "standby", HealthState.WARNING),
        (READY, False, HealthState.WARNING),
        (FAULT, True, HealthState.CRITICAL),
        (MAIN_TX, "B", HealthState.OK),
        (DELAY, 99, HealthState.OK),
        (SWITCH_COUNT, 250, HealthState.OK),
    ],
)
def test_each_reading_puts_the_unit_in_its_state(
    key: str, value: Value, state: HealthState
) -> None:
    assert state_with(key, value) is state


def test_a_switch_is_counted_once_however_long_the_standby_lasts() -> None:
    start = dict(DRIVER.simulator.initial)
    for elapsed in (0.0, 10.0, 86_400.0):
        values = dict(start)
        step = DRIVER.simulator.scenarios["switched_to_standby"].step
        assert step is not None
        step(values, start, elapsed)
        assert values[SWITCH_COUNT] == INITIAL_SWITCHES + 1
        assert values[POSITION] == "standby"
        assert values[LAST_REASON] == TX_A_FAULT
        assert values[MAIN_TX] == "A"  # the designation does not change, the position does


@pytest.mark.parametrize(
    ("command", "sent", "value"),
    [
        ("ACU.POS", b"ACU.POS=STANDBY", "standby"),
        ("ACU.POS", b"ACU.POS=Main", "main"),
        ("ACU.CURRENT_MAIN", b"ACU.CURRENT_MAIN=B", "B"),
        ("ACU.SWLAST", b"ACU.SWLAST=TX A FAULT", "TX A FAULT"),
        ("ACU.SWLAST", b"ACU.SWLAST=OPERATOR TEST 2", "OPERATOR TEST 2"),
        ("ACU.SWLAST", b"ACU.SWLAST=0042", "0042"),
        ("ACU.DELAY", b"ACU.DELAY=05", 5),
        ("ACU.ITER.MEAS", b"ACU.ITER.MEAS=0017", 17),
    ],
)
def test_what_a_real_unit_may_send_decodes(command: str, sent: bytes, value: Value) -> None:
    assert decoded(command, sent) == (Quality.OK, value)


@pytest.mark.parametrize(
    ("command", "sent"),
    [
        ("ACU.POS", b"ACU.POS=MIDDLE"),
        ("ACU.CURRENT_MAIN", b"ACU.CURRENT_MAIN=C"),
        ("ACU.DELAY", b"ACU.DELAY=100"),
        ("ACU.ITER.MEAS", b"ACU.ITER.MEAS=-1"),
        ("ACU.READY", b"ACU.READY=YES"),
    ],
)
def test_what_no_sane_unit_sends_is_invalid(command: str, sent: bytes) -> None:
    assert decoded(command, sent)[0] is Quality.INVALID


def test_the_switch_count_is_published_as_a_count_not_a_rate(tmp_path: Path) -> None:
    with served_over_pty(DRIVER, tmp_path / "ttyACU") as served:
        served.device.play("switched_to_standby")
        first, second = served.poll(), served.poll()
    for result in (first, second):
        counts = [r for r in result.readings if r.key == SWITCH_COUNT]
        assert [(r.quality, r.value) for r in counts] == [(Quality.OK, INITIAL_SWITCHES + 1)]
    health = evaluate(DRIVER, second)
    assert health.state is HealthState.WARNING
    assert [p.metric for p in health.problems] == [POSITION]


def test_the_sample_config_is_a_valid_serial_device() -> None:
    table = tomllib.loads(DRIVER.sample_config)["device"][0]
    device = parse_device(table)
    assert device.driver == DRIVER.name and device.serial_port is not None
