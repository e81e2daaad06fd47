"""Profiles built into drivers: the parts checked against each other, every problem at
once by file and key path, scenarios said as data, and the shipped profiles read as the
modules they replaced did."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from drivers import REGISTRY
from fieldagent.alarms.messages import limit_messages, titles
from fieldagent.driver import Register, RegisterKind, RegisterType, ValueType, WordOrder
from fieldagent.model import HealthState
from fieldagent.profiles.build import ProfileError
from fieldagent.profiles.load import parse_profile

HEADER = """
[profile]
name = "test_tx"
title = "Test transmitter"
kind = "transmitter"
protocol = "snmp"
maturity = "model"
"""

POWER = """
[[metric]]
key = "rf.forward_w"
title = "Forward power"
source = "1.3.6.1.4.1.99999.1.1.0"
unit = "W"
divisor = 10
valid_min = 0
valid_max = 2000
limits = { warn_low = 400, crit_low = 100 }
alarm_class = "power"
"""


def built(text: str, protocol: str = "snmp"):  # type: ignore[no-untyped-def]
    body = textwrap.dedent(HEADER).replace('"snmp"', f'"{protocol}"') + textwrap.dedent(text)
    return parse_profile(body, "tx.toml", Path("."))


def problems(text: str, protocol: str = "snmp") -> list[str]:
    with pytest.raises(ProfileError) as caught:
        built(text, protocol)
    return caught.value.problems


def test_a_profile_declares_what_a_module_declares() -> None:
    driver = built(
        POWER
        + """
[[metric]]
key = "tx.state"
title = "State"
source = "1.3.6.1.4.1.99999.1.2.0"
type = "enum"
enum = { "1" = "on_air", "2" = "standby", "3" = "fault" }
states = { standby = "warning", fault = "critical" }
alarm_class = "state"

[identity]
sys_object_ids = ["1.3.6.1.4.1.99999"]

[simulator]
initial = { "rf.forward_w" = 500.0, "tx.state" = "on_air" }
"""
    )
    forward, state = driver.metrics
    assert (forward.source, forward.divisor, forward.valid) == (
        "1.3.6.1.4.1.99999.1.1.0",
        10,
        (0, 2000),
    )
    assert (forward.limits.warn_low, forward.limits.crit_low) == (400, 100)
    assert state.enum == {1: "on_air", 2: "standby", 3: "fault"}
    assert state.states == {"standby": HealthState.WARNING, "fault": HealthState.CRITICAL}
    assert driver.identity.sys_object_ids == ("1.3.6.1.4.1.99999",)
    assert driver.encode(driver.simulator.initial) == {
        "1.3.6.1.4.1.99999.1.1.0": 5000,
        "1.3.6.1.4.1.99999.1.2.0": 1,
    }


def test_every_problem_is_reported_at_once_by_key_path_with_did_you_mean() -> None:
    found = problems(
        POWER
        + """
[[metric]]
key = "tx.state"
title = "State"
source = "1.3.6.1.4.1.99999.1.2.0"
type = "enum"
enum = { "1" = "on_air", "x" = "off" }
states = { stanby = "warning" }
alarm_class = "state"

[[trap]]
oid = "1.3.6.1.4.1.99999.0.1"
alarm = "tx.fault"
action = "raise"
severity = "critical"
message_vi = "Lỗi"
message_en = "Fault"
cleared_by = "rf.forwrd_w"

[simulator]
initial = { "rf.forward_w" = 500.0, "rf.reflected_w" = 1.0 }
"""
    )
    assert found[0] == "tx.toml: metric[1] (tx.state).enum.x: the raw value 'x' is not an integer"
    assert found[1].startswith("tx.toml: metric[1] (tx.state).states.stanby: 'stanby' is not")
    assert "(did you mean 'on_air'?)" not in found[1]
    assert found[2] == (
        "tx.toml: trap[0] (tx.fault).cleared_by: no metric 'rf.forwrd_w'"
        " (did you mean 'rf.forward_w'?)"
    )
    assert found[3].startswith('tx.toml: simulator.initial."rf.reflected_w": no reading')
    assert len(found) == 4


def test_an_unknown_or_misspelt_key_is_named_with_the_key_it_resembles() -> None:
    found = problems(POWER.replace('unit = "W"', 'unti = "W"') + "\n[simulator]\nintial = {}\n")
    assert "tx.toml: metric[0] (rf.forward_w).unti: unknown key (did you mean 'unit'?)" in found
    assert "tx.toml: simulator.intial: unknown key (did you mean 'initial'?)" in found


def test_a_source_must_be_of_the_profiles_protocol() -> None:
    found = problems(POWER.replace("1.3.6.1.4.1.99999.1.1.0", "TX.PFWD"))
    assert found == [
        "tx.toml: metric[0] (rf.forward_w).source: snmp source must be a dotted numeric OID"
        " (1.3.6.1...), not 'TX.PFWD'"
    ]
    ascii_problems = problems(POWER.replace("1.3.6.1.4.1.99999.1.1.0", "TX.PFWD?"), "ascii")
    assert ascii_problems[0].startswith("tx.toml: metric[0] (rf.forward_w).source: ascii source")


def test_an_object_named_by_its_mib_needs_the_mib_listed() -> None:
    found = problems(POWER.replace("1.3.6.1.4.1.99999.1.1.0", "TX-MIB::txForwardPower.0"))
    assert found == [
        "tx.toml: metric[0] (rf.forward_w).source: 'TX-MIB::txForwardPower.0' names an object:"
        " list its MIB file in [profile] mibs"
    ]


def test_a_modbus_source_is_a_table_and_an_address_with_its_type() -> None:
    driver = built(
        """
