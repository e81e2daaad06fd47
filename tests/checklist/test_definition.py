"""Checklist files: bad ones are refused with every problem at once, naming file and item."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldagent.checklist.definition import ChecklistError, ItemKind, load_checklist
from tests.stationfile import toml_value

HEADER = '[checklist]\nid = "test"\ntitle = { vi = "Kiểm tra", en = "Check" }\n'
ON_AIR: dict[str, object] = {
    "id": "tx.on_air",
    "category": "transmission",
    "kind": "auto",
    "devices": "transmitter",
    "condition": "tx.on_air",
}
TEXTS = 'title = { vi = "Tiêu đề", en = "Title" }\nhint = { vi = "Gợi ý", en = "Hint" }\n'


def item(**fields: object) -> str:
    lines = "".join(f"{key} = {toml_value(value)}\n" for key, value in fields.items())
    return f"\n[[item]]\n{lines}{TEXTS}"


def write(tmp_path: Path, *items: str) -> Path:
    path = tmp_path / "test.toml"
    path.write_text(HEADER + "".join(items), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ChecklistError) as caught:
        load_checklist(path)
    return caught.value.problems


def test_a_good_file_loads_with_each_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        item(**ON_AIR),
        item(
            id="gen.ran",
            category="backup",
            kind="readiness",
            devices="generator",
            condition="increase(gen.run_hours) >= 5 / 60",
            within_days=30,
        ),
        item(
            id="ird.lineup", category="lineup", kind="lineup", devices="ird", services="ird.service"
        ),
        item(id="duty.roster", category="duty", kind="manual", severity="warning"),
        item(
            id="no.critical",
            category="agent",
            kind="auto",
            condition="station.alarms.critical == 0",
        ),
    )
    checklist = load_checklist(path)
    assert [i.kind for i in checklist.item] == [
        ItemKind.AUTO,
        ItemKind.READINESS,
        ItemKind.LINEUP,
        ItemKind.MANUAL,
        ItemKind.AUTO,
    ]


def test_unknown_keys_bad_expressions_and_duplicate_ids_are_all_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        item(**ON_AIR, colour="red"),
        item(
            id="tx.power",
            category="transmission",
            kind="auto",
            devices="transmitter",
            condition="rf.forward_power_w > __import__('os')",
        ),
        item(id="ups.ok", category="powr", kind="auto", devices="ups", condition="true"),
    )
    found = problems(path)
    assert found == [
        f"{path}: item[0] (tx.on_air).colour: Extra inputs are not permitted",
        f"{path}: item[1] (tx.power): Value error, condition"
        " \"rf.forward_power_w > __import__('os')\": column 22: unknown function '__import__'"
        " (known: abs, crit_high, crit_low, increase, max, min, warn_high, warn_low)",
        f"{path}: item[2] (ups.ok).category: Input should be 'duty', 'transmission',"
        " 'production', 'headend', 'lineup', 'power', 'backup' or 'agent'",
    ]
    twice = write(
        tmp_path,
        item(id="duty.roster", category="duty", kind="manual"),
        item(id="duty.roster", category="duty", kind="manual"),
    )
    assert problems(twice) == [
        f"{twice}: checklist: Value error, item id 'duty.roster' is used twice"
    ]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"kind": "auto"}, "an auto item needs condition"),
        (
            {"kind": "readiness", "devices": "generator", "condition": "gen.running"},
            "a readiness item needs within_days",
        ),
        ({"kind": "lineup", "services": "ird.service"}, "a lineup item needs devices"),
        ({"kind": "lineup", "devices": "ird"}, "a lineup item needs services"),
        (
            {
                "kind": "readiness",
                "devices": "generator",
                "within_days": 30,
                "condition": "increase(gen.run_hours) < 1",
            },
            "increase(KEY) may only be compared as a minimum",
        ),
        (
            {
                "kind": "readiness",
                "devices": "generator",
                "within_days": 30,
                "condition": "not increase(gen.run_hours) >= 1",
            },
            "increase(KEY) may only be compared as a minimum",
        ),
        ({"kind": "manual", "condition": "true"}, "a manual item has no condition"),
        (
            {"kind": "auto", "devices": "generator", "condition": "increase(gen.run_hours) > 0"},
            "increase() is for readiness items",
        ),
        (
            {"kind": "auto", "condition": "rf.vswr < 2"},
            "without devices, a condition reads only station figures",
        ),
        ({"kind": "manual", "id": "Bad Id"}, "String should match pattern"),
        ({"kind": "manual", "directive": [9]}, "less than or equal to 8"),
    ],
)
def test_each_kind_takes_its_own_fields(
    tmp_path: Path, fields: dict[str, object], problem: str
) -> None:
    path = write(tmp_path, item(**{"id": "x.y", "category": "power", **fields}))
    (found,) = problems(path)
    assert problem in found


def test_a_file_that_is_not_toml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[checklist\n", encoding="utf-8")
    (found,) = problems(path)
    assert found.startswith(f"{path}: not valid TOML:")


def test_a_condition_that_would_exhaust_the_parser_is_refused_naming_file_and_item(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        item(**ON_AIR),
        item(**{**ON_AIR, "id": "tx.nots", "condition": "not " * 5000 + "tx.on_air"}),
        item(**{**ON_AIR, "id": "tx.minus", "condition": "-" * 100_000 + "1 < 0"}),
        item(**{**ON_AIR, "id": "tx.huge", "condition": "rf.vswr < " + "9" * 400}),
    )
    assert problems(path) == [
        f"{path}: item[1] (tx.nots): Value error, condition 'not not not not not not not"
        " not not not not not not not not '…: 20009 characters: a condition has at most 500"
        " (split it into items)",
        f"{path}: item[2] (tx.minus): Value error, condition '{'-' * 60}'…: 100005 characters:"
        " a condition has at most 500 (split it into items)",
        f"{path}: item[3] (tx.huge): Value error, condition 'rf.vswr < {'9' * 50}'…: column 11:"
        f" the number '{'9' * 20}'… is too large: at most 1e+15",
    ]


def test_a_number_too_long_for_python_to_read_is_a_toml_problem_of_the_file(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, item(**ON_AIR) + "directive = [" + "1" * 5000 + "]\n")
    assert problems(path) == [
        f"{path}: not valid TOML: an integer of more than 4300 digits (no setting needs one)"
    ]
