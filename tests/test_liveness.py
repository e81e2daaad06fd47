"""The liveness rules on a fake clock: a device that stops polling, an outbox that stalls."""

from __future__ import annotations

from pathlib import Path

from fieldagent.config import ModbusDevice, SnmpDevice
from fieldagent.liveness import Liveness, device_limits, poll_limit
from tests.simrunner import StepClock


def test_the_poll_limit_is_twice_the_interval_plus_the_poll_budget() -> None:
    assert poll_limit(interval=10, timeout=2, tries=2) == 20 + 4 * 2 * 2
    assert poll_limit(interval=10, timeout=1, sharing=3) == 20 + 4 * 1 * 3


def test_each_device_gets_its_limit_from_its_section() -> None:
    """SNMP tries each request request_retries + 1 times; devices on one serial port
    take turns, so each waits for the others' polls too."""
    sections = [
        SnmpDevice(id="ups", driver="ups_rfc1628", host="10.0.0.2"),
        SnmpDevice(
            id="tx",
            driver="ups_rfc1628",
            host="10.0.0.3",
            interval=30,
            timeout=1,
            request_retries=3,
        ),
        ModbusDevice(id="a", driver="m", serial_port=Path("/dev/ttyUSB0"), timeout=0.5),
        ModbusDevice(id="b", driver="m", serial_port=Path("/dev/ttyUSB0"), timeout=0.5),
        ModbusDevice(id="c", driver="m", serial_port=Path("/dev/ttyUSB1"), timeout=0.5),
    ]
    assert device_limits(sections) == {
        "ups": 20 + 4 * 2 * 2,
        "tx": 60 + 4 * 1 * 4,
        "a": 20 + 4 * 0.5 * 2,
        "b": 20 + 4 * 0.5 * 2,
        "c": 20 + 4 * 0.5,
    }


def test_a_device_that_stops_finishing_polls_fails_by_name() -> None:
    clock = StepClock()
    alive = Liveness(clock)
    alive.watch("ups-main", 44)
    alive.watch("tx-1", 44)
    for _ in range(10):
        clock.advance(10)
        alive.polled("ups-main")
        alive.polled("tx-1")
        assert alive.problems() == []
    for _ in range(5):  # tx-1's loop is stuck inside a poll from here on
        clock.advance(10)
        alive.polled("ups-main")
    assert alive.problems() == ["device tx-1: no poll finished for 50 s (limit 44 s)"]
    alive.polled("tx-1")
    assert alive.problems() == []


def test_a_device_that_never_finished_a_poll_counts_from_the_start() -> None:
    clock = StepClock()
    alive = Liveness(clock)
    alive.watch("dead", 30)
    clock.advance(30)
    assert alive.problems() == []
    clock.advance(1)
    assert [p.split(":")[0] for p in alive.problems()] == ["device dead"]


def test_a_connected_broker_that_stops_acknowledging_fails_the_outbox_rule() -> None:
    clock = StepClock()
    alive = Liveness(clock, stall_s=120)
    acked = 0
    for _ in range(10):  # acknowledgements keep coming: the backlog moves
        clock.advance(30)
        acked += 5
        alive.outbox(connected=True, waiting=3, acked=acked)
        assert alive.problems() == []
    for _ in range(4):
        clock.advance(30)
        alive.outbox(connected=True, waiting=7, acked=acked)
    assert alive.problems() == []  # 120 s: at the limit, not over it
    clock.advance(1)
    alive.outbox(connected=True, waiting=8, acked=acked)
    assert alive.problems() == [
        "outbox: broker connected, messages waiting, no acknowledgement for 121 s (limit 120 s)"
    ]
    alive.outbox(connected=True, waiting=2, acked=acked + 6)
    assert alive.problems() == []


def test_a_broker_outage_or_an_empty_outbox_is_not_a_stall() -> None:
    clock = StepClock()
    alive = Liveness(clock, stall_s=120)
    for _ in range(20):  # the link is down: messages pile up, which restarting cannot fix
        clock.advance(60)
        alive.outbox(connected=False, waiting=500, acked=0)
        assert alive.problems() == []
    for _ in range(20):  # connected, nothing to send, nothing acknowledged
        clock.advance(60)
        alive.outbox(connected=True, waiting=0, acked=0)
        assert alive.problems() == []


def test_a_reloaded_device_set_is_watched_as_it_is_now() -> None:
    clock = StepClock()
    alive = Liveness(clock)
    alive.watch("kept", 30)
    alive.watch("changed", 30)
    alive.watch("removed", 30)
    clock.advance(25)
    alive.watch_only({"kept": 40, "changed": 30, "added": 30}, fresh=["changed"])
    clock.advance(20)  # kept: 45 s since its last poll, limit now 40; the others from the reload
    assert [p.split(":")[0] for p in alive.problems()] == ["device kept"]
    alive.polled("kept")
    clock.advance(11)
    assert [p.split(":")[0] for p in alive.problems()] == ["device changed", "device added"]
