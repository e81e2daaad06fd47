"""`fieldagent checklist run` on the whole demo station, every device simulated.

The simulator (`fieldagent simulate`, a process) plays a set of scenarios, one per
device; the checklist command (a process too, stdin not a terminal) polls every
device fresh and judges the pre-holiday checklist.  The tests check the verdict of
every item, the evidence of every failure (the reading, the limit or nominal it was
compared with, the row, the line-up difference), and that nothing passes on a value
the command did not have.  Faults that develop over time (a VSWR ramp, a rain fade)
are fast-forwarded with --time-scale and waited for with bounded polls.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType
from typing import Any

import pytest

from drivers import REGISTRY, get_driver
from drivers._transmitter import VSWR_WARN
from drivers.agent_host import clock_synced, kernel_max_error_us
from drivers.ird_pbi_dch import UNEXPECTED_SERVICE
from fieldagent.alarms.model import alarm_id
from fieldagent.config import load_config
from fieldagent.sim.device import implicit_scenarios
from tests.agentproc import ROOT, fieldagent
from tests.checklist.station_run import (
    DEMO,
    ChecklistRun,
    Readings,
    SimulatedDemo,
    run_checklist,
    seed_history,
    wait_for,
)

STATION = "demo-hamtan"
CHECKLIST = ROOT / "config" / "checklists" / "pre-holiday.toml"
TECHNICIAN = "Nguyễn Văn An"
SPARES_NOTE = "Dự phòng: 2 mô-đun khuếch đại công suất, 4 cầu chì 10 A, 200 lít dầu"
MANUAL = [
    "duty.roster",
    "duty.contact_person",
    "production.equipment",
    "backup.plan",
    "backup.spares",
]
READINESS = {"changeover.tested": "changeover", "generator.test_run": "generator"}
HOST = "agent-host"
ITEMS = tomllib.loads(CHECKLIST.read_text(encoding="utf-8"))["item"]
ALL_ITEMS = [item["id"] for item in ITEMS]
"""Every item of the pre-holiday checklist, in its order (the report's order too)."""


def test_the_checklist_file_has_the_manual_and_readiness_items_these_tests_expect() -> None:
    assert len(ALL_ITEMS) == 25
    assert [i["id"] for i in ITEMS if i["kind"] == "manual"] == MANUAL
    assert [i["id"] for i in ITEMS if i["kind"] == "readiness"] == list(READINESS)


def test_every_scenario_played_is_one_its_device_can_play() -> None:
    config = load_config(DEMO, known_drivers=REGISTRY)
    drivers = {device.id: get_driver(device.driver) for device in config.device}
    for scenario_set in [RUN_A, RUN_B, RUN_C, UNREACHABLE]:
        for device, name in scenario_set.scenarios.items():
            known = {**implicit_scenarios(drivers[device]), **drivers[device].simulator.scenarios}
            assert name in known, f"{scenario_set.name}: {device} cannot play {name}"


def clock_status() -> str:
    """What agent.clock_synced must say on this machine (its clock is real, not simulated)."""
    return "pass" if clock_synced(kernel_max_error_us()) else "fail"


def confirm_all(technician: str = TECHNICIAN) -> list[str]:
    """--technician and a --confirm for every manual item (one with a Vietnamese note)."""
    args = ["--technician", technician]
    for item in MANUAL:
        note = f"={SPARES_NOTE}" if item == "backup.spares" else ""
        args.append(f"--confirm={item}{note}")
    return args


def value(readings: Readings, key: str) -> Any:
    """A polled reading's value, None unless its quality is ok."""
    reading = readings.get(key, {})
    return reading.get("value") if reading.get("quality") == "ok" else None


def at_most(key: str, bound: float) -> Callable[[Readings], bool]:
    def shows(readings: Readings) -> bool:
        found = value(readings, key)
        return isinstance(found, int | float) and found <= bound

    return shows


def at_least(key: str, bound: float) -> Callable[[Readings], bool]:
    def shows(readings: Readings) -> bool:
        found = value(readings, key)
        return isinstance(found, int | float) and found >= bound

    return shows


def scenario_value(driver: str, scenario: str, key: str) -> Any:
    """The value the driver's own scenario promises (its Expect) for a reading."""
    return get_driver(driver).simulator.scenarios[scenario].expect.values[key]


def limit(driver: str, key: str, function: str) -> float:
    found = getattr(get_driver(driver).metric(key).limits, function)
    assert found is not None, (driver, key, function)
    return float(found)


def reading_of(check: dict[str, Any], key: str) -> dict[str, Any]:
    found = [r for r in check["readings"] if r["key"] == key]
    assert len(found) == 1, f"no single reading {key} in {check}"
    return found[0]


# --- the normal station -----------------------------------------------------------------


@pytest.fixture(scope="class")
def normal_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedDemo]:
    """Every device of the demo station in its normal scenario."""
    simulator = SimulatedDemo(tmp_path_factory.mktemp("normal-demo"), {}, time_scale=1.0)
    yield simulator
    simulator.stop()