[[metric]]
key = "gen.run_hours"
title = "Run hours"
source = "holding:1798"
register_type = "u32"
word_order = "little"
divisor = 3600
alarm_class = "other"
""",
        "modbus",
    )
    assert driver.metrics[0].source == Register(
        RegisterKind.HOLDING, 1798, RegisterType.U32, WordOrder.LITTLE
    )
    found = problems(
        """
[[metric]]
key = "gen.running"
title = "Running"
source = "discrete:1"
register_type = "u16"
type = "bool"
alarm_class = "state"

[[metric]]
key = "gen.fuel_pct"
title = "Fuel"
source = "holdng:70000"
alarm_class = "other"
""",
        "modbus",
    )
    assert found[0] == (
        "tx.toml: metric[0] (gen.running).register_type: a discrete bit cannot be read as u16"
    )
    assert found[1].startswith("tx.toml: metric[1] (gen.fuel_pct).source: a Modbus source is")
    assert found[1].endswith("not 'holdng:70000' (did you mean 'holding'?)")


def test_register_keys_belong_to_modbus_profiles_only() -> None:
    found = problems(POWER.replace('unit = "W"', 'unit = "W"\nregister_type = "u32"'))
    assert found == [
        "tx.toml: metric[0] (rf.forward_w).register_type: only a Modbus profile has"
        " register_type (this is snmp)"
    ]


def test_states_and_limits_fit_the_type() -> None:
    found = problems(
        """
[[metric]]
key = "tx.ready"
title = "Ready"
source = "1.3.6.1.4.1.99999.1.3.0"
type = "bool"
states = { yes = "warning" }
limits = { warn_low = 1 }
alarm_class = "state"
"""
    )
    assert found == [
        "tx.toml: metric[0] (tx.ready).states.yes: a bool metric's states are true and false",
        "tx.toml: metric[0] (tx.ready).limits: a bool metric is judged by states, not limits",
    ]


def test_a_scenario_is_data_set_add_and_ramp_as_a_pure_function_of_time() -> None:
    driver = built(
        POWER
        + """
[[metric]]
key = "tx.switches"
title = "Switch-overs"
source = "1.3.6.1.4.1.99999.1.4.0"
alarm_class = "other"

[simulator]
initial = { "rf.forward_w" = 500.0, "tx.switches" = 3 }

[[simulator.scenario]]
name = "power_drop"
description = "the amplifier fails slowly"
set = { "tx.switches" = 7 }
ramp = { "rf.forward_w" = { to = 100, over_s = 40 } }
expect = { health = "critical", after_s = 40 }

[[simulator.scenario]]
name = "switched"
description = "one more switch-over"
add = { "tx.switches" = 1 }
"""
    )
    drop = driver.simulator.scenarios["power_drop"].step
    switched = driver.simulator.scenarios["switched"].step
    assert drop is not None and switched is not None
    start = dict(driver.simulator.initial)
    at: dict[float, dict[str, object]] = {}
    for elapsed in (0.0, 10.0, 40.0, 4000.0):
        values = dict(start)
        drop(values, start, elapsed)
        at[elapsed] = values
    assert [at[t]["rf.forward_w"] for t in (0.0, 10.0, 40.0, 4000.0)] == [
        500.0,
        400.0,
        100.0,
        100.0,
    ]
    assert at[10.0]["tx.switches"] == 7
    values = dict(start)
    switched(values, start, 86_400.0)
    assert values["tx.switches"] == 4
    assert driver.simulator.scenarios["power_drop"].expect.health is HealthState.CRITICAL


def test_a_scenario_may_only_touch_the_profiles_numbers() -> None:
    found = problems(
        POWER
        + """
