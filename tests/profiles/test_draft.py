"""draft.py: what a draft holds for a walk, with and without the device's MIB.

Every draft must pass the profile schema unchanged; the walks are written here
in `snmpwalk -On` form, the MIB is tests/data/DEMO-TX-MIB.txt.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fieldagent.profiles.draft import MAX_METRICS, draft, draft_profile, profile_name
from fieldagent.profiles.mibs import MibIndex, compile_mibs
from fieldagent.profiles.schema import MetricSection, ProfileFile
from fieldagent.profiles.walk import parse_walk

DEMO_MIB = Path(__file__).resolve().parent.parent / "data" / "DEMO-TX-MIB.txt"
TX = "1.3.6.1.4.1.64999.1"

DEMO_WALK = f"""\
.1.3.6.1.2.1.1.1.0 = STRING: "Demo TX-500 DVB-T transmitter, firmware 2.1"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.64999.2.500
.1.3.6.1.2.1.1.3.0 = Timeticks: (123456) 0:20:34.56
.1.3.6.1.2.1.1.4.0 = STRING: "chief engineer"
.1.3.6.1.2.1.1.5.0 = STRING: "tx-hill"
.1.3.6.1.2.1.2.2.1.8.1 = INTEGER: up(1)
.1.3.6.1.2.1.2.2.1.10.1 = Counter32: 123456
.1.3.6.1.2.1.6.5.0 = Counter32: 12
.{TX}.1.1.0 = STRING: "TX-500"
.{TX}.1.2.0 = INTEGER: 480
.{TX}.1.3.0 = INTEGER: 352
.{TX}.1.4.0 = INTEGER: 1
.{TX}.1.5.0 = Counter32: 7
.{TX}.2.1.2.1 = INTEGER: 41
.{TX}.2.1.2.2 = INTEGER: 43
.{TX}.2.1.3.1 = INTEGER: 1
.{TX}.2.1.3.2 = INTEGER: 5
"""


@pytest.fixture(scope="module")
def mib() -> MibIndex:
    return compile_mibs([DEMO_MIB])


def checked(text: str) -> ProfileFile:
    """The draft as the schema reads it: a draft that does not pass fails the test."""
    return ProfileFile.model_validate(tomllib.loads(text))


def metrics_of(profile: ProfileFile) -> dict[str, MetricSection]:
    return {m.key: m for m in profile.metric}


def test_with_the_mib_names_enums_units_divisors_and_tables_land_in_the_draft(
    mib: MibIndex,
) -> None:
    text = draft_profile(
        parse_walk(DEMO_WALK, "tx.walk"), mib, "demo_tx", "tx", "tx.walk", ["mibs/DEMO-TX-MIB.txt"]
    )
    profile = checked(text)
    metrics = metrics_of(profile)
    assert list(metrics) == [
        "tx.sys_name",
        "tx.tx_model_name",
        "tx.tx_forward_power",
        "tx.tx_mer",
        "tx.tx_oper_state",
        "tx.tx_resets",
        "tx.tx_pa_temperature",
        "tx.tx_pa_state",
    ]
    power, mer = metrics["tx.tx_forward_power"], metrics["tx.tx_mer"]
    assert (power.source, power.unit, power.divisor, power.alarm_class) == (
        f"{TX}.1.2.0",
        "W",
        1.0,
        "power",
    )
    assert (mer.unit, mer.divisor, mer.alarm_class, mer.type) == ("dB", 10.0, "other", "number")
    state = metrics["tx.tx_oper_state"]
    assert (state.type, state.alarm_class) == ("enum", "state")
    assert state.enum == {"0": "off", "1": "onAir", "2": "standby", "3": "fault"}
    assert (metrics["tx.tx_resets"].type, metrics["tx.tx_resets"].alarm_class) == (
        "counter",
        "rate",
    )
    temperature = metrics["tx.tx_pa_temperature"]
    assert (temperature.source, temperature.table, temperature.unit) == (
        f"{TX}.2.1.2",
        "tx_pa",
        "°C",
    )
    assert temperature.alarm_class == "temperature"
    # A value the MIB does not list is kept under a name that says so, not dropped.
    assert metrics["tx.tx_pa_state"].enum == {
        "1": "ok",
        "2": "warning",
        "3": "failed",
        "5": "value_5",
    }
    assert profile.simulator.initial == {
        "tx.sys_name": "tx-hill",
        "tx.tx_model_name": "TX-500",
        "tx.tx_forward_power": 480,
        "tx.tx_mer": 35.2,
        "tx.tx_oper_state": "onAir",
        "tx.tx_resets": 7,
        "tx.tx_pa_temperature[tx_pa=1]": 41,
        "tx.tx_pa_temperature[tx_pa=2]": 43,
        "tx.tx_pa_state[tx_pa=1]": "ok",
        "tx.tx_pa_state[tx_pa=2]": "value_5",
    }
    assert profile.profile.mibs == ["mibs/DEMO-TX-MIB.txt"]
    assert "# 1.3.6.1.4.1.64999.1.1.3.0  DEMO-TX-MIB::txMer: Modulation error ratio" in text


def test_the_header_identity_and_simulator_objects(mib: MibIndex) -> None:
    profile = checked(draft_profile(parse_walk(DEMO_WALK, "w"), mib, "demo_tx", "tx", "w"))
    header = profile.profile
    assert (header.name, header.kind, header.protocol, header.maturity) == (
        "demo_tx",
        "tx",
        "snmp",
        "model",
    )
    assert header.title == "Demo TX-500 DVB-T transmitter, firmware 2.1"
    assert profile.identity.sys_object_ids == ["1.3.6.1.4.1.64999.2.500"]
    assert profile.identity.probe == TX
    objects = profile.simulator.objects
    assert objects["1.3.6.1.2.1.1.1.0"] == "Demo TX-500 DVB-T transmitter, firmware 2.1"
    assert objects["1.3.6.1.2.1.1.2.0"].model_dump() == {"oid": "1.3.6.1.4.1.64999.2.500"}


def test_standard_mib2_objects_are_left_out_unless_a_mib_names_them(mib: MibIndex) -> None:
    sources = {
        m.source
        for m in checked(draft_profile(parse_walk(DEMO_WALK, "w"), mib, "d_x", "tx", "w")).metric
    }
    assert not any(s.startswith(("1.3.6.1.2.1.2.", "1.3.6.1.2.1.6.")) for s in sources)
    assert "1.3.6.1.2.1.1.3.0" not in sources  # sysUpTime
    assert "1.3.6.1.2.1.1.4.0" not in sources  # sysContact: a person, not the device
    assert "1.3.6.1.2.1.1.1.0" not in sources  # sysDescr: the title and a simulator object


def test_every_number_gets_a_limits_line_to_fill_in(mib: MibIndex) -> None:
    text = draft_profile(parse_walk(DEMO_WALK, "w"), mib, "d_x", "tx", "w")
    assert text.count("# limits = { warn_low = ..., crit_low = ...") == 3
    assert "\nlimits" not in text
    assert 'maturity = "model"' in text and "# A draft is a model" in text


WALK_WITHOUT_MIB = """\
.1.3.6.1.2.1.1.1.0 = STRING: "Sat IRD"
.1.3.6.1.4.1.9999.3.1.0 = INTEGER: 3.5 dB
.1.3.6.1.4.1.9999.3.2.0 = INTEGER: -38 dBm
.1.3.6.1.4.1.9999.3.3.0 = INTEGER: 1200
.1.3.6.1.4.1.9999.3.4.0 = INTEGER: locked(1)
.1.3.6.1.4.1.9999.3.5.0 = Counter64: 9000000000
.1.3.6.1.4.1.9999.3.6.0 = Gauge32: 4000000000
.1.3.6.1.4.1.9999.3.7.0 = Hex-STRING: 00 FF 10
.1.3.6.1.4.1.9999.3.8.0 = STRING: "a message
over two lines"
.1.3.6.1.4.1.9999.3.9.0 = STRING: "v4.2.1"
.1.3.6.1.4.1.9999.3.10.0 = OID: .1.3.6.1.4.1.9999.1
.1.3.6.1.4.1.9999.4.1.2.1 = INTEGER: 75
.1.3.6.1.4.1.9999.4.1.2.2 = INTEGER: 80
.1.3.6.1.4.1.9999.4.1.2.3 = INTEGER: 82
.1.3.6.1.4.1.9999.5.7 = INTEGER: 12
"""


def test_without_a_mib_units_and_divisors_come_only_from_what_the_walk_printed() -> None:
    profile = checked(
        draft_profile(parse_walk(WALK_WITHOUT_MIB, "ird.walk"), None, "ird_x", "ird", "ird.walk")
    )
    metrics = metrics_of(profile)
    cn, level, plain = metrics["ird.obj_3_1"], metrics["ird.obj_3_2"], metrics["ird.obj_3_3"]
    assert (cn.unit, cn.divisor, cn.alarm_class) == ("dB", 10.0, "other")
    assert (level.unit, level.divisor, level.alarm_class) == ("dBm", 1.0, "power")
    assert (plain.unit, plain.divisor) == ("", 1.0)  # 1200 of what: the walk does not say
    lock = metrics["ird.obj_3_4"]
    assert (lock.type, lock.enum, lock.alarm_class) == ("enum", {"1": "locked"}, "state")
    big = metrics["ird.obj_3_5"]
    assert (big.type, big.counter_bits) == ("counter", 64)
    assert profile.simulator.initial["ird.obj_3_1"] == 3.5
    assert profile.simulator.initial["ird.obj_3_4"] == "locked"
    assert profile.simulator.initial["ird.obj_3_9"] == "v4.2.1"


def test_without_a_mib_values_no_metric_reads_are_left_out() -> None:
    sources = {
        m.source
        for m in checked(
            draft_profile(parse_walk(WALK_WITHOUT_MIB, "w"), None, "ird_x", "ird", "w")
        ).metric
    }
    base = "1.3.6.1.4.1.9999.3"
    assert f"{base}.6.0" not in sources  # a Gauge32 beyond what a simulator can serve
    assert f"{base}.7.0" not in sources  # binary
    assert f"{base}.8.0" not in sources  # a message, not an identity
    assert f"{base}.10.0" not in sources  # an OID
    assert f"{base}.9.0" in sources


def test_without_a_mib_siblings_served_as_column_index_become_one_table() -> None:
    profile = checked(draft_profile(parse_walk(WALK_WITHOUT_MIB, "w"), None, "ird_x", "ird", "w"))
    metrics = metrics_of(profile)
    column = metrics["ird.obj_4_1_2"]
    assert (column.source, column.table) == ("1.3.6.1.4.1.9999.4.1.2", "row")
    assert {k: v for k, v in profile.simulator.initial.items() if "[" in k} == {
        "ird.obj_4_1_2[row=1]": 75,
        "ird.obj_4_1_2[row=2]": 80,
        "ird.obj_4_1_2[row=3]": 82,
    }
    # One object without `.0` and no sibling: a scalar served without its instance.
    lone = metrics["ird.obj_5_7"]
    assert (lone.source, lone.table) == ("1.3.6.1.4.1.9999.5.7", None)
    assert profile.identity.probe == "1.3.6.1.4.1.9999"


def test_keys_are_unique() -> None:
    walk = (
        ".1.3.6.1.4.1.9999.1.1.2.3.4.5.0 = INTEGER: 1\n"
        ".1.3.6.1.4.1.9999.2.1.2.3.4.5.0 = INTEGER: 2\n"
    )
    keys = [
        m.key for m in checked(draft_profile(parse_walk(walk, "w"), None, "x_x", "d", "w")).metric
    ]
    assert keys == ["d.obj_1_2_3_4_5", "d.obj_1_2_3_4_5_2"]


def test_a_huge_walk_is_cut_at_the_cap_with_a_warning_that_says_what_was_dropped() -> None:
    walk = "".join(f".1.3.6.1.4.1.9999.1.{n}.0 = INTEGER: {n}\n" for n in range(1, 601))
    drafted = draft(parse_walk(walk, "big.walk"), None, "big_x", "d", "big.walk")
    assert len(checked(drafted.text).metric) == MAX_METRICS == drafted.metrics
    assert drafted.warnings == (
        "big.walk: the draft holds the first 500 metrics; 100 more left out, from"
        " 1.3.6.1.4.1.9999.1.501.0 to 1.3.6.1.4.1.9999.1.600.0",
    )


def test_text_is_written_as_toml_reads_it() -> None:
    walk = (
        '.1.3.6.1.2.1.1.1.0 = STRING: "Tx \\"Hill\\" \\\\ 5 kW\n'
        'second line"\n'
        '.1.3.6.1.4.1.9999.1.1.0 = STRING: "Trạm Hàm Tân"\n'
    )
    profile = checked(draft_profile(parse_walk(walk, "w"), None, "x_x", "d", "w"))
    assert profile.profile.title == 'Tx "Hill" \\\\ 5 kW second line'
    assert profile.simulator.initial["d.obj_1_1"] == "Trạm Hàm Tân"


def test_profile_names_from_file_names_are_always_valid() -> None:
    assert profile_name(Path("Tx-5kW.toml")) == "tx_5kw"
    assert profile_name(Path("2024 walk.snmprec")) == "device_2024_walk"
    assert profile_name(Path("t.walk")) == "t_profile"


STANDARD_MIB = """DEMO-STD-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-TYPE, Counter32, mib-2 FROM SNMPv2-SMI;
demoStd OBJECT IDENTIFIER ::= { mib-2 9990 }
stdBatteryStatus OBJECT-TYPE
    SYNTAX INTEGER { normal(1), low(2) } MAX-ACCESS read-only STATUS current
    DESCRIPTION "Battery status." ::= { demoStd 1 }