class TestTheNormalDemoStation:
    """One simulator, every device normal; each test has its own state directory."""

    def test_the_demo_station_passes_the_whole_pre_holiday_checklist(
        self, normal_demo: SimulatedDemo, tmp_path: Path
    ) -> None:
        state_dir = tmp_path / "state"
        station = normal_demo.station_file(state_dir)
        seed_history(state_dir)
        clock = clock_status()

        run = run_checklist(station, *confirm_all())

        expected = dict.fromkeys(ALL_ITEMS, "pass") | {"agent.clock_synced": clock}
        assert run.statuses() == expected, run.stdout
        assert list(run.statuses()) == ALL_ITEMS
        assert run.returncode == (0 if clock == "pass" else 1), run.stderr
        assert run.report["technician"] == TECHNICIAN
        assert run.report["automatic_only"] is False
        assert [d["id"] for d in run.report["devices"] if not d["answered"]] == []
        spares = run.item("backup.spares")["answer"]
        assert spares["confirmed"] is True
        assert spares["technician"] == TECHNICIAN
        assert spares["note"] == SPARES_NOTE
        assert run.item("duty.roster")["answer"]["note"] == ""
        # The readiness items rest on the month of history an agent would have stored.
        switches = run.check("changeover.tested", "changeover")["history"]
        assert [(h["key"], h["increase"], h["covers_window"]) for h in switches] == [
            ("changeover.switch_count", 1.0, True)
        ]
        (hours,) = run.check("generator.test_run", "generator")["history"]
        assert hours["key"] == "gen.run_hours"
        assert hours["increase"] == pytest.approx(0.2)
        assert hours["covers_window"] is True
        host = run.check("agent.clock_synced", HOST)
        assert reading_of(host, "host.clock_synced")["value"] is (clock == "pass")
        # The archive holds exactly this report, as printed.
        archived = list((state_dir / "checklists").glob("*.json"))
        assert archived == [run.archived]
        assert json.loads(run.archived.read_text(encoding="utf-8")) == run.report
        assert run.archived.stem == run.report["id"]

    def test_without_history_or_answers_the_inspection_is_incomplete(
        self, normal_demo: SimulatedDemo, tmp_path: Path
    ) -> None:
        station = normal_demo.station_file(tmp_path / "state")
        clock = clock_status()

        run = run_checklist(station)

        expected = dict.fromkeys(ALL_ITEMS, "pass")
        expected |= dict.fromkeys([*MANUAL, *READINESS], "incomplete")
        expected["agent.clock_synced"] = clock
        assert run.statuses() == expected, run.stdout
        assert run.returncode == (2 if clock == "pass" else 1), run.stderr
        assert run.report["technician"] is None
        for item in MANUAL:
            assert run.item(item)["answer"] is None
            (check,) = run.item(item)["checks"]
            assert (check["status"], check["reason"]) == ("incomplete", "not_answered"), item
        for item, device in READINESS.items():
            check = run.check(item, device)
            assert (check["status"], check["reason"]) == ("incomplete", "history_short"), check
            (history,) = check["history"]
            assert history["covers_window"] is False
            assert history["samples"] == 1
            assert history["key"] in check["detail"]

    def test_english_html_report_written_to_a_file(
        self, normal_demo: SimulatedDemo, tmp_path: Path
    ) -> None:
        station = normal_demo.station_file(tmp_path / "state")
        output = tmp_path / "report.html"

        done = fieldagent(
            *("checklist", "run", "-c", str(station)),
            *("--lang", "en", "--format", "html", "--output", str(output)),
        )

        assert done.returncode in (1, 2), done.stderr  # manual items unanswered, maybe the clock
        html = output.read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html")
        for title in ("Pre-holiday technical inspection", "Transmitter on air", "UPS on mains"):
            assert title in html
        assert "Máy phát đang phát sóng" not in html
        assert done.stdout == ""  # the report is in the file; the verdict line is on stderr


