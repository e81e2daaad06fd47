"""What every broadcast transmitter driver shares: the RF output metrics, their
default limits, the VSWR quirk, and the simulator steps of RF faults.

Not a driver (no `DRIVER`): the FM and DVB-T2 transmitter drivers build their
tables from it, so "reflected power is too high" means the same thing on both.

Default limits follow a transmitter's nominal output power; per-transmitter
limits (a 500 W FM set, a 2 kW TV set) are meant to come from the station
configuration later, these are the defaults until then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping

from fieldagent.driver import (
    AlarmClass,
    Expect,
    Limits,
    Metric,
    Quantity,
    Scenario,
    ScenarioStep,
    ValueType,
)
from fieldagent.model import HealthState, Quality, Reading, Value

FORWARD = "rf.forward_power_w"
REFLECTED = "rf.reflected_power_w"
VSWR = "rf.vswr"
ON_AIR = "tx.on_air"
PA_TEMPERATURE = "pa.temperature_c"

MAX_POWER_W = 100_000.0
"""Above any broadcast transmitter either driver covers: a larger reading is garbage."""

VSWR_WARN = 1.5
VSWR_CRIT = 2.0
"""1.5:1 is where an antenna or feeder fault starts to show; at 2:1 transmitters fold back."""

PA_TEMPERATURE_WARN_C = 60.0
PA_TEMPERATURE_CRIT_C = 70.0

FORWARD_WARN_FRACTION = 0.8
FORWARD_CRIT_FRACTION = 0.5
REFLECTED_WARN_FRACTION = 0.05
REFLECTED_CRIT_FRACTION = 0.10

FORWARD_DEADBAND_FRACTION = 0.02
REFLECTED_DEADBAND_FRACTION = 0.002
"""Compact telemetry reports a power again once it moved 2 % (forward) or 0.2 %
(reflected) of nominal: above a coupler's jitter, far inside the 20 % and 5 %
steps between the limits."""

VSWR_DEADBAND = 0.05
PA_TEMPERATURE_DEADBAND_C = 2.0

VSWR_MIN_FORWARD_W = 1.0
"""Below this forward power the coupler's ratio means nothing: VSWR is not shown."""


def forward_limits(nominal_w: float) -> Limits:
    """Forward power low: warning below 80 %, critical below 50 % of nominal."""
    return Limits(
        warn_low=nominal_w * FORWARD_WARN_FRACTION, crit_low=nominal_w * FORWARD_CRIT_FRACTION
    )


def reflected_limits(nominal_w: float) -> Limits:
    """Reflected power high: warning above 5 %, critical above 10 % of nominal."""
    return Limits(
        warn_high=nominal_w * REFLECTED_WARN_FRACTION,
        crit_high=nominal_w * REFLECTED_CRIT_FRACTION,
    )


def rf_metrics(
    *,
    forward_oid: str,
    reflected_oid: str,
    vswr_oid: str,
    on_air_oid: str,
    nominal_w: float,
    power_divisor: float,
    vswr_divisor: float,
) -> tuple[Metric, ...]:
    """Forward and reflected power, VSWR and the on-air flag of one RF output.

    Off air is critical: a district transmitter is expected on air in service;
    scheduled off hours are a station configuration matter.
    """
    return (
        Metric(
            FORWARD,
            "W",
            forward_oid,
            "Forward power",
            divisor=power_divisor,
            valid=(0, MAX_POWER_W),
            limits=forward_limits(nominal_w),
            deadband=nominal_w * FORWARD_DEADBAND_FRACTION,
            dashboard=True,
            quantity=Quantity.POWER,
            alarm_class=AlarmClass.POWER,
        ),
        Metric(
            REFLECTED,
            "W",
            reflected_oid,
            "Reflected power",
            divisor=power_divisor,
            valid=(0, MAX_POWER_W),
            limits=reflected_limits(nominal_w),
            deadband=nominal_w * REFLECTED_DEADBAND_FRACTION,
            dashboard=True,
            quantity=Quantity.POWER,
            alarm_class=AlarmClass.POWER,
        ),
        Metric(
            VSWR,
            "",
            vswr_oid,
            "VSWR",
            divisor=vswr_divisor,
            valid=(1.0, 100.0),
            limits=Limits(warn_high=VSWR_WARN, crit_high=VSWR_CRIT),
            deadband=VSWR_DEADBAND,
            alarm_class=AlarmClass.POWER,
        ),
        Metric(
            ON_AIR,
            "",
            on_air_oid,
            "RF on air",
            ValueType.BOOL,
            states={False: HealthState.CRITICAL},
            alarm_class=AlarmClass.STATE,
        ),
    )