stdUdpDatagrams OBJECT-TYPE
    SYNTAX Counter32 MAX-ACCESS read-only STATUS current
    DESCRIPTION "Counted in the udp group." ::= { mib-2 7 1 }
END
"""


def test_a_standard_object_a_given_mib_names_is_drafted_but_not_the_statistics(
    tmp_path: Path,
) -> None:
    mib_file = tmp_path / "std.mib"
    mib_file.write_text(STANDARD_MIB)
    walk = (
        ".1.3.6.1.2.1.7.1.0 = Counter32: 991\n"
        ".1.3.6.1.2.1.9990.1.0 = INTEGER: 1\n"
        ".1.3.6.1.2.1.9991.1.0 = INTEGER: 4\n"
        ".1.3.6.1.4.1.9999.1.0 = INTEGER: 7\n"
    )
    profile = checked(
        draft_profile(parse_walk(walk, "w"), compile_mibs([mib_file]), "ups_x", "ups", "w")
    )
    assert [(m.key, m.source) for m in profile.metric] == [
        ("ups.std_battery_status", "1.3.6.1.2.1.9990.1.0"),
        ("ups.obj_1", "1.3.6.1.4.1.9999.1.0"),
    ]
    # A scalar the MIB names, served without its `.0`, keeps its name.
    quirky = parse_walk(".1.3.6.1.2.1.9990.1 = INTEGER: 2\n", "w")
    metric = checked(draft_profile(quirky, compile_mibs([mib_file]), "ups_x", "ups", "w")).metric[0]
    assert (metric.key, metric.source, metric.enum) == (
        "ups.std_battery_status",
        "1.3.6.1.2.1.9990.1",
        {"1": "normal", "2": "low"},
    )


STEP_MIB = """DEMO-STEP-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-TYPE, Integer32, enterprises FROM SNMPv2-SMI;
demoStep OBJECT IDENTIFIER ::= { enterprises 64994 }
stepLevel OBJECT-TYPE
    SYNTAX Integer32 UNITS "0.1 dBm" MAX-ACCESS read-only STATUS current
    DESCRIPTION "Input level." ::= { demoStep 1 }