# --- faults -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One check the scenario set must produce, with what it must show."""

    item: str
    device: str | None
    status: str = "fail"
    row: str | None = None
    reason: str | None = None
    readings: dict[str, Any] = field(default_factory=dict)
    """Reading key -> expected value (a value, pytest.approx, or a predicate)."""
    limits: list[dict[str, Any]] | None = None
    nominals: dict[str, float] | None = None
    lineup: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class ScenarioSet:
    name: str
    scenarios: dict[str, str]
    time_scale: float
    developed: list[tuple[str, Callable[[Readings], bool], str]]
    """(device, readings test, what): the fault has developed once polls show this."""
    statuses: dict[str, str]
    """Items that must not pass (every other item passes, the clock item aside)."""
    evidence: list[Evidence]
    critical: list[tuple[str, str, str]]
    """(device, rule, condition) of critical alarms agent.no_critical_alarm must name."""


OFF_AIR_POWER = "fail"
"""An off-air transmitter's forward power: 0 W, far from its nominal."""
OFF_AIR_VSWR = "incomplete"
"""Off the air there is no VSWR to read (the drivers blank it below a few watts)."""

RUN_A = ScenarioSet(
    "vswr-mains-fuel-signal-laser-changeover",
    {
        "fm-main": "high_vswr",
        "ups-main": "mains_fail",
        "generator": "fuel_low",
        "ird1": "signal_loss",
        "optical1": "laser_degraded",
        "changeover": "switched_to_standby",
    },
    time_scale=100.0,
    developed=[
        ("fm-main", at_least("rf.vswr", 2.25), "VSWR near 2.3"),
        ("optical1", at_most("optical.output_dbm[laser=2.1]", 1.1), "laser output at its floor"),
        ("ups-main", at_most("ups.battery.charge_pct", 10), "battery charge down to 10 %"),
    ],
    statuses={
        "transmitter.vswr": "fail",
        "ird.locked": "fail",
        "ird.link_margin": "incomplete",  # unlocked: no margin to judge
        "optical.output": "fail",
        "ups.on_mains": "fail",
        "ups.charge": "fail",
        "ups.runtime": "fail",
        "generator.fuel": "fail",
        "changeover.armed": "fail",
        "agent.no_critical_alarm": "fail",
    },
    evidence=[
        Evidence(
            "transmitter.vswr",
            "fm-main",
            readings={"rf.vswr": pytest.approx(2.3, abs=0.06)},
            limits=[{"function": "warn_high", "key": "rf.vswr", "value": VSWR_WARN}],
        ),
        Evidence(
            "ups.on_mains",
            "ups-main",
            readings={"ups.output.source": "battery"},
        ),
        Evidence("ups.charge", "ups-main", readings={"ups.battery.charge_pct": lambda v: v <= 10}),
        Evidence("ups.runtime", "ups-main", readings={"ups.battery.runtime_min": lambda v: v <= 4}),
        Evidence(
            "generator.fuel",
            "generator",
            readings={
                "gen.fuel_pct": scenario_value("generator_modbus", "fuel_low", "gen.fuel_pct")
            },
        ),
        Evidence("ird.locked", "ird1", readings={"ird.locked": False}),
        Evidence("ird.link_margin", "ird1", status="incomplete", reason="no_reading"),
        Evidence(
            "optical.output",
            "optical1",
            row="laser=2.1",
            readings={"optical.output_dbm[laser=2.1]": pytest.approx(1.0, abs=0.25)},
            limits=[
                {
                    "function": "warn_low",
                    "key": "optical.output_dbm[laser=2.1]",
                    "value": limit("scte_hms_optical", "optical.output_dbm[laser=2.1]", "warn_low"),
                }
            ],
        ),
        Evidence(
            "changeover.armed",
            "changeover",
            readings={
                "changeover.position": scenario_value(
                    "changeover_ascii", "switched_to_standby", "changeover.position"
                )
            },
        ),
        # The switch-over the fault made counts as the month's test.
        Evidence(
            "changeover.tested",
            "changeover",
            status="pass",
            readings={"changeover.switch_count": 4},
        ),
    ],
    critical=[
        ("fm-main", "rf.vswr", "high"),
        ("ups-main", "ups.battery.charge_pct", "low"),
        ("generator", "gen.fuel_pct", "low"),
        ("ird1", "ird.locked", "state"),
        ("optical1", "optical.output_dbm[laser=2.1]", "low"),
    ],
)

