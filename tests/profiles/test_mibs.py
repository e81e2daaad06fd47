"""mibs.py: MIB files compiled by pysmi into an index of objects, and its errors.

The MIBs are written here (and tests/data/DEMO-TX-MIB.txt, written for these
tests): an enterprise, a scalar with UNITS and a DISPLAY-HINT through a textual
convention, an enumeration, a counter and a table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldagent.profiles.mibs import MibError, MibIndex, compile_mibs

DEMO_MIB = Path(__file__).resolve().parent.parent / "data" / "DEMO-TX-MIB.txt"
TX = "1.3.6.1.4.1.64999.1"

TC_MODULE = """DEMO-TC-MIB DEFINITIONS ::= BEGIN
IMPORTS TEXTUAL-CONVENTION FROM SNMPv2-TC;
HundredthVolt ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "d-2"
    STATUS current
    DESCRIPTION "A voltage in hundredths of a volt."
    SYNTAX Integer32
OnOff ::= TEXTUAL-CONVENTION
    STATUS current
    DESCRIPTION "A switch."
    SYNTAX INTEGER { off(0), on(1) }
END
"""

PSU_MIB = """DEMO-PSU-MIB DEFINITIONS ::= BEGIN
IMPORTS MODULE-IDENTITY, OBJECT-TYPE, enterprises FROM SNMPv2-SMI
        TruthValue FROM SNMPv2-TC
        HundredthVolt, OnOff FROM DEMO-TC-MIB;
demoPsu MODULE-IDENTITY
    LAST-UPDATED "202601010000Z" ORGANIZATION "tests" CONTACT-INFO "none"
    DESCRIPTION "A power supply." ::= { enterprises 64996 }
psuVoltage OBJECT-TYPE
    SYNTAX HundredthVolt UNITS "V" MAX-ACCESS read-only STATUS current
    DESCRIPTION "Output voltage. Measured at the terminals." ::= { demoPsu 1 }
psuFan OBJECT-TYPE
    SYNTAX OnOff MAX-ACCESS read-only STATUS current
    DESCRIPTION "Whether the fan runs." ::= { demoPsu 2 }
psuRedundant OBJECT-TYPE
    SYNTAX TruthValue MAX-ACCESS read-only STATUS current
    DESCRIPTION "Whether a second supply stands by." ::= { demoPsu 3 }
END
"""

V1_MIB = """DEMO-V1-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises, Counter FROM RFC1155-SMI
        OBJECT-TYPE FROM RFC-1212
        DisplayString FROM RFC1213-MIB;
demoV1 OBJECT IDENTIFIER ::= { enterprises 64995 }
v1Name OBJECT-TYPE SYNTAX DisplayString ACCESS read-only STATUS mandatory
    DESCRIPTION "The unit's name." ::= { demoV1 1 }
v1Frames OBJECT-TYPE SYNTAX Counter ACCESS read-only STATUS mandatory
    DESCRIPTION "Frames decoded." ::= { demoV1 2 }
