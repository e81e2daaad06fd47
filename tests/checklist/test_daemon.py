"""The checklist with the daemon running: `checklist run` through it, the MQTT command (its
cooldown, a flood, a retained one), the daily schedule in holiday windows, the published
report equal to the archived one, and the archive pruned.
Real parts: the agent as a process, mosquitto, simulated devices over UDP, state.db."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fieldagent.checklist.archive import ReportArchive
from fieldagent.checklist.gate import REPLY_BURST, REPLY_EVERY_S
from fieldagent.checklist.schedule import ScheduleLog
from fieldagent.localbroker import LocalBroker
from fieldagent.payloads import ChecklistReplyPayload, ChecklistReportPayload
from fieldagent.publisher import Message
from tests.agentproc import AgentProcess, fieldagent
from tests.checklist.station_run import run_checklist
from tests.checklist.test_archive import dated, kept
from tests.mqtt_probe import MqttProbe
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import write_station

BASE = "bctv/v1/test-station"


def manual_item(item_id: str, category: str, title_vi: str, title_en: str) -> str:
    """A manual item of a test checklist, as TOML."""
    return (
        f'\n[[item]]\nid = "{item_id}"\ncategory = "{category}"\nkind = "manual"\n'
        f'title = {{ vi = "{title_vi}", en = "{title_en}" }}\n'
        f'hint = {{ vi = "Làm {title_vi}", en = "Do: {title_en}" }}\n'
    )


TEMPLATE = (
    '[checklist]\nid = "test"\ntitle = { vi = "Kiểm tra thử", en = "Test inspection" }\n'
    + manual_item("duty.roster", "duty", "Đã niêm yết lịch trực", "Duty roster posted")
    + """
[[item]]
id = "ups.on_mains"
category = "power"
kind = "auto"
devices = "ups"
condition = 'ups.output.source == "normal"'
title = { vi = "UPS chạy điện lưới", en = "UPS on mains" }
hint = { vi = "Kiểm tra điện lưới", en = "Check the mains" }