RUN_B = ScenarioSet(
    "power-battery-rain-interlock-offair",
    {
        "fm-main": "power_drop",
        "ups-main": "battery_low",
        "generator": "battery_low",
        "ird1": "rain_fade",
        "fm-standby": "interlock_open",
        "dvbt2": "off_air",
    },
    time_scale=100.0,
    developed=[
        ("fm-main", at_most("rf.forward_power_w", 1220), "forward power down to 60 %"),
        ("ird1", at_most("ird.link_margin_db", -0.2), "the margin below 0 dB"),
    ],
    statuses={
        "transmitter.on_air": "fail",
        "transmitter.forward_power": "fail",  # fm-main's 60 % decides it
        "transmitter.vswr": OFF_AIR_VSWR,  # fm-standby and dvbt2 off the air
        "ird.link_margin": "fail",
        "ups.on_mains": "fail",
        "ups.charge": "fail",
        "ups.runtime": "fail",
        "generator.battery": "fail",
        "agent.no_critical_alarm": "fail",
    },
    evidence=[
        Evidence(
            "transmitter.forward_power",
            "fm-main",
            readings={"rf.forward_power_w": pytest.approx(1200, abs=40)},
            nominals={"rf.forward_power_w": 2000},
        ),
        Evidence("transmitter.on_air", "fm-main", status="pass", readings={"tx.on_air": True}),
        Evidence("transmitter.vswr", "fm-main", status="pass"),
        Evidence("transmitter.on_air", "fm-standby", readings={"tx.on_air": False}),
        Evidence("transmitter.on_air", "dvbt2", readings={"tx.on_air": False}),
        Evidence(
            "transmitter.forward_power",
            "fm-standby",
            status=OFF_AIR_POWER,
            nominals={"rf.forward_power_w": 1000},
        ),
        Evidence(
            "transmitter.forward_power",
            "dvbt2",
            status=OFF_AIR_POWER,
            nominals={"rf.forward_power_w": 500},
        ),
        Evidence("ird.link_margin", "ird1", readings={"ird.link_margin_db": lambda v: v < 1}),
        Evidence("ird.locked", "ird1", status="pass"),
        Evidence("ups.on_mains", "ups-main", readings={"ups.output.source": "battery"}),
        Evidence("ups.charge", "ups-main", readings={"ups.battery.charge_pct": 30}),
        Evidence(
            "ups.runtime",
            "ups-main",
            readings={
                "ups.battery.runtime_min": scenario_value(
                    "ups_rfc1628", "battery_low", "ups.battery.runtime_min"
                )
            },
        ),
        Evidence(
            "generator.battery",
            "generator",
            readings={"gen.alarm.battery_low": True, "gen.battery_v": 11.8},
            limits=[
                {
                    "function": "warn_low",
                    "key": "gen.battery_v",
                    "value": limit("generator_modbus", "gen.battery_v", "warn_low"),
                }
            ],
        ),
    ],
    critical=[
        ("fm-standby", "tx.on_air", "state"),
        ("dvbt2", "tx.on_air", "state"),
        ("ird1", "ird.link_margin_db", "low"),
    ],
)