[[simulator.scenario]]
name = "bad"
description = "ramps what is not a number"
ramp = { "rf.forward_w" = { to = 1, over_s = 1 }, "tx.name" = { to = 1, over_s = 1 } }
set = { "rf.forward_w" = "high" }
"""
    )
    assert found == [
        'tx.toml: simulator.scenario[0] (bad).set."rf.forward_w": rf.forward_w: expected a'
        " number, got 'high'",
        "tx.toml: simulator.scenario[0] (bad).ramp.\"tx.name\": no number metric 'tx.name'",
    ]


@pytest.mark.parametrize("name", ["offair_inovonics640", "changeover_ascii"])
def test_the_pure_data_drivers_ship_as_profiles(name: str) -> None:
    assert REGISTRY.origins[name].endswith(f"drivers/profiles/{name}.toml")


def test_the_converted_profiles_read_as_their_modules_did() -> None:
    """Figures fixed from the modules the profiles replaced (OnOff, 10 kHz steps, TEXT)."""
    offair = REGISTRY["offair_inovonics640"]
    assert offair.metric("offair.frequency_mhz").divisor == 100
    assert offair.metric("offair.audio_loss").enum == {0: "off", 1: "on"}
    assert len(offair.traps) == 8
    assert {r.cleared_by for r in offair.traps} == {
        "offair.audio_loss",
        "offair.low_signal",
        "offair.rds_error",
        "offair.pilot_loss",
    }
    changeover = REGISTRY["changeover_ascii"]
    assert changeover.metric("changeover.last_switch_reason").type is ValueType.TEXT
    assert changeover.sample_config.endswith("interval = 10\n")


def test_a_profile_with_numbers_only_loads_without_its_listed_mibs(tmp_path: Path) -> None:
    text = textwrap.dedent(HEADER).replace(
        'maturity = "model"', 'maturity = "model"\nmibs = ["gone/ACME-MIB.txt"]'
    )
    driver = parse_profile(text + textwrap.dedent(POWER), "tx.toml", tmp_path)
    assert driver.metrics[0].source == "1.3.6.1.4.1.99999.1.1.0"
    named = text + textwrap.dedent(POWER).replace("1.3.6.1.4.1.99999.1.1.0", "ACME-MIB::txPower.0")
    with pytest.raises(ProfileError) as caught:
        parse_profile(named, "tx.toml", tmp_path)
    assert caught.value.problems[0].startswith("tx.toml: profile.mibs: ")
    assert "ACME-MIB.txt" in caught.value.problems[0]


def test_a_table_served_as_one_object_per_row_names_each_rows_object() -> None:
    driver = built(
        """
[[metric]]
key = "exciter.fault"
title = "Exciter fault"
source = "1.3.6.1.4.1.99999.2"
type = "bool"
states = { true = "critical" }
table = "exciter"
row_sources = { "1" = "1.3.6.1.4.1.99999.2.1.0", "2" = "1.3.6.1.4.1.99999.2.7.0" }
alarm_class = "state"

[simulator]
initial = { "exciter.fault[exciter=1]" = false, "exciter.fault[exciter=2]" = true }
"""
    )
    assert driver.scalar_oids() == {
        "1.3.6.1.4.1.99999.2.1.0": "exciter.fault[exciter=1]",
        "1.3.6.1.4.1.99999.2.7.0": "exciter.fault[exciter=2]",
    }
    assert driver.walks() == ()
    found = problems(
        POWER.replace('unit = "W"', 'unit = "W"\nrow_sources = { "1" = "1.3.6.1.4.1.9.1.0" }')
    )
    assert found == [
        "tx.toml: metric[0] (rf.forward_w).row_sources: only a table metric of an SNMP profile"
        " has them"
    ]


def test_a_profiles_vietnamese_title_names_its_alarms() -> None:
    driver = built(
        POWER.replace(
            'title = "Forward power"', 'title = "Forward power"\ntitle_vi = "Công suất phát"'
        )
    )
    metric = driver.metrics[0]
    assert limit_messages(metric, metric.key, "low", 90, 100)[0].startswith("Công suất phát thấp")
    assert titles(
        REGISTRY["offair_inovonics640"].metric("offair.audio_loss"), "offair.audio_loss"
    ) == (
        "Mất âm thanh thu kiểm tra",
        "Audio loss",
    )


def test_a_number_declares_its_report_deadband_and_nothing_else_may() -> None:
    driver = built(POWER.replace('alarm_class = "power"', 'alarm_class = "power"\ndeadband = 20'))
    assert driver.metric("rf.forward_w").deadband == 20.0
    assert built(POWER).metric("rf.forward_w").deadband is None
    state = """
[[metric]]
key = "tx.on_air"
title = "On air"
source = "1.3.6.1.4.1.99999.1.2.0"
type = "bool"
alarm_class = "state"
deadband = 1
"""
    assert problems(state) == [
        "tx.toml: metric[0] (tx.on_air).deadband: a bool metric has no deadband"
        " (any change is reported)"
    ]
    negative = problems(
        POWER.replace('alarm_class = "power"', 'alarm_class = "power"\ndeadband = -2')
    )
    assert len(negative) == 1
    assert negative[0].startswith("tx.toml: metric[0] (rf.forward_w).deadband: ")
