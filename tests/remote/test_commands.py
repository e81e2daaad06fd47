"""Remote commands on cmd/NAME against a real agent process, a real mosquitto and a simulated
UPS over UDP: each command runs and replies with the request id; each refusal gets its reply
within the budget and no more; maintenance set over MQTT holds the device's alarms back and
survives a restart; who asked is logged."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fieldagent import __version__
from fieldagent.budget import REPLY_BURST, REPLY_EVERY_S
from fieldagent.localbroker import LocalBroker
from fieldagent.payloads import CommandReplyPayload
from fieldagent.remote.gate import RATES
from tests.agentproc import AgentProcess
from tests.mqtt_probe import MqttProbe, Received
from tests.simrunner import SimRunner, device_fields
from tests.stationfile import FULL, write_station

BASE = "bctv/v1/test-station"
ALL = '[remote]\nallow = ["ping", "poll", "maintenance"]\nmax_maintenance_h = 4\n'


def station_file(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, remote: str, **device: Any
) -> tuple[Path, Any]:
    """A station of one simulated UPS (the simulator is returned) with `remote` appended."""
    sim = sims.serve("ups_rfc1628", "127.0.0.2")
    fields = device_fields("ups-main", sim, **{"interval": 300, **device})
    path = write_station(tmp_path, [fields], mqtt={"url": broker.url}, telemetry=FULL)
    with path.open("a", encoding="utf-8") as out:
        out.write("\n" + remote)
    return path, sim


def send(
    broker: LocalBroker, name: str, payload: bytes | str, requested_by: str | None = None
) -> None:
    """Publish a request on cmd/NAME (QoS 1); with `requested_by`, as MQTT 5 with that user
    property."""
    import paho.mqtt.publish as publish

    message: dict[str, Any] = {"topic": f"{BASE}/cmd/{name}", "payload": payload, "qos": 1}
    protocol = mqtt.MQTTv311
    if requested_by is not None:
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = ("requested_by", requested_by)
        message["properties"] = properties
        protocol = mqtt.MQTTv5
    publish.multiple([message], hostname=broker.host, port=broker.port, protocol=protocol)


def replies(probe: MqttProbe, name: str) -> list[dict[str, Any]]:
    return [m.json() for m in probe.messages if m.topic == f"{BASE}/cmd/{name}/reply"]


def reply_to(probe: MqttProbe, name: str, request_id: str, timeout: float = 15) -> dict[str, Any]:
    probe.wait_for(
        lambda ms: request_id in [r["request_id"] for r in replies(probe, name)], timeout=timeout
    )
    (reply,) = [r for r in replies(probe, name) if r["request_id"] == request_id]
    CommandReplyPayload.model_validate(reply)  # the published contract
    return reply


def wait_online(probe: MqttProbe) -> None:
    probe.wait_for(lambda ms: any(m.topic == f"{BASE}/status" for m in ms), timeout=20)


def telemetry(messages: list[Received]) -> list[Received]:
    return [m for m in messages if m.topic == f"{BASE}/ups-main/telemetry"]


@pytest.fixture
def stop_agents() -> Iterator[list[AgentProcess]]:
    """Agents a test starts; any still running at its end is stopped and must exit 0."""
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        code, stderr = agent.stop()
        assert code == 0, stderr


def test_ping_poll_and_maintenance_off_run_and_reply_with_the_request_id(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, probe: MqttProbe
) -> None:
    station, _ = station_file(tmp_path, broker, sims, ALL)
    agent = AgentProcess("run", "-c", str(station))
    try:
        wait_online(probe)
        probe.wait_for(lambda ms: len(telemetry(ms)) == 1)  # the first scheduled poll
        send(broker, "ping", b'{"request_id": "ping-1"}')
        ping = reply_to(probe, "ping", "ping-1")
        send(broker, "poll", b'{"request_id": "poll-1", "device": "ups-main"}')
        poll = reply_to(probe, "poll", "poll-1")
        probe.wait_for(lambda ms: len(telemetry(ms)) == 2)  # telemetry is committed in batches
        send(broker, "maintenance", b'{"request_id": "m-1", "device": "ups-main", "off": true}')
        maintenance = reply_to(probe, "maintenance", "m-1")
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert (ping["command"], ping["ok"], ping["error"]) == ("ping", True, None)
    assert ping["ping"]["version"] == __version__
    assert (ping["ping"]["devices"], ping["ping"]["state"]) == (1, "ok")
    assert 0 <= ping["ping"]["uptime_s"] < 60 and ping["ping"]["outbox_waiting"] >= 0
    assert poll["ok"] is True
    assert poll["poll"]["device"] == "ups-main" and poll["poll"]["answered"] is True
    assert poll["poll"]["health"] == "ok" and poll["poll"]["error"] is None
    assert 0 <= poll["poll"]["poll_ms"] < 5000
    # out of turn (the interval is 300 s), and published like any poll
    assert len(telemetry(probe.messages)) == 2
    assert telemetry(probe.messages)[1].json()["ts"] == poll["ts"]
    assert maintenance["ok"] is True
    assert maintenance["maintenance"] == {"device": "ups-main", "until": None}
    assert "cmd/poll from a sender who did not say (no requested_by) (request poll-1)" in stderr


NOT_ALLOWED = "cmd/maintenance is not allowed at this station ([remote] allow: ping, poll)"


@pytest.mark.parametrize(
    ("remote", "name", "payload", "error"),
    [
        ("", "maintenance", '{"request_id": "r1", "device": "ups-main", "hours": 1}', NOT_ALLOWED),
        (ALL, "reboot", '{"request_id": "r1"}', "unknown command 'reboot' (commands: checklist,"),
        (ALL, "poll", '{"request_id": "r1", "device": "ups9"}', "unknown device 'ups9'"),
        (ALL, "ping", "ping please", "the request is not JSON"),
        (ALL, "poll", '{"request_id": "r1", "device": "ups-main", "oid": 1}', "unknown key 'oid'"),
        (ALL, "ping", '{"request_id": "r1", "pad": "' + "x" * 1100 + '"}', "the request is 11"),
        (
            ALL, "maintenance", '{"request_id": "r1", "device": "ups-main", "hours": 5}',
            "hours 5 is longer than the longest maintenance, 4 h ([remote] max_maintenance_h)",
        ),
        (
            ALL, "maintenance",
            '{"request_id": "r1", "device": "ups-main", "until": "2020-01-01T00:00Z"}',
            "until 2020-01-01T00:00Z is past",
        ),
    ],
)  # fmt: skip
def test_a_refused_request_gets_one_reply_saying_why_and_the_agent_goes_on(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, probe: MqttProbe,
    remote: str, name: str, payload: str, error: str,
) -> None:  # fmt: skip
    station, _ = station_file(tmp_path, broker, sims, remote)
    agent = AgentProcess("run", "-c", str(station))
    try:
        wait_online(probe)
        send(broker, name, payload)
        probe.wait_for(lambda ms: len(replies(probe, name)) == 1)
        send(broker, "ping", b'{"request_id": "after"}')
        assert reply_to(probe, "ping", "after")["ok"] is True
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    (reply,) = [r for r in replies(probe, name) if r["request_id"] != "after"]
    CommandReplyPayload.model_validate(reply)
    assert reply["ok"] is False and error in reply["error"], reply["error"]
    # a payload that is not JSON, or too long to read, has no request id to echo
    assert reply["request_id"] == (None if name == "ping" else "r1")
    assert reply["command"] == name and reply["ping"] is reply["poll"] is None
    assert f"cmd/{name} from a sender who did not say (no requested_by) refused: {error}" in stderr
    assert len(telemetry(probe.messages)) == 1  # nothing polled out of turn


def test_a_flood_is_rate_limited_and_its_refusals_get_a_bounded_number_of_replies(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, probe: MqttProbe
) -> None:
    import paho.mqtt.publish as publish

    station, _ = station_file(tmp_path, broker, sims, ALL)
    agent = AgentProcess("run", "-c", str(station))
    flood = 60
    try:
        wait_online(probe)
        publish.multiple(
            [(f"{BASE}/cmd/ping", f'{{"request_id": "f-{n}"}}', 1, False) for n in range(flood)]
            + [(f"{BASE}/cmd/reboot", f'{{"request_id": "x-{n}"}}', 1, False) for n in range(20)],
            hostname=broker.host,
            port=broker.port,
        )
        # another command has its own budget: it runs, and tells when the flood was taken in
        send(broker, "poll", b'{"request_id": "last", "device": "ups-main"}')
        assert reply_to(probe, "poll", "last")["ok"] is True
        time.sleep(REPLY_EVERY_S)  # the reply budget refills by one: the count is logged with it
        send(broker, "reboot", b'{"request_id": "final"}')
        reply_to(probe, "reboot", "final")
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    pings = replies(probe, "ping")
    ok = [r for r in pings if r["ok"]]
    refused = [r for r in pings if not r["ok"]] + replies(probe, "reboot")
    burst, _ = RATES["ping"]
    assert [r["request_id"] for r in ok[:burst]] == [f"f-{n}" for n in range(burst)]
    assert burst <= len(ok) <= burst + 1, ok  # one refill, if the flood took over 2 s
    assert REPLY_BURST + 1 <= len(refused) <= REPLY_BURST + 2, refused  # "final" included
    limited = [r for r in refused if r["command"] == "ping"]
    assert limited and all("too many cmd/ping requests (5 in a row" in r["error"] for r in limited)
    assert all(0 < r["retry_after_s"] <= 2.1 for r in limited)
    unanswered = sum(int(n) for n in re.findall(r"(\d+) command\(s\) were refused without", stderr))
    assert "too many refused commands; refusing the next without reply" in stderr
    # every refusal got a reply or was counted (the count is logged with the next reply)
    assert unanswered == flood + 20 + 1 - len(ok) - len(refused)


def alarm_events(messages: list[Received]) -> list[dict[str, Any]]:
    return [m.json() for m in messages if m.topic == f"{BASE}/alarm"]


def last_status(messages: list[Received]) -> dict[str, Any]:
    return [m.json() for m in messages if m.topic == f"{BASE}/status"][-1]


def last_health(messages: list[Received]) -> dict[str, Any]:
    return [m.json() for m in messages if m.topic == f"{BASE}/ups-main/health"][-1]


SOURCE = "test-station/ups-main/ups.output.source/state"
MAINTENANCE = "test-station/-/maintenance[device=ups-main]/on"


def test_maintenance_over_mqtt_holds_alarms_back_survives_a_restart_and_ends_over_mqtt(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, probe: MqttProbe
) -> None:
    limits = {"ups.output.source": {"delay_s": 1.0, "clear_delay_s": 1.0}}
    station, sim = station_file(tmp_path, broker, sims, ALL, interval=1.0, limits=limits)
    sim.device.play("battery_low")
    agent = AgentProcess("run", "-c", str(station))
    try:
        probe.wait_for(lambda ms: any(e["alarm_id"] == SOURCE for e in alarm_events(ms)))
        asked = datetime.now(UTC)
        send(
            broker,
            "maintenance",
            '{"request_id": "m-on", "device": "ups-main", "hours": 2, "requested_by": "Trần"}',
        )
        on = reply_to(probe, "maintenance", "m-on")
        probe.wait_for(lambda ms: any(e["alarm_id"] == MAINTENANCE for e in alarm_events(ms)))
        probe.wait_for(lambda ms: last_health(ms)["alarms"] == [])
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    until = datetime.fromisoformat(on["maintenance"]["until"])
    assert timedelta(hours=2) <= until - asked <= timedelta(hours=2, seconds=10)
    held = [e for e in alarm_events(probe.messages) if e["alarm_id"] == SOURCE]
    assert [e["event"] for e in held] == ["raised", "cleared"]
    assert "maintenance" in held[1]["reason"]
    assert "cmd/maintenance from 'Trần' (request m-on): ups-main maintenance until" in stderr

    before = len(probe.messages)
    agent = AgentProcess("run", "-c", str(station))
    try:
        probe.wait_for(lambda ms: len(telemetry(ms[before:])) >= 3)  # polls after the restart
        after = probe.messages[before:]
        assert MAINTENANCE in [a["alarm_id"] for a in last_status(after)["alarms"]]
        assert last_health(after)["alarms"] == []
        assert alarm_events(after) == []  # nothing raised again, nothing let through
        send(broker, "maintenance", '{"request_id": "m-off", "device": "ups-main", "off": true}')
        assert reply_to(probe, "maintenance", "m-off")["ok"] is True
        probe.wait_for(
            lambda ms: (
                [(e["alarm_id"], e["event"]) for e in alarm_events(ms[before:])]
                == [(MAINTENANCE, "cleared"), (SOURCE, "raised")]
            )
        )
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr


def test_who_asked_is_logged_from_the_mqtt5_user_property_or_the_payload(
    tmp_path: Path, broker: LocalBroker, sims: SimRunner, probe: MqttProbe
) -> None:
    station, _ = station_file(tmp_path, broker, sims, ALL)
    # the agent speaks MQTT 5, so the user properties reach it
    text = station.read_text(encoding="utf-8").replace("[mqtt]\n", '[mqtt]\nprotocol = "5"\n', 1)
    station.write_text(text, encoding="utf-8")
    agent = AgentProcess("run", "-c", str(station))
    try:
        wait_online(probe)
        send(broker, "ping", b'{"request_id": "v5"}', requested_by="central/nguyen.van.a")
        reply_to(probe, "ping", "v5")
        send(broker, "ping", b'{"request_id": "v311", "requested_by": "central/tran"}')
        reply_to(probe, "ping", "v311")
        send(broker, "reboot", b'{"request_id": "x"}', requested_by="central/le")
        reply_to(probe, "reboot", "x")
    finally:
        code, stderr = agent.stop()
    assert code == 0, stderr
    assert "cmd/ping from 'central/nguyen.van.a' (request v5): ok" in stderr
    assert "cmd/ping from 'central/tran' (request v311): ok" in stderr
    assert "cmd/reboot from 'central/le' refused: unknown command 'reboot'" in stderr