END
"""


@pytest.fixture(scope="module")
def demo() -> MibIndex:
    return compile_mibs([DEMO_MIB])


def test_a_scalar_with_units_and_a_display_hint_through_a_textual_convention(
    demo: MibIndex,
) -> None:
    found = demo.object_at(f"{TX}.1.3.0")
    assert found is not None
    mer, instance = found
    assert instance == "0"
    assert (mer.qualified, mer.syntax, mer.units, mer.display_hint) == (
        "DEMO-TX-MIB::txMer",
        "INTEGER",
        "dB",
        "d-1",
    )
    assert mer.divisor == 10
    assert mer.description == "Modulation error ratio of the output signal."
    assert not mer.is_column


def test_an_enumeration_a_counter_and_a_text(demo: MibIndex) -> None:
    state = demo.object_at(f"{TX}.1.4.0")
    resets = demo.object_at(f"{TX}.1.5.0")
    name = demo.object_at(f"{TX}.1.1.0")
    assert state is not None and resets is not None and name is not None
    assert state[0].enums == {0: "off", 1: "onAir", 2: "standby", 3: "fault"}
    assert resets[0].syntax == "Counter32"
    assert (name[0].syntax, name[0].display_hint, name[0].max_access) == (
        "OCTET STRING",
        "255a",
        "read-only",
    )
    assert name[0].description == "The model name."  # the first sentence is enough


def test_a_table_column_names_its_row_and_index(demo: MibIndex) -> None:
    found = demo.object_at(f"{TX}.2.1.2.7")
    assert found is not None
    temperature, row = found
    assert row == "7"
    assert (temperature.name, temperature.units) == ("txPaTemperature", "C")
    assert (temperature.entry, temperature.index_names) == ("txPaEntry", ("txPaIndex",))
    assert temperature.is_column


def test_an_oid_no_object_covers_has_none(demo: MibIndex) -> None:
    assert demo.object_at("1.3.6.1.4.1.64999.9.9.0") is None
    assert demo.object_at("1.3.6.1.2.1.1.1.0") is None


def test_resolve_turns_names_into_numbers(demo: MibIndex) -> None:
    assert demo.resolve("DEMO-TX-MIB::txMer.0") == f"{TX}.1.3.0"
    assert demo.resolve("DEMO-TX-MIB::txPaState") == f"{TX}.2.1.3"
    assert demo.resolve("DEMO-TX-MIB::demoTx") == "1.3.6.1.4.1.64999"


def test_resolve_an_unknown_name_says_which_and_suggests(demo: MibIndex) -> None:
    with pytest.raises(KeyError) as unknown:
        demo.resolve("DEMO-TX-MIB::txMerr.0")
    assert unknown.value.args[0] == (
        "DEMO-TX-MIB::txMerr.0: DEMO-TX-MIB has no object 'txMerr'"
        " (did you mean 'DEMO-TX-MIB::txMer'?)"
    )
    with pytest.raises(KeyError) as module:
        demo.resolve("DEMO-TX::txMer")
    assert "no MIB module 'DEMO-TX'" in module.value.args[0]
    assert "(did you mean 'DEMO-TX-MIB'?)" in module.value.args[0]


def test_an_import_is_found_beside_the_given_file(tmp_path: Path) -> None:
    (tmp_path / "DEMO-TC-MIB.txt").write_text(TC_MODULE)
    psu = tmp_path / "psu.mib"  # the file's name is not the module's
    psu.write_text(PSU_MIB)
    index = compile_mibs([psu])
    voltage = index.object_at("1.3.6.1.4.1.64996.1.0")
    fan = index.object_at("1.3.6.1.4.1.64996.2.0")
    redundant = index.object_at("1.3.6.1.4.1.64996.3.0")
    assert voltage is not None and fan is not None and redundant is not None
    assert (voltage[0].units, voltage[0].display_hint, voltage[0].divisor) == ("V", "d-2", 100)
    assert voltage[0].description == "Output voltage."
    assert fan[0].enums == {0: "off", 1: "on"}
    assert redundant[0].enums == {1: "true", 2: "false"}


def test_an_smiv1_mib_compiles_without_the_rfc_files(tmp_path: Path) -> None:
    v1 = tmp_path / "v1.my"
    v1.write_text(V1_MIB)
    index = compile_mibs([v1])
    name = index.object_at("1.3.6.1.4.1.64995.1.0")
    frames = index.object_at("1.3.6.1.4.1.64995.2.0")
    assert name is not None and frames is not None
    assert (name[0].syntax, frames[0].syntax) == ("OCTET STRING", "Counter32")


def test_a_missing_import_names_the_module_and_the_option_that_gives_it(tmp_path: Path) -> None:
    psu = tmp_path / "psu.mib"
    psu.write_text(PSU_MIB)
    with pytest.raises(MibError) as missing:
        compile_mibs([psu])
    assert str(missing.value) == (
        f"{psu}: imports DEMO-TC-MIB, which is in none of the given files or their folders:"
        " give its file with another --mib"
    )


def test_a_mib_that_does_not_parse_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mib"
    broken.write_text(PSU_MIB.replace('UNITS "V" MAX-ACCESS', "UNITS MAX-ACCESS"))
    (tmp_path / "DEMO-TC-MIB.txt").write_text(TC_MODULE)
    with pytest.raises(MibError, match=rf"^{broken}: does not compile: line \d+: "):
        compile_mibs([broken])


def test_a_file_that_is_no_mib_and_one_that_is_not_there(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("call the vendor\n")
    with pytest.raises(MibError, match=r"notes\.txt: not a MIB module"):
        compile_mibs([notes])
    with pytest.raises(MibError, match=r"gone\.mib: cannot read: No such file"):
        compile_mibs([tmp_path / "gone.mib"])


def test_the_same_module_twice_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_text(DEMO_MIB.read_text())
    with pytest.raises(MibError, match=r"copy\.txt: module DEMO-TX-MIB is also in .*DEMO-TX-MIB"):
        compile_mibs([DEMO_MIB, copy])


def test_a_profile_that_names_objects_loads_through_the_index(tmp_path: Path) -> None:
    from fieldagent.profiles.build import ProfileError
    from fieldagent.profiles.load import load_profile

    (tmp_path / "DEMO-TX-MIB.txt").write_text(DEMO_MIB.read_text())
    profile = tmp_path / "tx.toml"
    text = """[profile]
name = "named_tx"
title = "Named"
kind = "tx"
protocol = "snmp"
maturity = "model"
mibs = ["DEMO-TX-MIB.txt"]

[[metric]]
key = "tx.mer_db"
title = "MER"
source = "DEMO-TX-MIB::txMer.0"
divisor = 10
alarm_class = "other"
"""
    profile.write_text(text)
    assert load_profile(profile).metric("tx.mer_db").source == f"{TX}.1.3.0"
    profile.write_text(text.replace("txMer.0", "txMerr.0"))
    with pytest.raises(ProfileError) as unknown:
        load_profile(profile)
    assert unknown.value.problems == [
        f"{profile}: metric[0] (tx.mer_db).source: DEMO-TX-MIB::txMerr.0: DEMO-TX-MIB has no"
        " object 'txMerr' (did you mean 'DEMO-TX-MIB::txMer'?)"
    ]
