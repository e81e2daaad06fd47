"""The UPS driver's simulator physics: what its scenarios show, played on a hand-moved clock
and polled over real UDP."""

from __future__ import annotations

from drivers.ups_rfc1628 import CUT_OFF_V, DRIVER, FLOAT_VOLTAGE_V
from tests.simrunner import SimRunner, played, poll_readings

CHARGE = "ups.battery.charge_pct"
VOLTAGE = "ups.battery.voltage_v"


def test_on_battery_the_voltage_falls_with_the_charge() -> None:
    device, clock = played(DRIVER, "mains_fail")
    seen = []
    for _ in range(11):
        values = device.snapshot()
        seen.append((values[CHARGE], values[VOLTAGE]))
        clock.advance(10)
    charges = [charge for charge, _ in seen]
    voltages = [voltage for _, voltage in seen]
    assert charges == [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
    assert voltages == sorted(voltages, reverse=True) and len(set(voltages)) == len(voltages)
    assert voltages[0] < FLOAT_VOLTAGE_V, "off mains the float charge is gone"
    assert voltages[-1] == CUT_OFF_V


def test_a_worn_battery_shows_the_voltage_of_its_charge() -> None:
    device, _ = played(DRIVER, "battery_low")
    values = device.snapshot()
    full, _ = played(DRIVER, "mains_fail")
    assert CUT_OFF_V < values[VOLTAGE] < full.snapshot()[VOLTAGE]  # type: ignore[operator]


def test_a_drained_battery_reads_its_cut_off_voltage_over_udp(sims: SimRunner) -> None:
    device, _ = played(DRIVER, "mains_fail", elapsed_s=120)
    sim = sims.serve_device(device, "127.0.0.71")
    readings = poll_readings(sim, DRIVER, "ups1")
    assert (readings[CHARGE].value, readings[VOLTAGE].value) == (0, CUT_OFF_V)
    assert readings["ups.battery.status"].value == "depleted"