def pa_temperature(oid: str, title: str, divisor: float) -> Metric:
    """The power amplifier's (heatsink) temperature, with the shared limits."""
    return Metric(
        PA_TEMPERATURE,
        "°C",
        oid,
        title,
        divisor=divisor,
        valid=(-40, 150),
        limits=Limits(warn_high=PA_TEMPERATURE_WARN_C, crit_high=PA_TEMPERATURE_CRIT_C),
        deadband=PA_TEMPERATURE_DEADBAND_C,
        dashboard=True,
        quantity=Quantity.TEMPERATURE,
        alarm_class=AlarmClass.TEMPERATURE,
    )


def blank_vswr_without_power(readings: dict[str, Reading]) -> None:
    """Show VSWR as missing while there is (almost) no forward power.

    VSWR is computed from the forward/reflected ratio; with RF off transmitters
    report 0, 1 or a huge ratio from coupler noise.  Reading that as a VSWR
    fault would blame the antenna for an off-air transmitter.
    """
    forward = readings.get(FORWARD)
    vswr = readings.get(VSWR)
    if forward is None or vswr is None or forward.quality is not Quality.OK:
        return
    if isinstance(forward.value, int | float) and forward.value < VSWR_MIN_FORWARD_W:
        readings[VSWR] = Reading(
            VSWR,
            None,
            vswr.unit,
            Quality.MISSING,
            vswr.ts,
            f"no forward power (< {VSWR_MIN_FORWARD_W:g} W): VSWR undefined",
        )


def reflected_w(forward_w: float, vswr: float) -> float:
    """Reflected power for a forward power and a VSWR: P_r = P_f * ((s - 1) / (s + 1))^2."""
    gamma = (vswr - 1) / (vswr + 1)
    return forward_w * gamma * gamma


def number(values: Mapping[str, Value], key: str) -> float:
    """A simulated value that a step needs as a number (a driver bug if it is not one)."""
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"simulated {key} is {value!r}, not a number")
    return float(value)


def ramp(start: float, target: float, elapsed_s: float, ramp_s: float) -> float:
    """Linear from `start` to `target` over `ramp_s` seconds, then holding `target`."""
    progress = 1.0 if ramp_s <= 0 else min(1.0, elapsed_s / ramp_s)
    return start + (target - start) * progress


def ramp_to(key: str, target: float, ramp_s: float) -> ScenarioStep:
    """A step moving `key` from its value at the start to `target` over `ramp_s`."""

    def step(
        values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
    ) -> None:
        values[key] = ramp(number(start, key), target, elapsed, ramp_s)

    return step


def vswr_rise(target: float, ramp_s: float) -> ScenarioStep:
    """An antenna or feeder fault: VSWR climbs to `target`, reflected power follows."""
    climb = ramp_to(VSWR, target, ramp_s)

    def step(
        values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
    ) -> None:
        climb(values, start, elapsed)
        values[REFLECTED] = reflected_w(number(values, FORWARD), number(values, VSWR))

    return step


def forward_drop(fraction: float, ramp_s: float) -> ScenarioStep:
    """A failing amplifier module: forward power falls to `fraction` of where it was."""

    def step(
        values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float
    ) -> None:
        values[FORWARD] = ramp(
            number(start, FORWARD), number(start, FORWARD) * fraction, elapsed, ramp_s
        )
        values[REFLECTED] = reflected_w(number(values, FORWARD), number(values, VSWR))

    return step


def rf_off(values: MutableMapping[str, Value], start: Mapping[str, Value], elapsed: float) -> None:
    """RF off (a trip, a mains cut on the transmitter): no forward, no reflected power."""
    values[ON_AIR] = False
    values[FORWARD] = 0.0
    values[REFLECTED] = 0.0


def high_vswr_scenario(
    nominal_w: float,
    target: float,
    ramp_s: float,
    wrap: Callable[[ScenarioStep], ScenarioStep] = lambda step: step,
    flags: Mapping[str, Value] | None = None,
    detail: str = "reflected power follows",
) -> Scenario:
    """The antenna fault every transmitter driver plays: VSWR ramps to `target`, reflected
    power follows from the nominal forward power; CRITICAL once it got there.

    `wrap` lets a driver derive its alarm flags from the values; `flags` are the flag
    readings the scenario must then show.
    """
    return Scenario(
        "high_vswr",
        f"antenna fault: VSWR climbs to {target} in {ramp_s:g} s, {detail}",
        wrap(vswr_rise(target, ramp_s)),
        expect=Expect(
            HealthState.CRITICAL,
            {
                VSWR: target,
                REFLECTED: round(reflected_w(nominal_w, target), 1),
                **(flags or {}),
            },
            after_s=ramp_s + 30,
        ),
    )