RUN_C = ScenarioSet(
    "offair-left-off-lineup",
    {"fm-main": "off_air", "generator": "left_off", "ird1": "service_changed"},
    time_scale=1.0,
    developed=[],
    statuses={
        "transmitter.on_air": "fail",
        "transmitter.forward_power": OFF_AIR_POWER,
        "transmitter.vswr": OFF_AIR_VSWR,
        "ird.lineup": "fail",
        "generator.auto_mode": "fail",
        "agent.no_critical_alarm": "fail",
    },
    evidence=[
        Evidence("transmitter.on_air", "fm-main", readings={"tx.on_air": False}),
        Evidence("transmitter.forward_power", "fm-main", status=OFF_AIR_POWER),
        Evidence(
            "generator.auto_mode",
            "generator",
            readings={"gen.mode": scenario_value("generator_modbus", "left_off", "gen.mode")},
        ),
        Evidence(
            "ird.lineup",
            None,
            reason="lineup_differs",
            readings={"ird1:ird.service": UNEXPECTED_SERVICE},
            lineup={
                "expected": ["VTV1 HD"],
                "missing": ["VTV1 HD"],
                "extra": [UNEXPECTED_SERVICE],
            },
        ),
    ],
    critical=[("fm-main", "tx.on_air", "state")],
)


@dataclass(frozen=True)
class Played:
    scenario_set: ScenarioSet
    run: ChecklistRun
    clock: str


@pytest.fixture(scope="module", params=[RUN_A, RUN_B, RUN_C], ids=lambda s: s.name)
def played(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Played]:
    """The checklist run once on the demo station playing one set of scenarios."""
    scenario_set: ScenarioSet = request.param
    folder = tmp_path_factory.mktemp(scenario_set.name)
    simulator = SimulatedDemo(folder, scenario_set.scenarios, scenario_set.time_scale)
    try:
        station = simulator.station_file(folder / "state")
        seed_history(folder / "state")
        for device, shows, what in scenario_set.developed:
            wait_for(station, device, shows, what)
        clock = clock_status()
        run = run_checklist(station, *confirm_all("Trần Thị Bình"))
    finally:
        simulator.stop()
    yield Played(scenario_set, run, clock)


def test_a_fault_fails_exactly_the_items_it_must(played: Played) -> None:
    scenario_set, run = played.scenario_set, played.run
    expected = dict.fromkeys(ALL_ITEMS, "pass") | {"agent.clock_synced": played.clock}
    expected |= scenario_set.statuses
    got = run.statuses()
    assert list(got) == ALL_ITEMS
    mismatched = {
        item: (status, expected[item]) for item, status in got.items() if status != expected[item]
    }
    assert mismatched == {}, "item: (got, expected)"
    assert run.returncode == 1, run.stderr  # a failure beats anything incomplete
    assert run.report["summary"]["failed"] == sum(s == "fail" for s in got.values())


def test_each_failure_carries_its_evidence(played: Played) -> None:
    for expected in played.scenario_set.evidence:
        check = played.run.check(expected.item, expected.device, expected.row)
        where = f"{expected.item} on {expected.device} {expected.row or ''}: {check}"
        assert check["status"] == expected.status, where
        assert check["reason"] == expected.reason, where
        for key, wanted in expected.readings.items():
            reading = reading_of(check, key)
            assert reading["quality"] == "ok", where
            if isinstance(wanted, FunctionType):  # a predicate
                assert wanted(reading["value"]), where
            else:
                assert reading["value"] == wanted, where
        if expected.limits is not None:
            assert check["limits"] == expected.limits, where
        if expected.nominals is not None:
            assert check["nominals"] == expected.nominals, where
        if expected.lineup is not None:
            assert {k: check["lineup"][k] for k in expected.lineup} == expected.lineup, where
        if check["status"] in ("pass", "fail") and check["device"] is not None:
            _evaluated_with_its_values(check)


def test_a_failed_check_breaks_the_limit_it_shows(played: Played) -> None:
    """Every limit a failing check names is broken by the reading it was compared with."""
    for item in played.run.report["items"]:
        for check in item["checks"]:
            if check["status"] != "fail":
                continue
            for used in check["limits"]:
                found = reading_of(check, used["key"])["value"]
                if used["function"].endswith("_high"):
                    assert found >= used["value"], (item["id"], check)
                else:
                    assert found < used["value"], (item["id"], check)


def test_items_of_devices_playing_normal_stay_passed(played: Played) -> None:
    playing = played.scenario_set.scenarios
    checked = 0
    for item in played.run.report["items"]:
        for check in item["checks"]:
            device = check["device"]
            if device is None or device == HOST or device in playing:
                continue
            assert check["status"] == "pass", (item["id"], check)
            checked += 1
    assert checked > 0