stepHeat OBJECT-TYPE
    SYNTAX Integer32 UNITS "tenths of a degree C" MAX-ACCESS read-only STATUS current
    DESCRIPTION "Cabinet temperature." ::= { demoStep 2 }
stepCurrent OBJECT-TYPE
    SYNTAX Integer32 UNITS "0.01 A" MAX-ACCESS read-only STATUS current
    DESCRIPTION "Supply current." ::= { demoStep 3 }
END
"""


def test_units_that_state_their_step_give_the_divisor(tmp_path: Path) -> None:
    mib_file = tmp_path / "step.mib"
    mib_file.write_text(STEP_MIB)
    walk = (
        ".1.3.6.1.4.1.64994.1.0 = INTEGER: -384\n"
        ".1.3.6.1.4.1.64994.2.0 = INTEGER: 412\n"
        ".1.3.6.1.4.1.64994.3.0 = INTEGER: 1234\n"
    )
    profile = checked(
        draft_profile(parse_walk(walk, "w"), compile_mibs([mib_file]), "st_x", "st", "w")
    )
    assert [(m.unit, m.divisor, m.alarm_class) for m in profile.metric] == [
        ("dBm", 10.0, "power"),
        ("°C", 10.0, "temperature"),
        ("A", 100.0, "power"),
    ]
    assert profile.simulator.initial == {
        "st.step_level": -38.4,
        "st.step_heat": 41.2,
        "st.step_current": 12.34,
    }
