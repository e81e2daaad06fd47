"""walk.py on the edge cases of real walks: what net-snmp prints when it knows a MIB,
values over several lines, objects that are not there, and files that are not walks."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldagent.driver import OidValue
from fieldagent.profiles.walk import SnmpType, WalkEntry, WalkError, parse_walk, read_walk


def one(line: str) -> WalkEntry:
    entries = parse_walk(line + "\n", "t.walk")
    assert len(entries) == 1
    return entries[0]


def test_units_net_snmp_appends_are_kept_beside_the_raw_number() -> None:
    entry = one(".1.3.6.1.4.1.9.1.0 = INTEGER: 35 dB")
    assert (entry.value, entry.units, entry.places) == (35, "dB", 0)
    gauge = one(".1.3.6.1.4.1.9.2.0 = Gauge32: 1200 milli-Watts")
    assert (gauge.type, gauge.value, gauge.units) == (SnmpType.GAUGE32, 1200, "milli-Watts")


def test_a_display_hint_decimal_point_gives_back_the_device_integer_and_its_places() -> None:
    entry = one(".1.3.6.1.4.1.9.1.0 = INTEGER: 3.5 dB")
    assert (entry.value, entry.places, entry.units) == (35, 1, "dB")
    negative = one(".1.3.6.1.4.1.9.2.0 = INTEGER: -0.25")
    assert (negative.value, negative.places, negative.units) == (-25, 2, "")


def test_a_plain_number_has_no_units_and_no_places() -> None:
    entry = one(".1.3.6.1.4.1.9.1.0 = INTEGER: -14")
    assert (entry.value, entry.units, entry.places, entry.label) == (-14, "", 0, None)


def test_an_enum_label_net_snmp_printed_is_kept() -> None:
    entry = one(".1.3.6.1.2.1.2.2.1.8.1 = INTEGER: up(1)")
    assert (entry.value, entry.label) == (1, "up")


def test_a_string_over_several_lines_is_one_value() -> None:
    text = '.1.3.6.1.2.1.1.1.0 = STRING: "Line one\nline two"\n.1.3.6.1.2.1.1.5.0 = STRING: "x"\n'
    entries = parse_walk(text, "t.walk")
    assert [e.text for e in entries] == ["Line one\nline two", "x"]


def test_timeticks_oid_and_hex_values() -> None:
    text = (
        ".1.3.6.1.2.1.1.3.0 = Timeticks: (123456) 0:20:34.56\n"
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.64999.2\n"
        ".1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 1A 2B 3C 4D 5E \n"
    )
    object_id, ticks, mac = parse_walk(text, "t.walk")  # in OID order
    assert (ticks.type, ticks.value) == (SnmpType.TIMETICKS, 123456)
    assert object_id.value == OidValue("1.3.6.1.4.1.64999.2")
    assert mac.value == bytes.fromhex("001a2b3c4d5e") and mac.text is None


def test_objects_that_are_not_there_are_left_out() -> None:
    text = (
        ".1.3.6.1.4.1.9.1.0 = No Such Object available on this agent at this OID\n"
        ".1.3.6.1.4.1.9.2.0 = INTEGER: 4\n"
        ".1.3.6.1.4.1.9.2.0 = No more variables left in this MIB View\n"
    )
    assert [e.oid for e in parse_walk(text, "t.walk")] == ["1.3.6.1.4.1.9.2.0"]


def test_a_number_that_is_not_one_names_the_file_and_line() -> None:
    text = ".1.3.6.1.4.1.9.1.0 = INTEGER: 4\n.1.3.6.1.4.1.9.2.0 = INTEGER: lots\n"
    with pytest.raises(WalkError, match=r"^t\.walk: line 2: 'lots' is not an integer$"):
        parse_walk(text, "t.walk")


def test_symbolic_oids_are_refused_with_the_option_that_fixes_them() -> None:
    with pytest.raises(WalkError, match=r"t\.walk: line 1: .*run snmpwalk with -On"):
        parse_walk('SNMPv2-MIB::sysDescr.0 = STRING: "x"\n', "t.walk")


def test_snmprec_values_and_errors() -> None:
    entries = parse_walk(
        "1.3.6.1.2.1.1.1.0|4|Demo TX\n1.3.6.1.4.1.9.1.0|4x|00ff\n1.3.6.1.4.1.9.2.0|65|12\n",
        "t.snmprec",
    )
    assert [(e.type, e.value) for e in entries] == [
        (SnmpType.OCTET_STRING, b"Demo TX"),
        (SnmpType.OCTET_STRING, b"\x00\xff"),
        (SnmpType.COUNTER32, 12),
    ]
    with pytest.raises(WalkError, match=r"^t\.snmprec: line 2: unknown snmprec type tag 99$"):
        parse_walk("1.3.6.1.2.1.1.1.0|4|x\n1.3.6.1.2.1.1.5.0|99|x\n", "t.snmprec")


def test_an_object_twice_and_an_empty_file_are_refused(tmp_path: Path) -> None:
    twice = ".1.3.6.1.4.1.9.1.0 = INTEGER: 1\n.1.3.6.1.4.1.9.1.0 = INTEGER: 2\n"
    with pytest.raises(WalkError, match=r"object 1\.3\.6\.1\.4\.1\.9\.1\.0 appears twice"):
        parse_walk(twice, "t.walk")
    empty = tmp_path / "empty.walk"
    empty.write_text("# nothing\n")
    with pytest.raises(WalkError, match=r"empty\.walk: no SNMP objects in it"):
        read_walk(empty)
    with pytest.raises(WalkError, match=r"missing\.walk: cannot read: No such file"):
        read_walk(tmp_path / "missing.walk")