def test_no_critical_alarm_fails_and_names_the_alarms(played: Played) -> None:
    check = played.run.check("agent.no_critical_alarm", None)
    assert check["status"] == "fail"
    reading = reading_of(check, "station.alarms.critical")
    named = reading["detail"].split(", ")
    assert reading["value"] == len(named) > 0
    assert check["evaluated"] == f"{reading['value']} == 0"
    for device, rule, condition in played.scenario_set.critical:
        assert alarm_id(STATION, device, rule, condition) in named, named
    # Only the faulty devices (and this real machine) can have a critical alarm.
    faulty = {*played.scenario_set.scenarios, HOST}
    assert {name.split("/")[1] for name in named} <= faulty, named


def _evaluated_with_its_values(check: dict[str, Any]) -> None:
    """The evaluated condition shows the values of the readings, limits and nominals used."""
    evaluated = check["evaluated"]
    assert evaluated, check
    counters = {h["key"]: h["increase"] for h in check["history"]}
    for key, grown in counters.items():  # increase(KEY) shows the growth, not the value
        assert str(grown) in evaluated, (key, check)
    for reading in check["readings"]:
        if reading["key"] in counters:
            continue
        shown = reading["value"]
        text = repr(shown) if isinstance(shown, str) else str(shown)
        assert text in evaluated, (text, check)
    for used in [*check["limits"], *({"value": v} for v in check["nominals"].values())]:
        assert str(float(used["value"])) in evaluated, (used, check)


# --- unreachable devices ----------------------------------------------------------------


UNREACHABLE = ScenarioSet(
    "ups-silent-generator-unplugged",
    {"ups-main": "no_reply", "generator": "unplug"},
    time_scale=1.0,
    developed=[],
    statuses={},  # see the tests below
    evidence=[],
    critical=[],
)


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChecklistRun, str]]:
    """The UPS card silent and the generator's RS-485 adapter pulled out."""
    folder = tmp_path_factory.mktemp(UNREACHABLE.name)
    simulator = SimulatedDemo(folder, UNREACHABLE.scenarios, UNREACHABLE.time_scale)
    try:
        station = simulator.station_file(folder / "state")
        seed_history(folder / "state")
        clock = clock_status()
        run = run_checklist(station, *confirm_all())
    finally:
        simulator.stop()
    yield run, clock


UPS_ITEMS = ["ups.on_mains", "ups.charge", "ups.runtime"]
GENERATOR_ITEMS = [
    "generator.fuel",
    "generator.battery",
    "generator.auto_mode",
    "generator.test_run",
]


def test_an_unreachable_device_makes_its_items_incomplete_not_passed(
    unreachable: tuple[ChecklistRun, str],
) -> None:
    run, clock = unreachable
    expected = dict.fromkeys(ALL_ITEMS, "pass")
    expected |= dict.fromkeys([*UPS_ITEMS, *GENERATOR_ITEMS], "incomplete")
    expected |= {"agent.devices_reachable": "fail", "agent.clock_synced": clock}
    assert run.statuses() == expected
    assert run.returncode == 1, run.stderr  # a failure beats incomplete
    for items, device, error in [
        (UPS_ITEMS, "ups-main", "no reply from 127.0.0.8:"),
        (GENERATOR_ITEMS, "generator", "no such device"),
    ]:
        for item in items:
            (check,) = run.item(item)["checks"]
            assert check["device"] == device, check
            assert (check["status"], check["reason"]) == ("incomplete", "unreachable"), check
            assert error in check["detail"], check
            assert check["readings"] == [], check
    outcomes = {d["id"]: d["answered"] for d in run.report["devices"]}
    assert [device for device, answered in outcomes.items() if not answered] == [
        "ups-main",
        "generator",
    ]


def test_unreachable_devices_fail_the_reachability_item_by_name(
    unreachable: tuple[ChecklistRun, str],
) -> None:
    run, _ = unreachable
    check = run.check("agent.devices_reachable", None)
    assert (check["status"], check["evaluated"]) == ("fail", "2 == 0")
    reading = reading_of(check, "station.devices.unreachable")
    assert (reading["value"], reading["detail"]) == (2, "ups-main, generator")
    # Devices that cannot be read raise no alarm: nothing critical is left to report.
    assert run.item("agent.no_critical_alarm")["status"] == "pass"
