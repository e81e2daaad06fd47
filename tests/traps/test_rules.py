"""Trap maps, rule matching, the [traps] settings and the header screening (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyasn1.codec.ber import encoder
from pydantic import ValidationError
from pysnmp.proto.api import v1, v2c

from drivers import REGISTRY
from drivers import scte_hms_optical as hms
from drivers import ups_rfc1628 as ups
from fieldagent.config import TRAP_PORT as DEFAULT_PORT
from fieldagent.driver import OidValue, TrapAction, TrapRule
from fieldagent.model import HealthState
from fieldagent.traps import (
    Garbled,
    TrapEvent,
    TrapReceiver,
    TrapsSection,
    match_rule,
    read_header,
)
from tests.traps import device

RULES = [(driver.name, rule) for driver in REGISTRY.values() for rule in driver.traps]


@pytest.mark.parametrize(("driver", "rule"), RULES, ids=[f"{d}:{r.alarm}" for d, r in RULES])
def test_every_trap_rule_is_well_formed(driver: str, rule: TrapRule) -> None:
    numeric = [rule.trap_oid, *rule.when, rule.value_oid or "1", rule.instance_oid or "1"]
    assert all(part.isdigit() for oid in numeric for part in oid.split(".")), rule
    assert (rule.action is TrapAction.CLEAR) == (rule.severity is HealthState.OK)
    assert rule.message_vi and rule.message_en and rule.message_vi != rule.message_en
    assert not rule.message_vi.isascii()  # Vietnamese, with its diacritics
    assert REGISTRY[driver].protocol == "snmp"


@pytest.mark.parametrize("name", [name for name, d in REGISTRY.items() if d.traps])
def test_no_trap_rule_is_shadowed_by_an_earlier_one(name: str) -> None:
    rules = REGISTRY[name].traps
    for index, rule in enumerate(rules):
        earlier = [r for r in rules[:index] if r.trap_oid == rule.trap_oid]
        assert all(r.when for r in earlier), f"{rule.alarm} is shadowed by a rule without `when`"


@pytest.mark.parametrize("name", [name for name, d in REGISTRY.items() if d.traps])
def test_every_trap_alarm_names_one_reading_that_can_show_its_cause(name: str) -> None:
    driver = REGISTRY[name]
    for alarm in {rule.alarm for rule in driver.traps}:
        named = {rule.cleared_by for rule in driver.traps if rule.alarm == alarm}
        assert len(named) == 1, f"the rules of {alarm} name different readings: {named}"
        key = named.pop()
        if key is None:
            continue
        metric = driver.metric(key)  # a reading the driver reads
        can_alarm = any(s is not HealthState.OK for s in metric.states.values()) or any(
            limit is not None for limit in vars(metric.limits).values()
        )
        assert can_alarm, f"{key} has no limit or state: it cannot tell {alarm} from normal"
    assert driver.trap_cleared_by(f"{alarm}[oid=1.2.3]") == driver.trap_cleared_by(alarm)


def test_only_the_ups_catch_all_alarm_has_no_reading_that_tells() -> None:
    untold = {(d.name, r.alarm) for d in REGISTRY.values() for r in d.traps if not r.cleared_by}
    assert untold == {("ups_rfc1628", "ups.alarm")}
    assert REGISTRY["ups_rfc1628"].trap_cleared_by(ups.ON_BATTERY) == "ups.output.source"
    assert REGISTRY["ups_rfc1628"].trap_cleared_by(ups.BATTERY_LOW) == "ups.battery.status"


def test_the_three_drivers_declare_trap_maps() -> None:
    maps = {name: REGISTRY[name].traps for name in ("ups_rfc1628", "scte_hms_optical")}
    assert {r.trap_oid for r in maps["ups_rfc1628"]} == {
        ups.TRAP_ON_BATTERY,
        ups.TRAP_ALARM_ADDED,
        ups.TRAP_ALARM_REMOVED,
    }
    assert {r.trap_oid for r in maps["scte_hms_optical"]} == {hms.HE_COMMON_ALARM_EVENT}
    nautel = REGISTRY["fm_transmitter_nautel"].traps
    flags = [
        m.key for m in REGISTRY["fm_transmitter_nautel"].metrics if m.key.startswith("tx.alarm")
    ]
    assert sorted({r.alarm for r in nautel}) == sorted(flags)
    # every raise has its clear
    for driver in REGISTRY.values():
        raised = {r.alarm for r in driver.traps if r.action is TrapAction.RAISE}
        cleared = {r.alarm for r in driver.traps if r.action is TrapAction.CLEAR}
        assert raised == cleared, driver.name


def test_a_v1_trap_matches_its_smiv2_notification() -> None:
    rules = REGISTRY["ups_rfc1628"].traps
    # enterprise upsTraps (1.3.6.1.2.1.33.2), specific-trap 1, converted as RFC 3584 says
    name, rule = match_rule(rules, "1.3.6.1.2.1.33.2.0.1", {})
    assert name == ups.TRAP_ON_BATTERY
    assert rule is not None and rule.alarm == "ups.on_battery"
    # a notification that has its 0 (heCommonAlarmEvent) is matched as it is
    name, rule = match_rule(REGISTRY["scte_hms_optical"].traps, hms.HE_COMMON_ALARM_EVENT, {})
    assert (name, rule) == (hms.HE_COMMON_ALARM_EVENT, None)  # no state varbind: no rule
    assert match_rule(rules, "1.3.6.1.4.1.9.0.1", {}) == ("1.3.6.1.4.1.9.0.1", None)


def test_when_compares_the_varbind_with_or_without_its_instance() -> None:
    rules = REGISTRY["ups_rfc1628"].traps
    descr = f"{ups.ALARM_DESCR}.4"
    _, rule = match_rule(rules, ups.TRAP_ALARM_REMOVED, {descr: OidValue(ups.ALARM_ON_BATTERY)})
    assert rule is not None and (rule.alarm, rule.action) == ("ups.on_battery", TrapAction.CLEAR)
    # sent as text by a sloppy card, or as octets: same thing
    _, rule = match_rule(rules, ups.TRAP_ALARM_ADDED, {ups.ALARM_DESCR: ups.ALARM_LOW_BATTERY})
    assert rule is not None and rule.alarm == "ups.battery_low"
    _, rule = match_rule(rules, ups.TRAP_ALARM_ADDED, {descr: ups.ALARM_LOW_BATTERY.encode()})
    assert rule is not None and rule.alarm == "ups.battery_low"


def test_event_value_instance_and_alarm_key() -> None:
    _, rule = match_rule(hms.TRAPS, hms.HE_COMMON_ALARM_EVENT, {f"{hms.LOG_STATE}.3": 2})
    varbinds = {
        f"{hms.LOG_OID}.3": OidValue("1.3.6.1.4.1.5591.1.11.1.3.1.1.2.1.2.3.1"),
        f"{hms.LOG_VALUE}.3": -95,
        f"{hms.LOG_STATE}.3": 2,
    }
    event = TrapEvent("optical1", "10.0.0.9", hms.HE_COMMON_ALARM_EVENT, varbinds, _now(), rule)
    assert event.value == -95
    assert event.alarm_key == "hms.alarm[oid=1.3.6.1.4.1.5591.1.11.1.3.1.1.2.1.2.3.1]"
    unknown = TrapEvent("optical1", "10.0.0.9", "1.3.6.1.4.1.1.0.1", {}, _now(), None)
    assert (unknown.value, unknown.instance, unknown.alarm_key) == (None, None, None)


def _now() -> datetime:
    return datetime.now(UTC)


# -- settings -----------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = TrapsSection()
    assert settings.model_dump() == {
        "enabled": False,
        "listen": None,
        "port": DEFAULT_PORT,
        "communities": [],
        "rate_limit": 20,
        "rate_window_s": 10.0,
        "station_rate_limit": 200,
        "engine_ids": {},
    }


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"listen": "station.local"}, "not an IP address"),
        ({"port": 70000}, "less than or equal to 65535"),
        ({"rate_limit": 0}, "greater than or equal to 1"),
        ({"rate_window_s": 0}, "greater than 0"),
        ({"communities": ["s3cret", "s3cret"]}, "listed twice"),
        ({"communities": [""]}, "cannot be empty"),
        ({"engine_ids": {"ups1": "zz"}}, "not hexadecimal"),
        ({"engine_ids": {"ups1": "0x8000"}}, "5 to 32 octets"),
        ({"engine_ids": {"bad id!": "8000000001020304"}}, "String should match pattern"),
        ({"trap_port": 162}, "Extra inputs are not permitted"),
    ],
)
def test_settings_problems(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as failure:
        TrapsSection.model_validate(fields)
    # communities are secrets: the messages (what a station file check shows) never echo them
    assert all("s3cret" not in error["msg"] for error in failure.value.errors())


def test_engine_ids_are_normalised_and_must_name_configured_devices() -> None:
    settings = TrapsSection(engine_ids={"ups1": "0x80:00:00:00:01:02:03:04"})
    assert settings.engine_ids == {"ups1": "8000000001020304"}
    TrapReceiver(settings, [device("ups1", "10.0.0.1")], REGISTRY, print, print)
    with pytest.raises(ValueError, match="unknown devices: ups1"):
        TrapReceiver(settings, [device("ups2", "10.0.0.2")], REGISTRY, print, print)


def test_listen_is_normalised() -> None:
    assert TrapsSection(listen="::0").listen == "::"


# -- screening ----------------------------------------------------------------


def _v2c(pdu: object, community: str = "public") -> bytes:
    """A v2c message around an already defaulted PDU, BER-encoded."""
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def test_read_header_of_traps_and_informs() -> None:
    trap = v2c.TrapPDU()
    v2c.apiTrapPDU.set_defaults(trap)
    header = read_header(_v2c(trap, "tram"))
    assert (header.version, header.community) == (1, b"tram")
    inform = v2c.InformRequestPDU()
    v2c.apiPDU.set_defaults(inform)
    assert read_header(_v2c(inform)).version == 1
    v1_trap = v1.TrapPDU()
    v1.apiTrapPDU.set_defaults(v1_trap)
    message = v1.Message()
    v1.apiMessage.set_defaults(message)
    v1.apiMessage.set_community(message, "public")
    v1.apiMessage.set_pdu(message, v1_trap)
    assert read_header(bytes(encoder.encode(message))).version == 0


def test_read_header_refuses_what_is_not_a_notification() -> None:
    get = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(get)
    with pytest.raises(Garbled, match="not a trap or inform"):
        read_header(_v2c(get))
    trap = v2c.TrapPDU()
    v2c.apiTrapPDU.set_defaults(trap)
    good = _v2c(trap)
    with pytest.raises(Garbled, match="bytes after the message"):
        read_header(good + b"\x00")
    with pytest.raises(Garbled, match="truncated"):
        read_header(good[:-1])
    with pytest.raises(Garbled, match="version 2 is not spoken"):
        read_header(good[:4] + b"\x02" + good[5:])
    with pytest.raises(Garbled, match="unexpected BER tag"):
        read_header(b"\x04\x00")
    with pytest.raises(Garbled, match="truncated"):
        read_header(b"")
