"""A station's checklist: templates, disabled items, its own items and nominal values,
checked against its devices and drivers, each problem naming the item or device."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers import REGISTRY
from fieldagent.checklist.resolve import station_checklist
from fieldagent.config import ConfigError, load_config
from tests.checklist.test_definition import HEADER, ON_AIR, item

FM = '[[device]]\nid = "fm-main"\ndriver = "fm_transmitter_nautel"\nhost = "192.0.2.10"\n'
UPS = '[[device]]\nid = "ups1"\ndriver = "ups_rfc1628"\nhost = "192.0.2.20"\n'
TEMPLATE = HEADER + "".join(
    [
        item(**ON_AIR),
        item(
            id="tx.power",
            category="transmission",
            kind="auto",
            devices="transmitter",
            condition="rf.forward_power_w >= 0.9 * nominal.rf.forward_power_w",
        ),
        item(
            id="ups.mains",
            category="power",
            kind="auto",
            devices="ups",
            condition="ups.output.source == 'normal'",
        ),
        item(id="duty.roster", category="duty", kind="manual"),
    ]
)


def station(tmp_path: Path, checklist: str, template: str = TEMPLATE) -> Path:
    (tmp_path / "ours.toml").write_text(template, encoding="utf-8")
    path = tmp_path / "station.toml"
    path.write_text(
        '[station]\nid = "bt-test"\nname = "Trạm thử"\n\n[checklist]\ntemplates = ["ours.toml"]\n'
        + checklist
        + "\n"
        + FM
        + UPS,
        encoding="utf-8",
    )
    return path


def resolve(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    config = load_config(path, REGISTRY)
    return [(s.item.id, s.devices) for s in station_checklist(config, path, REGISTRY)]


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        resolve(path)
    return caught.value.problems


def test_items_apply_to_every_device_of_their_kind(tmp_path: Path) -> None:
    path = station(tmp_path, '[checklist.nominal.fm-main]\n"rf.forward_power_w" = 2000\n')
    assert resolve(path) == [
        ("tx.on_air", ("fm-main",)),
        ("tx.power", ("fm-main",)),
        ("ups.mains", ("ups1",)),
        ("duty.roster", ()),
    ]


def test_a_station_disables_items_and_adds_its_own(tmp_path: Path) -> None:
    own = (
        'disable = ["tx.power"]\n\n[[checklist.item]]\nid = "ups.charge"\ncategory = "power"\n'
        'kind = "auto"\ndevices = "ups"\ncondition = "ups.battery.charge_pct >= 90"\n'
        'title = { vi = "Ắc quy đầy", en = "Battery full" }\n'
        'hint = { vi = "Sạc ắc quy", en = "Charge the battery" }\n'
    )
    assert [i for i, _ in resolve(station(tmp_path, own))] == [
        "tx.on_air",
        "ups.mains",
        "duty.roster",
        "ups.charge",
    ]


def test_a_missing_nominal_names_the_device_and_the_key(tmp_path: Path) -> None:
    path = station(tmp_path, "")
    assert problems(path) == [
        f"{tmp_path}/ours.toml: item 'tx.power' needs the nominal 'rf.forward_power_w' of device"
        f" 'fm-main': give it in [checklist.nominal.fm-main] of {path}"
    ]


def test_unknown_keys_kinds_devices_and_disabled_ids_are_named(tmp_path: Path) -> None:
    template = HEADER + "".join(
        [
            item(
                id="tx.vswr",
                category="transmission",
                kind="auto",
                devices="transmitter",
                condition="rf.vswr_ratio < 2",
            ),
            item(
                id="mux.ok",
                category="headend",
                kind="auto",
                devices="multiplexer",
                condition="true",
            ),
        ]
    )
    path = station(
        tmp_path,
        'disable = ["tx.vswrr"]\n[checklist.nominal.fm-mian]\n"rf.forward_power_w" = 1\n'
        '[checklist.nominal.ups1]\n"rf.forward_power_w" = 1\n',
        template,
    )
    assert problems(path) == [
        f"{path}: checklist.disable[0]: no item 'tx.vswrr' (did you mean 'tx.vswr'?)",
        f"{path}: checklist.nominal.fm-mian: no device 'fm-mian' (did you mean 'fm-main'?)",
        f"{path}: checklist.nominal.ups1: driver ups_rfc1628 has no metric 'rf.forward_power_w'",
        f"{tmp_path}/ours.toml: item 'tx.vswr': driver fm_transmitter_nautel (transmitter) has no"
        " metric 'rf.vswr_ratio' (did you mean 'rf.vswr'?)",
        f"{tmp_path}/ours.toml: item 'mux.ok': no device kind 'multiplexer'",
    ]


def test_an_unknown_template_lists_the_built_in_ones(tmp_path: Path) -> None:
    path = station(tmp_path, "")
    path.write_text(path.read_text().replace('"ours.toml"', '"pre-hliday"'), encoding="utf-8")
    (found,) = problems(path)
    assert found.startswith(f"{path}: checklist.templates[0]: no checklist 'pre-hliday'")
    assert "built-in: pre-holiday" in found


def test_a_limit_the_condition_reads_must_exist_for_every_device(tmp_path: Path) -> None:
    template = HEADER + item(
        id="ups.voltage",
        category="power",
        kind="auto",
        devices="ups",
        condition="ups.input.voltage_v <= warn_high(ups.input.voltage_v)"
        " and ups.battery.charge_pct >= warn_low(ups.battery.charge_pct)",
    )
    path = station(tmp_path, "", template)
    assert problems(path) == [
        f"{tmp_path}/ours.toml: item 'ups.voltage' compares with warn_high(ups.input.voltage_v),"
        " which device 'ups1' does not have: set it in [device.limits.\"ups.input.voltage_v\"]"
        ' or [limits."ups.input.voltage_v"]'
    ]
    path.write_text(
        path.read_text() + '[device.limits."ups.input.voltage_v"]\nwarn_high = 250\n',
        encoding="utf-8",
    )
    assert resolve(path) == [("ups.voltage", ("ups1",))]


def test_the_built_in_checklist_fits_the_demo_station_and_every_driver() -> None:
    demo = Path(__file__).parents[2] / "config" / "demo-station.toml"
    items = dict(resolve(demo))
    assert items["transmitter.on_air"] == ("fm-main", "fm-standby", "dvbt2")
    assert items["duty.roster"] == ()
    assert {"ird.lineup", "generator.test_run", "agent.clock_synced"} <= set(items)


def test_a_lineup_item_needs_a_services_metric_and_the_station_s_lineup(tmp_path: Path) -> None:
    ird = (
        '[[device]]\nid = "ird1"\ndriver = "ird_satellite"\nhost = "192.0.2.30"\n'
        'snmp_version = 3\nuser = "u"\nauth_protocol = "SHA"\nauth_key = "authkey12"\n'
    )
    template = HEADER + item(
        id="ird.lineup", category="lineup", kind="lineup", devices="ird", services="ird.servce"
    )
    path = station(tmp_path, "", template)
    path.write_text(path.read_text(encoding="utf-8") + ird, encoding="utf-8")
    assert problems(path) == [
        f"{tmp_path}/ours.toml: item 'ird.lineup': driver ird_satellite (ird) has no metric"
        " 'ird.servce' (did you mean 'ird.service'?)",
        f"{tmp_path}/ours.toml: item 'ird.lineup' compares the services of ird1 with the"
        f' licensed line-up: list it in [checklist] lineup = ["...", ...] of {path}',
    ]


def test_a_station_s_own_item_with_an_unbounded_condition_is_named_by_its_id(
    tmp_path: Path,
) -> None:
    path = station(
        tmp_path,
        '[[checklist.item]]\nid = "ups.deep"\ncategory = "power"\nkind = "auto"\n'
        f'devices = "ups"\ncondition = "{"not " * 40}ups.on_mains"\n'
        'title = { vi = "Sâu", en = "Deep" }\nhint = { vi = "Sâu", en = "Deep" }\n',
    )
    assert problems(path) == [
        f"{path}: checklist.item[0] (ups.deep): condition 'not not not not not not not not not"
        " not not not not not not '…: column 129: nested too deep: more than 32 levels"
        " (split it into items)"
    ]