[[item]]
id = "agent.no_critical_alarm"
category = "agent"
kind = "auto"
condition = "station.alarms.critical == 0"
title = { vi = "Không có cảnh báo nghiêm trọng", en = "No critical alarm" }
hint = { vi = "Xử lý cảnh báo", en = "Clear the alarms" }
"""
)


@pytest.fixture
def station(tmp_path: Path, broker: LocalBroker, sims: SimRunner) -> Path:
    ups = sims.serve("ups_rfc1628", "127.0.0.2")
    path = write_station(
        tmp_path, [device_fields("ups-main", ups, interval=2)], mqtt={"url": broker.url}
    )
    (tmp_path / "test.toml").write_text(TEMPLATE, encoding="utf-8")
    with path.open("a", encoding="utf-8") as station_file:
        station_file.write('\n[checklist]\ntemplates = ["test.toml"]\n')
    return path


@pytest.fixture
def agent(station: Path) -> Iterator[AgentProcess]:
    process = AgentProcess("run", "-c", str(station))
    yield process
    code, stderr = process.stop()
    assert code == 0, stderr


def reports(probe: MqttProbe) -> list[dict[str, object]]:
    return [m.json()["report"] for m in probe.on("/checklist/report")]


def archived(station: Path, report_id: str) -> object:
    return json.loads((station.parent / "state" / "checklists" / f"{report_id}.json").read_text())


def wait_online(probe: MqttProbe) -> None:
    probe.wait_for(lambda ms: any(m.topic == f"{BASE}/status" for m in ms), timeout=20)


def test_checklist_run_goes_through_the_daemon_and_the_published_report_is_the_archived_one(
    station: Path, agent: AgentProcess, probe: MqttProbe
) -> None:
    wait_online(probe)
    done = fieldagent(
        "checklist", "run", "-c", str(station), "--technician", "Trần Thị Bình",
        "--confirm", "duty.roster=Lịch trực dán ở phòng máy", "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["trigger"] == "command-line"
    assert [(i["id"], i["status"]) for i in printed["items"]] == [
        ("duty.roster", "pass"),
        ("ups.on_mains", "pass"),
        ("agent.no_critical_alarm", "pass"),
    ]
    assert printed["items"][0]["answer"]["note"] == "Lịch trực dán ở phòng máy"
    assert archived(station, printed["id"]) == printed
    probe.wait_for(lambda ms: printed["id"] in [r["id"] for r in reports(probe)])
    (message,) = [m for m in probe.on("/checklist/report")]
    assert message.json()["report"] == printed
    assert message.json()["station"] == "test-station"
    ChecklistReportPayload.model_validate(message.json())  # the published contract


def command(broker: LocalBroker, payload: bytes) -> None:
    import paho.mqtt.publish as publish

    message = Message(f"{BASE}/cmd/checklist", payload, 1, False)
    publish.single(message.topic, message.payload, qos=1, hostname=broker.host, port=broker.port)


def replies(probe: MqttProbe) -> list[dict[str, object]]:
    return [m.json() for m in probe.on("/cmd/checklist/reply")]


def test_the_mqtt_command_runs_the_automatic_items_and_replies_with_the_report_id(
    station: Path, agent: AgentProcess, broker: LocalBroker, probe: MqttProbe
) -> None:
    wait_online(probe)
    command(broker, b'{"request_id": "central-42"}')
    probe.wait_for(lambda ms: len(replies(probe)) == 1)
    (reply,) = replies(probe)
    assert (reply["request_id"], reply["accepted"], reply["error"]) == ("central-42", True, None)
    ChecklistReplyPayload.model_validate(reply)
    probe.wait_for(lambda ms: reply["report_id"] in [r["id"] for r in reports(probe)])
    report = next(r for r in reports(probe) if r["id"] == reply["report_id"])
    assert (report["trigger"], report["automatic_only"]) == ("mqtt", True)
    statuses = {i["id"]: (i["status"], i["checks"][0]["reason"]) for i in report["items"]}
    assert statuses == {
        "duty.roster": ("incomplete", "not_run"),
        "ups.on_mains": ("pass", None),
        "agent.no_critical_alarm": ("pass", None),
    }
    assert archived(station, report["id"]) == report


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"run it", "the request is not JSON"),
        (b'{"request_id": "x", "template": "y"}', "unknown key 'template'"),
        (b'{"request_id": 7}', "request_id must be printable text"),
        (b"[1]", "must be a JSON object"),
        (b" " * 2000, "at most 1024"),
    ],
)
def test_a_bad_command_is_refused_with_the_reason_and_the_agent_goes_on(
    station: Path, agent: AgentProcess, broker: LocalBroker, probe: MqttProbe,
    payload: bytes, error: str,
) -> None:  # fmt: skip
    wait_online(probe)
    command(broker, payload)
    probe.wait_for(lambda ms: len(replies(probe)) == 1)
    (reply,) = replies(probe)
    assert reply["accepted"] is False and reply["report_id"] is None
    assert error in str(reply["error"])
    command(broker, b"")  # an empty request is a good one
    probe.wait_for(lambda ms: len(reports(probe)) == 1)


def holiday_today(station: Path, run_at: str) -> datetime:
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    with station.open("a", encoding="utf-8") as station_file:
        station_file.write(
            f'run_at = "{run_at}"\n\n[[checklist.holiday]]\nname = "Quốc khánh 2/9"\n'
            f"start = {today - timedelta(days=1)}\nend = {today + timedelta(days=1)}\n"
        )
    return datetime.combine(today, datetime.min.time())


def test_the_daemon_runs_the_checklist_once_a_day_inside_a_holiday_window(
    station: Path, broker: LocalBroker, probe: MqttProbe
) -> None:
    today = holiday_today(station, "00:00").date()
    first = AgentProcess("run", "-c", str(station))
    try:
        probe.wait_for(lambda ms: len(reports(probe)) == 1, timeout=30)
    finally:
        assert first.stop()[0] == 0
    (report,) = reports(probe)
    assert report["trigger"] == "schedule"
    log = ScheduleLog(station.parent / "state")
    assert log.last_day() == today
    log.close()

    statuses = len(probe.on("/status"))
    second = AgentProcess("run", "-c", str(station))  # a restart the same day: no second run
    try:
        probe.wait_for(lambda ms: len(probe.on("/status")) > statuses)  # up and subscribed
        command(broker, b'{"request_id": "after-restart"}')
        probe.wait_for(lambda ms: len(replies(probe)) == 1)
        (reply,) = replies(probe)
        assert reply["accepted"] is True, reply  # no daily run was started before it
        probe.wait_for(lambda ms: reply["report_id"] in [r["id"] for r in reports(probe)])
    finally:
        assert second.stop()[0] == 0
    assert [r["trigger"] for r in reports(probe)] == ["schedule", "mqtt"]
    files = (station.parent / "state" / "checklists").glob("*.json")
    assert {f.stem for f in files} == {report["id"], reply["report_id"]}


def test_a_report_made_without_the_daemon_is_published_when_it_starts(
    station: Path, probe: MqttProbe
) -> None:
    done = fieldagent("checklist", "run", "-c", str(station), "--format", "json")
    assert done.returncode == 2, done.stderr  # the manual item is unanswered
    printed = json.loads(done.stdout)
    assert printed["items"][0]["checks"][0]["reason"] == "not_answered"
    assert probe.on("/checklist/report") == []
    agent = AgentProcess("run", "-c", str(station))
    try:
        probe.wait_for(lambda ms: len(reports(probe)) == 1, timeout=20)
    finally:
        assert agent.stop()[0] == 0
    assert reports(probe) == [printed]


def made_offline(station: Path, count: int) -> list[dict[str, object]]:
    """`count` reports made with no agent running, the first signed off by a technician."""
    signed = ("--technician", "Lê Văn Cường", "--confirm", "duty.roster=Đã dán")
    made = [run_checklist(station, *signed).report]
    made += [run_checklist(station).report for _ in range(count - 1)]
    return made


def test_reports_made_offline_are_counted_then_each_published_once_as_archived(
    station: Path, probe: MqttProbe
) -> None:
    made = made_offline(station, 5)
    waiting = json.loads(fieldagent("outbox", "-c", str(station), "--json").stdout)
    assert waiting["kinds"]["checklist"]["messages"] == 5
    assert waiting["handed_over"] == 5
    agent = AgentProcess("run", "-c", str(station))
    try:
        probe.wait_for(lambda ms: len(reports(probe)) >= 5, timeout=30)
    finally:
        assert agent.stop()[0] == 0
    assert reports(probe) == made  # each once, in the order made, the signed one included
    assert [archived(station, str(r["id"])) for r in made] == made
    after = json.loads(fieldagent("outbox", "-c", str(station), "--json").stdout)
    assert after["handed_over"] == 0  # nothing left to send a second time


def test_run_once_sends_the_reports_that_wait(station: Path, probe: MqttProbe) -> None:
    made = made_offline(station, 2)
    done = fieldagent("run", "-c", str(station), "--once")
    assert done.returncode == 0, done.stderr
    probe.wait_for(lambda ms: len(reports(probe)) >= 2, timeout=10)
    assert reports(probe) == made
    after = json.loads(fieldagent("outbox", "-c", str(station), "--json").stdout)
    assert after["messages"] == 0


def reply_to(probe: MqttProbe, request_id: str) -> dict[str, object]:
    probe.wait_for(lambda ms: request_id in [r["request_id"] for r in replies(probe)], timeout=30)
    return next(r for r in replies(probe) if r["request_id"] == request_id)


def test_a_flood_of_commands_makes_one_run_and_a_bounded_number_of_replies(
    station: Path, broker: LocalBroker, probe: MqttProbe
) -> None:
    import paho.mqtt.publish as publish

    with station.open("a", encoding="utf-8") as station_file:
        station_file.write("command_cooldown_s = 120\n")
    agent = AgentProcess("run", "-c", str(station))
    try:
        wait_online(probe)
        flood = [f'{{"request_id": "flood-{n}"}}' for n in range(100)]
        topic = f"{BASE}/cmd/checklist"
        publish.multiple(
            [(topic, payload, 1, False) for payload in flood],
            hostname=broker.host,
            port=broker.port,
        )
        time.sleep(REPLY_EVERY_S + 5)  # the budget of refusal replies refills by one
        command(broker, b'{"request_id": "last"}')
        last = reply_to(probe, "last")  # the flood, before it, has been taken in
        probe.wait_for(lambda ms: len(reports(probe)) == 1)
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    answered = replies(probe)
    (accepted,) = [r for r in answered if r["accepted"]]
    assert accepted["request_id"] == "flood-0"
    assert len(answered) <= 1 + REPLY_BURST + 2, answered  # a refill while the flood came in
    assert last["accepted"] is False and last["report_id"] is None
    assert "one run on request per 2 min: the next is accepted from" in str(last["error"])
    ChecklistReplyPayload.model_validate(last)
    next_allowed = datetime.fromisoformat(str(last["next_allowed"]))
    started = datetime.fromisoformat(str(accepted["ts"]))
    assert timedelta(seconds=119) <= next_allowed - started <= timedelta(seconds=121)
    unanswered = sum(int(n) for n in re.findall(r"(\d+) command\(s\) were refused without", stderr))
    assert unanswered == 100 - (len(answered) - 1)  # every refusal replied or counted
    assert [r["id"] for r in reports(probe)] == [accepted["report_id"]]
    assert len(list((station.parent / "state" / "checklists").glob("*.json"))) == 1


def test_a_retained_command_is_not_run_at_start(
    station: Path, broker: LocalBroker, probe: MqttProbe
) -> None:
    import paho.mqtt.publish as publish

    topic = f"{BASE}/cmd/checklist"
    publish.single(
        topic, b'{"request_id": "stale"}', 1, True, hostname=broker.host, port=broker.port
    )
    agent = AgentProcess("run", "-c", str(station))
    try:
        wait_online(probe)  # subscribed: the broker has sent it the retained command
        command(broker, b'{"request_id": "live"}')
        live = reply_to(probe, "live")
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert live["accepted"] is True
    assert [r["request_id"] for r in replies(probe)] == ["live"]
    assert f"ignored a retained message on {topic}" in stderr


def test_the_daemon_prunes_the_archive_at_start_and_when_it_archives_a_report(
    station: Path, broker: LocalBroker, probe: MqttProbe
) -> None:
    archive = ReportArchive(station.parent / "state")
    dated(archive, 800, now=datetime.now(UTC))  # archived by `checklist run` with no daemon
    agent = AgentProcess("run", "-c", str(station))
    try:
        wait_online(probe)
        assert kept(archive) == set()
        year_old, _ = dated(archive, 300, 900, now=datetime.now(UTC))
        command(broker, b'{"request_id": "prune"}')
        reply = reply_to(probe, "prune")
        probe.wait_for(lambda ms: reply["report_id"] in [r["id"] for r in reports(probe)])
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert kept(archive) == {year_old, reply["report_id"]}
