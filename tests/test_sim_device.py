"""SimulatedDevice: live values, scenarios played against an injected clock, raw objects."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, MutableMapping

import pytest

from drivers import ups_rfc1628
from fieldagent.driver import AlarmClass, Driver, Maturity, Metric, Scenario, SimModel, ValueType
from fieldagent.model import Value
from fieldagent.sim.device import SimulatedDevice, parse_oid

UPS = ups_rfc1628.DRIVER
CHARGE = "ups.battery.charge_pct"
CHARGE_OID = (1, 3, 6, 1, 2, 1, 33, 1, 2, 4, 0)
SOURCE_OID = (1, 3, 6, 1, 2, 1, 33, 1, 4, 1, 0)


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ups(clock: FakeClock) -> SimulatedDevice:
    return SimulatedDevice(UPS, name="ups1", clock=clock)


def test_starts_from_the_driver_initial_values(ups: SimulatedDevice) -> None:
    assert ups.snapshot() == dict(UPS.simulator.initial)
    assert ups.scenario == "normal"
    assert not ups.silent
    assert set(ups.scenarios) == {"normal", "no_reply", *ups.driver.simulator.scenarios}
    assert {"mains_fail", "battery_low"} <= set(ups.scenarios)


def test_objects_are_raw_values_at_the_metric_oids(ups: SimulatedDevice) -> None:
    objects = ups.objects()
    assert objects[CHARGE_OID] == 100
    assert objects[(1, 3, 6, 1, 2, 1, 33, 1, 2, 5, 0)] == 816  # 81.6 V at scale 0.1
    assert objects[(1, 3, 6, 1, 2, 1, 33, 1, 2, 1, 0)] == 2  # battery status "normal"
    assert objects[(1, 3, 6, 1, 2, 1, 33, 1, 1, 1, 0)] == "Santak"
    assert objects[(1, 3, 6, 1, 2, 1, 1, 2, 0)] == "1.3.6.1.2.1.33"  # extra object
    assert len(objects) == len(UPS.metrics) + len(UPS.simulator.extra_objects)


def test_set_changes_the_value_and_its_raw_object(ups: SimulatedDevice) -> None:
    ups.set("ups.input.voltage_v", 198)
    ups.set("ups.battery.status", "low")
    ups.set("ups.input.frequency_hz", 49.7)
    assert ups.snapshot()["ups.input.voltage_v"] == 198
    objects = ups.objects()
    assert objects[(1, 3, 6, 1, 2, 1, 33, 1, 3, 3, 1, 3, 1)] == 198
    assert objects[(1, 3, 6, 1, 2, 1, 33, 1, 2, 1, 0)] == 3
    assert objects[(1, 3, 6, 1, 2, 1, 33, 1, 3, 3, 1, 2, 1)] == 497


def test_set_none_makes_the_object_absent(ups: SimulatedDevice) -> None:
    ups.set("ups.battery.temperature_c", None)
    assert ups.objects()[(1, 3, 6, 1, 2, 1, 33, 1, 2, 7, 0)] is None


def test_set_unknown_key_names_the_device_driver_and_key(ups: SimulatedDevice) -> None:
    with pytest.raises(KeyError) as caught:
        ups.set("ups.battery.colour", 1)
    message = caught.value.args[0]
    assert "ups1" in message
    assert "ups_rfc1628" in message
    assert "ups.battery.colour" in message


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("ups.battery.status", "exploded", "not one of"),
        ("ups.battery.charge_pct", "full", "expected a number"),
        ("ups.battery.charge_pct", float("nan"), "not a finite number"),
        ("ups.battery.charge_pct", float("inf"), "not a finite number"),
        ("ups.battery.voltage_v", 3e8, "32-bit"),
    ],
)
def test_set_refuses_a_value_the_metric_cannot_encode(
    ups: SimulatedDevice, key: str, value: object, reason: str
) -> None:
    before = ups.snapshot()
    with pytest.raises(ValueError, match=reason) as caught:
        ups.set(key, value)  # type: ignore[arg-type]
    assert "ups1" in str(caught.value)
    assert ups.snapshot() == before


def test_play_unknown_scenario_lists_the_known_ones(ups: SimulatedDevice) -> None:
    with pytest.raises(KeyError) as caught:
        ups.play("flood")
    message = caught.value.args[0]
    assert "'flood'" in message
    assert "mains_fail, no_reply, normal" in message
    assert ups.scenario == "normal"


def test_mains_fail_drains_the_battery_with_time(ups: SimulatedDevice, clock: FakeClock) -> None:
    ups.play("mains_fail")
    values = ups.snapshot()
    assert values["ups.output.source"] == "battery"
    assert values[CHARGE] == 100
    clock.now += 30
    values = ups.snapshot()
    assert values[CHARGE] == 70
    assert values["ups.battery.runtime_min"] == 28
    assert values["ups.battery.on_battery_s"] == 30
    assert values["ups.battery.status"] == "normal"
    clock.now += 50
    assert ups.snapshot()["ups.battery.status"] == "low"
    clock.now += 100
    values = ups.snapshot()
    assert values[CHARGE] == 0
    assert values["ups.battery.status"] == "depleted"
    assert ups.objects()[SOURCE_OID] == 5  # outputSource battery(5)


def test_time_scale_makes_scenario_time_run_faster(clock: FakeClock) -> None:
    ups = SimulatedDevice(UPS, clock=clock, time_scale=20.0)
    ups.play("mains_fail")
    clock.now += 2.5  # 50 s of scenario time
    assert ups.snapshot()[CHARGE] == 50
    clock.now += 2.5
    assert ups.snapshot()["ups.battery.status"] == "depleted"


def test_time_scale_drains_the_ups_on_the_real_clock() -> None:
    ups = SimulatedDevice(UPS, time_scale=2000.0)
    ups.play("mains_fail")
    time.sleep(0.06)  # 120 s of scenario time at 1 %/s
    assert ups.snapshot()[CHARGE] == 0
    assert ups.snapshot()["ups.battery.status"] == "depleted"


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_time_scale_must_be_a_positive_number(scale: float) -> None:
    with pytest.raises(ValueError, match="time_scale"):
        SimulatedDevice(UPS, time_scale=scale)


def test_normal_restores_the_initial_values(ups: SimulatedDevice, clock: FakeClock) -> None:
    ups.set("ups.output.load_pct", 95)
    ups.play("mains_fail")
    clock.now += 40
    ups.play("normal")
    clock.now += 40
    assert ups.snapshot() == dict(UPS.simulator.initial)
    assert ups.scenario == "normal"


def test_switching_scenarios_carries_the_values_over(
    ups: SimulatedDevice, clock: FakeClock
) -> None:
    ups.play("mains_fail")
    clock.now += 30
    ups.play("no_reply")
    assert ups.silent
    clock.now += 30
    assert ups.snapshot()[CHARGE] == 70  # frozen where the card went silent
    ups.play("mains_fail")
    clock.now += 20
    assert ups.snapshot()[CHARGE] == 50  # drains on from 70 %
    assert not ups.silent


def test_scenario_step_wins_over_set_only_for_the_keys_it_drives(
    ups: SimulatedDevice, clock: FakeClock
) -> None:
    ups.play("mains_fail")
    ups.set(CHARGE, 100)
    ups.set("ups.output.load_pct", 80)
    clock.now += 10
    values = ups.snapshot()
    assert values[CHARGE] == 90
    assert values["ups.output.load_pct"] == 80


def test_values_can_be_set_from_another_thread_while_read(ups: SimulatedDevice) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for load in range(500):
                ups.set("ups.output.load_pct", load % 100)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        load = ups.objects()[(1, 3, 6, 1, 2, 1, 33, 1, 4, 4, 1, 5, 1)]
        assert isinstance(load, int) and 0 <= load < 100
    thread.join()
    assert errors == []
    assert ups.snapshot()["ups.output.load_pct"] == 99


def _driver(**simulator: object) -> Driver:
    model = {"initial": {"x": 1}, "scenarios": {}, **simulator}
    return Driver(
        name="toy",
        title="Toy",
        kind="toy",
        protocol="snmp",
        metrics=(
            Metric(
                "x", "", "1.3.6.1.4.1.9999.1.0", "X", ValueType.NUMBER, alarm_class=AlarmClass.OTHER
            ),
        ),
        simulator=SimModel(**model),  # type: ignore[arg-type]
        maturity=Maturity.MODEL,
    )


def test_a_driver_without_a_normal_scenario_can_still_go_back_to_normal() -> None:
    def spike(
        values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
    ) -> None:
        values["x"] = 99

    toy = SimulatedDevice(_driver(scenarios={"spike": Scenario("spike", "x jumps", spike)}))
    toy.play("spike")
    assert toy.snapshot() == {"x": 99}
    toy.play("normal")
    assert toy.snapshot() == {"x": 1}


def test_an_inconsistent_sim_model_is_refused_at_once() -> None:
    with pytest.raises(KeyError, match="'y'"):
        SimulatedDevice(_driver(initial={"y": 1}))
    with pytest.raises(ValueError, match="expected a number"):
        SimulatedDevice(_driver(initial={"x": "many"}))
    with pytest.raises(ValueError, match="malformed OID"):
        SimulatedDevice(_driver(extra_objects={"1.3.six": "x"}))
    with pytest.raises(ValueError, match="32-bit"):
        SimulatedDevice(_driver(extra_objects={"1.3.6.1.4.1.9999.2.0": 2**40}))


def test_metrics_without_an_initial_value_start_absent() -> None:
    toy = SimulatedDevice(_driver(initial={}))
    assert toy.snapshot() == {"x": None}
    assert toy.objects() == {(1, 3, 6, 1, 4, 1, 9999, 1, 0): None}


@pytest.mark.parametrize(
    ("text", "oid"),
    [("1.3.6.1.2.1.1.1.0", (1, 3, 6, 1, 2, 1, 1, 1, 0)), (".1.3.6", (1, 3, 6))],
)
def test_parse_oid(text: str, oid: tuple[int, ...]) -> None:
    assert parse_oid(text) == oid


@pytest.mark.parametrize("text", ["", "1", "1.3.x", "1..3", "1.-3"])
def test_parse_oid_refuses_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="malformed OID"):
        parse_oid(text)
